import Foundation
import Engine
import Testing

/// `compare`, `list` and the SVG figures, on the tiny fixture models (2 blocks each).
@Suite struct CompareCommands {
    let llama = Neurotop.fixture("checkpoints/llama"), gpt2 = Neurotop.fixture("checkpoints/gpt2")
    let probes = Neurotop.fixture("probes/tiny-llama.jsonl"), domains = Neurotop.fixture("domains")

    func temporary(_ name: String) -> String {
        let folder = NSTemporaryDirectory() + "neurotop-compare-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder + "/" + name
    }

    func options(_ store: String, probes: String? = nil) -> [String] {
        ["--probes", probes ?? self.probes, "--domains", domains, "--samples", "4", "--store", store]
    }

    func json(_ result: Neurotop.Result) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// Compare computes both analyses into an empty store; each model's own `analyze --json` then
    /// reads the same analysis back, and equals its section of `compare --json` value for value.
    @Test func compareSectionsAreEachModelsAnalyzeSummary() throws {
        let store = temporary("store.sqlite")
        let compared = try json(Neurotop.run(["compare", llama, gpt2, "--json"] + options(store)))
        let sections = try #require(compared["models"] as? [[String: Any]])
        #expect(sections.count == 2)
        for (model, section) in zip([llama, gpt2], sections) {
            let own = try json(Neurotop.run(["analyze", model, "--json"] + options(store)))
            // Compared as canonical JSON text: every key and value the same, but for the efficiency
            // of the units each run computed (times).
            func canonical(_ object: [String: Any]) throws -> String {
                String(decoding: try JSONSerialization.data(withJSONObject: object.filter { $0.key != "efficiency" }, options: [.sortedKeys]),
                       as: UTF8.self)
            }
            #expect(try canonical(own) == canonical(section), "\(model)")
            #expect(section["complete"] as? Bool == true && section["store"] as? String == store)
        }
        // No concept of the fixtures has enough questions for PSS: no model has a peak to correlate.
        let rise = try #require(compared["rise"] as? [String: Any])
        #expect(rise["n"] as? Int == 0 && rise["pearson"] is NSNull && rise["spearman"] is NSNull, "\(rise)")
        // The per-block figures on the relative depth: 2 blocks land in the first and the last tenth.
        let depth = try #require(compared["relative_depth"] as? [[String: Any]])
        for (entry, section) in zip(depth, sections) {
            let s = try #require(entry["s"] as? [Any]), perBlock = try #require(section["s_by_block"] as? [Double])
            #expect(s.count == 10 && s[0] as? Double == perBlock[0] && s[9] as? Double == perBlock[1])
            #expect((1...8).allSatisfy { s[$0] is NSNull }, "no block falls in the middle tenths of a 2-block model")
            let density = try #require(entry["density"] as? [String: [Any]])
            let blocks = try #require(section["density"] as? [[String: Any]])
            let code = try #require((blocks[1]["domains"] as? [String: Double])?["code"])
            #expect(density["code"]?[9] as? Double == code)
        }
    }

    /// `compare --stored` reads what the store holds and computes nothing: a model not analysed
    /// yet shows "…" (and stays unanalysed), one analysed shows the same figures `compare` gives.
    @Test func compareStoredComputesNothing() throws {
        let store = temporary("store.sqlite")
        #expect(try Neurotop.run(["analyze", llama] + options(store)).status == 0)
        let read = try json(Neurotop.run(["compare", llama, gpt2, "--stored", "--json"] + options(store)))
        let sections = try #require(read["models"] as? [[String: Any]])
        #expect(sections.first?["complete"] as? Bool == true && sections.last?["complete"] as? Bool == false, "\(sections)")
        #expect(sections.last?["accuracy"] is NSNull, "gpt2 is not analysed: \(String(describing: sections.last))")
        let text = try Neurotop.run(["compare", llama, gpt2, "--stored"] + options(store))
        #expect(text.status == 0, "\(text.stderr)")
        let accuracy = try #require(text.stdout.split(separator: "\n").first { $0.hasPrefix("  accuracy open") })
        #expect(accuracy.hasSuffix("…"), "\(accuracy)")
        let listed = try json(Neurotop.run(["list", "--store", store, "--json"]))
        let units = ((listed["analyses"] as? [[String: Any]]) ?? []).compactMap { $0["units"] as? [[String: Any]] }
        let evaluations = units.map { $0.first { $0["kind"] as? String == "unmasked evaluation" }?["done"] as? Int }
        #expect(evaluations.filter { $0 == 1 }.count == 1, "only llama's analysis was computed: \(evaluations)")
        let unread = try Neurotop.run(["analyze", gpt2, "--stored"] + options(store))
        #expect(unread.status == 0 && unread.stdout.contains("peak PSS     not computed yet\n"), "\(unread.stdout)\(unread.stderr)")
        let llamaRead = try Neurotop.run(["analyze", llama, "--stored"] + options(store))
        #expect(llamaRead.stdout.contains("peak PSS     not measured: no concept has enough questions"), "\(llamaRead.stdout)")
        let refused = try Neurotop.run(["compare", llama, "--stored", "--no-store"])
        #expect(refused.status == 64 && refused.stderr.contains("--stored reads the store"), "\(refused.stderr)")
    }

