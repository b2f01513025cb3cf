import Foundation
import Tensors

extension Transformer {
    /// v_i of a neuron: what it adds to the residual stream per unit of coefficient (column i of
    /// a `Linear` down projection `[d, F]`, row i of GPT-2's `Conv1D` `[F, d]`).
    public func valueVector(_ neuron: NeuronID) -> [Float] {
        let vector = inputWeights(architecture.blocks[neuron.block].down, weights.block(neuron.block), [neuron.neuron])
        return Array(UnsafeBufferPointer(start: vector.pointer, count: hiddenSize))
    }

    /// W_U · v for each vector of `vectors` (`[count, d]`, row-major): the unembedding applied
    /// directly, with no final norm (Geva et al., 2022), `[count, vocab]`; OPT-350m's project_out first.
    public func unembed(_ vectors: [Float], count: Int) -> [Float] {
        let d = hiddenSize, e = architecture.embeddingWidth, vocab = vocabSize
        var vectors = vectors
        if let projectOut = architecture.projectOut {
            var projected = [Float](repeating: 0, count: count * e)
            vectors.withUnsafeBufferPointer { v in
                projected.withUnsafeMutableBufferPointer { out in
                    BLAS.gemm(transB: true, m: count, n: e, k: d, a: v.baseAddress!, lda: d, b: weights.model(projectOut).pointer, ldb: d,
                              c: out.baseAddress!, ldc: e)
                }
            }
            vectors = projected
        }
        var scores = [Float](repeating: 0, count: count * vocab)
        vectors.withUnsafeBufferPointer { v in
            scores.withUnsafeMutableBufferPointer { out in
                weights.forEachRowChunk(architecture.unembedding ?? architecture.tokenEmbedding) { range, chunk in
                    BLAS.gemm(transB: true, m: count, n: range.count, k: e, a: v.baseAddress!, lda: e, b: chunk, ldb: e,
                              c: out.baseAddress! + range.lowerBound, ldc: vocab)
                }
            }
        }
        return scores
    }
}
