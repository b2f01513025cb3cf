import Foundation
import Analysis
import Model
import Testing
import TUI

/// Every page at 80×24, the most common terminal size: no text is cut where it meets the edge of
/// its box or of the screen (a layout that cannot fit a text lays it out otherwise, or abbreviates
/// it visibly with `…`). The buffer records every text it had to cut; here it must record none.
@Suite struct LayoutTests {
    /// The demo's sizes on the fixture's model: 48 concepts of 8 questions in 6 categories, every
    /// question known, PSS part-way (35 of 336 runs), the engine working with a long description;
    /// with `tiered`, the concepts in three popularity tiers (the Overview's tier lines, the
    /// Concepts page's tier column).
    static func demoSized(tiered: Bool) -> AnalysisSnapshot {
        let finished = Scenario.finished
        let categories = ["city", "element", "person", "animal", "river", "mountain"]
        var questions: [ProbeQuestion] = []
        for c in 0..<48 {
            let concept = "Concept \(["Tavessa", "Quellport", "Ilsabet Rowan", "Doran Quillfeather"][c % 4]) \(c)"
            for q in 0..<8 {
                questions.append(ProbeQuestion(concept: concept, category: categories[c % 6], tier: tiered ? ProbeTier.allCases[c % 3] : nil,
                                               prompt: "Question \(q) about \(concept) is",
                                               answer: " answer\(q)", choices: [" answer\(q)", " other", " more", " none"]))
            }
        }
        let probes = ProbeSet(name: "demo", path: "data/probes/demo.jsonl", questions: questions)
        let results = questions.indices.map { QuestionResult(logProbabilities: [-1, -2, -3, -4], multipleChoiceCorrect: $0 % 3 != 0, openCorrect: true) }
        let baseline = ProbeAccuracy(probes: probes, results: results)
        let plan = SpecializationScore.Plan(probes: probes, baseline: baseline, metric: .open, controlSet: .five, questions: .known)
        let ratios = SpecializationScore.defaultRatios
        let entries = (0..<35).map { k in
            SpecializationScore.Entry(concept: k % 48, ratio: ratios[k / 5 % ratios.count], conceptAccuracy: Double(k % 7) / 8,
                                      otherAccuracy: 0.975, baseline: 1)
        }
        let blocks = finished.card.blocks, width = finished.card.mlpWidth
        let values = (0..<(questions.count * blocks * width)).map { Float(($0 * 7919) % 1000) / 1000 }
        let pooled = PooledCoefficients(questions: questions.count, neurons: blocks * width, values: values)
        let specialization = Specialization(pooled: pooled, probes: probes, blocks: blocks, width: width)
        let progress = EngineProgress(state: .working, doing: "specialization: Concept Tavessa 12 at 2.0 % (48 questions)", done: 27,
                                      total: 375, secondsLeft: 44)
        let card = ModelCard(name: "demo", family: "llama", blocks: blocks, hidden: 128, mlpWidth: width, heads: 4, vocab: 2048,
                             parameters: 853_100, dtype: "F32")
        return AnalysisSnapshot(generation: 7, card: card, probes: probes, progress: progress, pooled: pooled, specialization: specialization,
                                specializations: specialization.specializations,
                                score: SpecializationScore(metric: .open, ratios: ratios, entries: entries, plan: plan),
                                conceptCount: 48, patterns: finished.patterns, baseline: baseline, live: nil, requestedAblation: Ablation(),
                                details: [:])
    }

    static let demoSized = demoSized(tiered: false)

    /// `demoSized` with the neuron under the cursor inspected: its tokens and the questions that
    /// drive it most (the Neuron page's long lines).
    static let inspected: AnalysisSnapshot = {
        let detail = NeuronDetail(neuron: NeuronID(block: 0, neuron: 0),
                                  promoted: [.init(token: " Quillfeather", value: 1.25), .init(token: " Tavessa", value: 0.5)],
                                  suppressed: [.init(token: " Berlin", value: -0.75)],
                                  topQuestions: (0..<5).map { .init(question: $0 * 9, pooled: 3.5 - Float($0) / 4) })
        return Scenario.copy(demoSized, details: [detail.neuron: detail])
    }()

    static let snapshots: [(String, AnalysisSnapshot)] = [
        ("finished", Scenario.finished), ("partial", Scenario.partial), ("empty", Scenario.empty),
        ("ablated", Scenario.ablatedAndInspected), ("demo-sized", demoSized), ("inspected", inspected),
        ("tiered", TierAndAssociationViewTests.tiered), ("demo-sized tiered", demoSized(tiered: true)),
    ]

    @Test(arguments: 1...7) func everyPageFitsEightyByTwentyFour(page: Int) {
        for (name, snapshot) in Self.snapshots {
            var state = Scenario.state(width: 80, height: 24)
            if name == "ablated" { _ = state.handle(.ablationLoaded(Scenario.ablated, path: "set.txt"), snapshot: snapshot) }
            for key in Scenario.keys("\(page)") { _ = state.handle(.key(key), snapshot: snapshot) }
            let frame = Screen.render(state, snapshot, Scenario.context(), compared: [Scenario.partial])
            #expect(frame.buffer.cut.isEmpty, "page \(page), \(name): \(frame.buffer.cut)\n\(frame.buffer.text)")
            // The help overlay too.
            _ = state.handle(.key(.character("?")), snapshot: snapshot)
            let help = Screen.render(state, snapshot, Scenario.context())
            #expect(help.buffer.cut.isEmpty, "help of page \(page), \(name): \(help.buffer.cut)")
        }
    }

