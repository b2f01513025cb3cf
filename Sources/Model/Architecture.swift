import Tensors
/// How a linear layer's weight is stored: PyTorch `Linear` as `[out, in]`, GPT-2's `Conv1D` as `[in, out]`.
public enum WeightLayout: Sendable { case outIn, inOut }

/// The names and shapes of one block's tensors in a checkpoint, and how they compute.
/// One description per family (Families/); the forward and backward read only this.
///
/// A block is: [attention norm] → q, k, v [clipped] [q/k norms] [rotated] → attention → output
/// [post-attention norm], added to the stream; then [MLP norm] → coefficients → down [post-MLP
/// norm], added. A parallel block's MLP reads the block's input instead of the middle stream.
struct BlockDescription {
    struct Linear {
        let weight: String
        let bias: String?
        let inFeatures: Int
        let outFeatures: Int
    }

    enum Norm {
        /// LayerNorm; OLMo's has no parameters, MPT's no bias.
        case layer(weight: String?, bias: String?)
        /// RMSNorm; Gemma's stores w and scales by (1 + w).
        case rms(weight: String, addsOne: Bool)

        var parameters: [String] {
            switch self {
            case .layer(let w, let b): [w, b].compactMap { $0 }
            case .rms(let w, _): [w]
            }
        }
    }

    enum QKV {
        case separate(q: Linear, k: Linear, v: Linear)
        /// One projection. With `order`, output column c of the fused projection is column
        /// `order[c]` of q|k|v side by side (GPT-NeoX interleaves them per head); without, it
        /// is q|k|v already (GPT-2, Phi-3).
        case fused(Linear, order: [Int]?)

        var linears: [Linear] {
            switch self {
            case .separate(let q, let k, let v): [q, k, v]
            case .fused(let linear, _): [linear]
            }
        }
    }

    /// How queries and keys are normalised before rotation: per head (Qwen 3, Gemma 3, rows of
    /// head_dim) or over the whole projection (OLMo 2).
    struct QueryKeyNorm {
        let query: Norm
        let key: Norm
        let perHead: Bool
    }

    enum MLPInput {
        /// act(up) (GPT-2's c_fc, GPT-NeoX's dense_h_to_4h).
        case plain(Linear)
        /// act(gate) · up.
        case gated(gate: Linear, up: Linear)
        /// Phi-3's gate_up_proj: the first F outputs are the gate, the next F the up projection.
        case fusedGated(Linear)

        var isGated: Bool { if case .plain = self { false } else { true } }
        var isFused: Bool { if case .fusedGated = self { true } else { false } }

        var linears: [Linear] {
            switch self {
            case .plain(let up): [up]
            case .gated(let gate, let up): [gate, up]
            case .fusedGated(let gateUp): [gateUp]
            }
        }
    }

    /// Rotary settings of a block's attention: which table (Gemma 3's sliding blocks have their own base).
    struct Rotary {
        let local: Bool
    }

    let attentionNorm: Norm?
    let qkv: QKV
    let queryKeyNorm: QueryKeyNorm?
    public let output: Linear
    let postAttentionNorm: Norm?
    /// nil when the MLP reads the attention norm's output (a parallel block with one norm) or
    /// the stream itself (OLMo 2, which normalises after).
    let mlpNorm: Norm?
    let parallel: Bool
    let mlpInput: MLPInput
    public let down: Linear
    let postMLPNorm: Norm?
    /// Scores are scaled by this before the softmax.
    let attentionScale: Float
    let attentionSoftCap: Float?
    let slidingWindow: Int?
    let rotary: Rotary?
    let clipQKV: Float?
    /// OPT-350m's norms of the stream itself, after the attention's and the MLP's residual adds.
    var normAfterAttentionAdd: Norm? = nil
    var normAfterMLPAdd: Norm? = nil
    /// ALiBi (MPT): per head, the slope of the bias slope · (j − i) added to the score of key j
    /// for query i.
    var alibiSlopes: [Float]? = nil

