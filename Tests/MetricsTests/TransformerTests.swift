import Foundation
import Checkpoints
import Model
import Tensors
import Testing

/// The engine against transformers' own numbers, recorded by scripts/fixtures/make_fixtures.py.
struct Reference {
    let name: String
    let checkpoint: Checkpoint
    let values: SafetensorsFile
    let json: [String: Any]

    init(_ name: String) throws {
        self.name = name
        checkpoint = try Checkpoint(folder: Fixtures.url("checkpoints/\(name)").path)
        values = try SafetensorsFile(path: Fixtures.url("checkpoints/\(name)/reference.safetensors").path)
        let data = try Data(contentsOf: Fixtures.url("checkpoints/\(name)/reference.json"))
        json = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func sequence(_ length: Int) throws -> [Int] {
        let sequences = try #require(json["sequences"] as? [String: [Int]])
        return try #require(sequences[String(length)])
    }

    func tensor(_ name: String) throws -> [Float] {
        try values.floats(#require(values.tensors[name], "no reference tensor \(name)"))
    }

    /// float32 checkpoints must match to 1e-4; half-precision ones are compared with transformers
    /// run in float32 on the same rounded weights, to 1e-2.
    var tolerance: Float { (json["weights_dtype"] as? String) == "F32" ? 1e-4 : 1e-2 }
}

func maxAbsDifference(_ a: UnsafePointer<Float>, _ b: [Float]) -> Float {
    var worst: Float = 0
    for i in b.indices { worst = max(worst, abs(a[i] - b[i])) }
    return worst
}

/// ‖a − b‖ / ‖b‖, in double precision.
func relativeError(_ a: [Float], _ b: [Float]) -> Double {
    var difference = 0.0, norm = 0.0
    for (x, y) in zip(a, b) {
        difference += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    return (difference / max(norm, 1e-30)).squareRoot()
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    a.withUnsafeBufferPointer { maxAbsDifference($0.baseAddress!, b) }
}

/// One tiny checkpoint per model family beyond GPT-2 and Llama (scripts/fixtures/make_fixtures.py families).
let familyCheckpoints = ["gemma", "gemma2", "gemma3", "gemma3-multimodal", "gpt-neox", "olmo", "olmo2", "phi3", "gptj", "falcon", "falcon-new", "falcon-alibi", "mpt", "opt", "opt-350m"]

let referenceCheckpoints = ["gpt2", "llama", "llama-linear", "mistral", "qwen2", "qwen3", "llama-sharded", "llama-f16", "llama-bf16"] + familyCheckpoints

@Suite struct TransformerAgainstTransformers {
    @Test(arguments: referenceCheckpoints)
    func logitsCoefficientsAndResiduals(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        for length in [1, 9, 45] {
            let ids = try reference.sequence(length)
            var coefficients: [Int: [Float]] = [:]
            var residuals: [Int: [Float]] = [:]
            let hooks = Hooks(
                coefficients: { block, values, rows, width in coefficients[block] = Array(UnsafeBufferPointer(start: values, count: rows * width)) },
                residual: { block, values, rows, width in residuals[block] = Array(UnsafeBufferPointer(start: values, count: rows * width)) })
            let logits = try #require(try model.forward(Batch([ids]), logits: .all, hooks: hooks))
            let expected = try reference.tensor("logits.\(length)")
            #expect(logits.count == expected.count)
            let tolerance = reference.tolerance
            #expect(maxAbsDifference(logits.pointer, expected) < tolerance, "\(name) logits, \(length) tokens")
            for block in 0..<model.blockCount {
                let difference = maxAbsDifference(try #require(coefficients[block]), try reference.tensor("coefficients.\(length).\(block)"))
                #expect(difference < tolerance, "\(name) coefficients of block \(block), \(length) tokens: \(difference)")
            }
            for block in 0...model.blockCount {
                let difference = maxAbsDifference(try #require(residuals[block]), try reference.tensor("residual.\(length).\(block)"))
                #expect(difference < tolerance, "\(name) residual entering block \(block), \(length) tokens: \(difference)")
            }
        }
    }

    @Test(arguments: referenceCheckpoints)
    func gradientsOfTheTopLogit(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        let grad = try #require(reference.json["grad"] as? [String: Any])
        let ids = try reference.sequence(9)
        var gradients: [String: [Float]] = [:]
        let summary = try model.gradients(of: Batch([ids])) { name, values, count in
            gradients[name] = Array(UnsafeBufferPointer(start: values, count: count))
        }
        #expect(summary.tokens.first == grad["token"] as? Int)
        let names = try #require(grad["weights"] as? [String])
        #expect(Set(gradients.keys) == Set(names))
        #expect(Set(names) == Set(model.blockWeightNames.joined()))
        for weight in names {
            let ours = try #require(gradients[weight])
            let expected = try reference.tensor("grad.\(weight)")
            let relative = relativeError(ours, expected)
            let bound = reference.tolerance == 1e-4 ? 1e-3 : 2e-2
            #expect(relative < bound, "\(name) gradient of \(weight): relative error \(relative)")
        }
    }

    @Test(arguments: referenceCheckpoints)
    func zeroAblationMatchesZeroedValueVectors(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        let ablation = try #require(reference.json["ablation"] as? [String: Any])
        let neurons = try #require(ablation["neurons"] as? [[Int]]).map { NeuronID(block: $0[0], neuron: $0[1]) }
        let ids = try reference.sequence(9)
        let logits = try #require(try model.forward(Batch([ids]), logits: .all, ablation: Ablation(zeroing: neurons)))
        let expected = try reference.tensor("ablated_logits.9")
        #expect(maxAbsDifference(logits.pointer, expected) < reference.tolerance)
        #expect(maxAbsDifference(logits.pointer, try reference.tensor("logits.9")) > 10 * reference.tolerance, "the ablation changed nothing")
    }
}

@Suite struct TransformerBehaviour {
    let model: Transformer
    let sequences: [[Int]]

    init() throws {
        let reference = try Reference("llama")
        model = try Transformer(checkpoint: reference.checkpoint)
        sequences = [try reference.sequence(9), try reference.sequence(45), try reference.sequence(1)]
    }

    @Test func restartingAtABlockFromItsResidualEqualsTheFullForward() throws {
        let batch = Batch(sequences)
        var residuals: [Int: Buffer] = [:]
        let full = try #require(try model.forward(batch, logits: .all, hooks: Hooks(residual: { block, values, rows, width in
            let copy = Buffer(count: rows * width)
            copy.pointer.update(from: values, count: rows * width)
            residuals[block] = copy
        })))
        for block in 0...model.blockCount {
            let entering = try #require(residuals[block])
            let restarted = try #require(try model.forward(batch, from: block, residual: entering, logits: .all))
            #expect(maxAbsDifference(restarted.pointer, full.array) == 0, "restart at block \(block)")
        }
        let neurons = [NeuronID(block: 1, neuron: 7), NeuronID(block: 1, neuron: 90)]
        let ablated = try #require(try model.forward(batch, logits: .all, ablation: Ablation(zeroing: neurons)))
        let entering = try #require(residuals[1])
        let restartedAblated = try #require(try model.forward(batch, from: 1, residual: entering, logits: .all, ablation: Ablation(zeroing: neurons)))
        #expect(maxAbsDifference(restartedAblated.pointer, ablated.array) == 0)
    }

    @Test func aBatchOfDifferentLengthsEqualsEachSequenceAlone() throws {
        let batched = try #require(try model.forward(Batch(sequences), logits: .last))
        for (i, sequence) in sequences.enumerated() {
            let alone = try #require(try model.forward(Batch([sequence]), logits: .last))
            let row = Array(UnsafeBufferPointer(start: batched.pointer + i * model.vocabSize, count: model.vocabSize))
            #expect(maxAbsDifference(alone.pointer, row) < 1e-5)
        }
    }

    @Test func meanAblationReplacesTheCoefficient() throws {
        let neuron = NeuronID(block: 0, neuron: 5)
        var seen: [Float] = []
        _ = try model.forward(Batch([sequences[0]]), logits: .none, ablation: Ablation(replacing: [neuron: 0.25]),
                              hooks: Hooks(coefficients: { block, values, rows, width in
                                  if block == 0 { seen = (0..<rows).map { values[$0 * width + 5] } }
                              }))
        #expect(seen == Array(repeating: 0.25, count: sequences[0].count))
    }

    @Test func badInputIsRefusedWithAMessage() throws {
        #expect(throws: InputError("", "token id 512 is outside the vocabulary (0..<512)")) { try model.forward(Batch([[1, 512]])) }
        #expect(throws: InputError("", "empty input: give at least one token")) { try model.forward(Batch([[]])) }
        #expect(throws: InputError("", "129 tokens exceed the model's context of 128")) { try model.forward(Batch([Array(repeating: 3, count: 129)])) }
        #expect(throws: InputError("", "no neuron 2:0: the model has blocks 0..1 of 128 neurons")) {
            try model.forward(Batch([[1]]), ablation: Ablation(zeroing: [NeuronID(block: 2, neuron: 0)]))
        }
    }

