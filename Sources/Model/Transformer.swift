import Foundation
import Tensors

/// Token sequences of different lengths, packed row after row into one `[tokens, width]` buffer.
/// A sequence may continue an earlier one (its parent): its tokens come after all of the
/// parent's, which it attends to, so that continuations of one prompt share the prompt's pass.
/// Only the forward takes such batches.
public struct Batch: Sendable {
    public let sequences: [[Int]]
    /// The row of each sequence's first token.
    public let offsets: [Int]
    public let tokenCount: Int
    /// For each sequence, the earlier sequence it continues, or nil.
    public let parents: [Int?]
    /// For each sequence, the tokens before its own: its parent's length, or 0.
    let prefixLengths: [Int]

    public init(_ sequences: [[Int]], parents: [Int?]? = nil) {
        self.sequences = sequences
        var offsets: [Int] = []
        var row = 0
        for sequence in sequences {
            offsets.append(row)
            row += sequence.count
        }
        self.offsets = offsets
        tokenCount = row
        self.parents = parents ?? Array(repeating: nil, count: sequences.count)
        prefixLengths = self.parents.map { $0.map { sequences[$0].count } ?? 0 }
    }

    public var lastRows: [Int] { zip(offsets, sequences).map { $0 + $1.count - 1 } }
    /// The longest sequence, its prefix included.
    var maxLength: Int { zip(prefixLengths, sequences).map { $0 + $1.count }.max() ?? 0 }
    var hasParents: Bool { parents.contains { $0 != nil } }
}

/// Which positions get logits: none (hooks only), each sequence's last, every token, or the
/// given rows of the packed batch (in that order).
public enum LogitRows: Sendable { case none, last, all, rows([Int]) }

/// Read-only views into the forward pass, called as it happens.
public struct Hooks {
    /// Block, coefficients `[tokens, F]` (the down projection's input, after any ablation).
    public var coefficients: ((Int, UnsafePointer<Float>, _ rows: Int, _ width: Int) -> Void)?
    /// Block l, the residual stream entering it `[tokens, hidden]`; l == blocks for the final one.
    public var residual: ((Int, UnsafePointer<Float>, _ rows: Int, _ width: Int) -> Void)?
    /// Block, the MLP's input after its norm `[tokens, hidden]`: what recomputes a few of its
    /// neurons' coefficients without rerunning the block.
    public var mlpInput: ((Int, UnsafePointer<Float>, _ rows: Int, _ width: Int) -> Void)?

    public init(coefficients: ((Int, UnsafePointer<Float>, Int, Int) -> Void)? = nil,
                residual: ((Int, UnsafePointer<Float>, Int, Int) -> Void)? = nil,
                mlpInput: ((Int, UnsafePointer<Float>, Int, Int) -> Void)? = nil) {
        self.coefficients = coefficients
        self.residual = residual
        self.mlpInput = mlpInput
    }

    var isEmpty: Bool { coefficients == nil && residual == nil && mlpInput == nil }
}

/// A decoder-only transformer on CPU: forward over packed batches with hooks, ablations and
/// restarts from any block; backward of a scalar objective for one sequence at a time.
/// The forward and backward of each block are in this file, next to each other.
public final class Transformer {
    public let config: ModelConfig
    let architecture: Architecture
    let weights: WeightStore
    /// Gemma's embedding multiplier √hidden, rounded to the embedding's dtype as transformers does.
    let embeddingScale: Float?

    public init(checkpoint: Checkpoint, widening: Widening = .automatic) throws {
        config = checkpoint.config
        architecture = try Architecture(config: config, tensorNames: Set(checkpoint.tensorNames), path: checkpoint.source.configPath)
        weights = try WeightStore(source: .checkpoint(checkpoint), architecture: architecture, widening: widening)
        embeddingScale = Self.embeddingScale(architecture, dtype: checkpoint.source.matrix(architecture.tokenEmbedding).dtype)
    }

    /// A model whose parameters are in memory (being trained); names as in a checkpoint of `config`.
    public init(config: ModelConfig, parameters: ParameterSet) throws {
        self.config = config
        architecture = try Architecture(config: config, tensorNames: Set(parameters.names), path: "")
        weights = try WeightStore(source: .memory(parameters), architecture: architecture)
        embeddingScale = Self.embeddingScale(architecture, dtype: .f32)
    }

    private static func embeddingScale(_ architecture: Architecture, dtype: DType) -> Float? {
        guard architecture.scalesEmbedding else { return nil }
        let scale = Float(Double(architecture.config.hiddenSize).squareRoot())
        switch dtype {
        case .bf16:
            // Round to nearest even on the upper 16 bits.
            let bits = scale.bitPattern
            return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
        case .f16: return Float(Float16(scale))
        default: return scale
        }
    }

    /// The size of the float32 copies kept of matrices not stored as float32 (nil: none kept,
    /// they are widened a panel at a time).
    public var widenedCopyBytes: Int? { weights.widenedCopyBytes }

    public var blockCount: Int { config.layerCount }
    public var mlpWidth: Int { config.intermediateSize }
    public var hiddenSize: Int { config.hiddenSize }
    public var vocabSize: Int { config.vocabSize }

    /// The values of a weight as float32 (in place for F32 checkpoints, widened otherwise).
    public func weightValues(_ name: String) -> Buffer { weights.load(name) }

    /// The rows of a weight (as stored, `[rows, width]`) as float32, a panel of rows at a time:
    /// all at once when they are float32 already, otherwise widened a cache-sized panel at a time,
    /// so that a half-precision weight is read without a float32 copy of all of it.
    public func forEachWeightPanel(_ name: String, _ body: (_ rows: Range<Int>, _ values: UnsafePointer<Float>) -> Void) {
        weights.forEachRowChunk(name, body)
    }

    /// Elements of a tensor the model reads.
    public func weightElementCount(_ name: String) -> Int {
        architecture.expectedShapes.first { $0.0 == name }.map { $0.1.reduce(1, *) } ?? 0
    }

    /// The matrices holding a block's neurons: the up/gate (or GPT-2's c_fc) rows and the value
    /// vectors, whether neuron i is row i of the stored matrix (else column i), and the element
    /// where neuron 0's entries start (Phi-3's fused gate_up holds the up rows after the gate rows).
    public func neuronMatrices(block: Int) -> [(name: String, neuronIsRow: Bool, start: Int)] {
        architecture.blocks[block].neuronMatrices(layout: architecture.layout, width: mlpWidth, hidden: hiddenSize)
    }

    /// The names of the 2-D weights of every block, as stored in the checkpoint, block by block.
    public var blockWeightNames: [[String]] { architecture.blocks.map { $0.linears.map(\.weight) } }

    // MARK: Input checks

