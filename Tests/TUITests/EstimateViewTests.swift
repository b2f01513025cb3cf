import Foundation
import Analysis
import Testing
import TUI

/// Estimated figures are marked ≈ with how many of their questions are exact so far, and only
/// while some are estimated; exact ones keep their plain form.
@Suite struct EstimateMarks {
    /// The scenario's ablation answered exactly for France's questions, estimated for the rest.
    static let partlyExact: AnalysisSnapshot = {
        let exact = Scenario.ablatedAndInspected.live!
        let france = Set(Scenario.finished.probes.questionIndices["France"]!)
        let live = LiveAccuracy(ablation: exact.ablation, accuracy: exact.accuracy,
                                exact: exact.accuracy.results.indices.map(france.contains), milliseconds: 40, estimateMilliseconds: 2)
        return Scenario.copy(Scenario.ablatedAndInspected, live: live)
    }()

    func state(_ keys: String) -> AppState {
        var state = Scenario.state()
        _ = state.handle(.ablationLoaded(Scenario.ablated, path: "set.txt"), snapshot: Self.partlyExact)
        for key in Scenario.keys(keys) { _ = state.handle(.key(key), snapshot: Self.partlyExact) }
        return state
    }

    @Test func conceptsMarkEstimatedRowsOnly() throws {
        let text = Scenario.render(state("5"), Self.partlyExact).buffer.text
        let lines = text.split(separator: "\n").map(String.init)
        let france = try #require(lines.first { $0.contains("France") && $0.contains("country") })
        let oxygen = try #require(lines.first { $0.contains("Oxygen") && $0.contains("element") })
        #expect(!france.contains("≈") && france.contains("3/3"), "\(france)")
        #expect(oxygen.contains("→   ≈") && oxygen.contains("0/3"), "\(oxygen)")
        let total = Scenario.finished.probes.questions.count
        #expect(text.contains("≈ exact 3/\(total)"), "\(text)")
        #expect(text.contains("(exact 3/\(total))"), "the status bar: \(text)")
    }

    @Test func ablationsMarkEstimatedFiguresAndSayHowFarExactIs() throws {
        let text = Scenario.render(state("6"), Self.partlyExact).buffer.text
        let total = Scenario.finished.probes.questions.count
        #expect(text.contains("≈ estimated in 2 ms; 3/\(total) questions exact so far (≈ marks estimates)"), "\(text)")
        let overall = try #require(text.split(separator: "\n").first { $0.contains("overall") }.map(String.init))
        #expect(overall.contains("≈") && overall.contains("exact 3/\(total)"), "\(overall)")
        // Exact throughout: no mark.
        let exact = Scenario.render(state("6"), Scenario.ablatedAndInspected).buffer.text
        #expect(!exact.contains("≈") && exact.contains("evaluated in 12 ms"))
    }

    @Test func theHelpSaysWhatTheMarksMean() throws {
        for page in ["5", "6"] {
            let text = Scenario.render(state(page + "?"), Self.partlyExact).buffer.text
            #expect(text.contains("Marks") && text.contains("≈ 40%") && text.contains("estimated (dim): first-order"), "\(text)")
            #expect(text.contains("exact k/n") && text.contains("questions re-evaluated exactly so far"))
        }
        #expect(!Scenario.render(state("2?"), Self.partlyExact).buffer.text.contains("Marks"))
    }
}
