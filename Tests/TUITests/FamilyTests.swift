import Foundation
import Engine
import Testing
import TUI

/// Every model family through the whole product: the engine runs both analyses (knowledge
/// specialization with PSS, activation patterns) on the family's tiny fixture, and the front end
/// draws the result.
@Suite struct EveryFamilyEndToEnd {
    @Test(arguments: ["gemma", "gemma2", "gemma3", "gemma3-multimodal", "gpt-neox", "olmo", "olmo2", "phi3", "gptj", "falcon", "falcon-new", "falcon-alibi", "mpt", "opt", "opt-350m"])
    func bothAnalysesRunAndTheFrontEndShowsThem(_ name: String) throws {
        let inputs = try AnalysisInputs.load(model: Scenario.fixtures.appendingPathComponent("checkpoints/\(name)").path,
                                             probes: Scenario.fixtures.appendingPathComponent("probes/tiny-llama.jsonl").path,
                                             domains: Scenario.fixtures.appendingPathComponent("domains").path)
        var options = AnalysisOptions()
        options.patterns.samples = 2
        let snapshot = try AnalysisEngine(inputs: inputs, options: options, store: nil).runToEnd { _ in }
        #expect(snapshot.progress.state == .finished)
        let specialization = try #require(snapshot.specialization)
        #expect(specialization.delta.count == inputs.model.blockCount * inputs.model.mlpWidth * inputs.probes.concepts.count)
        // PSS for every concept the plan measures (the tiny probe set leaves each one out: too few
        // questions for a control set of 5; the masked evaluation of every family is checked
        // against the full forward by FamilyIncrementalAblation).
        let plan = try #require(snapshot.score.plan)
        #expect(snapshot.score.entries.count == plan.measuredConcepts.count * options.ratios.count)
        let patterns = try #require(snapshot.patterns)
        #expect(patterns.samplesSeen == [2, 2, 2])
        for domain in 0..<3 {
            #expect(patterns.density.activated.map { $0[domain] }.reduce(0, +) > 0, "domain \(domain) activates some weights")
        }
        let text = Scenario.render(Scenario.state(snapshot: snapshot), snapshot).buffer.text
        for expected in ["family      \(inputs.model.config.familyName)", "finished: every figure computed", "Knowledge specialization", "Activation patterns"] {
            #expect(text.contains(expected), "\(name): \(expected)\n\(text)")
        }
    }
}
