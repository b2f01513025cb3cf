import Foundation
import Analysis
import Model
import Tensors
import Tokenizers
import Testing

/// Live ablation takes shortcuts: the first ablated block is not rerun (the change its ablated
/// neurons make is added to its cached output), and the last block runs only at the rows that get
/// logits. These tests check that the shortcuts give what the full computation gives.
@Suite struct ToggleShortcuts {
    /// Every block's unablated output and MLP input for `batch`.
    func states(_ model: Transformer, _ batch: Batch) throws -> (outputs: [Buffer], mlpInputs: [Buffer]) {
        var outputs: [Buffer] = [], mlpInputs: [Buffer] = []
        func copy(_ values: UnsafePointer<Float>, _ count: Int) -> Buffer { Buffer(Array(UnsafeBufferPointer(start: values, count: count))) }
        _ = try model.forward(batch, logits: .none, hooks: Hooks(
            residual: { block, values, rows, width in if block > 0 { outputs.append(copy(values, rows * width)) } },
            mlpInput: { _, values, rows, width in mlpInputs.append(copy(values, rows * width)) }))
        return (outputs, mlpInputs)
    }

    /// Ablations of every block: one neuron, several, mean ablation (a non-zero value), and
    /// neurons in that block and later ones.
    func ablations(_ model: Transformer, from block: Int) -> [Ablation] {
        let f = model.mlpWidth, last = model.blockCount - 1
        return [
            Ablation(zeroing: [NeuronID(block: block, neuron: 3)]),
            Ablation(zeroing: [5, 17, f - 1].map { NeuronID(block: block, neuron: $0) }),
            Ablation(replacing: [NeuronID(block: block, neuron: 9): 0.3, NeuronID(block: block, neuron: 40): -0.2]),
            Ablation(zeroing: [NeuronID(block: block, neuron: 11), NeuronID(block: last, neuron: 2), NeuronID(block: last, neuron: 60)]),
        ]
    }

