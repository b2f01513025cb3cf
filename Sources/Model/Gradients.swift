import Foundation
import Tensors

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
    /// Where the time went (measured by `sequenceGradients` only; zeros otherwise).
    public var times = BackwardTimes()
}

/// Where the time of a per-sequence backward went, in seconds: what method 2's benchmark
/// explains its cost with.
public struct BackwardTimes: Sendable {
    /// The forward of every block, the head, and each block's forward again before its backward.
    public var forward = 0.0
    /// The per-sequence weight-gradient products dW_s = dY_sᵀ X_s.
    public var weightGradients = 0.0
    /// What the receiver of the panels took.
    public var receiver = 0.0
    /// Everything, the backward's products through the activations included.
    public var total = 0.0

    public init() {}
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
        let n = batch.tokenCount, d = hiddenSize, vocab = vocabSize, e = architecture.embeddingWidth
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
        var value: Float = 0
        var tokens: [Int] = []
        func seed(_ logits: Buffer, _ dLogits: Buffer) {
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
        }
        let allParameters = scope == .allParameters
        // When training, dE = dLogitsᵀ · unembedded: to the sink for a separate unembedding, kept for
        // the token rows to add to when it is the token embedding; the bias gets the summed dLogits.
        let embeddingGradient = allParameters ? Buffer(count: vocab * e) : nil
        func unembeddingGradient(_ dLogits: Buffer, _ unembedded: Buffer) {
            guard let embeddingGradient else { return }
            BLAS.gemm(transA: true, m: vocab, n: e, k: rows.count, a: dLogits.pointer, lda: vocab, b: unembedded.pointer, ldb: e,
                      c: embeddingGradient.pointer, ldc: e)
            if let unembedding = architecture.unembedding {
                sink(unembedding, embeddingGradient.pointer, vocab * e)
                embeddingGradient.zero()
            }
            if let bias = architecture.unembeddingBias {
                let dBias = Buffer(count: vocab)
                for row in 0..<rows.count { Ops.add(dLogits.pointer + row * vocab, into: dBias.pointer, count: vocab) }
                sink(bias, dBias.pointer, vocab)
            }
        }
        let dx = withoutActuallyEscaping(sink) { sink in
            let gradients = GradientContext(sink: sink, scratch: Buffer(count: largestLinearSize), allParameters: allParameters)
            return backward(batch, rows: rows, memory: .everyBlock, ablation: ablation, gradients: gradients, seed: seed,
                            unembeddingGradient: unembeddingGradient, inputGradient: inputGradient)
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
    /// sequence. Memory: each block's input, the activations of as many of the last blocks as
    /// `keepingBytes` holds (their forward is not run again), and one block's activations.
    @discardableResult
    public func sequenceGradients(of batch: Batch, panelFloats: Int = 8 << 20, keepingBytes: Int = 0,
                                  sink: SequenceGradientSink) throws -> GradientSummary {
        try validate(batch)
        guard !batch.hasParents else { throw InputError("", "the backward takes sequences without parents") }
        let rows = batch.lastRows
        var value: Float = 0
        var tokens: [Int] = []
        let start = DispatchTime.now().uptimeNanoseconds
        var times = withoutActuallyEscaping(sink) { sink in
            let perSequence = SequenceGradients(batch: batch, layout: architecture.layout, panelFloats: panelFloats, sink: sink)
            let gradients = GradientContext(sink: { _, _, _ in }, scratch: Buffer(count: 0), allParameters: false, sequences: perSequence)
            let keeping = keepingBytes / max(blockActivationBytes(batch), 1)
            backward(batch, rows: rows, memory: .blockInputs(keeping: keeping), gradients: gradients) { logits, dLogits in
                (value, tokens) = Self.seedTopLogits(logits, rows: rows.count, vocab: vocabSize, into: dLogits)
            }
            return perSequence.times
        }
        times.total = seconds(since: start)
        return GradientSummary(value: value, tokens: tokens, times: times)
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
        let f = mlpWidth, blocks = blockCount
        let attributions = Buffer(count: batch.sequences.count * blocks * f)
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
        backward(batch, rows: rows, memory: .blockInputs(keeping: 0), gradients: gradients) { logits, dLogits in seed(logits.pointer, dLogits.pointer) }
        return attributions
    }

    /// What the forward of a backward keeps.
    enum ActivationMemory {
        /// Every block's activations: one forward, memory grows with depth times a block's internals.
        case everyBlock
        /// Each block's input, and the activations of the last `keeping` blocks: the other blocks'
        /// forward runs again right before their backward, so memory grows with tokens × hidden per
        /// block, with `keeping` + 1 blocks' activations besides.
        case blockInputs(keeping: Int)
    }

    /// The backward every entry point shares: the forward keeping `memory`'s activations, the head
    /// at `rows`, `seed` writing dS/dlogits into its zeroed second buffer, then back through the
    /// final soft cap, the head and every block, last first. `unembeddingGradient` gets dLogits
    /// (after the soft cap) and what the unembedding read; `inputGradient` each block's input
    /// gradient. Returns the gradient of the embedded input, `[tokens, hidden]`.
    @discardableResult
    private func backward(_ batch: Batch, rows: [Int], memory: ActivationMemory, ablation: Ablation = Ablation(), gradients: GradientContext,
                          seed: (_ logits: Buffer, _ dLogits: Buffer) -> Void,
                          unembeddingGradient: (_ dLogits: Buffer, _ unembedded: Buffer) -> Void = { _, _ in },
                          inputGradient: ((Int, UnsafePointer<Float>, _ rows: Int, _ width: Int) -> Void)? = nil) -> Buffer {
        let n = batch.tokenCount, d = hiddenSize
        let rope = architecture.usesRotary ? RotaryTable(config: config, length: batch.maxLength) : nil
        // Blocks from `firstKept` on keep their activations from the forward, each in a cache of its
        // own; the ones before share one cache and run their forward again before their backward.
        let firstKept: Int
        switch memory {
        case .everyBlock: firstKept = 0
        case .blockInputs(let keeping): firstKept = blockCount - min(max(keeping, 0), blockCount)
        }
        let caches = (0..<(blockCount - firstKept + (firstKept > 0 ? 1 : 0))).map { _ in BlockCache(tokens: n, architecture: architecture, batch: batch) }
        func cache(_ block: Int) -> BlockCache { block >= firstKept ? caches[block - firstKept] : caches[caches.count - 1] }

        let forwardStart = DispatchTime.now().uptimeNanoseconds
        let x = embed(batch)
        var inputs: [Buffer] = []
        for block in 0..<blockCount {
            if block < firstKept {
                let input = Buffer(uninitializedCount: n * d)
                input.pointer.update(from: x.pointer, count: n * d)
                inputs.append(input)
            }
            blockForward(block, x, batch, rope: rope, ablation: ablation.replacements(inBlock: block), hooks: Hooks(),
                         cache: cache(block), saving: block >= firstKept)
        }
        let headCache = HeadCache()
        let logits = head(x, batch, .rows(rows), cache: headCache)!
        gradients.sequences?.times.forward += seconds(since: forwardStart)

        let dLogits = Buffer(count: rows.count * vocabSize)
        seed(logits, dLogits)
        finalSoftCapBackward(dLogits, logits: logits)
        unembeddingGradient(dLogits, headCache.unembedded!)
        let dSelected = headBackward(dLogits, headCache, rows: rows.count, gradients: gradients)
        // A row asked for twice gets both rows' gradients.
        let dx = Buffer(count: n * d)
        for (i, row) in rows.enumerated() { Ops.add(dSelected.pointer + i * d, into: dx.pointer + row * d, count: d) }

        for block in stride(from: blockCount - 1, through: 0, by: -1) {
            let replacements = ablation.replacements(inBlock: block)
            if block < firstKept {
                let again = DispatchTime.now().uptimeNanoseconds
                x.pointer.update(from: inputs[block].pointer, count: n * d)
                blockForward(block, x, batch, rope: rope, ablation: replacements, hooks: Hooks(), cache: cache(block), saving: true)
                gradients.sequences?.times.forward += seconds(since: again)
            }
            blockBackward(block, dx, batch, rope: rope, ablation: replacements, cache: cache(block), gradients: gradients)
            inputGradient?(block, dx.pointer, n, d)
        }
        return dx
    }

    /// The backward of `head` after the soft cap, from dLogits (`[rows, vocab]`) to the gradient of
    /// the stream's selected rows: through the unembedding, OPT-350m's project_out (its gradient to
    /// the sink when training) and the final norm.
    func headBackward(_ dLogits: Buffer, _ cache: HeadCache, rows: Int, gradients: GradientContext) -> Buffer {
        let d = hiddenSize, e = architecture.embeddingWidth, vocab = vocabSize
        // dUnembedded = dLogits · E.
        let dUnembedded = Buffer(count: rows * e)
        weights.forEachRowChunk(architecture.unembedding ?? architecture.tokenEmbedding) { range, chunk in
            BLAS.gemm(m: rows, n: e, k: range.count, a: dLogits.pointer + range.lowerBound, lda: vocab,
                      b: chunk, ldb: e, beta: 1, c: dUnembedded.pointer, ldc: e)
        }
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

    /// −log softmax(logits)[target]; with `gradient`, also writes scale · (softmax − onehot(target)) there.
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
    /// The time of the products and of the sink so far.
    var times = BackwardTimes()

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
            let start = DispatchTime.now().uptimeNanoseconds
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
            let made = DispatchTime.now().uptimeNanoseconds
            times.weightGradients += Double(made - start) / 1e9
            sink(name, rows, columns, pointers)
            times.receiver += seconds(since: made)
        }
    }
}

/// Seconds from an `uptimeNanoseconds` reading to now.
func seconds(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}