    /// The Concepts page with the knowledge vectors ranked by the other association (`s`): its
    /// title and the by-block line of the detail box.
    @Test func conceptsUnderTheStandardizedAssociationFit() {
        for (name, snapshot) in Self.snapshots {
            var state = Scenario.state(width: 80, height: 24)
            for key in Scenario.keys("5s") { _ = state.handle(.key(key), snapshot: snapshot) }
            let frame = Screen.render(state, snapshot, Scenario.context())
            #expect(frame.buffer.cut.isEmpty, "\(name): \(frame.buffer.cut)\n\(frame.buffer.text)")
            if snapshot.pooled != nil, snapshot.specialization != nil { #expect(frame.buffer.text.contains("Δ/σ"), "\(name): \(frame.buffer.text)") }
        }
    }

    /// The checker itself: a text running into its limit is recorded, one abbreviated by the view
    /// or one that ends in spaces is not.
    @Test func aTextCutAtItsLimitIsRecorded() {
        var buffer = CellBuffer(width: 20, height: 2)
        buffer.text("(384 questions)", x: 10, y: 0, style: .plain)
        buffer.text(DisplayWidth.fit("(384 questions)", 10), x: 10, y: 1, style: .plain)
        buffer.text("fits   ", x: 0, y: 1, style: .plain, limit: 5)
        #expect(buffer.cut == ["row 0: (384 questions)"])
        #expect(buffer.text.contains("(384 quest"))
    }
}

/// The Compare page drawn from fixed snapshots: a column a model, figures not computed yet as `…`.
@Suite struct ComparePageTests {
    @Test func modelsSideBySideWithPartialOnesPending() throws {
        let finished = Scenario.finished, partial = Scenario.partial
        let state = Scenario.state(Scenario.keys("7"))
        #expect(state.page == .compare)
        let text = Screen.render(state, finished, Scenario.context(), compared: [partial]).buffer.text
        let lines = text.split(separator: "\n").map(String.init)
        #expect(text.contains("7 Compare") && text.contains("2 models side by side"), "\(text)")
        let accuracy = try #require(finished.baseline).overall.open
        let row = try #require(lines.first { $0.contains("accuracy open") })
        let cells = try Regex("accuracy open +" + String(format: "%.1f%%", 100 * accuracy) + " +…( |$)")
        #expect(row.contains(cells), "the partial model's accuracy is not computed yet: \(row)")
        let engines = try #require(lines.first { $0.contains("engine") })
        #expect(engines.contains("finished") && engines.contains("3/26"), "\(engines)")
        // Two models are too few for a correlation of peak PSS with accuracy: the page says so.
        #expect(text.contains("peak PSS against \(finished.score.metric.rawValue) accuracy across the models"), "\(text)")
        #expect(lines.contains { $0.contains("  Pearson –") } && lines.contains { $0.contains("  Spearman –") }, "\(text)")
        #expect(lines.contains { $0.contains("(fewer than 3)") }, "\(text)")
        let same = try #require(finished.patterns?.deepBlockSimilarity.same), partialSame = try #require(partial.patterns?.deepBlockSimilarity.same)
        let scrolled = Scenario.state(Scenario.keys("7") + Array(repeating: .down, count: 20))
        let lower = Screen.render(scrolled, finished, Scenario.context(), compared: [partial]).buffer.text
        let similarity = try #require(lower.split(separator: "\n").first { $0.contains("same domain") })
        #expect(similarity.contains(String(format: "%.3f", same)) && similarity.contains(String(format: "%.3f", partialSame)), "\(lower)")
        #expect(lower.contains("samples") && lower.contains("2/4"), "the partial model's patterns rest on 2 of 4 samples")
    }

    @Test func oneModelSaysHowToAddOthers() {
        let text = Scenario.render(Scenario.state(Scenario.keys("7"))).buffer.text
        #expect(text.contains("One model: neurotop compare MODEL MODEL… puts others beside it"), "\(text)")
        #expect(text.contains("knowledge specialization") && text.contains("rows 1–"))
    }
}

@Suite struct FittingTests {
    /// Shortened where a reader can stop: at a double space, before " · " or " (", else between
    /// words, never leaving a parenthesis open; wrapped at spaces.
    @Test func wholeWordsAndLines() {
        #expect(DisplayWidth.whole("0.725 at r = 0.1%  (35 of 336 runs so far)", 30) == "0.725 at r = 0.1%")
        #expect(DisplayWidth.whole("s by relative depth (mean of the layer summaries in each tenth)", 48) == "s by relative depth")
        #expect(DisplayWidth.whole("open 100.0%   multiple choice 66.7%", 20) == "open 100.0%")
        #expect(DisplayWidth.whole("specialization: Tavessa at 2.0 %", 25) == "specialization: Tavessa")
        #expect(DisplayWidth.whole("Quellport", 5) == "")
        #expect(DisplayWidth.whole("Knowledge focus: share of max(Δ, 0) over concepts", 34) == "Knowledge focus: share of")
        #expect(DisplayWidth.wrap("(384 questions, 48 concepts)", 16) == ["(384 questions,", "48 concepts)"])
    }
}
