import Foundation

/// The scalar a backward pass differentiates.
public enum Objective: Sendable {
    /// The largest logit at the last position of each sequence, summed over the batch
    /// (method 2's D(s): no labels, no loss).
    case topLogit
    /// Mean next-token cross-entropy over every predicted position of the batch.
    case nextTokenLoss
}

/// Which gradients a backward produces.
public enum GradientScope: Sendable {
    /// The 2-D weights of every block's linear layers (what the analyses use).
    case blockWeights
    /// Every parameter, embeddings, norms and biases included (what training needs).
    case allParameters
}

public struct GradientSummary: Sendable {
    /// The objective's value: the summed top logits, or the mean loss.
    public let value: Float
    /// For `.topLogit`, each sequence's token whose logit it is.
    public let tokens: [Int]
}

extension Transformer {
    /// One forward keeping every block's activations, then the backward of `objective`. Gradients
    /// go to `sink` as they are made (last block first; a name may come once per call); the sink
    /// must copy what it keeps. `inputGradient` receives the gradient of each block's input.
    /// Memory holds every block's activations of the batch (training); method 2 uses
    /// `sequenceGradients`, which keeps only block inputs.
    @discardableResult
    public func gradients(of batch: Batch, objective: Objective = .topLogit, ablation: Ablation = Ablation(),
                          scope: GradientScope = .blockWeights, sink: GradientSink,
                          inputGradient: ((Int, UnsafePointer<Float>, _ rows: Int, _ width: Int) -> Void)? = nil) throws -> GradientSummary {
        try validate(batch)
        try validate(ablation)
        let n = batch.tokenCount, d = hiddenSize, vocab = vocabSize
        // Rows whose logits enter the objective, and for the loss the token each predicts.
        var rows: [Int] = []
        var targets: [Int] = []
        switch objective {
        case .topLogit:
            rows = batch.lastRows
        case .nextTokenLoss:
            (rows, targets) = Self.nextTokenTargets(batch)
            guard !rows.isEmpty else { throw InputError("", "the next-token loss needs a sequence of at least two tokens") }
        }
        let caches = (0..<blockCount).map { _ in BlockCache(tokens: n, architecture: architecture, batch: batch) }
        let rope = architecture.usesRotary ? RotaryTable(config: config, length: batch.maxLength) : nil
        let x = embed(batch)
        for block in 0..<blockCount {
            blockForward(block, x, batch, rope: rope, ablation: ablation.replacements(inBlock: block), hooks: Hooks(), cache: caches[block], saving: true)
        }
        let headCache = HeadCache()
        let logits = head(x, batch, .rows(rows), cache: headCache)!
        let unembedding = architecture.unembedding ?? architecture.tokenEmbedding
        let allParameters = scope == .allParameters

        // dLogits over the objective's rows, in the order of `rows`.
        let headRows = rows.count
        let dLogits = Buffer(count: headRows * vocab)
        var value: Float = 0
        var tokens: [Int] = []
        switch objective {
        case .topLogit:
            (value, tokens) = Self.seedTopLogits(logits, rows: rows.count, vocab: vocab, into: dLogits)
        case .nextTokenLoss:
            var loss = 0.0
            for (i, target) in targets.enumerated() {
                loss += Self.crossEntropy(logits.pointer + i * vocab, vocab: vocab, target: target,
                                          gradient: dLogits.pointer + i * vocab, scale: 1 / Float(rows.count))
            }
            value = Float(loss / Double(rows.count))
        }
        finalSoftCapBackward(dLogits, logits: logits)

        // Through the unembedding, and when training dE += dLogitsᵀ · unembedded.
        let e = architecture.embeddingWidth
        let dUnembedded = unembeddingBackward(dLogits, rows: headRows)
        let embeddingGradient = allParameters ? Buffer(count: vocab * e) : nil
        if let embeddingGradient {
            BLAS.gemm(transA: true, m: vocab, n: e, k: headRows, a: dLogits.pointer, lda: vocab, b: headCache.unembedded!.pointer, ldb: e,
                      c: embeddingGradient.pointer, ldc: e)
            if architecture.unembedding != nil {
                sink(unembedding, embeddingGradient.pointer, vocab * e)
                embeddingGradient.zero()
            }
            if let bias = architecture.unembeddingBias {
                let dBias = Buffer(count: vocab)
                for row in 0..<headRows { Ops.add(dLogits.pointer + row * vocab, into: dBias.pointer, count: vocab) }
                sink(bias, dBias.pointer, vocab)
            }
        }

        let dx = Buffer(count: n * d)
        withoutActuallyEscaping(sink) { sink in
            let gradients = GradientContext(sink: sink, scratch: Buffer(count: largestLinearSize), allParameters: allParameters)
            let dSelected = headBackward(dUnembedded, headCache, rows: headRows, gradients: gradients)
            for (i, row) in rows.enumerated() { (dx.pointer + row * d).update(from: dSelected.pointer + i * d, count: d) }

            for block in stride(from: blockCount - 1, through: 0, by: -1) {
                blockBackward(block, dx, batch, rope: rope, ablation: ablation.replacements(inBlock: block), cache: caches[block], gradients: gradients)
                inputGradient?(block, dx.pointer, n, d)
            }
        }

        // Embeddings: each token's row (and GPT-2's position rows) gather the input gradient,
        // the token rows back through OPT-350m's project_in.
        if let embeddingGradient {
            let positionGradient = architecture.positionEmbedding.map { _ in Buffer(count: (config.contextLength + architecture.positionOffset) * d) }
            for (sequence, offset) in zip(batch.sequences, batch.offsets) {
                for position in sequence.indices {
                    let source = dx.pointer + (offset + position) * d
                    // Gemma scales its embeddings, and so their gradient.
                    if let embeddingScale { for j in 0..<d { source[j] *= embeddingScale } }
                    if let positionGradient { Ops.add(source, into: positionGradient.pointer + (position + architecture.positionOffset) * d, count: d) }
                }
            }
            var dTokens = dx
            if let projectIn = architecture.projectIn {
                // x = tokens · Wᵀ: dTokens = dx · W, dW = dxᵀ · tokens.
                dTokens = Buffer(count: n * e)
                BLAS.gemm(m: n, n: e, k: d, a: dx.pointer, lda: d, b: weights.model(projectIn).pointer, ldb: e, c: dTokens.pointer, ldc: e)
                let tokens = tokenEmbeddings(batch), dProjectIn = Buffer(count: d * e)
                BLAS.gemm(transA: true, m: d, n: e, k: n, a: dx.pointer, lda: d, b: tokens.pointer, ldb: e, c: dProjectIn.pointer, ldc: e)
                sink(projectIn, dProjectIn.pointer, d * e)
            }
            for (sequence, offset) in zip(batch.sequences, batch.offsets) {
                for (position, token) in sequence.enumerated() {
                    Ops.add(dTokens.pointer + (offset + position) * e, into: embeddingGradient.pointer + token * e, count: e)
                }
            }
            sink(architecture.tokenEmbedding, embeddingGradient.pointer, vocab * e)
            if let name = architecture.positionEmbedding, let positionGradient { sink(name, positionGradient.pointer, positionGradient.count) }
        }
        return GradientSummary(value: value, tokens: tokens)
    }

