import Foundation
import Analysis
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
        // The fixture model knows one question: PSS is measured on no concept, and says so.
        #expect((result["pss"] as? [[String: Any]])?.count == 7)
        #expect(result["peak_pss"] is NSNull)
        let concepts = try #require(result["pss_concepts"] as? [String: Any])
        #expect(concepts["concepts"] as? Int == 3 && concepts["measured"] as? Int == 0 && concepts["left_out"] as? Int == 3)
        #expect(concepts["summary"] as? String == "0 of 3 concepts, 3 left out: fewer than 2 known questions")
        #expect(result["control_set"] as? String == "five" && result["pss_questions"] as? String == "known")
        // The 3 concepts share no knowledge vector up to 5 %; at 10 % 1, 4 and 3 of their 26, and 0:94 is in 2 sets.
        let shared = try #require(result["shared_knowledge_vectors"] as? [[String: Any]])
        #expect(shared.map { $0["ratio"] as? Double } == SpecializationScore.defaultRatios, "\(shared)")
        #expect(shared.dropLast().allSatisfy { $0["median_shared_fraction"] as? Double == 0 && $0["most_shared"] is NSNull }, "\(shared)")
        let atTen = try #require(shared.last)
        #expect(abs((atTen["median_shared_fraction"] as? Double ?? .nan) - 3.0 / 26) < 1e-12 && atTen["concepts"] as? Int == 3, "\(atTen)")
        let top = try #require(atTen["most_shared"] as? [String: Any])
        #expect(top["layer"] as? Int == 0 && top["neuron"] as? Int == 94 && top["concepts"] as? Int == 2, "\(top)")
    }

    /// `analyze`'s text gives the median share of knowledge vectors other concepts hold, per ratio,
    /// and the most shared neurons at 1 %.
    @Test func analyzeTextSaysHowManyKnowledgeVectorsAreShared() throws {
        let result = try Neurotop.run(["analyze", Neurotop.fixture("checkpoints/llama"), "--probes", Neurotop.fixture("probes/tiny-llama.jsonl"),
                                       "--domains", Neurotop.fixture("domains"), "--samples", "4", "--no-store"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("K_c shared   0.1%: 0 %  0.25%: 0 %  0.5%: 0 %  1%: 0 %  2%: 0 %  5%: 0 %  10%: 12 %  (median over concepts"),
                "\(result.stdout)")
        #expect(result.stdout.contains("most shared  at r = 1 %: no neuron in two concepts' sets"), "\(result.stdout)")
    }

    /// A probe set with tiers: eval and analyze give accuracy per tier (the same), analyze PSS per
    /// tier; the standardized association is recorded, and all concepts' knowledge vectors at 1 %
    /// are counted per block.
    @Test func tiersAndTheStandardizedAssociation() throws {
        let folder = NSTemporaryDirectory() + "neurotop-tiers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let lines = try String(contentsOfFile: Neurotop.fixture("probes/tiny-llama.jsonl"), encoding: .utf8).split(separator: "\n")
        let tiered = lines.map { line in
            line.replacingOccurrences(of: #""category": "#, with: line.contains(#""concept": "France""#) ? #""tier": "high", "category": "# : #""tier": "low", "category": "#)
        }.joined(separator: "\n") + "\n"
        let probes = folder + "/tiered.jsonl"
        try tiered.write(toFile: probes, atomically: true, encoding: .utf8)
        let model = Neurotop.fixture("checkpoints/llama")
        let analyzed = try json(Neurotop.run(["analyze", model, "--probes", probes, "--domains", Neurotop.fixture("domains"), "--samples", "4",
                                              "--no-store", "--association", "standardized", "--json"]))
        #expect(analyzed["association"] as? String == "standardized")
        let tiers = try #require(analyzed["tiers"] as? [[String: Any]])
        #expect(tiers.map { $0["tier"] as? String } == ["high", "low"])
        #expect(tiers.map { $0["concepts"] as? Int } == [1, 2])
        #expect(tiers.allSatisfy { ($0["pss"] as? [[String: Any]])?.count == 7 && $0["peak_pss"] is NSNull && $0["pss_measured_concepts"] as? Int == 0 })
        let evaluated = try json(Neurotop.run(["eval", model, "--probes", probes, "--json"]))
        let evalTiers = try #require(evaluated["tiers"] as? [String: [String: Any]])
        for tier in tiers {
            let name = try #require(tier["tier"] as? String)
            #expect(tier["open_accuracy"] as? Double == evalTiers[name]?["open_accuracy"] as? Double, "\(name)")
            #expect(tier["questions"] as? Int == evalTiers[name]?["questions"] as? Int, "\(name)")
        }
        let concepts = try #require(evaluated["concepts"] as? [String: [String: Any]])
        #expect(concepts["France"]?["tier"] as? String == "high")
        let byBlock = try #require(analyzed["knowledge_vectors_by_block"] as? [String: Any])
        let counts = try #require(byBlock["counts"] as? [Int])
        // 3 concepts × ceil(1 % of 2 × 128 neurons).
        #expect(counts.count == 2 && counts.reduce(0, +) == 9, "\(counts)")
        let bad = try Neurotop.run(["analyze", "--association", "scaled"])
        #expect(bad.status == 64 && bad.stderr.contains("The value 'scaled' is invalid for '--association <association>'. Please provide one of 'raw' and 'standardized'."),
                "\(bad.stderr)")
    }

    /// Headless progress on the demo: the plan within 5 seconds of start, then lines at every 5 %
    /// and at least every 30 s, each with units done, elapsed time, time left (once each kind of
    /// unit has been timed) and peak memory. Its result is the demo's headline (multiple choice,
    /// the default): peak PSS 0.434 at r = 10 %, every concept measured; at 1 %, 14 concepts lost
    /// more than their controls, 4 less (mean signed PSS 0.050 against PSS 0.054), 30 as much.
    /// `bench partial` reads the stored analysis: PSS(1 %) over the first 5, 12 and 24 concepts of
    /// the engine's order, and 0.054 over all 48.
    @Test func progressLinesAndTheDemoHeadline() throws {
        let store = NSTemporaryDirectory() + "neurotop-headline-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Neurotop.binary)
        process.arguments = ["analyze", "--store", store, "--samples", "8", "--json"]
        let stderr = Pipe(), stdout = Pipe()
        process.standardError = stderr
        process.standardOutput = stdout
        let start = Date()
        try process.run()
        var output = Data()
        let group = DispatchGroup()
        group.enter()
        // A thread of its own, not Dispatch's global queue, whose few threads other tests may keep busy.
        Thread {
            output = stdout.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }.start()
        var lines: [(seconds: Double, text: String)] = []
        var pending = ""
        while true {
            let data = stderr.fileHandleForReading.availableData
            if data.isEmpty { break }
            pending += String(decoding: data, as: UTF8.self)
            while let end = pending.firstIndex(of: "\n") {
                lines.append((Date().timeIntervalSince(start), String(pending[..<end])))
                pending = String(pending[pending.index(after: end)...])
            }
        }
        group.wait()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(lines.map(\.text))")
        let first = try #require(lines.first)
        #expect(first.seconds < 5, "the first line came after \(first.seconds) s")
        for expected in ["analyzing", "data/models/demo", "48 concepts, 384 questions", "PSS over known questions against 5 other concepts", "neurons ranked by raw Δ",
                         "units: 1 model load, 1 unmasked evaluation, 6 pooling batches, at most 336 PSS evaluations", "4 pattern steps"] {
            #expect(first.text.contains(expected), "\(expected) in \(first.text)")
        }
        let pattern = try Regex(#"^ *(\d+)%  (\d+)/(\d+) units  \S+ elapsed, (\S+ left|estimating)  peak RssAnon (\d+) MiB  \S"#)
        var buckets = Set<Int>()
        // The last two lines: where the time went, and each kind's useful arithmetic against the peak.
        let efficiency = try #require(lines.last).text
        #expect(efficiency.hasPrefix("efficiency (useful arithmetic): sgemm peak ") && efficiency.contains("PSS evaluations")
                && efficiency.contains(" GFLOP/s ("), "\(efficiency)")
        lines.removeLast()
        let spent = try #require(lines.last).text
        #expect(spent.hasPrefix("time: model load ") && spent.contains("336 PSS evaluations") && spent.contains("peak RssAnon"), "\(spent)")
        lines.removeLast()
        for (previous, line) in zip(lines, lines.dropFirst()) {
            let match = try #require(line.text.firstMatch(of: pattern), "\(line.text)")
            let percent = Int(match.output[1].substring!)!
            buckets.insert(percent / 5)
            #expect(Int(match.output[5].substring!)! > 0, "\(line.text)")
            #expect(line.seconds - previous.seconds <= 31, "\(line.seconds - previous.seconds) s between lines")
        }
        #expect(buckets == Set(0...20), "a line in every 5 % step: \(buckets.sorted())")
        let last = try #require(lines.last).text
        #expect(last.contains("100%") && last.contains("0s left"), "\(last)")
        #expect(lines.contains { $0.text.contains("s left") && !$0.text.contains("100%") }, "an estimate before the end")

        let result = try #require(JSONSerialization.jsonObject(with: output) as? [String: Any])
        let peak = try #require(result["peak_pss"] as? [String: Any])
        let peakScore = try #require(peak["pss"] as? Double)
        #expect(peak["ratio"] as? Double == 0.1 && abs(peakScore - 0.434) < 0.0005, "\(peak)")
        // The peak's 95 % bootstrap interval over its 48 concepts holds it; the ratio wins sum to the resamples.
        let low = try #require(peak["low"] as? Double), high = try #require(peak["high"] as? Double)
        #expect(peak["n"] as? Int == 48 && low < peakScore && peakScore < high && high - low < 0.2, "\(peak)")
        let wins = try #require(peak["ratio_wins"] as? [[String: Any]])
        #expect(wins.compactMap { $0["wins"] as? Int }.reduce(0, +) == 1000, "\(wins)")
        let signs = try #require(result["pss_sign"] as? [[String: Any]])
        let atOne = try #require(signs.first { $0["ratio"] as? Double == 0.01 })
        #expect(atOne["positive"] as? Int == 14 && atOne["negative"] as? Int == 4 && atOne["zero"] as? Int == 30, "\(atOne)")
        #expect(abs((atOne["signed_pss"] as? Double ?? .nan) - 0.05) < 1e-9, "\(atOne)")
        let atTen = try #require(signs.first { $0["ratio"] as? Double == 0.1 })
        #expect(atTen["positive"] as? Int == 48 && abs((atTen["signed_pss"] as? Double ?? .nan) - 0.434375) < 1e-9, "\(atTen)")
        let concepts = try #require(result["pss_concepts"] as? [String: Any])
        #expect(concepts["summary"] as? String == "48 of 48 concepts, none left out")

        let partial = try json(Neurotop.run(["bench", "partial", "--store", store, "--samples", "8", "--json"]))
        let final = try #require(partial["final"] as? [String: Any])
        let finalPSS = try #require(final["pss"] as? Double)
        #expect(abs(finalPSS - 0.0540) < 0.0005 && final["n"] as? Int == 48, "\(final)")
        let rows = try #require(partial["partial"] as? [[String: Any]])
        #expect(rows.map { $0["concepts"] as? Int } == [5, 12, 24] && rows.map { $0["n"] as? Int } == [5, 12, 24], "\(rows)")
        for row in rows {
            let low = try #require(row["low"] as? Double), high = try #require(row["high"] as? Double)
            #expect(row["holds_final"] as? Bool == (low <= finalPSS && finalPSS <= high), "\(row)")
        }
        // What the store holds, read without computing: the same headline.
        let stored = try Neurotop.run(["analyze", "--stored", "--store", store, "--samples", "8"])
        #expect(stored.status == 0 && stored.stdout.contains("PSS runs     336 of 336 stored"), "\(stored.stdout)\(stored.stderr)")
        #expect(stored.stdout.contains("peak PSS     0.434 at r = 10 %") && stored.stdout.contains("1%: +14 −4 =30"), "\(stored.stdout)")
        let refused = try Neurotop.run(["analyze", "--stored", "--no-store"])
        #expect(refused.status == 64 && refused.stderr.contains("--stored reads the store"), "\(refused.stderr)")
        let empty = try Neurotop.run(["bench", "partial", "--store", store, "--samples", "4"])
        #expect(empty.status == 1 && empty.stderr.contains("no unmasked evaluation of this analysis is stored yet"), "\(empty.stderr)")
    }

    /// Knowledge is concentrated in the demo model: masking 2 % of the neurons, those most
    /// associated with one animal, costs it more than 50 points of open accuracy while the other
    /// concepts lose less than 10 on average.
    @Test func ablatingAConceptsKnowledgeVectorsCostsThatConcept() throws {
        let result = try json(Neurotop.run(["ablate", "--concept", "tindertail", "--ratio", "2", "--metric", "open", "--json"]))
        let concepts = try #require(result["concepts"] as? [String: [String: Any]])
        let own = try #require(concepts["tindertail"])
        let ownDrop = try #require(own["open_before"] as? Double) - (try #require(own["open_after"] as? Double))
        #expect(ownDrop >= 0.5, "tindertail lost \(ownDrop)")
        let others = concepts.filter { $0.key != "tindertail" }.values
        let otherDrop = others.reduce(0.0) { $0 + (($1["open_before"] as? Double ?? 0) - ($1["open_after"] as? Double ?? 0)) } / Double(others.count)
        #expect(otherDrop < 0.1, "the other concepts lost \(otherDrop) on average")
        #expect((result["ablated"] as? [String])?.count == 21)
        // Its PSS at 2 % by open accuracy, on its known questions against its 5 control concepts' known
        // questions, and its sign: the concept lost more than its controls.
        let pss = try #require(result["pss"] as? [String: Any])
        #expect((pss["control_concepts"] as? [String])?.count == 5)
        #expect(pss["concept_questions"] as? Int == 8 && pss["control_questions"] as? Int == 40)
        let score = try #require(pss["pss"] as? Double), ownAfter = try #require(pss["acc_concept_after"] as? Double)
        let other = try #require(pss["acc_other_after"] as? Double)
        #expect(pss["acc_before"] as? Double == 1 && abs(score - abs(other - ownAfter)) < 1e-12 && score >= 0.5, "\(pss)")
        #expect(pss["signed_pss"] as? Double == other - ownAfter, "\(pss)")
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

    /// A colleague's finished store, read-only: export shows its results (the same tables as
    /// from the writable store), says nothing will be saved, and leaves the file as it was.
    @Test func aReadOnlyStoreIsExported() throws {
        let folder = NSTemporaryDirectory() + "neurotop-readonly-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = folder + "/shared.sqlite"
        let first = try Neurotop.run(arguments + ["--format", "csv", "--out", folder + "/first", "--store", store])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(chmod(store, 0o444) == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: store))
        let second = try Neurotop.run(arguments + ["--format", "csv", "--out", folder + "/second", "--store", store])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("neurotop: \(store) is read-only: its finished results are shown, nothing new is saved\n"), "\(second.stderr)")
        for table in ["neurons.csv", "pss.csv", "density.csv", "similarity.csv"] {
            #expect(FileManager.default.fileExists(atPath: "\(folder)/first/\(table)"), "\(table)")
            #expect(FileManager.default.contents(atPath: "\(folder)/first/\(table)") == FileManager.default.contents(atPath: "\(folder)/second/\(table)"), "\(table)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store)) == before)
    }

    @Test func csvTablesHaveTheDocumentedColumnsAndTheReferenceCounts() throws {
        let out = try exported("csv")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let headers = [
            "neurons": "layer,neuron,concept,delta", "focus": "layer,neuron,top_concept,top_share,specialization",
            "pss": "concept,ratio,acc_concept_after,acc_other_after,acc_before,pss,signed_pss", "density": "layer,domain,activated,weights,density",
            "similarity": "layer,domain_a,domain_b,n,mean,min,q1,median,q3,max", "domains": "domain_a,domain_b,mean",
            "pruning": "layer,ratio", "options": "setting,value",
            "pss_concepts": "concept,category,questions_used,control_concepts,control_questions_used,status,signed_pss_at_peak_ratio,ratios_positive,ratios_negative",
            "pss_sign": "ratio,concepts,signed_pss,positive,negative,zero",
            "tiers": "tier,concepts,questions,open_accuracy,mcq_accuracy,pss_measured_concepts,ratio,pss,pss_low,pss_high,pss_n,open_low,open_high,mcq_low,mcq_high,mcq_questions",
            "pss_by_ratio": "ratio,pss,low,high,n,peak,peak_wins", "accuracy": "scope,metric,accuracy,low,high,questions",
            "knowledge_by_block": "layer,ratio,knowledge_vectors",
            "shared_knowledge_vectors": "concept,ratio,knowledge_vectors,shared,shared_fraction", "generic_neurons": "ratio,layer,neuron,concepts",
        ]
        for (name, header) in headers {
            let text = try String(contentsOfFile: out + "/\(name).csv", encoding: .utf8)
            #expect(text.hasPrefix(header + "\n"), "\(name).csv")
        }
        let density = try String(contentsOfFile: out + "/density.csv", encoding: .utf8).split(separator: "\n")
        #expect(density.contains("0,code,3090,36864,0.08382161458333333"))
        #expect(try String(contentsOfFile: out + "/neurons.csv", encoding: .utf8).split(separator: "\n").count == 1 + 2 * 128 * 3)
        let options = try String(contentsOfFile: out + "/options.csv", encoding: .utf8)
        for expected in ["pooling,mean", "association,raw: delta", "pss_questions,known: answered correctly with nothing masked",
                         "pss_control_set,\"5 other concepts per concept, drawn by SplitMix64 seeded with the concept's index\"",
                         "pss_concepts,\"0 of 3 concepts, 3 left out: fewer than 2 known questions\""] {
            #expect(options.contains(expected), "\(expected)\n\(options)")
        }
        let concepts = try String(contentsOfFile: out + "/pss_concepts.csv", encoding: .utf8).split(separator: "\n")
        // Multiple choice, the default: France's question without choices is not used.
        #expect(concepts.contains("France,country,0,Oxygen;Greedy,1,left out: fewer than 2 known questions,,0,0"), "\(concepts)")
        // Nothing measured: no mean signed PSS at any ratio, no concept of either sign.
        let signs = try String(contentsOfFile: out + "/pss_sign.csv", encoding: .utf8).split(separator: "\n")
        #expect(signs.dropFirst().map(String.init) == SpecializationScore.defaultRatios.map { "\($0),0,,0,0,0" }, "\(signs)")
        // The fixture's 3 concepts share no knowledge vector up to 5 %; at 10 % (26 each) 1, 4 and 3 of theirs.
        let shared = try String(contentsOfFile: out + "/shared_knowledge_vectors.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(shared.count == 1 + 3 * SpecializationScore.defaultRatios.count)
        #expect(shared.contains("France,0.01,3,0,0.0") && shared.contains("Greedy,0.05,13,0,0.0"), "\(shared)")
        #expect(shared.contains("France,0.1,26,1,\(1.0 / 26)") && shared.contains("Oxygen,0.1,26,4,\(4.0 / 26)"), "\(shared)")
        let generic = try String(contentsOfFile: out + "/generic_neurons.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(generic.dropFirst().first == "0.1,0,94,2" && generic.dropFirst().allSatisfy { $0.hasPrefix("0.1,") && $0.hasSuffix(",2") }, "\(generic)")
        #expect(generic.count == 1 + 4, "1 + 4 + 3 shared places, each neuron in 2 sets: \(generic)")
    }

    @Test func jsonHoldsTheSameTablesAndSVGsHaveLegends() throws {
        let json = try exported("json")
        defer { try? FileManager.default.removeItem(atPath: json) }
        let object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json + "/analysis.json"))) as? [String: [[String: Any]]])
        #expect(Set(object.keys) == ["options", "neurons", "focus", "pss", "pss_concepts", "pss_sign", "pss_by_ratio", "accuracy", "tiers",
                                     "knowledge_by_block", "shared_knowledge_vectors", "generic_neurons", "density", "similarity", "domains",
                                     "pruning"])
        #expect(object["pss"]?.count == 0 && object["pss_concepts"]?.count == 3)
        let shared = try #require(object["shared_knowledge_vectors"]?.first { $0["concept"] as? String == "Oxygen" && $0["ratio"] as? Double == 0.1 })
        #expect(shared["knowledge_vectors"] as? Int == 26 && shared["shared"] as? Int == 4 && abs((shared["shared_fraction"] as? Double ?? .nan) - 4.0 / 26) < 1e-12,
                "\(shared)")
        let svg = try exported("svg")
        defer { try? FileManager.default.removeItem(atPath: svg) }
        for name in ["specialization", "density", "similarity", "domains"] {
            let text = try String(contentsOfFile: svg + "/\(name).svg", encoding: .utf8)
            #expect(text.hasPrefix("<svg") && text.contains("</svg>"))
        }
        #expect(try String(contentsOfFile: svg + "/density.svg", encoding: .utf8).contains("0.08382"))
    }
}
