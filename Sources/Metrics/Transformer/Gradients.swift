import Foundation

/// The scalar a backward pass differentiates.
public enum Objective: Sendable {
    /// The largest logit at the last position (method 2's D(s): no labels, no loss).
    case topLogit
    /// Mean next-token cross-entropy over the sequence.
    case nextTokenLoss
}

public struct GradientSummary: Sendable {
    /// The objective's value: the top logit, or the mean loss.
    public let value: Float
    /// For `.topLogit`, the token whose logit it is.
    public let token: Int?
}

extension Transformer {
    /// One forward keeping every block's activations, then the backward of `objective`, for one
    /// sequence. Weight gradients of every block's linear layers go to `sink` as they are made
    /// (last block first); `inputGradient` receives the gradient of each block's input.
    @discardableResult
    public func gradients(of sequence: [Int], objective: Objective = .topLogit, ablation: Ablation = Ablation(),
                          sink: GradientSink,
                          inputGradient: ((Int, UnsafePointer<Float>, _ rows: Int, _ width: Int) -> Void)? = nil) throws -> GradientSummary {
        let batch = Batch([sequence])
        try validate(batch)
        try validate(ablation)
        if objective == .nextTokenLoss, sequence.count < 2 {
            throw InputError("", "the next-token loss needs at least two tokens")
        }
        let n = batch.tokenCount, d = hiddenSize, vocab = vocabSize
        let caches = (0..<blockCount).map { _ in BlockCache(tokens: n, config: config, batch: batch) }
        let rope = architecture.usesRotary ? RotaryTable(config: config, length: n) : nil
        let x = embed(batch)
        for block in 0..<blockCount {
            blockForward(block, x, batch, rope: rope, ablation: ablation.replacements(inBlock: block), hooks: Hooks(), cache: caches[block], saving: true)
        }
        let headCache = HeadCache()
        let rows: [Int] = objective == .topLogit ? [n - 1] : Array(0..<(n - 1))
        let logits = head(x, batch, objective == .topLogit ? .last : .all, cache: headCache)!

        // Gradient of the objective with respect to the normed final states of `rows`.
        let dNormed = Buffer(count: rows.count * d)
        let value: Float
        var token: Int? = nil
        let unembedding = architecture.unembedding ?? architecture.tokenEmbedding
        switch objective {
        case .topLogit:
            var best = 0
            for i in 1..<vocab where logits[i] > logits[best] { best = i }
            value = logits[best]
            token = best
            weights.row(unembedding, best, into: dNormed.pointer)
        case .nextTokenLoss:
            let dLogits = Buffer(count: rows.count * vocab)
            var loss = 0.0
            for row in rows {
                let l = logits.pointer + row * vocab, g = dLogits.pointer + row * vocab
                var largest = -Float.infinity
                for i in 0..<vocab { largest = max(largest, l[i]) }
                var sum = 0.0
                for i in 0..<vocab { sum += Double(exp(l[i] - largest)) }
                let target = sequence[row + 1]
                loss += log(sum) + Double(largest) - Double(l[target])
                let scale = 1 / Float(rows.count)
                for i in 0..<vocab { g[i] = Float(Double(exp(l[i] - largest)) / sum) * scale }
                g[target] -= scale
            }
            value = Float(loss / Double(rows.count))
            weights.forEachRowChunk(unembedding, rowsPerChunk: 8192) { range, chunk in
                BLAS.gemm(m: rows.count, n: d, k: range.count, a: dLogits.pointer + range.lowerBound, lda: vocab,
                          b: chunk, ldb: d, beta: 1, c: dNormed.pointer, ldc: d)
            }
        }

        let dSelected = Buffer(count: rows.count * d)
        normBackward(architecture.finalNorm, dNormed.pointer, headCache.selected!.pointer, mean: headCache.mean!.pointer,
                     rstd: headCache.rstd!.pointer, dx: dSelected.pointer, rows: rows.count)
        let dx = Buffer(count: n * d)
        for (i, row) in rows.enumerated() { (dx.pointer + row * d).update(from: dSelected.pointer + i * d, count: d) }

        let largestLinear = architecture.blocks.first.map { $0.linears.map { $0.inFeatures * $0.outFeatures }.max() ?? 0 } ?? 0
        let scratch = Buffer(count: largestLinear)
        for block in stride(from: blockCount - 1, through: 0, by: -1) {
            blockBackward(block, dx, batch, rope: rope, ablation: ablation.replacements(inBlock: block), cache: caches[block], scratch: scratch, sink: sink)
            inputGradient?(block, dx.pointer, n, d)
        }
        return GradientSummary(value: value, token: token)
    }
}