    /// The backward of each sequence's top last-position logit (method 2's D(s)) for every sequence
    /// of `batch` at once, handing over each sequence's own weight gradients, dW_s = dY_sᵀ X_s over
    /// its rows, in panels of stored rows (`SequenceGradientSink`): nothing weight-sized is held per
    /// sequence. Only each block's input is kept from the forward; the block's forward runs again
    /// right before its backward, so activation memory grows with tokens × hidden per block, not
    /// with the block's internals times depth.
    @discardableResult
    public func sequenceGradients(of batch: Batch, panelFloats: Int = 8 << 20, sink: SequenceGradientSink) throws -> GradientSummary {
        try validate(batch)
        guard !batch.hasParents else { throw InputError("", "the backward takes sequences without parents") }
        let n = batch.tokenCount, d = hiddenSize, vocab = vocabSize
        let rows = batch.lastRows
        let rope = architecture.usesRotary ? RotaryTable(config: config, length: batch.maxLength) : nil
        let cache = BlockCache(tokens: n, architecture: architecture, batch: batch)
        let (x, inputs) = forwardKeepingBlockInputs(batch, rope: rope, cache: cache)
        let headCache = HeadCache()
        let logits = head(x, batch, .rows(rows), cache: headCache)!
        let dLogits = Buffer(count: rows.count * vocab)
        let (value, tokens) = Self.seedTopLogits(logits, rows: rows.count, vocab: vocab, into: dLogits)
        let dUnembedded = unembeddingBackward(dLogits, rows: rows.count)
        let dx = Buffer(count: n * d)
        withoutActuallyEscaping(sink) { sink in
            let perSequence = SequenceGradients(batch: batch, layout: architecture.layout, panelFloats: panelFloats, sink: sink)
            let gradients = GradientContext(sink: { _, _, _ in }, scratch: Buffer(count: 0), allParameters: false, sequences: perSequence)
            let dSelected = headBackward(dUnembedded, headCache, rows: rows.count, gradients: gradients)
            for (i, row) in rows.enumerated() { (dx.pointer + row * d).update(from: dSelected.pointer + i * d, count: d) }
            backwardThroughBlocks(dx, x: x, inputs: inputs, batch, rope: rope, cache: cache, gradients: gradients)
        }
        return GradientSummary(value: value, tokens: tokens)
    }