    var linears: [Linear] { qkv.linears + [output] + mlpInput.linears + [down] }

    var norms: [Norm] { [attentionNorm, postAttentionNorm, normAfterAttentionAdd, mlpNorm, postMLPNorm, normAfterMLPAdd].compactMap { $0 } }

    /// Every tensor of the block: norms, q/k norms, linear weights and biases.
    var tensorNames: [String] {
        var names = norms.flatMap(\.parameters)
        if let queryKeyNorm { names += queryKeyNorm.query.parameters + queryKeyNorm.key.parameters }
        for linear in linears { names += [linear.weight] + (linear.bias.map { [$0] } ?? []) }
        return names
    }

    /// Where neuron i's own weights are: (matrix, whether it is a row of the stored matrix,
    /// the element offset of neuron 0's entry). A fused gate_up matrix gives two entries.
    func neuronMatrices(layout: WeightLayout, width f: Int, hidden d: Int) -> [(name: String, neuronIsRow: Bool, start: Int)] {
        // outIn stores [out, in]: the input projections' neuron is a row, the value vector a column.
        let rowFirst = layout == .outIn
        var inputs: [(String, Bool, Int)]
        switch mlpInput {
        case .plain(let up): inputs = [(up.weight, rowFirst, 0)]
        case .gated(let gate, let up): inputs = [(gate.weight, rowFirst, 0), (up.weight, rowFirst, 0)]
        case .fusedGated(let gateUp): inputs = [(gateUp.weight, true, 0), (gateUp.weight, true, f * d)]
        }
        return inputs + [(down.weight, !rowFirst, 0)]
    }
}

/// A family's model-level layout: embeddings, final norm, unembedding, and its blocks.
public struct Architecture {
    let config: ModelConfig
    let layout: WeightLayout
    let activation: Activation
    let tokenEmbedding: String
    /// Width of the token embedding and of the unembedding's rows: the hidden size, or OPT-350m's
    /// narrower embedding.
    let embeddingWidth: Int
    /// OPT-350m's projections `[hidden, embedding]` after the token embedding and `[embedding,
    /// hidden]` before the unembedding, when the embedding is narrower than the stream.
    let projectIn: String?
    let projectOut: String?
    /// Gemma multiplies embeddings by √hidden (rounded to the embedding's dtype).
    let scalesEmbedding: Bool
    let positionEmbedding: String?
    /// OPT's learned positions start at row 2.
    let positionOffset: Int
    /// nil when the blocks end normalised (OPT-350m).
    let finalNorm: BlockDescription.Norm?
    /// nil when the unembedding is the token embedding (tied).
    let unembedding: String?
    /// GPT-J's lm_head bias.
    let unembeddingBias: String?
    let usesRotary: Bool
    /// Neighbouring pairs rotate together (GPT-J), rather than the two halves (Llama).
    let rotaryInterleaved: Bool
    let blocks: [BlockDescription]

    init(config: ModelConfig, layout: WeightLayout, activation: Activation, tokenEmbedding: String, embeddingWidth: Int? = nil,
         projectIn: String? = nil, projectOut: String? = nil, scalesEmbedding: Bool = false, positionEmbedding: String? = nil,
         positionOffset: Int = 0, finalNorm: BlockDescription.Norm?, unembedding: String?, unembeddingBias: String? = nil,
         usesRotary: Bool, rotaryInterleaved: Bool = false, blocks: [BlockDescription]) {
        self.config = config
        self.layout = layout
        self.activation = activation
        self.tokenEmbedding = tokenEmbedding
        self.embeddingWidth = embeddingWidth ?? config.hiddenSize
        self.projectIn = projectIn
        self.projectOut = projectOut
        self.scalesEmbedding = scalesEmbedding
        self.positionEmbedding = positionEmbedding
        self.positionOffset = positionOffset
        self.finalNorm = finalNorm
        self.unembedding = unembedding
        self.unembeddingBias = unembeddingBias
        self.usesRotary = usesRotary
        self.rotaryInterleaved = rotaryInterleaved
        self.blocks = blocks
    }

