import Foundation
import Analysis
import Model
import Tokenizers
import Testing

@Suite struct EvaluatorAgainstTransformers {
    /// Per-question log-probabilities and right/wrong calls equal those computed with
    /// transformers and the tokenizers library by the fixture script.
    @Test(arguments: ["gpt2", "llama"])
    func perQuestionFigures(_ name: String) throws {
        let folder = Fixtures.url("checkpoints/\(name)").path
        let data = try Data(contentsOf: Fixtures.url("checkpoints/\(name)/evaluation.json"))
        let reference = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let probes = try ProbeSet.load(path: Fixtures.url(try #require(reference["probes"] as? String)).path)
        let expected = try #require(reference["questions"] as? [[String: Any]])
        let checkpoint = try Checkpoint(folder: folder)
        let evaluator = try Evaluator(model: Transformer(checkpoint: checkpoint),
                                      tokenizer: Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath)),
                                      probes: probes)
        let accuracy = try evaluator.evaluate()
        #expect(accuracy.results.count == expected.count)
        for (result, theirs) in zip(accuracy.results, expected) {
            let scores = try #require(theirs["log_probabilities"] as? [Double])
            #expect(result.logProbabilities.count == scores.count)
            for (a, b) in zip(result.logProbabilities, scores) { #expect(abs(a - b) < 1e-4, "\(a) vs \(b)") }
            #expect(result.openCorrect == theirs["open_correct"] as? Bool)
            #expect(result.multipleChoiceCorrect == theirs["mcq_correct"] as? Bool)
        }
        #expect(accuracy.results.contains { $0.openCorrect }, "the fixture has a question the model gets right")
        let opens = expected.filter { $0["open_correct"] as? Bool == true }.count
        #expect(accuracy.overall.open == Double(opens) / Double(expected.count))
        #expect(accuracy.concept("Greedy").open == 1)
    }
}
