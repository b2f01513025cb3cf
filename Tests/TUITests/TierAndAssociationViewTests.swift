import Foundation
import Analysis
import Model
import Testing
import TUI

/// Popularity tiers on the Overview and Concepts pages, and `s` switching the association the
/// knowledge vectors are ranked by, with their count per block.
@Suite struct TierAndAssociationViewTests {
    /// The fixture's finished analysis on its probes with tiers: France high, the others low.
    static let tiered: AnalysisSnapshot = {
        let s = Scenario.finished
        let questions = s.probes.questions.map { q in
            ProbeQuestion(concept: q.concept, category: q.category, tier: q.concept == "France" ? .high : .low, prompt: q.prompt,
                          answer: q.answer, choices: q.choices, line: q.line)
        }
        let probes = ProbeSet(name: s.probes.name, path: s.probes.path, questions: questions)
        return AnalysisSnapshot(generation: s.generation + 1, card: s.card, probes: probes, progress: s.progress, pooled: s.pooled,
                                specialization: s.specialization, specializations: s.specializations, score: s.score,
                                conceptCount: s.conceptCount, patterns: s.patterns,
                                baseline: s.baseline.map { ProbeAccuracy(probes: probes, results: $0.results) }, live: nil,
                                requestedAblation: Ablation(), details: [:])
    }()

    @Test func overviewAndConceptsShowTiers() throws {
        let snapshot = Self.tiered
        let overview = Scenario.render(Scenario.state(snapshot: snapshot), snapshot).buffer.text
        let high = try #require(snapshot.baseline).tier(.high).open, low = try #require(snapshot.baseline).tier(.low).open
        #expect(overview.contains(String(format: "tier high         open %.1f%%  PSS not measured  (1 concept)", 100 * high)), "\(overview)")
        #expect(overview.contains(String(format: "tier low          open %.1f%%  PSS not measured  (2 concepts)", 100 * low)), "\(overview)")
        let concepts = Scenario.render(Scenario.state(Scenario.keys("5"), snapshot: snapshot), snapshot).buffer.text
        let lines = concepts.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("concept") && $0.contains("category") && $0.contains("tier") }, "\(concepts)")
        let france = try #require(lines.first { $0.hasPrefix(" France") }, "\(concepts)")
        #expect(france.contains("country") && france.contains("high"), "\(france)")
        #expect(concepts.contains("France (country, tier high)"), "\(concepts)")
        // A probe set without tiers has no tier column or line.
        let plain = Scenario.render(Scenario.state(Scenario.keys("5")), Scenario.finished).buffer.text
        #expect(!plain.split(separator: "\n").contains { $0.contains("category") && $0.contains("tier") })
        #expect(!Scenario.render(Scenario.state()).buffer.text.contains("tier high"))
    }

    /// Issue 23, must show 4: a tier whose PSS rests on one concept is drawn with its interval and
    /// its n, and the figure says that it rests on fewer than 5 concepts.
    @Test func theTierFigureSaysWhenATierRestsOnOneConcept() throws {
        let s = Self.tiered
        let ratios = s.score.ratios
        let entries = s.probes.concepts.indices.flatMap { c in
            ratios.map { SpecializationScore.Entry(concept: c, ratio: $0, conceptAccuracy: 0, otherAccuracy: c == 0 ? 1 : 0.5, baseline: 1) }
        }
        let snapshot = AnalysisSnapshot(generation: s.generation + 1, card: s.card, probes: s.probes, progress: s.progress, pooled: s.pooled,
                                        specialization: s.specialization, specializations: s.specializations,
                                        score: SpecializationScore(metric: .open, ratios: ratios, entries: entries),
                                        conceptCount: s.conceptCount, patterns: s.patterns, baseline: s.baseline, live: nil,
                                        requestedAblation: Ablation(), details: [:])
        let high = try #require(snapshot.tierFigures.first { $0.tier == .high })
        #expect(high.pssInterval(at: ratios[0])?.n == 1)
        let figure = try #require(Figures.analysis(AnalysisSummary(snapshot: snapshot), settings: []).first { $0.name == "tiers" }).text
        #expect(figure.contains("PSS rests on 1 concept (fewer than 5)"), "\(figure)")
        #expect(figure.contains("n=1") && figure.contains("n=2"), "\(figure)")
        #expect(figure.contains("n = 1, fewer than 5 concepts"), "\(figure)")
        #expect(figure.contains("class=\"errorbar\""), "\(figure)")
        #expect(figure.contains("PSS rests on 2 concepts (fewer than 5)"), "\(figure)")
    }

    @Test func sSwitchesTheAssociationOfTheKnowledgeVectorsAndTheirBlocks() throws {
        let snapshot = Scenario.finished
        let raw = try #require(snapshot.specialization)
        #expect(raw.association == .raw)
        let standardized = Specialization(pooled: try #require(snapshot.pooled), probes: snapshot.probes, blocks: raw.blocks, width: raw.width,
                                          association: .standardized)
        func blocksLine(_ text: String) -> String? { text.split(separator: "\n").map(String.init).first { $0.contains("by block (") } }
        func expected(_ specialization: Specialization) -> String {
            let counts = specialization.knowledgeNeuronsByBlock(concept: 0, ratio: 0.01)
            return "\(Int((100 * Double(counts.last!) / Double(counts.reduce(0, +))).rounded()))% in the last 1 of 2 blocks"
        }
        var state = Scenario.state(Scenario.keys("5"))
        var text = Scenario.render(state).buffer.text
        #expect(text.contains("knowledge vectors at r = 1% by raw Δ (s)"), "\(text)")
        var line = try #require(blocksLine(text), "\(text)")
        #expect(line.contains("by block (raw Δ, s switches): ") && line.contains(expected(raw)), "\(line)")
        // At 80×24 the line keeps its figures whole.
        let narrow = Scenario.render(Scenario.state(Scenario.keys("5"), width: 80, height: 24)).buffer.text
        #expect(try #require(blocksLine(narrow), "\(narrow)").contains(expected(raw)), "\(narrow)")
        _ = state.handle(.key(.character("s")), snapshot: snapshot)
        #expect(state.message?.text == "knowledge vectors ranked by standardized Δ/σ (PSS stays the engine's, by raw Δ)")
        text = Scenario.render(state).buffer.text
        #expect(text.contains("knowledge vectors at r = 1% by standardized Δ/σ (s)"), "\(text)")
        line = try #require(blocksLine(text), "\(text)")
        #expect(line.contains("by block (standardized Δ/σ, s switches): ") && line.contains(expected(standardized)), "\(line)")
        let listed = standardized.knowledgeNeurons(concept: 0, ratio: 0.01).map(\.description).joined(separator: " ")
        #expect(text.contains("3 neurons, 0 ablated: " + listed), "\(text)")
        #expect(text.contains("PSS(c, r) by raw Δ: "), "\(text)")
        // Space ablates the knowledge vectors shown.
        _ = state.handle(.key(.character(" ")), snapshot: snapshot)
        #expect(Set(state.ablated) == Set(standardized.knowledgeNeurons(concept: 0, ratio: 0.01)))
        _ = state.handle(.key(.character("s")), snapshot: snapshot)
        #expect(Scenario.render(state).buffer.text.contains("by raw Δ (s)"))
    }
}