    /// For each sequence of `batch`, e(l, i) = Σ over its tokens of m_{l,i,t} · ∂S/∂m_{l,i,t}, where S
    /// is a scalar of the logits of `rows` that `seed` differentiates: it gets those logits
    /// (`[rows, vocab]`) and writes dS/dlogits into the second, zeroed buffer. Sequences are
    /// independent, so each one's e is that of its own scalar: zeroing neuron (l, i) for every
    /// token changes it by about −e(l, i) (attribution patching). Returns `[sequences, blocks · F]`.
    /// Memory: each block's input and one block's activations, as `sequenceGradients`.
    public func coefficientAttributions(of batch: Batch, rows: [Int],
                                        seed: (_ logits: UnsafePointer<Float>, _ gradient: UnsafeMutablePointer<Float>) -> Void) throws -> Buffer {
        try validate(batch)
        try validate(.rows(rows), batch)
        guard !batch.hasParents else { throw InputError("", "the backward takes sequences without parents") }
        let n = batch.tokenCount, d = hiddenSize, f = mlpWidth, vocab = vocabSize
        let rope = architecture.usesRotary ? RotaryTable(config: config, length: batch.maxLength) : nil
        let cache = BlockCache(tokens: n, architecture: architecture, batch: batch)
        let (x, inputs) = forwardKeepingBlockInputs(batch, rope: rope, cache: cache)
        let headCache = HeadCache()
        let logits = head(x, batch, .rows(rows), cache: headCache)!
        let dLogits = Buffer(count: rows.count * vocab)
        seed(logits.pointer, dLogits.pointer)
        finalSoftCapBackward(dLogits, logits: logits)
        let dUnembedded = unembeddingBackward(dLogits, rows: rows.count)
        let attributions = Buffer(count: batch.sequences.count * blockCount * f)
        let blocks = blockCount
        var gradients = GradientContext(sink: { _, _, _ in }, scratch: Buffer(count: 0), allParameters: false)
        gradients.weightGradients = false
        gradients.coefficients = { block, gradient, values in
            for (s, (sequence, offset)) in zip(batch.sequences, batch.offsets).enumerated() {
                let target = attributions.pointer + (s * blocks + block) * f
                for row in offset..<(offset + sequence.count) {
                    let m = values + row * f, dm = gradient + row * f
                    for i in 0..<f { target[i] += m[i] * dm[i] }
                }
            }
        }
        let dx = Buffer(count: n * d)
        let dSelected = headBackward(dUnembedded, headCache, rows: rows.count, gradients: gradients)
        for (i, row) in rows.enumerated() { Ops.add(dSelected.pointer + i * d, into: dx.pointer + row * d, count: d) }
        backwardThroughBlocks(dx, x: x, inputs: inputs, batch, rope: rope, cache: cache, gradients: gradients)
        return attributions
    }

    /// The forward a checkpointed backward starts from: each block's input kept (recomputed from
    /// when the backward reaches the block), the last block's output left in `x`.
    private func forwardKeepingBlockInputs(_ batch: Batch, rope: RotaryTable?, cache: BlockCache) -> (x: Buffer, inputs: [Buffer]) {
        let count = batch.tokenCount * hiddenSize
        let x = embed(batch)
        var inputs: [Buffer] = []
        for block in 0..<blockCount {
            let input = Buffer(uninitializedCount: count)
            input.pointer.update(from: x.pointer, count: count)
            inputs.append(input)
            blockForward(block, x, batch, rope: rope, ablation: [], hooks: Hooks(), cache: cache, saving: false)
        }
        return (x, inputs)
    }