    @Test(arguments: ["gpt2", "llama", "qwen3", "mistral"])
    func skippingTheFirstAblatedBlockEqualsRerunningIt(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        let batch = Batch([try reference.sequence(9), try reference.sequence(45), try reference.sequence(1)])
        let (outputs, mlpInputs) = try states(model, batch)
        var entering: [Int: Buffer] = [:]
        _ = try model.forward(batch, logits: .none, hooks: Hooks(residual: { block, values, rows, width in
            entering[block] = Buffer(Array(UnsafeBufferPointer(start: values, count: rows * width)))
        }))
        for block in 0..<model.blockCount {
            for ablation in ablations(model, from: block) {
                let rerun = try #require(try model.forward(batch, from: block, residual: entering[block]!, logits: .all, ablation: ablation))
                let skipped = try #require(try model.forward(batch, after: block, output: outputs[block], mlpInput: mlpInputs[block],
                                                             logits: .all, ablation: ablation))
                #expect(maxAbsDifference(skipped.pointer, rerun.array) < 1e-5, "\(name), block \(block), \(ablation.neurons)")
            }
        }
        #expect(throws: InputError("", "the ablation touches block 0, before block 1")) {
            try model.forward(batch, after: 1, output: outputs[1], mlpInput: mlpInputs[1], ablation: Ablation(zeroing: [NeuronID(block: 0, neuron: 1)]))
        }
    }

    @Test(arguments: ["gpt2", "llama", "qwen3", "mistral"])
    func theLastBlockAtTheScoredRowsEqualsTheFullBlock(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        let batch = Batch([try reference.sequence(9), try reference.sequence(45), try reference.sequence(1)])
        // Rows in no order, several in a sequence (not adjacent), none in some.
        let rows = [batch.offsets[1] + 30, 2, batch.offsets[1] + 4, 7, batch.offsets[1] + 44, 3]
        let ablation = Ablation(zeroing: [NeuronID(block: model.blockCount - 1, neuron: 6)])
        for ablation in [Ablation(), ablation] {
            let everyRow = try #require(try model.forward(batch, logits: .all, ablation: ablation))
            let chosen = try #require(try model.forward(batch, logits: .rows(rows), ablation: ablation))
            let last = try #require(try model.forward(batch, logits: .last, ablation: ablation))
            let vocab = model.vocabSize
            func expected(_ rows: [Int]) -> [Float] { rows.flatMap { row in (0..<vocab).map { everyRow[row * vocab + $0] } } }
            #expect(maxAbsDifference(chosen.pointer, expected(rows)) < 1e-5, "\(name)")
            #expect(maxAbsDifference(last.pointer, expected(batch.lastRows)) < 1e-5, "\(name)")
        }
    }

    /// Continuations of one prompt (as the multiple-choice evaluation runs them) give what each
    /// prompt + continuation gives as one sequence.
    @Test(arguments: ["gpt2", "llama", "qwen3", "mistral"])
    func continuationsOfASharedPromptEqualWholeSequences(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        let long = try reference.sequence(45), short = try reference.sequence(9)
        let prompt = Array(long[..<20])
        let continuations = [Array(long[20...]), Array(short.prefix(3)), [long[44]]]
        let batch = Batch([short, prompt] + continuations, parents: [nil, nil, 1, 1, 1])
        let ablation = Ablation(zeroing: [NeuronID(block: 0, neuron: 4), NeuronID(block: model.blockCount - 1, neuron: 8)])
        let shared = try #require(try model.forward(batch, logits: .all, ablation: ablation))
        let vocab = model.vocabSize
        for (i, continuation) in continuations.enumerated() {
            let whole = try #require(try model.forward(Batch([prompt + continuation]), logits: .all, ablation: ablation))
            let expected = Array(UnsafeBufferPointer(start: whole.pointer + prompt.count * vocab, count: continuation.count * vocab))
            #expect(maxAbsDifference(shared.pointer + batch.offsets[2 + i] * vocab, expected) < 1e-5, "\(name) continuation \(i)")
        }
        // The last block at some rows only: a continuation's, and the prompt's last.
        let rows = [batch.offsets[2] + 24, batch.offsets[1] + 19, batch.offsets[3] + 1, batch.offsets[2] + 3]
        let chosen = try #require(try model.forward(batch, logits: .rows(rows), ablation: ablation))
        let expected = rows.flatMap { row in (0..<vocab).map { shared[row * vocab + $0] } }
        #expect(maxAbsDifference(chosen.pointer, expected) < 1e-5, "\(name)")
        #expect(throws: InputError("", "sequence 1 continues 2, which is not an earlier sequence without a parent")) {
            try model.forward(Batch([short, prompt, prompt], parents: [nil, 2, nil]))
        }
    }

    @Test(arguments: [("gpt2", "tiny-gpt2"), ("llama", "tiny-llama"), ("qwen3", "tiny-llama")])
    func incrementalEvaluationEqualsAFullOne(_ name: String, _ probeFile: String) throws {
        let checkpoint = try Checkpoint(folder: Fixtures.url("checkpoints/\(name)").path)
        let model = try Transformer(checkpoint: checkpoint)
        let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath))
        let probes = try ProbeSet.load(path: Fixtures.url("probes/\(probeFile).jsonl").path)
        let incremental = try Evaluator(model: model, tokenizer: tokenizer, probes: probes, batchSize: 3)
        let full = try Evaluator(model: model, tokenizer: tokenizer, probes: probes, batchSize: 3)
        for which in [Evaluator.Candidates.all, .answers] {
            try incremental.cacheResiduals(which)
            for ablation in [Ablation()] + (0..<model.blockCount).flatMap({ ablations(model, from: $0) }) {
                try expectEqual(incremental.evaluate(ablation: ablation, candidates: which), full.evaluate(ablation: ablation, candidates: which),
                                "\(name) \(which) \(ablation.neurons)")
            }
        }
    }

    /// On the demo model and its probe set, toggles in every block give the full evaluation's
    /// per-question results, and so its per-concept accuracy.
    @Test func demoTogglesEqualAFullEvaluation() throws {
        // The project's shipped data/ folder, next to Tests/.
        let data = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("data")
        let checkpoint = try Checkpoint(folder: data.appendingPathComponent("models/demo").path)
        let model = try Transformer(checkpoint: checkpoint)
        let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath))
        let probes = try ProbeSet.load(path: data.appendingPathComponent("probes/demo.jsonl").path)
        let incremental = try Evaluator(model: model, tokenizer: tokenizer, probes: probes)
        let full = try Evaluator(model: model, tokenizer: tokenizer, probes: probes)
        // State kept for about half the chunks (a budget smaller than the probe set needs), and
        // chunks scored on two threads side by side, as the front end does on a small model.
        let partial = try Evaluator(model: model, tokenizer: tokenizer, probes: probes)
        partial.threads = 2
        var generator = SeededGenerator(seed: 7)
        let spread = (0..<16).map { _ in NeuronID(block: Int.random(in: 0..<model.blockCount, using: &generator), neuron: Int.random(in: 0..<model.mlpWidth, using: &generator)) }
        let toggles = (0..<model.blockCount).map { Ablation(zeroing: [NeuronID(block: $0, neuron: 100 + $0)]) } + [Ablation(zeroing: spread)]
        for which in [Evaluator.Candidates.answers, .all] {
            let before = incremental.cachedStateBytes
            try incremental.cacheResiduals(which)
            partial.stateBudget = partial.cachedStateBytes + (incremental.cachedStateBytes - before) / 2
            let partialBefore = partial.cachedStateBytes
            try partial.cacheResiduals(which)
            #expect(partial.cachedStateBytes <= partial.stateBudget && partial.cachedStateBytes > partialBefore)
            for ablation in toggles {
                let (a, b) = (try incremental.evaluate(ablation: ablation, candidates: which), try full.evaluate(ablation: ablation, candidates: which))
                try expectEqual(a, b, "demo \(which) \(ablation.neurons)")
                try expectEqual(partial.evaluate(ablation: ablation, candidates: which), b, "demo \(which) \(ablation.neurons), half the state cached")
                let some = Array(stride(from: 0, to: probes.questions.count, by: 5))
                #expect(try partial.evaluate(questions: some, ablation: ablation, candidates: which).map(\.openCorrect) == some.map { b.results[$0].openCorrect })
                for concept in probes.concepts { #expect(a.concept(concept) == b.concept(concept)) }
            }
            // The same neurons listed in another order: the same values.
            try expectEqual(incremental.evaluate(ablation: Ablation(zeroing: spread.reversed()), candidates: which),
                            full.evaluate(ablation: Ablation(zeroing: spread), candidates: which), "demo \(which) reversed")
        }
    }

    /// A pass over some questions (what a PSS evaluation runs: a concept's and its control set's)
    /// gives each of them the result a pass over all questions gives, from the cache or without:
    /// the same right/wrong calls, log-probabilities equal up to float rounding (the GEMMs of a
    /// smaller batch may sum in another order).
    @Test(arguments: [("gpt2", "tiny-gpt2"), ("llama", "tiny-llama")])
    func evaluatingSomeQuestionsEqualsEvaluatingAll(_ name: String, _ probeFile: String) throws {
        let checkpoint = try Checkpoint(folder: Fixtures.url("checkpoints/\(name)").path)
        let model = try Transformer(checkpoint: checkpoint)
        let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath))
        let probes = try ProbeSet.load(path: Fixtures.url("probes/\(probeFile).jsonl").path)
        let cached = try Evaluator(model: model, tokenizer: tokenizer, probes: probes, batchSize: 3)
        let uncached = try Evaluator(model: model, tokenizer: tokenizer, probes: probes, batchSize: 3)
        let subsets = [[6, 0, 3], [1], Array(probes.questions.indices.reversed())]
        for which in [Evaluator.Candidates.all, .answers] {
            try cached.cacheResiduals(which)
            for ablation in [Ablation()] + (0..<model.blockCount).flatMap({ ablations(model, from: $0) }) {
                let all = try uncached.evaluate(ablation: ablation, candidates: which)
                for subset in subsets {
                    let expected = subset.map { all.results[$0] }
                    for evaluator in [cached, uncached] {
                        let results = try evaluator.evaluate(questions: subset, ablation: ablation, candidates: which)
                        #expect(results.count == expected.count)
                        for (x, y) in zip(results, expected) {
                            #expect(x.openCorrect == y.openCorrect && x.multipleChoiceCorrect == y.multipleChoiceCorrect, "\(name) \(which) \(subset)")
                            for (p, q) in zip(x.logProbabilities, y.logProbabilities) { #expect(abs(p - q) < 1e-5, "\(name) \(which) \(subset): \(p) vs \(q)") }
                        }
                    }
                }
            }
        }
    }

    /// A concept's PSS runs keep its questions' unmasked state at the blocks its ratios mask first:
    /// every ablation whose first block is one of them gives, to the last bit, what a pass over
    /// those questions gives; one whose first block is another is refused.
    @Test(arguments: [("gpt2", "tiny-gpt2"), ("llama", "tiny-llama")])
    func keptStatesEqualAPassOverTheQuestions(_ name: String, _ probeFile: String) throws {
        let checkpoint = try Checkpoint(folder: Fixtures.url("checkpoints/\(name)").path)
        let model = try Transformer(checkpoint: checkpoint)
        let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath))
        let probes = try ProbeSet.load(path: Fixtures.url("probes/\(probeFile).jsonl").path)
        let evaluator = try Evaluator(model: model, tokenizer: tokenizer, probes: probes, batchSize: 3)
        for which in [Evaluator.Candidates.all, .answers] {
            for subset in [[6, 0, 3], Array(probes.questions.indices.reversed())] {
                for first in 0..<model.blockCount {
                    for blocks in [first..<model.blockCount, first..<(first + 1)] {
                        let states = try evaluator.states(of: subset, at: blocks, candidates: which)
                        #expect(states.bytes > 0)
                        for ablation in blocks.flatMap({ ablations(model, from: $0) }) {
                            let expected = try evaluator.evaluate(questions: subset, ablation: ablation, candidates: which)
                            #expect(try evaluator.evaluate(states, ablation: ablation) == expected, "\(name) \(which) \(subset) at \(blocks)")
                        }
                        for outside in [blocks.lowerBound - 1, blocks.upperBound] where (0..<model.blockCount).contains(outside) {
                            #expect(throws: InputError.self) {
                                try evaluator.evaluate(states, ablation: Ablation(zeroing: [NeuronID(block: outside, neuron: 0)]))
                            }
                        }
                    }
                }
            }
        }
    }

    /// The same results to the last bit: the live view never disagrees with `neurotop ablate`.
    func expectEqual(_ a: ProbeAccuracy, _ b: ProbeAccuracy, _ label: String) throws {
        #expect(a.results.count == b.results.count)
        for (x, y) in zip(a.results, b.results) { #expect(x == y, "\(label)") }
    }
}