    public func validate(_ batch: Batch) throws {
        guard !batch.sequences.isEmpty else { throw InputError("", "no sequences to run") }
        guard batch.parents.count == batch.sequences.count else { throw InputError("", "\(batch.parents.count) parents for \(batch.sequences.count) sequences") }
        for (s, (sequence, parent)) in zip(batch.sequences, batch.parents).enumerated() {
            guard !sequence.isEmpty else { throw InputError("", "empty input: give at least one token") }
            if let parent, !(0..<s).contains(parent) || batch.parents[parent] != nil {
                throw InputError("", "sequence \(s) continues \(parent), which is not an earlier sequence without a parent")
            }
            let length = batch.prefixLengths[s] + sequence.count
            guard length <= config.contextLength else {
                throw InputError("", "\(length) tokens exceed the model's context of \(config.contextLength)")
            }
            if let bad = sequence.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                throw InputError("", "token id \(bad) is outside the vocabulary (0..<\(config.vocabSize))")
            }
        }
    }

    func validate(_ logits: LogitRows, _ batch: Batch) throws {
        if case .rows(let rows) = logits, let bad = rows.first(where: { $0 < 0 || $0 >= batch.tokenCount }) {
            throw InputError("", "no row \(bad) in a batch of \(batch.tokenCount) tokens")
        }
    }

    public func validate(_ ablation: Ablation) throws {
        for neuron in ablation.neurons where neuron.block < 0 || neuron.block >= blockCount || neuron.neuron < 0 || neuron.neuron >= mlpWidth {
            throw InputError("", "no neuron \(neuron): the model has blocks 0..\(blockCount - 1) of \(mlpWidth) neurons")
        }
    }

    // MARK: Forward

    /// Runs the whole model; returns logits `[rows, vocab]` for the rows asked for.
    public func forward(_ batch: Batch, logits: LogitRows = .last, ablation: Ablation = Ablation(), hooks: Hooks = Hooks()) throws -> Buffer? {
        try validate(batch)
        try validate(ablation)
        try validate(logits, batch)
        let x = embed(batch)
        return run(x, batch, from: 0, logits: logits, ablation: ablation, hooks: hooks, caches: nil)
    }

    /// Runs blocks `block..<L` from `residual`, the stream entering `block` (as the residual hook
    /// gave it). Only the blocks from the first one an ablation touches need rerunning.
    public func forward(_ batch: Batch, from block: Int, residual: Buffer, logits: LogitRows = .last,
                        ablation: Ablation = Ablation(), hooks: Hooks = Hooks()) throws -> Buffer? {
        try validate(batch)
        try validate(ablation)
        try validate(logits, batch)
        guard block >= 0, block <= blockCount else { throw InputError("", "no block \(block)") }
        guard residual.count == batch.tokenCount * hiddenSize else {
            throw InputError("", "residual stream has \(residual.count) values; \(batch.tokenCount) tokens need \(batch.tokenCount * hiddenSize)")
        }
        let x = Buffer(uninitializedCount: residual.count)
        x.pointer.update(from: residual.pointer, count: residual.count)
        return run(x, batch, from: block, logits: logits, ablation: ablation, hooks: hooks, caches: nil)
    }

    /// Runs the blocks after `block` from that block's unablated state, without rerunning it:
    /// `output` is the stream leaving it (the residual entering `block + 1`) and `mlpInput` its
    /// MLP's normed input (as the hooks or `state(after:of:)` give them). Ablating neurons of
    /// `block` changes only its MLP's output, by Σᵢ (valueᵢ − mᵢ)·vᵢ: that change is added to
    /// `output`, with the coefficients mᵢ recomputed from `mlpInput`, so that a toggle costs its
    /// own neurons rather than a block. Equal to `forward(batch, from: block, ...)` up to
    /// rounding; the ablation may not touch earlier blocks.
    public func forward(_ batch: Batch, after block: Int, output: Buffer, mlpInput: Buffer, logits: LogitRows = .last,
                        ablation: Ablation) throws -> Buffer? {
        try validate(batch)
        try validate(ablation)
        try validate(logits, batch)
        guard block >= 0, block < blockCount else { throw InputError("", "no block \(block)") }
        guard (ablation.firstBlock ?? block) >= block else {
            throw InputError("", "the ablation touches block \(ablation.firstBlock!), before block \(block)")
        }
        for buffer in [output, mlpInput] where buffer.count != batch.tokenCount * hiddenSize {
            throw InputError("", "a cached stream has \(buffer.count) values; \(batch.tokenCount) tokens need \(batch.tokenCount * hiddenSize)")
        }
        let x = Buffer(uninitializedCount: output.count)
        x.pointer.update(from: output.pointer, count: output.count)
        addAblationChange(block, to: x, mlpInput: mlpInput, rows: batch.tokenCount, replacements: ablation.replacements(inBlock: block))
        return run(x, batch, from: block + 1, logits: logits, ablation: ablation, hooks: Hooks(), caches: nil)
    }

    /// The unablated state after block `block`: the stream leaving it and its MLP's normed input,
    /// computed exactly as a full forward computes them (and as its hooks give them), so that
    /// `forward(_:after:...)` from it gives the same values whether the state was kept or not.
    public func state(after block: Int, of batch: Batch) throws -> (output: Buffer, mlpInput: Buffer) {
        let mlpInput = Buffer(uninitializedCount: batch.tokenCount * hiddenSize)
        let output = try forward(batch, through: block, hooks: Hooks(mlpInput: { index, values, rows, width in
            if index == block { mlpInput.pointer.update(from: values, count: rows * width) }
        }))
        return (output, mlpInput)
    }

    /// Runs blocks `0...last` unablated and returns the stream leaving `last`; `hooks.residual`
    /// gets the stream entering each block after the first (leaving the one before), up to the one
    /// leaving `last`.
    public func forward(_ batch: Batch, through last: Int, hooks: Hooks) throws -> Buffer {
        try validate(batch)
        guard last >= 0, last < blockCount else { throw InputError("", "no block \(last)") }
        let x = embed(batch)
        let rope = architecture.usesRotary ? RotaryTable(config: config, length: batch.maxLength) : nil
        let scratch = BlockCache(tokens: batch.tokenCount, architecture: architecture, batch: batch)
        for index in 0...last {
            blockForward(index, x, batch, rope: rope, ablation: [], hooks: hooks, cache: scratch, saving: false)
            hooks.residual?(index + 1, x.pointer, batch.tokenCount, hiddenSize)
        }
        return x
    }

    /// Token (and for GPT-2, position) embeddings, `[tokens, hidden]`; Gemma's scaled, OPT-350m's
    /// projected in.
    func embed(_ batch: Batch) -> Buffer {
        let d = hiddenSize
        let x: Buffer
        if let projectIn = architecture.projectIn {
            let e = architecture.embeddingWidth
            let tokens = tokenEmbeddings(batch)
            x = Buffer(uninitializedCount: batch.tokenCount * d)
            BLAS.gemm(transB: true, m: batch.tokenCount, n: d, k: e, a: tokens.pointer, lda: e,
                      b: weights.model(projectIn).pointer, ldb: e, c: x.pointer, ldc: d)
            withExtendedLifetime(tokens) {}
        } else {
            x = tokenEmbeddings(batch)
        }
        let positions = architecture.positionEmbedding.map { weights.model($0) }
        for (sequence, (offset, prefix)) in zip(batch.sequences, zip(batch.offsets, batch.prefixLengths)) {
            for i in sequence.indices {
                let row = x.pointer + (offset + i) * d
                if let embeddingScale { for j in 0..<d { row[j] *= embeddingScale } }
                if let positions { Ops.add(positions.pointer + (prefix + i + architecture.positionOffset) * d, into: row, count: d) }
            }
        }
        return x
    }

    /// Each token's row of the token embedding, `[tokens, embedding width]`.
    func tokenEmbeddings(_ batch: Batch) -> Buffer {
        let e = architecture.embeddingWidth
        let rows = Buffer(uninitializedCount: batch.tokenCount * e)
        for (sequence, offset) in zip(batch.sequences, batch.offsets) {
            for (i, token) in sequence.enumerated() { weights.row(architecture.tokenEmbedding, token, into: rows.pointer + (offset + i) * e) }
        }
        return rows
    }

    private func run(_ x: Buffer, _ batch: Batch, from first: Int, logits: LogitRows, ablation: Ablation,
                     hooks: Hooks, caches: [BlockCache]?) -> Buffer? {
        let rope = architecture.usesRotary ? RotaryTable(config: config, length: batch.maxLength) : nil
        // Without a backward to come, one set of activation buffers serves every block in turn.
        let scratch = caches == nil ? BlockCache(tokens: batch.tokenCount, architecture: architecture, batch: batch) : nil
        // Nothing reads the last block's other rows when no hook or backward does: it computes
        // only the rows that get logits (from every row's keys and values).
        let needed = caches == nil && hooks.isEmpty && first < blockCount ? NeededRows(logits, batch) : nil
        var x = x
        for block in first..<blockCount {
            hooks.residual?(block, x.pointer, batch.tokenCount, hiddenSize)
            x = blockForward(block, x, batch, rope: rope, ablation: ablation.replacements(inBlock: block), hooks: hooks,
                             cache: caches?[block] ?? scratch!, saving: caches != nil, queries: block == blockCount - 1 ? needed?.ranges : nil)
        }
        hooks.residual?(blockCount, x.pointer, batch.tokenCount, hiddenSize)
        return head(x, batch, needed?.logits ?? logits, cache: nil)
    }

    /// Final norm, OPT-350m's project_out and the unembedding for the rows asked for.
    func head(_ x: Buffer, _ batch: Batch, _ which: LogitRows, cache: HeadCache?) -> Buffer? {
        let rows: [Int]
        switch which {
        case .none: return nil
        case .last: rows = batch.lastRows
        case .all: rows = Array(0..<batch.tokenCount)
        case .rows(let chosen): rows = chosen
        }
        let d = hiddenSize
        let selected = Buffer(uninitializedCount: rows.count * d)
        for (i, row) in rows.enumerated() { (selected.pointer + i * d).update(from: x.pointer + row * d, count: d) }
        let normed = Buffer(uninitializedCount: rows.count * d)
        let mean = Buffer(uninitializedCount: rows.count), rstd = Buffer(uninitializedCount: rows.count)
        if let finalNorm = architecture.finalNorm {
            norm(finalNorm, selected.pointer, normed.pointer, mean: mean.pointer, rstd: rstd.pointer, rows: rows.count)
        } else {
            normed.pointer.update(from: selected.pointer, count: rows.count * d)
        }
        let e = architecture.embeddingWidth
        var unembedded = normed
        if let projectOut = architecture.projectOut {
            unembedded = Buffer(uninitializedCount: rows.count * e)
            BLAS.gemm(transB: true, m: rows.count, n: e, k: d, a: normed.pointer, lda: d, b: weights.model(projectOut).pointer, ldb: d,
                      c: unembedded.pointer, ldc: e)
        }
        cache?.store(selected: selected, normed: normed, mean: mean, rstd: rstd, unembedded: unembedded)
        let vocab = vocabSize
        let logits = Buffer(uninitializedCount: rows.count * vocab)
        weights.forEachRowChunk(architecture.unembedding ?? architecture.tokenEmbedding) { range, chunk in
            BLAS.gemm(transB: true, m: rows.count, n: range.count, k: e, a: unembedded.pointer, lda: e, b: chunk, ldb: e,
                      c: logits.pointer + range.lowerBound, ldc: vocab)
        }
        if let bias = architecture.unembeddingBias { Ops.addBias(logits.pointer, weights.model(bias).pointer, rows: rows.count, width: vocab) }
        if let cap = config.finalSoftCap.map(Float.init) {
            for i in 0..<logits.count { logits[i] = Foundation.tanh(logits[i] / cap) * cap }
        }
        return logits
    }

    /// Through Gemma 2's final soft cap: dLogits · (1 − (logits / cap)²), the logits being capped.
    func finalSoftCapBackward(_ dLogits: Buffer, logits: Buffer) {
        guard let cap = config.finalSoftCap.map(Float.init) else { return }
        for i in 0..<dLogits.count {
            let t = logits[i] / cap
            dLogits[i] *= 1 - t * t
        }
    }

    // MARK: Norms

    /// The scale a norm multiplies by: its weight, Gemma's 1 + w, or ones for OLMo's parameterless LayerNorm.
    private func normScale(_ norm: BlockDescription.Norm, width: Int, block: BlockWeights?) -> Buffer {
        func tensor(_ name: String) -> UnsafeMutablePointer<Float> { block?[name] ?? weights.model(name).pointer }
        switch norm {
        case .layer(nil, _):
            return Buffer(Array(repeating: 1, count: width))
        case .layer(let w?, _), .rms(let w, false):
            return Buffer(borrowing: tensor(w), count: width, owner: (block as AnyObject?) ?? weights)
        case .rms(let w, true):
            let stored = tensor(w), scale = Buffer(uninitializedCount: width)
            for i in 0..<width { scale[i] = 1 + stored[i] }
            return scale
        }
    }

    /// y = norm(x) over rows of `width` (the hidden size unless given).
    func norm(_ norm: BlockDescription.Norm, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
              mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, rows: Int, width: Int? = nil, block: BlockWeights? = nil) {
        let epsilon = Float(config.normEpsilon), width = width ?? hiddenSize
        let scale = normScale(norm, width: width, block: block)
        switch norm {
        case .layer(_, let b):
            let bias = b.map { block?[$0] ?? weights.model($0).pointer }
            Ops.layerNormForward(x, y, mean: mean, rstd: rstd, weight: scale.pointer, bias: bias, rows: rows, width: width, epsilon: epsilon)
        case .rms:
            Ops.rmsNormForward(x, y, rstd: rstd, weight: scale.pointer, rows: rows, width: width, epsilon: epsilon)
        }
    }

    /// dx += the norm's backward of dy; its own parameters' gradients go to the sink when training
    /// (Gemma's w gets the gradient of 1 + w).
    func normBackward(_ norm: BlockDescription.Norm, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                      mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, width: Int? = nil,
                      block: BlockWeights? = nil, gradients: GradientContext) {
        let d = width ?? hiddenSize
        let scale = normScale(norm, width: d, block: block)
        switch norm {
        case .layer(let w, let b):
            let dWeight = gradients.allParameters ? Buffer(count: d) : nil, dBias = gradients.allParameters ? Buffer(count: d) : nil
            Ops.layerNormBackward(dy, x, mean: mean, rstd: rstd, weight: scale.pointer, dx: dx, rows: rows, width: d, dWeight: dWeight?.pointer, dBias: dBias?.pointer)
            if let dWeight, let dBias {
                if let w { gradients.sink(w, dWeight.pointer, d) }
                if let b { gradients.sink(b, dBias.pointer, d) }
            }
        case .rms(let w, _):
            let dWeight = gradients.allParameters ? Buffer(count: d) : nil
            Ops.rmsNormBackward(dy, x, rstd: rstd, weight: scale.pointer, dx: dx, rows: rows, width: d, dWeight: dWeight?.pointer)
            if let dWeight { gradients.sink(w, dWeight.pointer, d) }
        }
    }

    // MARK: Linear layers

    /// y[rows, out] = x[rows, in] · Wᵀ (+ b), for either storage layout. A stored (half-precision)
    /// W is widened a row panel at a time: `[out, in]` panels give columns of y, `[in, out]`
    /// panels give terms of its sum.
    func linearForward(_ linear: BlockDescription.Linear, _ w: BlockWeights, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int) {
        let (i, o) = (linear.inFeatures, linear.outFeatures)
        switch (architecture.layout, w.matrix(linear.weight)) {
        case (.outIn, .float32(let weight)):
            BLAS.gemm(transB: true, m: rows, n: o, k: i, a: x, lda: i, b: weight, ldb: i, c: y, ldc: o)
        case (.inOut, .float32(let weight)):
            BLAS.gemm(m: rows, n: o, k: i, a: x, lda: i, b: weight, ldb: o, c: y, ldc: o)
        case (.outIn, .stored(let matrix)):
            matrix.forEachPanel { outputs, panel in
                BLAS.gemm(transB: true, m: rows, n: outputs.count, k: i, a: x, lda: i, b: panel, ldb: i, c: y + outputs.lowerBound, ldc: o)
            }
        case (.inOut, .stored(let matrix)):
            matrix.forEachPanel { inputs, panel in
                BLAS.gemm(m: rows, n: o, k: inputs.count, a: x + inputs.lowerBound, lda: i, b: panel, ldb: o,
                          beta: inputs.lowerBound == 0 ? 0 : 1, c: y, ldc: o)
            }
        }
        if let bias = w.optional(linear.bias) { Ops.addBias(y, bias, rows: rows, width: o) }
    }

    /// dx[rows, in] (+)= dy · W, and the weight gradient (in the stored layout) handed to the sink,
    /// with the bias gradient when training. The weight gradient does not read W; dx reads a
    /// stored W in row panels, as the forward does.
    func linearBackward(_ linear: BlockDescription.Linear, _ w: BlockWeights, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                        dx: UnsafeMutablePointer<Float>?, accumulate: Bool, rows: Int, gradients: GradientContext) {
        let scratch = gradients.scratch
        let (i, o) = (linear.inFeatures, linear.outFeatures)
        let beta: Float = accumulate ? 1 : 0
        if let dx {
            switch (architecture.layout, w.matrix(linear.weight)) {
            case (.outIn, .float32(let weight)):
                BLAS.gemm(m: rows, n: i, k: o, a: dy, lda: o, b: weight, ldb: i, beta: beta, c: dx, ldc: i)
            case (.inOut, .float32(let weight)):
                BLAS.gemm(transB: true, m: rows, n: i, k: o, a: dy, lda: o, b: weight, ldb: o, beta: beta, c: dx, ldc: i)
            case (.outIn, .stored(let matrix)):
                matrix.forEachPanel { outputs, panel in
                    BLAS.gemm(m: rows, n: i, k: outputs.count, a: dy + outputs.lowerBound, lda: o, b: panel, ldb: i,
                              beta: outputs.lowerBound == 0 ? beta : 1, c: dx, ldc: i)
                }
            case (.inOut, .stored(let matrix)):
                matrix.forEachPanel { inputs, panel in
                    BLAS.gemm(transB: true, m: rows, n: inputs.count, k: o, a: dy, lda: o, b: panel, ldb: o,
                              beta: beta, c: dx + inputs.lowerBound, ldc: i)
                }
            }
        }
        if let perSequence = gradients.sequences {
            perSequence.reduce(linear.weight, x: x, dy: dy, inFeatures: i, outFeatures: o)
        } else if gradients.weightGradients {
            switch architecture.layout {
            case .outIn: BLAS.gemm(transA: true, m: o, n: i, k: rows, a: dy, lda: o, b: x, ldb: i, c: scratch.pointer, ldc: i)
            case .inOut: BLAS.gemm(transA: true, m: i, n: o, k: rows, a: x, lda: i, b: dy, ldb: o, c: scratch.pointer, ldc: o)
            }
            gradients.sink(linear.weight, scratch.pointer, i * o)
        }
        if gradients.allParameters, let bias = linear.bias {
            let dBias = Buffer(count: o)
            for row in 0..<rows { Ops.add(dy + row * o, into: dBias.pointer, count: o) }
            gradients.sink(bias, dBias.pointer, o)
        }
    }

    // MARK: One block, forward

    /// Runs block `index` on the residual stream `x`, in place, and returns it. `saving` keeps its
    /// input and middle residual in `c` for a backward. With `queries` (per sequence, the rows of
    /// its own whose output is needed), every row still gives its key and value, but only those
    /// rows go on through attention and the MLP: the block returns them alone, packed in order.
    @discardableResult
    func blockForward(_ index: Int, _ x: Buffer, _ batch: Batch, rope: RotaryTable?, ablation: [(Int, Float)],
                      hooks: Hooks, cache c: BlockCache, saving: Bool, queries: [Range<Int>]? = nil) -> Buffer {
        let description = architecture.blocks[index]
        let w = weights.block(index)
        let n = batch.tokenCount, d = hiddenSize, f = mlpWidth
        let heads = config.headCount, kvHeads = config.kvHeadCount, hd = config.headDim
        let qWidth = heads * hd, kvWidth = kvHeads * hd

        // Attention. Without a norm before it (OLMo 2), q, k and v read the stream itself.
        if saving { c.input.pointer.update(from: x.pointer, count: n * d) }
        if let attentionNorm = description.attentionNorm {
            norm(attentionNorm, x.pointer, c.normed1.pointer, mean: c.mean1.pointer, rstd: c.rstd1.pointer, rows: n, block: w)
        } else {
            c.normed1.pointer.update(from: x.pointer, count: n * d)
        }
        projectQKV(description, w, c, rows: n)
        if let clip = description.clipQKV {
            let mask = c.extra(.clipMask, n * (qWidth + 2 * kvWidth)).pointer
            for (buffer, start, width) in [(c.q, 0, qWidth), (c.k, n * qWidth, kvWidth), (c.v, n * (qWidth + kvWidth), kvWidth)] {
                for i in 0..<(n * width) {
                    let value = buffer[i]
                    mask[start + i] = abs(value) > clip ? 0 : 1
                    buffer[i] = min(max(value, -clip), clip)
                }
            }
        }
        if let qkNorm = description.queryKeyNorm {
            c.qBeforeNorm.pointer.update(from: c.q.pointer, count: n * qWidth)
            c.kBeforeNorm.pointer.update(from: c.k.pointer, count: n * kvWidth)
            let (qRows, qNormWidth) = qkNorm.perHead ? (n * heads, hd) : (n, qWidth)
            let (kRows, kNormWidth) = qkNorm.perHead ? (n * kvHeads, hd) : (n, kvWidth)
            // Every family's q/k norms are RMSNorms, which keep no mean.
            norm(qkNorm.query, c.qBeforeNorm.pointer, c.q.pointer, mean: c.qRstd.pointer, rstd: c.qRstd.pointer, rows: qRows, width: qNormWidth, block: w)
            norm(qkNorm.key, c.kBeforeNorm.pointer, c.k.pointer, mean: c.kRstd.pointer, rstd: c.kRstd.pointer, rows: kRows, width: kNormWidth, block: w)
        }
        if let rotary = description.rotary, let rope {
            let (cos, sin) = rope.table(local: rotary.local)
            let half = rope.dimensions / 2
            for (sequence, (offset, prefix)) in zip(batch.sequences, zip(batch.offsets, batch.prefixLengths)) {
                for (target, width, count) in [(c.q, qWidth, heads), (c.k, kvWidth, kvHeads)] {
                    Ops.rotary(target.pointer + offset * width, rows: sequence.count, heads: count, headDim: hd, rotary: rope.dimensions,
                               interleaved: architecture.rotaryInterleaved, cos: cos + prefix * half, sin: sin + prefix * half, inverse: false)
                }
            }
        }
        attentionForward(c, batch, description, queries: queries)
        // From here on the rows are every row, or the queried ones alone.
        let rows = queries.map { NeededRows.rows($0, batch) }
        let y = rows.map { gather(x, rows: $0) } ?? x
        let m = y.count / d
        let attended = Buffer(uninitializedCount: m * d)
        linearForward(description.output, w, c.attention.pointer, attended.pointer, rows: m)
        if let post = description.postAttentionNorm {
            let before = c.extra(.attentionOutput, n * d)
            before.pointer.update(from: attended.pointer, count: m * d)
            norm(post, before.pointer, attended.pointer, mean: c.extra(.postAttentionMean, n).pointer, rstd: c.extra(.postAttentionRstd, n).pointer, rows: m, block: w)
        }
        // A parallel block adds attention and MLP to its input together.
        if !description.parallel { Ops.add(attended.pointer, into: y.pointer, count: m * d) }
        if let after = description.normAfterAttentionAdd {
            let sum = c.extra(.attentionSum, n * d)
            sum.pointer.update(from: y.pointer, count: m * d)
            norm(after, sum.pointer, y.pointer, mean: c.extra(.attentionSumMean, n).pointer, rstd: c.extra(.attentionSumRstd, n).pointer, rows: m, block: w)
        }

        // MLP: its input is the middle stream, or in a parallel block the block's input (through
        // its own norm, or the attention's normed input when it has none).
        if saving { c.middle.pointer.update(from: y.pointer, count: m * d) }
        if let mlpNorm = description.mlpNorm {
            norm(mlpNorm, y.pointer, c.normed2.pointer, mean: c.mean2.pointer, rstd: c.rstd2.pointer, rows: m, block: w)
        } else if description.parallel {
            let source = rows.map { gather(c.normed1, rows: $0) } ?? c.normed1
            c.normed2.pointer.update(from: source.pointer, count: m * d)
        } else {
            c.normed2.pointer.update(from: y.pointer, count: m * d)
        }
        hooks.mlpInput?(index, c.normed2.pointer, m, d)
        mlpCoefficients(description, w, input: c.normed2.pointer, gate: c.gate, up: c.up, coefficients: c.coefficients, rows: m,
                        fused: description.mlpInput.isFused ? c.extra(.fusedGateUp, n * 2 * f) : nil)
        for (neuron, value) in ablation {
            for row in 0..<m { c.coefficients[row * f + neuron] = value }
        }
        hooks.coefficients?(index, c.coefficients.pointer, m, f)
        let mlpOutput = Buffer(uninitializedCount: m * d)
        linearForward(description.down, w, c.coefficients.pointer, mlpOutput.pointer, rows: m)
        if let post = description.postMLPNorm {
            let before = c.extra(.mlpOutput, n * d)
            before.pointer.update(from: mlpOutput.pointer, count: m * d)
            norm(post, before.pointer, mlpOutput.pointer, mean: c.extra(.postMLPMean, n).pointer, rstd: c.extra(.postMLPRstd, n).pointer, rows: m, block: w)
        }
        if description.parallel { Ops.add(attended.pointer, into: y.pointer, count: m * d) }
        Ops.add(mlpOutput.pointer, into: y.pointer, count: m * d)
        if let after = description.normAfterMLPAdd {
            let sum = c.extra(.mlpSum, n * d)
            sum.pointer.update(from: y.pointer, count: m * d)
            norm(after, sum.pointer, y.pointer, mean: c.extra(.mlpSumMean, n).pointer, rstd: c.extra(.mlpSumRstd, n).pointer, rows: m, block: w)
        }
        return y
    }

    /// The MLP's coefficients (and the gate and up values the backward reads) for `rows` rows of
    /// its normed input: act(gate)·up for gated MLPs, act(up) otherwise.
    /// `fused` holds a fused gate|up projection's output (`[rows, 2F]`) before it is split.
    private func mlpCoefficients(_ description: BlockDescription, _ w: BlockWeights, input: UnsafePointer<Float>,
                                 gate: Buffer, up: Buffer, coefficients: Buffer, rows m: Int, fused: Buffer?) {
        let f = mlpWidth
        switch description.mlpInput {
        case .plain(let linear):
            linearForward(linear, w, input, up.pointer, rows: m)
        case .gated(let gateLinear, let upLinear):
            linearForward(gateLinear, w, input, gate.pointer, rows: m)
            linearForward(upLinear, w, input, up.pointer, rows: m)
        case .fusedGated(let gateUp):
            let fused = fused ?? Buffer(uninitializedCount: m * 2 * f)
            linearForward(gateUp, w, input, fused.pointer, rows: m)
            for row in 0..<m {
                (gate.pointer + row * f).update(from: fused.pointer + row * 2 * f, count: f)
                (up.pointer + row * f).update(from: fused.pointer + row * 2 * f + f, count: f)
            }
        }
        activate(gate: description.mlpInput.isGated ? gate.pointer : nil, up: up.pointer, into: coefficients.pointer, count: m * f)
    }

    /// The MLP's nonlinearity: coefficients act(gate)·up for gated MLPs, act(up) otherwise.
    private func activate(gate: UnsafePointer<Float>?, up: UnsafePointer<Float>, into coefficients: UnsafeMutablePointer<Float>, count: Int) {
        if let gate {
            Ops.activationForward(architecture.activation, gate, coefficients, count: count)
            for i in 0..<count { coefficients[i] *= up[i] }
        } else {
            Ops.activationForward(architecture.activation, up, coefficients, count: count)
        }
    }

    /// Adds to `x`, the stream leaving block `index`, what replacing some of its neurons'
    /// coefficients changes: Σᵢ (valueᵢ − mᵢ)·vᵢ per row, with mᵢ recomputed from the MLP's normed
    /// input (`[rows, hidden]`) through those neurons' own weights only. A block with a norm after
    /// its MLP (Gemma 2/3, OLMo 2) is not linear in its coefficients: there the MLP's output is
    /// recomputed whole, with and without the replacements, and the difference added. A block
    /// that normalises the stream after the MLP's add (OPT-350m) has its MLP read the middle
    /// stream as it is: its output is recomputed whole from that input.
    private func addAblationChange(_ index: Int, to x: Buffer, mlpInput: Buffer, rows n: Int, replacements: [(Int, Float)]) {
        guard !replacements.isEmpty else { return }
        let description = architecture.blocks[index]
        let w = weights.block(index)
        if let after = description.normAfterMLPAdd {
            let f = mlpWidth, d = hiddenSize
            let gate = Buffer(uninitializedCount: description.mlpInput.isGated ? n * f : 0)
            let up = Buffer(uninitializedCount: n * f), coefficients = Buffer(uninitializedCount: n * f)
            mlpCoefficients(description, w, input: mlpInput.pointer, gate: gate, up: up, coefficients: coefficients, rows: n, fused: nil)
            for (neuron, value) in replacements { for row in 0..<n { coefficients[row * f + neuron] = value } }
            let sum = Buffer(uninitializedCount: n * d), statistics = Buffer(uninitializedCount: 2 * n)
            linearForward(description.down, w, coefficients.pointer, sum.pointer, rows: n)
            Ops.add(mlpInput.pointer, into: sum.pointer, count: n * d)
            norm(after, sum.pointer, x.pointer, mean: statistics.pointer, rstd: statistics.pointer + n, rows: n, block: w)
            return
        }
        if let post = description.postMLPNorm {
            let f = mlpWidth, d = hiddenSize
            let gate = Buffer(uninitializedCount: description.mlpInput.isGated ? n * f : 0)
            let up = Buffer(uninitializedCount: n * f), coefficients = Buffer(uninitializedCount: n * f)
            mlpCoefficients(description, w, input: mlpInput.pointer, gate: gate, up: up, coefficients: coefficients, rows: n, fused: nil)
            let output = Buffer(uninitializedCount: n * d), normed = Buffer(uninitializedCount: n * d), statistics = Buffer(uninitializedCount: 2 * n)
            for (sign, ablated) in [(Float(-1), false), (1, true)] {
                if ablated {
                    for (neuron, value) in replacements { for row in 0..<n { coefficients[row * f + neuron] = value } }
                }
                linearForward(description.down, w, coefficients.pointer, output.pointer, rows: n)
                norm(post, output.pointer, normed.pointer, mean: statistics.pointer, rstd: statistics.pointer + n, rows: n, block: w)
                for i in 0..<(n * d) { x[i] += sign * normed[i] }
            }
            return
        }
        // In neuron order, not the ablation's hashing order (which changes from run to run): the
        // order of the sum is the order of its roundings.
        let replacements = replacements.sorted { $0.0 < $1.0 }
        let neurons = replacements.map(\.0), k = neurons.count, d = hiddenSize, f = mlpWidth
        func preActivation(_ linear: BlockDescription.Linear, _ outputs: [Int]) -> Buffer {
            let weights = outputWeights(linear, w, outputs)
            let y = Buffer(uninitializedCount: n * k)
            BLAS.gemm(transB: true, m: n, n: k, k: d, a: mlpInput.pointer, lda: d, b: weights.pointer, ldb: d, c: y.pointer, ldc: k)
            if let bias = w.optional(linear.bias) {
                for row in 0..<n { for j in 0..<k { y[row * k + j] += bias[outputs[j]] } }
            }
            return y
        }
        let gate: Buffer?, up: Buffer
        switch description.mlpInput {
        case .plain(let linear): (gate, up) = (nil, preActivation(linear, neurons))
        case .gated(let g, let u): (gate, up) = (preActivation(g, neurons), preActivation(u, neurons))
        case .fusedGated(let gateUp): (gate, up) = (preActivation(gateUp, neurons), preActivation(gateUp, neurons.map { $0 + f }))
        }
        let change = Buffer(uninitializedCount: n * k)
        // The pointers must not outlive their buffers.
        withExtendedLifetime((gate, up)) { activate(gate: gate?.pointer, up: up.pointer, into: change.pointer, count: n * k) }
        for row in 0..<n {
            for (j, (_, value)) in replacements.enumerated() { change[row * k + j] = value - change[row * k + j] }
        }
        let values = inputWeights(description.down, w, neurons)
        BLAS.gemm(m: n, n: d, k: k, a: change.pointer, lda: k, b: values.pointer, ldb: d, beta: 1, c: x.pointer, ldc: d)
    }

    /// The weights producing some outputs of a linear layer, `[outputs, in]`, in either layout.
    private func outputWeights(_ linear: BlockDescription.Linear, _ w: BlockWeights, _ outputs: [Int]) -> Buffer {
        architecture.layout == .outIn ? rows(of: w.matrix(linear.weight), outputs, width: linear.inFeatures)
            : columns(of: w.matrix(linear.weight), outputs, rows: linear.inFeatures, width: linear.outFeatures)
    }

    /// The weights reading some inputs of a linear layer, `[inputs, out]`, in either layout.
    func inputWeights(_ linear: BlockDescription.Linear, _ w: BlockWeights, _ inputs: [Int]) -> Buffer {
        architecture.layout == .outIn ? columns(of: w.matrix(linear.weight), inputs, rows: linear.outFeatures, width: linear.inFeatures)
            : rows(of: w.matrix(linear.weight), inputs, width: linear.outFeatures)
    }

    /// Some rows of a `[rows, width]` matrix, packed.
    private func rows(of matrix: BlockWeights.Matrix, _ chosen: [Int], width: Int) -> Buffer {
        let gathered = Buffer(uninitializedCount: chosen.count * width)
        for (j, row) in chosen.enumerated() {
            switch matrix {
            case .float32(let stored): (gathered.pointer + j * width).update(from: stored + row * width, count: width)
            case .stored(let stored): stored.widen(row..<(row + 1), into: gathered.pointer + j * width)
            }
        }
        return gathered
    }

    /// Some columns of a `[rows, width]` matrix, transposed: `[columns, rows]`.
    private func columns(of matrix: BlockWeights.Matrix, _ chosen: [Int], rows: Int, width: Int) -> Buffer {
        switch matrix {
        case .stored(let stored):
            return stored.columns(chosen)
        case .float32(let stored):
            let gathered = Buffer(uninitializedCount: chosen.count * rows)
            for (j, column) in chosen.enumerated() {
                for row in 0..<rows { gathered[j * rows + row] = stored[row * width + column] }
            }
            return gathered
        }
    }

    /// The given rows of `x` (`[tokens, hidden]`), packed.
    private func gather(_ x: Buffer, rows: [Int]) -> Buffer {
        let d = hiddenSize, y = Buffer(uninitializedCount: rows.count * d)
        for (i, row) in rows.enumerated() { (y.pointer + i * d).update(from: x.pointer + row * d, count: d) }
        return y
    }

    /// q, k, v from the normed input: three projections, or one fused projection split in three
    /// (its columns first put in q|k|v order where the family interleaves them).
    private func projectQKV(_ description: BlockDescription, _ w: BlockWeights, _ c: BlockCache, rows n: Int) {
        switch description.qkv {
        case .separate(let q, let k, let v):
            linearForward(q, w, c.normed1.pointer, c.q.pointer, rows: n)
            linearForward(k, w, c.normed1.pointer, c.k.pointer, rows: n)
            linearForward(v, w, c.normed1.pointer, c.v.pointer, rows: n)
        case .fused(let linear, let order):
            let qWidth = config.headCount * config.headDim, kvWidth = config.kvHeadCount * config.headDim
            let width = qWidth + 2 * kvWidth
            let fused = Buffer(uninitializedCount: n * width)
            linearForward(linear, w, c.normed1.pointer, fused.pointer, rows: n)
            var joined = fused
            if let order {
                joined = Buffer(uninitializedCount: n * width)
                for row in 0..<n {
                    for (column, target) in order.enumerated() { joined[row * width + target] = fused[row * width + column] }
                }
            }
            for row in 0..<n {
                let source = joined.pointer + row * width
                (c.q.pointer + row * qWidth).update(from: source, count: qWidth)
                (c.k.pointer + row * kvWidth).update(from: source + qWidth, count: kvWidth)
                (c.v.pointer + row * kvWidth).update(from: source + qWidth + kvWidth, count: kvWidth)
            }
        }
    }

    /// Causal softmax attention per sequence and head; keeps the probabilities for the backward.
    /// With `queries`, only those rows of each sequence attend, and their outputs are packed in
    /// order (the keys a row sees are the same either way). A sequence that continues a parent
    /// attends to the parent's keys and values, then its own. Scores are scaled, soft-capped
    /// (Gemma 2), biased by distance (ALiBi) and limited to the block's sliding window as the
    /// block's description says.
    private func attentionForward(_ c: BlockCache, _ batch: Batch, _ description: BlockDescription, queries: [Range<Int>]?) {
        let heads = config.headCount, hd = config.headDim, group = heads / config.kvHeadCount
        let qWidth = heads * hd, kvWidth = config.kvHeadCount * hd
        let scale = description.attentionScale
        let window = description.slidingWindow ?? Int.max
        let softCap = description.attentionSoftCap
        let slopes = description.alibiSlopes
        // A continuation's keys and values, its parent's rows then its own, side by side.
        let joined = batch.hasParents ? (keys: Buffer(uninitializedCount: batch.maxLength * kvWidth), values: Buffer(uninitializedCount: batch.maxLength * kvWidth)) : nil
        var outputRow = 0
        for (s, (sequence, offset)) in zip(batch.sequences, batch.offsets).enumerated() {
            let rows = queries?[s] ?? 0..<sequence.count
            let prefix = batch.prefixLengths[s]
            // m query rows at positions prefix + rows, which see the first t keys.
            let (m, t) = (rows.count, prefix + rows.upperBound)
            guard m > 0 else { continue }
            var (keys, values) = (UnsafePointer(c.k.pointer + offset * kvWidth), UnsafePointer(c.v.pointer + offset * kvWidth))
            if let parent = batch.parents[s], let joined {
                for (buffer, source) in [(joined.keys, c.k), (joined.values, c.v)] {
                    buffer.pointer.update(from: source.pointer + batch.offsets[parent] * kvWidth, count: prefix * kvWidth)
                    (buffer.pointer + prefix * kvWidth).update(from: source.pointer + offset * kvWidth, count: rows.upperBound * kvWidth)
                }
                (keys, values) = (UnsafePointer(joined.keys.pointer), UnsafePointer(joined.values.pointer))
            }
            for head in 0..<heads {
                let kvHead = head / group
                let p = c.probabilities(sequence: s, head: head)
                let q = c.q.pointer + (offset + rows.lowerBound) * qWidth + head * hd
                let k = keys + kvHead * hd, v = values + kvHead * hd
                BLAS.gemm(transB: true, m: m, n: t, k: hd, alpha: scale, a: q, lda: qWidth, b: k, ldb: kvWidth, c: p, ldc: t)
                for r in 0..<m {
                    // The query's position; it sees the keys at positions start...i.
                    let i = prefix + rows.lowerBound + r
                    let row = p + r * t
                    let start = window == Int.max ? 0 : max(0, i - window + 1)
                    if let slope = slopes?[head] {
                        for j in start...i { row[j] += slope * Float(j - i) }
                    }
                    if let softCap {
                        for j in start...i { row[j] = Foundation.tanh(row[j] / softCap) * softCap }
                    }
                    var largest = -Float.infinity
                    for j in start...i { largest = max(largest, row[j]) }
                    var sum: Float = 0
                    for j in 0..<t {
                        if j < start || j > i { row[j] = 0; continue }
                        row[j] = exp(row[j] - largest)
                        sum += row[j]
                    }
                    let inverse = 1 / sum
                    for j in start...i { row[j] *= inverse }
                }
                BLAS.gemm(m: m, n: hd, k: t, a: p, lda: t, b: v, ldb: kvWidth, c: c.attention.pointer + outputRow * qWidth + head * hd, ldc: qWidth)
            }
            outputRow += m
        }
    }

    // MARK: One block, backward

    /// Given dx (the gradient of the block's output), replaces it with the gradient of its input and
    /// hands every weight gradient to `sink`.
    func blockBackward(_ index: Int, _ dx: Buffer, _ batch: Batch, rope: RotaryTable?, ablation: [(Int, Float)],
                       cache c: BlockCache, gradients: GradientContext) {
        let description = architecture.blocks[index]
        let w = weights.block(index)
        let n = batch.tokenCount, d = hiddenSize, f = mlpWidth
        let heads = config.headCount, kvHeads = config.kvHeadCount, hd = config.headDim
        let qWidth = heads * hd, kvWidth = kvHeads * hd
        // The gradient of the block's output reaches attention directly in a parallel block (whose
        // MLP path is kept apart until the end); in a sequential one through the middle stream,
        // which the MLP's path adds to first.
        let dOutput = dx
        if let after = description.normAfterMLPAdd {
            let dSum = Buffer(count: n * d)
            normBackward(after, dx.pointer, c.extra(.mlpSum, n * d).pointer, mean: c.extra(.mlpSumMean, n).pointer, rstd: c.extra(.mlpSumRstd, n).pointer,
                         dx: dSum.pointer, rows: n, block: w, gradients: gradients)
            dx.pointer.update(from: dSum.pointer, count: n * d)
        }

        // MLP: out = stream + [postNorm](down(coefficients(mlpNorm(stream)))).
        var dMLPOutput = dx
        if let post = description.postMLPNorm {
            dMLPOutput = Buffer(count: n * d)
            normBackward(post, dx.pointer, c.extra(.mlpOutput, n * d).pointer, mean: c.extra(.postMLPMean, n).pointer, rstd: c.extra(.postMLPRstd, n).pointer,
                         dx: dMLPOutput.pointer, rows: n, block: w, gradients: gradients)
        }
        let dCoefficients = Buffer(count: n * f)
        linearBackward(description.down, w, x: c.coefficients.pointer, dy: dMLPOutput.pointer, dx: dCoefficients.pointer, accumulate: false, rows: n, gradients: gradients)
        for (neuron, _) in ablation {
            for row in 0..<n { dCoefficients[row * f + neuron] = 0 }
        }
        gradients.coefficients?(index, dCoefficients.pointer, c.coefficients.pointer)
        let dNormed2 = Buffer(count: n * d)
        if description.mlpInput.isGated {
            let activated = Buffer(count: n * f)
            Ops.activationForward(architecture.activation, c.gate.pointer, activated.pointer, count: n * f)
            let dUp = Buffer(count: n * f), dActivated = Buffer(count: n * f)
            for i in 0..<(n * f) {
                dUp[i] = dCoefficients[i] * activated[i]
                dActivated[i] = dCoefficients[i] * c.up[i]
            }
            let dGate = activated
            Ops.activationBackward(architecture.activation, c.gate.pointer, dActivated.pointer, dGate.pointer, count: n * f)
            switch description.mlpInput {
            case .gated(let gate, let up):
                linearBackward(gate, w, x: c.normed2.pointer, dy: dGate.pointer, dx: dNormed2.pointer, accumulate: false, rows: n, gradients: gradients)
                linearBackward(up, w, x: c.normed2.pointer, dy: dUp.pointer, dx: dNormed2.pointer, accumulate: true, rows: n, gradients: gradients)
            case .fusedGated(let gateUp):
                let dFused = Buffer(uninitializedCount: n * 2 * f)
                for row in 0..<n {
                    (dFused.pointer + row * 2 * f).update(from: dGate.pointer + row * f, count: f)
                    (dFused.pointer + row * 2 * f + f).update(from: dUp.pointer + row * f, count: f)
                }
                linearBackward(gateUp, w, x: c.normed2.pointer, dy: dFused.pointer, dx: dNormed2.pointer, accumulate: false, rows: n, gradients: gradients)
            case .plain: break
            }
        } else if case .plain(let up) = description.mlpInput {
            let dHidden = Buffer(count: n * f)
            Ops.activationBackward(architecture.activation, c.up.pointer, dCoefficients.pointer, dHidden.pointer, count: n * f)
            linearBackward(up, w, x: c.normed2.pointer, dy: dHidden.pointer, dx: dNormed2.pointer, accumulate: false, rows: n, gradients: gradients)
        }
        // Where the MLP's input came from: the stream (through its norm, or as it is), or in a
        // parallel block without its own norm, the attention's normed input.
        let dNormed1 = Buffer(count: n * d)
        let dStreamFromMLP = description.parallel ? Buffer(count: n * d) : dx
        if let mlpNorm = description.mlpNorm {
            normBackward(mlpNorm, dNormed2.pointer, c.middle.pointer, mean: c.mean2.pointer, rstd: c.rstd2.pointer, dx: dStreamFromMLP.pointer, rows: n, block: w, gradients: gradients)
        } else if description.parallel {
            Ops.add(dNormed2.pointer, into: dNormed1.pointer, count: n * d)
        } else {
            Ops.add(dNormed2.pointer, into: dx.pointer, count: n * d)
        }

        if let after = description.normAfterAttentionAdd {
            let dSum = Buffer(count: n * d)
            normBackward(after, dx.pointer, c.extra(.attentionSum, n * d).pointer, mean: c.extra(.attentionSumMean, n).pointer,
                         rstd: c.extra(.attentionSumRstd, n).pointer, dx: dSum.pointer, rows: n, block: w, gradients: gradients)
            dx.pointer.update(from: dSum.pointer, count: n * d)
        }

        // Attention: out = stream + [postNorm](o(attention(qkv(attentionNorm(stream))))).
        var dAttended = dOutput
        if let post = description.postAttentionNorm {
            dAttended = Buffer(count: n * d)
            normBackward(post, dOutput.pointer, c.extra(.attentionOutput, n * d).pointer, mean: c.extra(.postAttentionMean, n).pointer,
                         rstd: c.extra(.postAttentionRstd, n).pointer, dx: dAttended.pointer, rows: n, block: w, gradients: gradients)
        }
        let dAttention = Buffer(count: n * qWidth)
        linearBackward(description.output, w, x: c.attention.pointer, dy: dAttended.pointer, dx: dAttention.pointer, accumulate: false, rows: n, gradients: gradients)
        let dq = Buffer(count: n * qWidth), dk = Buffer(count: n * kvWidth), dv = Buffer(count: n * kvWidth)
        attentionBackward(c, batch, description, dAttention: dAttention, dq: dq, dk: dk, dv: dv)
        if let rotary = description.rotary, let rope {
            let (cos, sin) = rope.table(local: rotary.local)
            for (sequence, offset) in zip(batch.sequences, batch.offsets) {
                for (target, width, count) in [(dq, qWidth, heads), (dk, kvWidth, kvHeads)] {
                    Ops.rotary(target.pointer + offset * width, rows: sequence.count, heads: count, headDim: hd, rotary: rope.dimensions,
                               interleaved: architecture.rotaryInterleaved, cos: cos, sin: sin, inverse: true)
                }
            }
        }
        var dqIn = dq, dkIn = dk
        if let qkNorm = description.queryKeyNorm {
            dqIn = Buffer(count: n * qWidth)
            dkIn = Buffer(count: n * kvWidth)
            let (qRows, qNormWidth) = qkNorm.perHead ? (n * heads, hd) : (n, qWidth)
            let (kRows, kNormWidth) = qkNorm.perHead ? (n * kvHeads, hd) : (n, kvWidth)
            normBackward(qkNorm.query, dq.pointer, c.qBeforeNorm.pointer, mean: c.qRstd.pointer, rstd: c.qRstd.pointer, dx: dqIn.pointer,
                         rows: qRows, width: qNormWidth, block: w, gradients: gradients)
            normBackward(qkNorm.key, dk.pointer, c.kBeforeNorm.pointer, mean: c.kRstd.pointer, rstd: c.kRstd.pointer, dx: dkIn.pointer,
                         rows: kRows, width: kNormWidth, block: w, gradients: gradients)
        }
        if description.clipQKV != nil {
            // A clamped value passes no gradient back.
            let mask = c.extra(.clipMask, n * (qWidth + 2 * kvWidth))
            for (buffer, start, width) in [(dqIn, 0, qWidth), (dkIn, n * qWidth, kvWidth), (dv, n * (qWidth + kvWidth), kvWidth)] {
                for i in 0..<(n * width) { buffer[i] *= mask[start + i] }
            }
        }
        switch description.qkv {
        case .separate(let q, let k, let v):
            linearBackward(q, w, x: c.normed1.pointer, dy: dqIn.pointer, dx: dNormed1.pointer, accumulate: true, rows: n, gradients: gradients)
            linearBackward(k, w, x: c.normed1.pointer, dy: dkIn.pointer, dx: dNormed1.pointer, accumulate: true, rows: n, gradients: gradients)
            linearBackward(v, w, x: c.normed1.pointer, dy: dv.pointer, dx: dNormed1.pointer, accumulate: true, rows: n, gradients: gradients)
        case .fused(let linear, let order):
            let width = qWidth + 2 * kvWidth
            let dJoined = Buffer(uninitializedCount: n * width)
            for row in 0..<n {
                let target = dJoined.pointer + row * width
                target.update(from: dqIn.pointer + row * qWidth, count: qWidth)
                (target + qWidth).update(from: dkIn.pointer + row * kvWidth, count: kvWidth)
                (target + qWidth + kvWidth).update(from: dv.pointer + row * kvWidth, count: kvWidth)
            }
            var dFused = dJoined
            if let order {
                dFused = Buffer(uninitializedCount: n * width)
                for row in 0..<n {
                    for (column, source) in order.enumerated() { dFused[row * width + column] = dJoined[row * width + source] }
                }
            }
            linearBackward(linear, w, x: c.normed1.pointer, dy: dFused.pointer, dx: dNormed1.pointer, accumulate: true, rows: n, gradients: gradients)
        }
        if let attentionNorm = description.attentionNorm {
            normBackward(attentionNorm, dNormed1.pointer, c.input.pointer, mean: c.mean1.pointer, rstd: c.rstd1.pointer, dx: dx.pointer, rows: n, block: w, gradients: gradients)
        } else {
            Ops.add(dNormed1.pointer, into: dx.pointer, count: n * d)
        }
        if description.parallel { Ops.add(dStreamFromMLP.pointer, into: dx.pointer, count: n * d) }
    }

    private func attentionBackward(_ c: BlockCache, _ batch: Batch, _ description: BlockDescription, dAttention: Buffer, dq: Buffer, dk: Buffer, dv: Buffer) {
        precondition(!batch.hasParents, "the backward takes sequences without parents")
        let heads = config.headCount, hd = config.headDim, group = heads / config.kvHeadCount
        let qWidth = heads * hd, kvWidth = config.kvHeadCount * hd
        let scale = description.attentionScale
        let dScores = Buffer(count: batch.maxLength * batch.maxLength)
        // Soft-capped scores are recomputed to differentiate the cap: d(cap·tanh(s/cap)) = 1 − tanh².
        let raw = description.attentionSoftCap == nil ? nil : Buffer(count: batch.maxLength * batch.maxLength)
        for (s, (sequence, offset)) in zip(batch.sequences, batch.offsets).enumerated() {
            let t = sequence.count
            for head in 0..<heads {
                let kvHead = head / group
                let p = c.probabilities(sequence: s, head: head)
                let dOut = dAttention.pointer + offset * qWidth + head * hd
                let q = c.q.pointer + offset * qWidth + head * hd
                let k = c.k.pointer + offset * kvWidth + kvHead * hd
                let v = c.v.pointer + offset * kvWidth + kvHead * hd
                let ds = dScores.pointer
                BLAS.gemm(transB: true, m: t, n: t, k: hd, a: dOut, lda: qWidth, b: v, ldb: kvWidth, c: ds, ldc: t)
                for i in 0..<t {
                    let pr = p + i * t, dr = ds + i * t
                    var dot: Float = 0
                    for j in 0...i { dot += pr[j] * dr[j] }
                    for j in 0..<t { dr[j] = j <= i ? pr[j] * (dr[j] - dot) : 0 }
                }
                if let raw, let cap = description.attentionSoftCap {
                    BLAS.gemm(transB: true, m: t, n: t, k: hd, alpha: scale, a: q, lda: qWidth, b: k, ldb: kvWidth, c: raw.pointer, ldc: t)
                    for i in 0..<(t * t) {
                        let capped = Foundation.tanh(raw[i] / cap)
                        ds[i] *= 1 - capped * capped
                    }
                }
                BLAS.gemm(m: t, n: hd, k: t, alpha: scale, a: ds, lda: t, b: k, ldb: kvWidth, c: dq.pointer + offset * qWidth + head * hd, ldc: qWidth)
                BLAS.gemm(transA: true, m: t, n: hd, k: t, alpha: scale, a: ds, lda: t, b: q, ldb: qWidth, beta: 1, c: dk.pointer + offset * kvWidth + kvHead * hd, ldc: kvWidth)
                BLAS.gemm(transA: true, m: t, n: hd, k: t, a: p, lda: t, b: dOut, ldb: qWidth, beta: 1, c: dv.pointer + offset * kvWidth + kvHead * hd, ldc: kvWidth)
            }
        }
    }
}

