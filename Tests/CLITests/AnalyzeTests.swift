import Foundation
import Testing

@Suite struct AnalyzeAndAblateCommands {
    func json(_ result: Neurotop.Result) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// The headless analysis of a fixture gives the activated densities of the torch reference.
    @Test func analyzeReportsPSSAndTheReferenceDensities() throws {
        let model = Neurotop.fixture("checkpoints/llama")
        let result = try json(Neurotop.run(["analyze", model, "--probes", Neurotop.fixture("probes/tiny-llama.jsonl"),
                                            "--domains", Neurotop.fixture("domains"), "--samples", "4", "--json"]))
        let reference = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/analysis.json"))) as? [String: Any])
        let activated = try #require(reference["activated"] as? [[Int]]), weights = try #require(reference["weights"] as? [Int])
        let domains = try #require(reference["domains"] as? [String])
        let density = try #require(result["density"] as? [[String: Any]])
        #expect(density.count == activated.count)
        for (block, entry) in density.enumerated() {
            let values = try #require(entry["domains"] as? [String: Double])
            for (d, name) in domains.enumerated() {
                #expect(abs((values[name] ?? -1) - Double(activated[block][d]) / Double(weights[block])) < 1e-9)
            }
        }
        #expect((result["pss"] as? [[String: Any]])?.count == 7)
        #expect(result["peak_pss"] is [String: Any])
    }

    /// Knowledge is concentrated in the demo model: masking 2 % of the neurons, those most
    /// associated with one animal, costs it more than 50 points of open accuracy while the other
    /// concepts lose less than 10 on average.
    @Test func ablatingAConceptsKnowledgeVectorsCostsThatConcept() throws {
        let result = try json(Neurotop.run(["ablate", "--concept", "tindertail", "--ratio", "2", "--json"]))
        let concepts = try #require(result["concepts"] as? [String: [String: Any]])
        let own = try #require(concepts["tindertail"])
        let ownDrop = try #require(own["open_before"] as? Double) - (try #require(own["open_after"] as? Double))
        #expect(ownDrop >= 0.5, "tindertail lost \(ownDrop)")
        let others = concepts.filter { $0.key != "tindertail" }.values
        let otherDrop = others.reduce(0.0) { $0 + (($1["open_before"] as? Double ?? 0) - ($1["open_after"] as? Double ?? 0)) } / Double(others.count)
        #expect(otherDrop < 0.1, "the other concepts lost \(otherDrop) on average")
        #expect((result["ablated"] as? [String])?.count == 21)
    }

    @Test func domainProblemsNameTheFolderOrFile() throws {
        let empty = NSTemporaryDirectory() + "neurotop-domains-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let noDomains = try Neurotop.run(["analyze", "--domains", empty])
        #expect(noDomains.status == 1 && noDomains.stderrLines.count == 1)
        #expect(noDomains.stderr.contains(empty), "\(noDomains.stderr)")
        let tooFew = try Neurotop.run(["analyze", "--domains", Neurotop.fixture("domains"), "--samples", "6"])
        #expect(tooFew.status == 1 && tooFew.stderrLines.count == 1)
        #expect(tooFew.stderr.contains("has 4 samples; 6 were asked for"), "\(tooFew.stderr)")
        let unknownConcept = try Neurotop.run(["ablate", "--concept", "Atlantis", "--ratio", "1"])
        #expect(unknownConcept.status == 1)
        #expect(unknownConcept.stderr.contains("no concept 'Atlantis'"), "\(unknownConcept.stderr)")
    }
}

@Suite struct ExportCommand {
    let arguments = ["export", Neurotop.fixture("checkpoints/llama"), "--probes", Neurotop.fixture("probes/tiny-llama.jsonl"),
                     "--domains", Neurotop.fixture("domains"), "--samples", "4"]

    func exported(_ format: String) throws -> String {
        let out = NSTemporaryDirectory() + "neurotop-export-\(UUID().uuidString)"
        let result = try Neurotop.run(arguments + ["--format", format, "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        return out
    }

    @Test func csvTablesHaveTheDocumentedColumnsAndTheReferenceCounts() throws {
        let out = try exported("csv")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let headers = [
            "neurons": "layer,neuron,concept,delta", "focus": "layer,neuron,top_concept,top_share,specialization",
            "pss": "concept,ratio,acc_concept_after,acc_other_after,acc_before,pss", "density": "layer,domain,activated,weights,density",
            "similarity": "layer,domain_a,domain_b,n,mean,min,q1,median,q3,max", "domains": "domain_a,domain_b,mean",
            "pruning": "layer,ratio", "options": "setting,value",
        ]
        for (name, header) in headers {
            let text = try String(contentsOfFile: out + "/\(name).csv", encoding: .utf8)
            #expect(text.hasPrefix(header + "\n"), "\(name).csv")
        }
        let density = try String(contentsOfFile: out + "/density.csv", encoding: .utf8).split(separator: "\n")
        #expect(density.contains("0,code,3090,36864,0.08382161458333333"))
        #expect(try String(contentsOfFile: out + "/neurons.csv", encoding: .utf8).split(separator: "\n").count == 1 + 2 * 128 * 3)
        #expect(try String(contentsOfFile: out + "/options.csv", encoding: .utf8).contains("pooling,mean"))
    }

    @Test func jsonHoldsTheSameTablesAndSVGsHaveLegends() throws {
        let json = try exported("json")
        defer { try? FileManager.default.removeItem(atPath: json) }
        let object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json + "/analysis.json"))) as? [String: [[String: Any]]])
        #expect(Set(object.keys) == ["options", "neurons", "focus", "pss", "density", "similarity", "domains", "pruning"])
        #expect(object["pss"]?.count == 3 * 7)
        let svg = try exported("svg")
        defer { try? FileManager.default.removeItem(atPath: svg) }
        for name in ["specialization", "density", "similarity", "domains"] {
            let text = try String(contentsOfFile: svg + "/\(name).svg", encoding: .utf8)
            #expect(text.hasPrefix("<svg") && text.contains("</svg>"))
        }
        #expect(try String(contentsOfFile: svg + "/density.svg", encoding: .utf8).contains("0.08382"))
    }
}
