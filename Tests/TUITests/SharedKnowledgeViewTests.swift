import Foundation
import Analysis
import Model
import Testing
import TUI

/// The Concepts page's lines above the table (PSS(r) at the chosen ratio with its interval, n and
/// signs; the median share of knowledge vectors other concepts hold) and its shared column.
@Suite struct SharedKnowledgeViewTests {
    /// The fixture's finished analysis with PSS measured on its 3 concepts at every ratio: +1, +0.5, −0.5.
    static let measured: AnalysisSnapshot = {
        let s = Scenario.finished
        let entries = s.probes.concepts.indices.flatMap { c in
            s.score.ratios.map {
                SpecializationScore.Entry(concept: c, ratio: $0, conceptAccuracy: c == 2 ? 0.5 : 0, otherAccuracy: [1, 0.5, 0][c], baseline: 1)
            }
        }
        return AnalysisSnapshot(generation: s.generation + 1, card: s.card, probes: s.probes, progress: s.progress, pooled: s.pooled,
                                specialization: s.specialization, specializations: s.specializations,
                                score: SpecializationScore(metric: .open, ratios: s.score.ratios, entries: entries),
                                conceptCount: s.conceptCount, patterns: s.patterns, baseline: s.baseline, live: nil,
                                requestedAblation: Ablation(), details: [:])
    }()

    @Test func conceptsShowPSSWithItsIntervalSignsAndSharedKnowledgeVectors() throws {
        let snapshot = Self.measured
        let text = Scenario.render(Scenario.state(Scenario.keys("5"), snapshot: snapshot), snapshot).buffer.text
        let interval = try #require(snapshot.score.modelIntervals.first { $0.ratio == 0.01 }?.interval)
        #expect(interval.n == 3)
        #expect(text.contains("PSS(1%) 0.667 " + interval.text() + " n = 3, fewer than 5 concepts · signed +0.333: 2 +, 1 −"), "\(text)")

        // At 1 % the fixture's 3 concepts have 3 knowledge vectors each, none in common.
        #expect(text.contains("knowledge vectors at r = 1%: median 0% shared with other concepts · no neuron in two concepts' sets"), "\(text)")
        #expect(column(text) == ["  0%", "  0%", "  0%"], "\(text)")

        // At 10 % (+ three times): 26 each, of which 1, 4 and 3 in another concept's set.
        let wider = Scenario.render(Scenario.state(Scenario.keys("5+++"), snapshot: snapshot), snapshot).buffer.text
        let shared = SharedKnowledgeVectors(specialization: try #require(snapshot.specialization), ratio: 0.1)
        #expect(shared.concepts.map(\.knowledgeVectors) == [26, 26, 26])
        #expect(shared.concepts.map(\.shared) == [1, 4, 3])
        let top = try #require(shared.genericNeurons.first)
        #expect(top.concepts == 2)
        #expect(wider.contains("PSS(10%) 0.667"), "\(wider)")
        #expect(wider.contains("knowledge vectors at r = 10%: median 12% shared with other concepts · most shared: \(top.neuron) in 2 of 3 sets"),
                "\(wider)")
        #expect(column(wider) == ["  4%", " 15%", " 12%"], "\(wider)")
    }

    /// The shared column's cells, concept by concept: the 4 cells under the header "shared".
    func column(_ text: String) -> [String] {
        let lines = text.split(separator: "\n").map(String.init)
        guard let header = lines.first(where: { $0.contains("K_c ablated") && $0.contains("shared") }),
              let found = header.range(of: "shared") else { return [] }
        let column = header.distance(from: header.startIndex, to: found.lowerBound)
        return Self.measured.probes.concepts.compactMap { concept in
            lines.first { $0.hasPrefix(" " + concept) || $0.hasPrefix(" • " + concept) }.map { String(Array($0).dropFirst(column).prefix(4)) }
        }
    }

    /// `compare`'s rows under the peak: the mean signed PSS at the peak ratio and how many concepts have each sign.
    @Test func compareGivesTheSignAtThePeak() throws {
        let comparison = Comparison([AnalysisSummary(snapshot: Self.measured), AnalysisSummary(snapshot: Scenario.finished)])
        let signed = try #require(comparison.rows.first { $0.label == "  signed at peak" })
        #expect(signed.cells == ["+0.333", "–"], "the fixture itself measures no concept: \(signed.cells)")
        let signs = try #require(comparison.rows.first { $0.label == "  signs at peak" })
        #expect(signs.cells == ["+2 −1 =0", "–"])
        let peak = try #require(comparison.rows.firstIndex { $0.label == "peak PSS" })
        #expect(comparison.rows[peak + 2].label == "  signed at peak", "below the peak and its interval")
    }

    @Test func withoutMeasuredConceptsPSSSaysWhy() {
        let text = Scenario.render(Scenario.state(Scenario.keys("5"))).buffer.text
        #expect(text.contains("PSS(1%) not measured: no concept has enough questions"), "\(text)")
    }

    /// The chosen concept's questions are marked right or wrong by the accuracy PSS is computed
    /// from: every question answered wrong in the open and right among the choices shows ✓ under
    /// multiple choice and ✗ under open accuracy.
    @Test func questionMarksFollowTheMetric() throws {
        let s = Scenario.finished
        let baseline = ProbeAccuracy(probes: s.probes, results: s.probes.questions.map { _ in
            QuestionResult(logProbabilities: [0, -1, -2, -3], multipleChoiceCorrect: true, openCorrect: false)
        })
        func render(_ metric: AccuracyMetric) -> String {
            let snapshot = AnalysisSnapshot(generation: s.generation + 1, card: s.card, probes: s.probes, progress: s.progress, pooled: s.pooled,
                                            specialization: s.specialization, specializations: s.specializations,
                                            score: SpecializationScore(metric: metric, ratios: s.score.ratios, entries: []),
                                            conceptCount: s.conceptCount, patterns: s.patterns, baseline: baseline, live: nil,
                                            requestedAblation: Ablation(), details: [:])
            return Scenario.render(Scenario.state(Scenario.keys("5"), snapshot: snapshot), snapshot).buffer.text
        }
        let prompt = try #require(s.probes.questions.first).prompt
        let line = { (text: String) in text.split(separator: "\n").first { $0.contains(prompt + " →") }.map(String.init) ?? "" }
        #expect(line(render(.mcq)).contains("✓ → ✓"), "\(render(.mcq))")
        #expect(line(render(.open)).contains("✗ → ✗"), "\(render(.open))")
    }
}