/// The rows a forward without hooks needs from its last block: per sequence, the positions from
/// the first to the last row that gets logits, and those logits' rows among the packed positions.
struct NeededRows {
    let ranges: [Range<Int>]
    let logits: LogitRows

    init?(_ which: LogitRows, _ batch: Batch) {
        let rows: [Int]
        switch which {
        case .none, .all: return nil
        case .last: rows = batch.lastRows
        case .rows(let chosen): rows = chosen
        }
        // Each row's sequence: the last offset at or before it.
        let sequenceOf = rows.map { row in batch.offsets.lastIndex { $0 <= row }! }
        var lower = Array(repeating: Int.max, count: batch.sequences.count), upper = Array(repeating: 0, count: batch.sequences.count)
        for (row, s) in zip(rows, sequenceOf) {
            lower[s] = min(lower[s], row - batch.offsets[s])
            upper[s] = max(upper[s], row - batch.offsets[s] + 1)
        }
        ranges = zip(lower, upper).map { $0 < $1 ? $0..<$1 : 0..<0 }
        var packedStart: [Int] = [], total = 0
        for range in ranges {
            packedStart.append(total - range.lowerBound)
            total += range.count
        }
        logits = .rows(zip(rows, sequenceOf).map { row, s in packedStart[s] + row - batch.offsets[s] })
    }