    /// Back from the last block to the first, each block's forward recomputed from its kept input.
    private func backwardThroughBlocks(_ dx: Buffer, x: Buffer, inputs: [Buffer], _ batch: Batch, rope: RotaryTable?, cache: BlockCache,
                                       gradients: GradientContext) {
        for block in stride(from: blockCount - 1, through: 0, by: -1) {
            x.pointer.update(from: inputs[block].pointer, count: batch.tokenCount * hiddenSize)
            blockForward(block, x, batch, rope: rope, ablation: [], hooks: Hooks(), cache: cache, saving: true)
            blockBackward(block, dx, batch, rope: rope, ablation: [], cache: cache, gradients: gradients)
        }
    }

    /// Through the unembedding: dUnembedded = dLogits · E (`[rows, embedding width]`).
    private func unembeddingBackward(_ dLogits: Buffer, rows: Int) -> Buffer {
        let e = architecture.embeddingWidth, vocab = vocabSize
        let dUnembedded = Buffer(count: rows * e)
        weights.forEachRowChunk(architecture.unembedding ?? architecture.tokenEmbedding) { range, chunk in
            BLAS.gemm(m: rows, n: e, k: range.count, a: dLogits.pointer + range.lowerBound, lda: vocab,
                      b: chunk, ldb: e, beta: 1, c: dUnembedded.pointer, ldc: e)
        }
        return dUnembedded
    }

    /// From the gradient of what the unembedding read to that of the stream's selected rows: back
    /// through OPT-350m's project_out (its gradient to the sink when training) and the final norm.
    func headBackward(_ dUnembedded: Buffer, _ cache: HeadCache, rows: Int, gradients: GradientContext) -> Buffer {
        let d = hiddenSize, e = architecture.embeddingWidth
        var dNormed = dUnembedded
        if let projectOut = architecture.projectOut {
            // unembedded = normed · Wᵀ: dNormed = dUnembedded · W, dW = dUnembeddedᵀ · normed.
            dNormed = Buffer(count: rows * d)
            BLAS.gemm(m: rows, n: d, k: e, a: dUnembedded.pointer, lda: e, b: weights.model(projectOut).pointer, ldb: d, c: dNormed.pointer, ldc: d)
            if gradients.allParameters {
                let dProjectOut = Buffer(count: e * d)
                BLAS.gemm(transA: true, m: e, n: d, k: rows, a: dUnembedded.pointer, lda: e, b: cache.normed!.pointer, ldb: d, c: dProjectOut.pointer, ldc: d)
                gradients.sink(projectOut, dProjectOut.pointer, e * d)
            }
        }
        guard let finalNorm = architecture.finalNorm else { return dNormed }
        let dSelected = Buffer(count: rows * d)
        normBackward(finalNorm, dNormed.pointer, cache.selected!.pointer, mean: cache.mean!.pointer, rstd: cache.rstd!.pointer,
                     dx: dSelected.pointer, rows: rows, gradients: gradients)
        return dSelected
    }

    /// −log softmax(logits)[target]; with `gradient`, also writes scale · (softmax − onehot(target)) there.
    /// D = the sum of each row's largest logit: its value, the tokens, and dD/dlogits (one 1 a row).
    static func seedTopLogits(_ logits: Buffer, rows: Int, vocab: Int, into dLogits: Buffer) -> (value: Float, tokens: [Int]) {
        var value: Float = 0
        var tokens: [Int] = []
        for i in 0..<rows {
            let l = logits.pointer + i * vocab
            var best = 0
            for j in 1..<vocab where l[j] > l[best] { best = j }
            value += l[best]
            tokens.append(best)
            dLogits[i * vocab + best] = 1
        }
        return (value, tokens)
    }

    static func crossEntropy(_ logits: UnsafePointer<Float>, vocab: Int, target: Int,
                             gradient: UnsafeMutablePointer<Float>? = nil, scale: Float = 1) -> Double {
        var largest = -Float.infinity
        for i in 0..<vocab { largest = max(largest, logits[i]) }
        var sum = 0.0
        for i in 0..<vocab { sum += Double(Foundation.exp(logits[i] - largest)) }
        if let gradient {
            let factor = Float(1 / sum) * scale
            for i in 0..<vocab { gradient[i] = Foundation.exp(logits[i] - largest) * factor }
            gradient[target] -= scale
        }
        return log(sum) + Double(largest) - Double(logits[target])
    }