    /// Mean next-token cross-entropy from logits `[tokens, vocab]`, in double precision.
    func loss(_ logits: Buffer, _ sequence: [Int]) -> Double {
        let vocab = model.vocabSize
        var total = 0.0
        for row in 0..<(sequence.count - 1) {
            let l = (0..<vocab).map { Double(logits[row * vocab + $0]) }
            let largest = l.max()!
            total += log(l.reduce(0) { $0 + exp($1 - largest) }) + largest - l[sequence[row + 1]]
        }
        return total / Double(sequence.count - 1)
    }

    @Test(arguments: [Objective.nextTokenLoss, .topLogit])
    func inputGradientsMatchCentralDifferences(_ objective: Objective) throws {
        let sequence = sequences[0]
        let batch = Batch([sequence])
        var residual: Buffer?
        _ = try model.forward(batch, logits: .none, hooks: Hooks(residual: { block, values, rows, width in
            if block == 1 { residual = Buffer(Array(UnsafeBufferPointer(start: values, count: rows * width))) }
        }))
        let entering = try #require(residual)
        var gradient: [Float] = []
        let summary = try model.gradients(of: batch, objective: objective, sink: { _, _, _ in }, inputGradient: { block, values, rows, width in
            if block == 1 { gradient = Array(UnsafeBufferPointer(start: values, count: rows * width)) }
        })
        func value(_ nudged: Buffer) throws -> Double {
            let logits = try #require(try model.forward(batch, from: 1, residual: nudged, logits: .all))
            switch objective {
            case .nextTokenLoss: return loss(logits, sequence)
            case .topLogit: return Double(logits[(sequence.count - 1) * model.vocabSize + summary.tokens[0]])
            }
        }
        let step: Float = 1e-2
        for index in [3, 64 + 10, 4 * 64 + 63, 8 * 64 + 1] {
            let plus = Buffer(entering.array), minus = Buffer(entering.array)
            plus[index] += step
            minus[index] -= step
            let numeric = (try value(plus) - value(minus)) / (2 * Double(step))
            #expect(abs(numeric - Double(gradient[index])) < 2e-3 * max(1, abs(numeric)), "coordinate \(index): numeric \(numeric), backward \(gradient[index])")
        }
    }
}