    /// The packed rows of `ranges`, in order.
    static func rows(_ ranges: [Range<Int>], _ batch: Batch) -> [Int] {
        zip(ranges, batch.offsets).flatMap { range, offset in range.map { offset + $0 } }
    }
}

/// Receives one weight's gradient: its checkpoint name, the values in the stored layout, the count.
public typealias GradientSink = (String, UnsafePointer<Float>, Int) -> Void

/// Where a backward sends its gradients, and which: the block weights (the analyses) or every
/// parameter (training).
struct GradientContext {
    let sink: GradientSink
    let scratch: Buffer
    let allParameters: Bool
    /// Each sequence's own weight gradients in panels instead of the batch's whole ones.
    var sequences: SequenceGradients? = nil
    /// False when only activations' gradients are wanted: no weight gradient is made.
    var weightGradients = true
    /// Each block's coefficient gradient `[tokens, F]` with the coefficients, as the backward makes it.
    var coefficients: ((_ block: Int, _ gradient: UnsafePointer<Float>, _ values: UnsafePointer<Float>) -> Void)? = nil
}

/// Cosines and sines of every position's rotary angles, `[length, dimensions/2]`, for the
/// rotating dimensions of a head; Gemma 3's sliding-window blocks have a table of their own.
struct RotaryTable {
    let cos: Buffer
    let sin: Buffer
    let local: (cos: Buffer, sin: Buffer)?
    /// The leading dimensions of each head that rotate.
    let dimensions: Int

