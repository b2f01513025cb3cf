import Foundation
import Model
import Testing

/// Method 2's per-sequence gradients (`sequenceGradients`: only block inputs kept, each block's
/// forward run again before its backward) against the batch backward (`gradients(of:)`: every
/// activation kept) and against transformers, in every family (Gemma 2's final soft cap included).
@Suite struct SequenceGradientsAgainstTheBatch {
    /// Each sequence's top logit depends on its own tokens only, so its gradients summed over the
    /// sequences are the gradient of the summed top logits. Small panels split every weight.
    @Test(arguments: referenceCheckpoints)
    func perSequenceGradientsSumToTheBatchGradient(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        let batch = Batch([try reference.sequence(9), try reference.sequence(45), try reference.sequence(1)])
        var expected: [String: [Float]] = [:]
        let whole = try model.gradients(of: batch) { weight, values, count in
            expected[weight] = Array(UnsafeBufferPointer(start: values, count: count))
        }
        var sums: [String: [Float]] = [:]
        let perSequence = try model.sequenceGradients(of: batch, panelFloats: 4096) { weight, rows, columns, panels in
            #expect(panels.count == batch.sequences.count)
            var sum = sums[weight] ?? Array(repeating: 0, count: model.weightElementCount(weight))
            for panel in panels {
                for i in 0..<(rows.count * columns) { sum[rows.lowerBound * columns + i] += panel[i] }
            }
            sums[weight] = sum
        }
        #expect(perSequence.tokens == whole.tokens)
        #expect(abs(perSequence.value - whole.value) <= 1e-5 * abs(whole.value), "\(name): \(perSequence.value) vs \(whole.value)")
        #expect(Set(sums.keys) == Set(expected.keys))
        #expect(Set(expected.keys) == Set(model.blockWeightNames.joined()))
        for (weight, values) in expected {
            let relative = relativeError(try #require(sums[weight]), values)
            #expect(relative < 1e-4, "\(name) gradient of \(weight): relative error \(relative)")
        }
    }

    /// One sequence's gradients equal transformers' gradient of its top last-position logit.
    @Test(arguments: referenceCheckpoints)
    func oneSequenceGradientsMatchTransformers(_ name: String) throws {
        let reference = try Reference(name)
        let model = try Transformer(checkpoint: reference.checkpoint)
        let grad = try #require(reference.json["grad"] as? [String: Any])
        var gradients: [String: [Float]] = [:]
        let summary = try model.sequenceGradients(of: Batch([try reference.sequence(9)])) { weight, rows, columns, panels in
            var values = gradients[weight] ?? Array(repeating: 0, count: model.weightElementCount(weight))
            for i in 0..<(rows.count * columns) { values[rows.lowerBound * columns + i] = panels[0][i] }
            gradients[weight] = values
        }
        #expect(summary.tokens.first == grad["token"] as? Int)
        let names = try #require(grad["weights"] as? [String])
        #expect(Set(gradients.keys) == Set(names))
        let bound = reference.tolerance == 1e-4 ? 1e-3 : 2e-2
        for weight in names {
            let relative = relativeError(try #require(gradients[weight]), try reference.tensor("grad.\(weight)"))
            #expect(relative < bound, "\(name) gradient of \(weight): relative error \(relative)")
        }
    }
}