    /// The architecture `config`'s family describes for a checkpoint holding `tensorNames`;
    /// problems are reported against `path`.
    init(config: ModelConfig, tensorNames: Set<String>, path: String) throws {
        guard let activation = Activation(configName: config.activation) else {
            throw InputError(path, "activation '\(config.activation)' is not supported (gelu_new, gelu_pytorch_tanh, gelu, silu, relu are)")
        }
        self = config.family.architecture(config, activation, tensorNames)
        if usesRotary, config.rotaryDimensions % 2 != 0 || config.rotaryDimensions > config.headDim {
            throw InputError(path, "\(config.rotaryDimensions) rotary dimensions do not fit heads of \(config.headDim) in pairs")
        }
    }

    /// The layout a new model of `config` gets, named as transformers names it.
    public init(newModel config: ModelConfig) throws {
        var names: Set<String> = ["transformer.wte.weight"]
        if !config.tieWordEmbeddings { names.insert("lm_head.weight") }
        try self.init(config: config, tensorNames: names, path: "")
    }

    /// Whether the MLP's coefficients are act(gate) · up rather than act(up).
    var hasGatedMLP: Bool { blocks.first?.mlpInput.isGated ?? false }

    /// Names of the weights whose products are added to the residual stream: each block's
    /// attention output and down projection (initialised smaller by depth in training).
    public var residualOutputWeights: Set<String> { Set(blocks.flatMap { [$0.output.weight, $0.down.weight] }) }

    /// Names of the norms' scales, as opposed to their biases.
    public var normWeights: Set<String> {
        var names: Set<String> = []
        func add(_ norm: BlockDescription.Norm) {
            switch norm {
            case .layer(let w, _): if let w { names.insert(w) }
            case .rms(let w, _): names.insert(w)
            }
        }
        if let finalNorm { add(finalNorm) }
        for block in blocks {
            block.norms.forEach(add)
            if let qk = block.queryKeyNorm { add(qk.query); add(qk.key) }
        }
        return names
    }

    /// Every tensor the engine reads, with the shape it must have.
    public var expectedShapes: [(String, [Int])] {
        let c = config
        var shapes: [(String, [Int])] = [(tokenEmbedding, [c.vocabSize, embeddingWidth])]
        if let projectIn { shapes.append((projectIn, [c.hiddenSize, embeddingWidth])) }
        if let projectOut { shapes.append((projectOut, [embeddingWidth, c.hiddenSize])) }
        if let positionEmbedding { shapes.append((positionEmbedding, [c.contextLength + positionOffset, c.hiddenSize])) }
        if let unembedding { shapes.append((unembedding, [c.vocabSize, embeddingWidth])) }
        if let unembeddingBias { shapes.append((unembeddingBias, [c.vocabSize])) }
        func norm(_ n: BlockDescription.Norm, width: Int) {
            for name in n.parameters { shapes.append((name, [width])) }
        }
        if let finalNorm { norm(finalNorm, width: c.hiddenSize) }
        for block in blocks {
            for n in block.norms { norm(n, width: c.hiddenSize) }
            if let qk = block.queryKeyNorm {
                norm(qk.query, width: qk.perHead ? c.headDim : c.headCount * c.headDim)
                norm(qk.key, width: qk.perHead ? c.headDim : c.kvHeadCount * c.headDim)
            }
            for linear in block.linears {
                shapes.append((linear.weight, layout == .outIn ? [linear.outFeatures, linear.inFeatures] : [linear.inFeatures, linear.outFeatures]))
                if let bias = linear.bias { shapes.append((bias, [linear.outFeatures])) }
            }
        }
        return shapes
    }
}