    init(config: ModelConfig, length: Int) {
        dimensions = config.rotaryDimensions
        (cos, sin) = Self.angles(config.rope, dimensions: dimensions, length: length)
        local = config.localRope.map { Self.angles($0, dimensions: config.rotaryDimensions, length: length) }
    }

    func table(local isLocal: Bool) -> (UnsafePointer<Float>, UnsafePointer<Float>) {
        if isLocal, let local { return (UnsafePointer(local.cos.pointer), UnsafePointer(local.sin.pointer)) }
        return (UnsafePointer(cos.pointer), UnsafePointer(sin.pointer))
    }

    private static func angles(_ rope: RopeScaling, dimensions: Int, length: Int) -> (Buffer, Buffer) {
        let half = dimensions / 2
        let frequencies = inverseFrequencies(rope, headDim: dimensions)
        let cos = Buffer(count: max(length, 1) * half), sin = Buffer(count: max(length, 1) * half)
        for position in 0..<length {
            for i in 0..<half {
                let angle = Double(Float(position) * frequencies[i])
                cos[position * half + i] = Float(Foundation.cos(angle))
                sin[position * half + i] = Float(Foundation.sin(angle))
            }
        }
        return (cos, sin)
    }

    /// The per-pair frequencies, with linear or Llama 3 scaling, rounded to float32 as transformers keeps them.
    static func inverseFrequencies(_ rope: RopeScaling, headDim: Int) -> [Float] {
        (0..<(headDim / 2)).map { i in
            var frequency = Double(Float(1 / pow(rope.theta, Double(2 * i) / Double(headDim))))
            switch rope.kind {
            case .none: break
            case .linear: frequency /= rope.factor
            case .llama3:
                let original = Double(rope.originalContext)
                let lowWavelength = original / rope.lowFrequencyFactor
                let highWavelength = original / rope.highFrequencyFactor
                let wavelength = 2 * Double.pi / frequency
                if wavelength > lowWavelength {
                    frequency /= rope.factor
                } else if wavelength >= highWavelength {
                    let smooth = (original / wavelength - rope.lowFrequencyFactor) / (rope.highFrequencyFactor - rope.lowFrequencyFactor)
                    frequency = (1 - smooth) * frequency / rope.factor + smooth * frequency
                }
            }
            return Float(frequency)
        }
    }
}