@Suite struct FastMath {
    @Test func expAgreesWithLibm() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(Ops.exp(x)) - exact) / exact)
            x += 0.0137
        }
        #expect(worst < 5e-7, "largest relative error \(worst)")
    }
}

@Suite struct TrainingGradients {
    /// The next-token loss of a batch of two sequences and the gradient of every parameter
    /// (embeddings, norms, biases; a tied embedding gets both uses) against PyTorch autograd.
    @Test(arguments: ["gpt2", "llama", "qwen2", "qwen3", "gemma3", "gptj", "mpt", "olmo2", "opt", "opt-350m"])
    func everyParameterAgainstAutograd(_ name: String) throws {
        let checkpoint = try Checkpoint(folder: Fixtures.url("checkpoints/\(name)").path)
        let reference = try SafetensorsFile(path: Fixtures.url("checkpoints/\(name)/training.safetensors").path)
        func tensor(_ key: String) throws -> [Float] { try reference.floats(#require(reference.tensors[key], "no \(key)")) }
        let batch = Batch([try tensor("ids.0").map { Int($0) }, try tensor("ids.1").map { Int($0) }])
        let model = try Transformer(checkpoint: checkpoint)
        var gradients: [String: [Float]] = [:]
        let summary = try model.gradients(of: batch, objective: .nextTokenLoss, scope: .allParameters) { name, values, count in
            #expect(gradients[name] == nil, "\(name) sent twice")
            gradients[name] = Array(UnsafeBufferPointer(start: values, count: count))
        }
        #expect(abs(summary.value - (try tensor("loss"))[0]) < 1e-4)
        let expectedNames = reference.names.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) }
        #expect(Set(gradients.keys) == Set(expectedNames))
        for parameter in expectedNames {
            let ours = try #require(gradients[parameter]), theirs = try tensor("grad." + parameter)
            // A key bias's gradient is zero in exact arithmetic (it shifts a row of scores by a
            // constant): both sides are rounding noise, compared absolutely.
            let noise = parameter.contains("k_proj.bias") && theirs.allSatisfy { abs($0) < 1e-7 }
            #expect(noise ? maxAbsDifference(ours, theirs) < 1e-7 : relativeError(ours, theirs) < 1e-3, "\(name) \(parameter)")
        }
    }
}