    @Test func compareTextPutsTheModelsInColumns() throws {
        let store = temporary("store.sqlite")
        let result = try Neurotop.run(["compare", llama, gpt2, "--text"] + options(store))
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.split(separator: " ") == ["llama", "gpt2"], "\(result.stdout)")
        let section = try json(Neurotop.run(["analyze", gpt2, "--json"] + options(store)))
        let similarity = try #require(section["deep_block_similarity"] as? [String: Any])
        let same = try #require(similarity["same_domain"] as? Double)
        let row = try #require(lines.first { $0.hasPrefix("  same domain") })
        #expect(row.hasSuffix(String(format: "%.3f", same)), "\(row)")
        for expected in ["accuracy open", "PSS(0.1%)", "s by relative depth", "activated density by relative depth: code", "code × recipes"] {
            #expect(result.stdout.contains(expected), "\(expected)")
        }
        #expect(!result.stdout.contains("0.4–0.5"), "tenths no model has a block in are left out")
    }

    /// `list` names what the store holds, with each kind of unit stored out of its total.
    @Test func listShowsTheAnalysesAndHowCompleteTheyAre() throws {
        let store = temporary("store.sqlite")
        _ = try json(Neurotop.run(["analyze", llama, "--json"] + options(store)))
        let listing = try json(Neurotop.run(["list", "--store", store, "--json"]))
        let analyses = try #require(listing["analyses"] as? [[String: Any]])
        #expect(analyses.count == 1)
        let analysis = try #require(analyses.first)
        #expect(analysis["model"] as? String == llama && analysis["probes"] as? String == probes && analysis["complete"] as? Bool == true)
        #expect((analysis["options"] as? [String: String])?["samples_per_domain"] == "4")
        #expect(analysis["written"] is String)
        let units = try #require(analysis["units"] as? [[String: Any]])
        let counts = units.map { "\($0["kind"]!) \($0["done"]!)/\($0["total"]!)" }
        // 7 questions: one pooling batch; no concept has 2 known questions: no PSS run; 4 samples: 2 steps.
        #expect(counts == ["unmasked evaluation 1/1", "pooling batches 1/1", "PSS evaluations 0/0", "pattern steps 2/2"], "\(counts)")
        let text = try Neurotop.run(["list", "--store", store])
        #expect(text.stdout.contains("complete") && text.stdout.contains("samples_per_domain = 4") && text.stdout.contains("pattern steps 2/2"), "\(text.stdout)")
        #expect(analysis["workers"] as? Int == 0)
        // A process computing one of its units (process 1, alive on this host) is listed as at work.
        let opened = try openResultStore(store)
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        #expect(try opened.claim(AnalysisFingerprint(stored: try #require(opened.analyses().first)), unit: "pss 0 0.01",
                                 worker: "\(String(cString: name)) 1 test", lease: 600))
        let busy = try json(Neurotop.run(["list", "--store", store, "--json"]))
        #expect((busy["analyses"] as? [[String: Any]])?.first?["workers"] as? Int == 1)
        #expect(try Neurotop.run(["list", "--store", store]).stdout.contains("at work   1 worker computing its units now"))
        let missing = try Neurotop.run(["list", "--store", temporary("none.sqlite")])
        #expect(missing.status == 1 && missing.stderr.contains("no analysis store here"))
    }

    /// The figures: the points' values and the ticks as the analysis gives them, a legend, the
    /// settings in the caption; the tier figure split by the probe set's tiers (or saying there are none).
    @Test func svgFiguresCarryTheAnalysisValues() throws {
        let store = temporary("store.sqlite")
        let tiered = temporary("tiered.jsonl")
        let tierOf = ["France": "high", "Oxygen": "medium", "Greedy": "low"]
        let lines = try String(contentsOfFile: probes, encoding: .utf8).split(separator: "\n").map { line -> String in
            var object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            object["tier"] = tierOf[object["concept"] as! String]
            return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        try lines.joined(separator: "\n").write(toFile: tiered, atomically: true, encoding: .utf8)
        let out = temporary("figures")
        let export = try Neurotop.run(["export", llama, "--format", "svg", "--out", out] + options(store, probes: tiered))
        #expect(export.status == 0, "\(export.stderr)")
        let summary = try json(Neurotop.run(["analyze", llama, "--json"] + options(store, probes: tiered)))
        func read(_ name: String) throws -> String { try String(contentsOfFile: out + "/" + name + ".svg", encoding: .utf8) }
        func titles(_ svg: String, _ element: String) -> [String] {
            svg.components(separatedBy: "<\(element) class=").dropFirst().compactMap { part in
                part.range(of: "<title>").flatMap { start in part.range(of: "</title>").map { String(part[start.upperBound..<$0.lowerBound]) } }
            }
        }

        let density = try read("density_by_block")
        let points = titles(density, "circle")
        let blocks = try #require(summary["density"] as? [[String: Any]])
        #expect(points.count == 2 * 3, "a point per block and domain: \(points)")
        for (block, entry) in blocks.enumerated() {
            for (domain, value) in try #require(entry["domains"] as? [String: Double]) {
                #expect(points.contains("llama \(domain) block \(block): \(String(format: "%.4f", 100 * value))%"), "\(domain) \(block)")
            }
        }
        for expected in ["class=\"xtick\"", ">0</text>", ">1</text>", "weights activated (%)", "<g class=\"legend\">", ">recipes</text>",
                         "samples_per_domain: 4", "class=\"axes\""] {
            #expect(density.contains(expected), "\(expected)")
        }

        // Per tier: the accuracy PSS is computed from (multiple choice, by default) as `eval` gives it
        // for the tier's one concept (every question has choices); no PSS (no concept is measured).
        let tiers = try read("tiers")
        let bars = titles(tiers, "rect")
        let evaluation = try json(Neurotop.run(["eval", llama, "--probes", tiered, "--json"]))
        let concepts = try #require(evaluation["concepts"] as? [String: [String: Any]])
        for (concept, tier) in tierOf {
            let accuracy = try #require(concepts[concept]?["mcq_accuracy"] as? Double)
            // Multiple choice is taken over the concept's questions with choices.
            let questions = lines.filter { $0.contains("\"concept\":\"\(concept)\"") && $0.contains("\"choices\"") }.count
            #expect(bars.contains("llama \(tier): accuracy \(String(format: "%.4f", accuracy)) (\(questions) questions)"), "\(bars)")
        }
        #expect(tiers.contains("Accuracy (mcq) and PSS"))
        #expect(tiers.contains(">high</text>") && tiers.contains(">medium</text>") && tiers.contains(">low</text>"))
        #expect(!bars.contains { $0.contains("PSS") })

        let boxes = try read("cos_code_recipes")
        #expect(boxes.components(separatedBy: "<g class=\"box\">").count - 1 == 2, "a box a block")
        #expect(boxes.contains("cos_l of code × recipes samples by block: llama") && boxes.contains("min–max"))

        let pss = try read("pss_by_ratio")
        #expect(pss.contains(">0.1%</text>") && pss.contains(">10%</text>"), "a tick a ratio of the sweep")
        #expect(pss.contains("llama: no PSS measured (no concept has enough questions)"))

        // The comparison's rows per tier: the same accuracy.
        let table = try Neurotop.run(["compare", llama, gpt2, "--text"] + options(store, probes: tiered))
        let france = try #require(concepts["France"]?["open_accuracy"] as? Double)
        let high = try #require(table.stdout.split(separator: "\n").first { $0.hasPrefix("  high: open") }, "\(table.stdout)")
        #expect(high.contains(String(format: "%.1f%%", 100 * france)), "\(high)")
        #expect(table.stdout.contains("by popularity tier") && table.stdout.contains("  low: PSS"))

        // Without tiers in the probe set, the tier figure says so.
        let plain = temporary("plain")
        _ = try Neurotop.run(["export", llama, "--format", "svg", "--out", plain] + options(store))
        let untiered = try String(contentsOfFile: plain + "/tiers.svg", encoding: .utf8)
        #expect(untiered.contains("No tiers: the probe set gives no question a `tier`") && !untiered.contains("class=\"bar\""))
    }
}