/// What one block's forward keeps for its backward (and, without a backward, its scratch space).
/// Every buffer is written by the forward before anything reads it: none is zero-filled.
final class BlockCache {
    let input, normed1, mean1, rstd1, q, k, v, attention, middle, normed2, mean2, rstd2, gate, up, coefficients: Buffer
    let qBeforeNorm, kBeforeNorm, qRstd, kRstd: Buffer
    /// Buffers only some families need, made on first use and kept with the cache.
    enum Extra: Hashable {
        case clipMask, attentionOutput, postAttentionMean, postAttentionRstd, mlpOutput, postMLPMean, postMLPRstd, fusedGateUp
        case attentionSum, attentionSumMean, attentionSumRstd, mlpSum, mlpSumMean, mlpSumRstd
    }
    private var extras: [Extra: Buffer] = [:]
    private let probabilityOffsets: [Int]
    private let heads: Int
    private let lengths: [Int]
    private let keyCounts: [Int]
    let probabilityStore: Buffer

    init(tokens n: Int, architecture: Architecture, batch: Batch) {
        let config = architecture.config
        let d = config.hiddenSize, f = config.intermediateSize
        let qWidth = config.headCount * config.headDim, kvWidth = config.kvHeadCount * config.headDim
        let qkNorm = config.queryKeyNorm
        input = Buffer(uninitializedCount: n * d); normed1 = Buffer(uninitializedCount: n * d); mean1 = Buffer(uninitializedCount: n); rstd1 = Buffer(uninitializedCount: n)
        q = Buffer(uninitializedCount: n * qWidth); k = Buffer(uninitializedCount: n * kvWidth); v = Buffer(uninitializedCount: n * kvWidth)
        attention = Buffer(uninitializedCount: n * qWidth)
        middle = Buffer(uninitializedCount: n * d); normed2 = Buffer(uninitializedCount: n * d); mean2 = Buffer(uninitializedCount: n); rstd2 = Buffer(uninitializedCount: n)
        gate = Buffer(uninitializedCount: architecture.hasGatedMLP ? n * f : 0)
        up = Buffer(uninitializedCount: n * f)
        coefficients = Buffer(uninitializedCount: n * f)
        qBeforeNorm = Buffer(uninitializedCount: qkNorm ? n * qWidth : 0); kBeforeNorm = Buffer(uninitializedCount: qkNorm ? n * kvWidth : 0)
        qRstd = Buffer(uninitializedCount: qkNorm ? n * config.headCount : 0); kRstd = Buffer(uninitializedCount: qkNorm ? n * config.kvHeadCount : 0)
        heads = config.headCount
        lengths = batch.sequences.map(\.count)
        keyCounts = zip(batch.prefixLengths, lengths).map { $0 + $1 }
        var offsets: [Int] = []
        var total = 0
        for (length, keys) in zip(lengths, keyCounts) {
            offsets.append(total)
            total += config.headCount * length * keys
        }
        probabilityOffsets = offsets
        probabilityStore = Buffer(uninitializedCount: total)
    }

    func extra(_ kind: Extra, _ count: Int) -> Buffer {
        if let buffer = extras[kind], buffer.count >= count { return buffer }
        let buffer = Buffer(uninitializedCount: count)
        extras[kind] = buffer
        return buffer
    }

    /// The `[t, prefix + t]` attention probabilities of one sequence and head.
    func probabilities(sequence: Int, head: Int) -> UnsafeMutablePointer<Float> {
        probabilityStore.pointer + probabilityOffsets[sequence] + head * lengths[sequence] * keyCounts[sequence]
    }
}

/// The final norm's inputs at the rows that got logits, for the backward.
final class HeadCache {
    private(set) var selected: Buffer?
    private(set) var normed: Buffer?
    private(set) var mean: Buffer?
    private(set) var rstd: Buffer?
    /// What the unembedding reads: `normed`, or its projection out.
    private(set) var unembedded: Buffer?

    func store(selected: Buffer, normed: Buffer, mean: Buffer, rstd: Buffer, unembedded: Buffer) {
        self.selected = selected
        self.normed = normed
        self.mean = mean
        self.rstd = rstd
        self.unembedded = unembedded
    }
}