    /// The targets of the next-token loss: every row but each sequence's last, and the token it predicts.
    static func nextTokenTargets(_ batch: Batch) -> (rows: [Int], targets: [Int]) {
        var rows: [Int] = [], targets: [Int] = []
        for (sequence, offset) in zip(batch.sequences, batch.offsets) where sequence.count > 1 {
            rows += (offset..<(offset + sequence.count - 1))
            targets += sequence.dropFirst()
        }
        return (rows, targets)
    }

    /// The mean next-token cross-entropy of a batch, from a forward alone.
    public func meanNextTokenLoss(_ batch: Batch) throws -> Float {
        let (rows, targets) = Self.nextTokenTargets(batch)
        guard !rows.isEmpty else { throw InputError("", "the next-token loss needs a sequence of at least two tokens") }
        let logits = try forward(batch, logits: .rows(rows))!
        var loss = 0.0
        for (i, target) in targets.enumerated() { loss += Self.crossEntropy(logits.pointer + i * vocabSize, vocab: vocabSize, target: target) }
        return Float(loss / Double(rows.count))
    }

    /// Elements of the largest linear weight of a block, the size of the weight-gradient scratch.
    var largestLinearSize: Int {
        architecture.blocks.first.map { $0.linears.map { $0.inFeatures * $0.outFeatures }.max() ?? 0 } ?? 0
    }
}

/// Receives one panel of per-sequence weight gradients: the weight's checkpoint name, the stored
/// rows the panel covers, the stored row width, and for each sequence of the batch its gradient
/// over those rows, `[rows.count, columns]` (the receiver may overwrite it).
public typealias SequenceGradientSink = (_ name: String, _ rows: Range<Int>, _ columns: Int, _ perSequence: [UnsafeMutablePointer<Float>]) -> Void

/// Makes each sequence's own weight gradient of a linear layer in panels of stored rows, all
/// sequences' panels at once, so that a receiver reduces them together (sums, norms, dot products).
final class SequenceGradients {
    let batch: Batch
    let layout: WeightLayout
    let panelFloats: Int
    let sink: SequenceGradientSink
    /// The panels, one after the other, reused by every weight.
    private var panels = Buffer(count: 0)

    init(batch: Batch, layout: WeightLayout, panelFloats: Int, sink: @escaping SequenceGradientSink) {
        self.batch = batch
        self.layout = layout
        self.panelFloats = panelFloats
        self.sink = sink
    }

    /// dW_s for the weight `name` of a linear layer with input `x` `[tokens, in]` and output gradient
    /// `dy` `[tokens, out]`.
    func reduce(_ name: String, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, inFeatures i: Int, outFeatures o: Int) {
        // outIn stores [out, in] (dW = dYᵀ X), inOut stores [in, out] (dW = Xᵀ dY).
        let (storedRows, columns) = layout == .outIn ? (o, i) : (i, o)
        let sequences = batch.sequences.count
        let panelRows = max(1, min(storedRows, panelFloats / max(sequences * columns, 1)))
        if panels.count < sequences * panelRows * columns { panels = Buffer(uninitializedCount: sequences * panelRows * columns) }
        for first in stride(from: 0, to: storedRows, by: panelRows) {
            let rows = first..<min(first + panelRows, storedRows)
            var pointers: [UnsafeMutablePointer<Float>] = []
            for (s, (sequence, offset)) in zip(batch.sequences, batch.offsets).enumerated() {
                let panel = panels.pointer + s * panelRows * columns
                switch layout {
                case .outIn:
                    BLAS.gemm(transA: true, m: rows.count, n: i, k: sequence.count, a: dy + offset * o + first, lda: o,
                              b: x + offset * i, ldb: i, c: panel, ldc: i)
                case .inOut:
                    BLAS.gemm(transA: true, m: rows.count, n: o, k: sequence.count, a: x + offset * i + first, lda: i,
                              b: dy + offset * o, ldb: o, c: panel, ldc: o)
                }
                pointers.append(panel)
            }
            sink(name, rows, columns, pointers)
        }
    }
}
