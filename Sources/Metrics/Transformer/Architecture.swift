/// How a linear layer's weight is stored: PyTorch `Linear` as `[out, in]`, GPT-2's `Conv1D` as `[in, out]`.
public enum WeightLayout: Sendable { case outIn, inOut }

/// The names and shapes of one block's tensors in a checkpoint, and how they compute.
/// One description per family; the forward and backward read only this.
struct BlockDescription {
    struct Linear {
        let weight: String
        let bias: String?
        let inFeatures: Int
        let outFeatures: Int
    }

    enum Norm { case layer(weight: String, bias: String), rms(weight: String) }

    let attentionNorm: Norm
    /// Either one fused projection to q|k|v (GPT-2's c_attn) or three.
    let qkv: [Linear]
    let output: Linear
    /// Qwen 3's per-head RMSNorm of queries and keys.
    let queryNorm: String?
    let keyNorm: String?
    let mlpNorm: Norm
    /// Gated MLPs have a gate; `up` is GPT-2's c_fc.
    let gate: Linear?
    let up: Linear
    let down: Linear

    var linears: [Linear] { qkv + [output] + (gate.map { [$0] } ?? []) + [up, down] }

    /// Every tensor of the block: norms, per-head norms, linear weights and biases.
    var tensorNames: [String] {
        var names: [String] = []
        for norm in [attentionNorm, mlpNorm] {
            switch norm {
            case .layer(let w, let b): names += [w, b]
            case .rms(let w): names.append(w)
            }
        }
        names += [queryNorm, keyNorm].compactMap { $0 }
        for linear in linears { names += [linear.weight] + (linear.bias.map { [$0] } ?? []) }
        return names
    }
}

/// A family's model-level layout: embeddings, final norm, unembedding, and its blocks.
struct Architecture {
    let config: ModelConfig
    let layout: WeightLayout
    let activation: Activation
    let tokenEmbedding: String
    let positionEmbedding: String?
    let finalNorm: BlockDescription.Norm
    /// nil when the unembedding is the token embedding (tied).
    let unembedding: String?
    let blocks: [BlockDescription]

    var usesRotary: Bool { positionEmbedding == nil }

    init(config: ModelConfig, tensorNames: Set<String>, path: String) throws {
        self.config = config
        guard let activation = Activation(configName: config.activation) else {
            throw InputError(path, "activation '\(config.activation)' is not supported (gelu_new, gelu_pytorch_tanh, gelu, silu, relu are)")
        }
        self.activation = activation
        let d = config.hiddenSize, f = config.intermediateSize
        switch config.family {
        case .gpt2:
            // Hugging Face saves GPT2LMHeadModel under `transformer.`; the original checkpoints have no prefix.
            let p = tensorNames.contains("transformer.wte.weight") ? "transformer." : ""
            layout = .inOut
            tokenEmbedding = p + "wte.weight"
            positionEmbedding = p + "wpe.weight"
            finalNorm = .layer(weight: p + "ln_f.weight", bias: p + "ln_f.bias")
            unembedding = tensorNames.contains("lm_head.weight") && !config.tieWordEmbeddings ? "lm_head.weight" : nil
            blocks = (0..<config.layerCount).map { l in
                let b = "\(p)h.\(l)."
                return BlockDescription(
                    attentionNorm: .layer(weight: b + "ln_1.weight", bias: b + "ln_1.bias"),
                    qkv: [.init(weight: b + "attn.c_attn.weight", bias: b + "attn.c_attn.bias", inFeatures: d, outFeatures: 3 * d)],
                    output: .init(weight: b + "attn.c_proj.weight", bias: b + "attn.c_proj.bias", inFeatures: d, outFeatures: d),
                    queryNorm: nil, keyNorm: nil,
                    mlpNorm: .layer(weight: b + "ln_2.weight", bias: b + "ln_2.bias"),
                    gate: nil,
                    up: .init(weight: b + "mlp.c_fc.weight", bias: b + "mlp.c_fc.bias", inFeatures: d, outFeatures: f),
                    down: .init(weight: b + "mlp.c_proj.weight", bias: b + "mlp.c_proj.bias", inFeatures: f, outFeatures: d))
            }
        case .llama:
            layout = .outIn
            tokenEmbedding = "model.embed_tokens.weight"
            positionEmbedding = nil
            finalNorm = .rms(weight: "model.norm.weight")
            unembedding = tensorNames.contains("lm_head.weight") && !config.tieWordEmbeddings ? "lm_head.weight" : nil
            let q = config.headCount * config.headDim, kv = config.kvHeadCount * config.headDim
            let bias = config.attentionBias
            blocks = (0..<config.layerCount).map { l in
                let b = "model.layers.\(l)."
                func linear(_ name: String, _ inFeatures: Int, _ outFeatures: Int, biased: Bool = false) -> BlockDescription.Linear {
                    .init(weight: b + name + ".weight", bias: biased ? b + name + ".bias" : nil, inFeatures: inFeatures, outFeatures: outFeatures)
                }
                return BlockDescription(
                    attentionNorm: .rms(weight: b + "input_layernorm.weight"),
                    qkv: [linear("self_attn.q_proj", d, q, biased: bias), linear("self_attn.k_proj", d, kv, biased: bias),
                          linear("self_attn.v_proj", d, kv, biased: bias)],
                    output: linear("self_attn.o_proj", q, d, biased: config.modelType != "qwen2" && bias),
                    queryNorm: config.queryKeyNorm ? b + "self_attn.q_norm.weight" : nil,
                    keyNorm: config.queryKeyNorm ? b + "self_attn.k_norm.weight" : nil,
                    mlpNorm: .rms(weight: b + "post_attention_layernorm.weight"),
                    gate: linear("mlp.gate_proj", d, f, biased: config.mlpBias),
                    up: linear("mlp.up_proj", d, f, biased: config.mlpBias),
                    down: linear("mlp.down_proj", f, d, biased: config.mlpBias))
            }
        }
    }

    /// The layout a new model of `config` gets, named as transformers names it.
    init(newModel config: ModelConfig) throws {
        var names: Set<String> = ["transformer.wte.weight"]
        if !config.tieWordEmbeddings { names.insert("lm_head.weight") }
        try self.init(config: config, tensorNames: names, path: "")
    }

    /// Names of the norms' weights (initialised to one), as opposed to their biases.
    var normWeights: Set<String> {
        var names: Set<String> = []
        for norm in [finalNorm] + blocks.flatMap({ [$0.attentionNorm, $0.mlpNorm] }) {
            switch norm {
            case .layer(let w, _), .rms(let w): names.insert(w)
            }
        }
        for block in blocks { names.formUnion([block.queryNorm, block.keyNorm].compactMap { $0 }) }
        return names
    }

    /// Every tensor the engine reads, with the shape it must have.
    var expectedShapes: [(String, [Int])] {
        let c = config
        var shapes: [(String, [Int])] = [(tokenEmbedding, [c.vocabSize, c.hiddenSize])]
        if let positionEmbedding { shapes.append((positionEmbedding, [c.contextLength, c.hiddenSize])) }
        if let unembedding { shapes.append((unembedding, [c.vocabSize, c.hiddenSize])) }
        func norm(_ n: BlockDescription.Norm) {
            switch n {
            case .layer(let w, let b): shapes += [(w, [c.hiddenSize]), (b, [c.hiddenSize])]
            case .rms(let w): shapes.append((w, [c.hiddenSize]))
            }
        }
        norm(finalNorm)
        for block in blocks {
            norm(block.attentionNorm)
            norm(block.mlpNorm)
            for name in [block.queryNorm, block.keyNorm].compactMap({ $0 }) { shapes.append((name, [c.headDim])) }
            for linear in block.linears {
                shapes.append((linear.weight, layout == .outIn ? [linear.outFeatures, linear.inFeatures] : [linear.inFeatures, linear.outFeatures]))
                if let bias = linear.bias { shapes.append((bias, [linear.outFeatures])) }
            }
        }
        return shapes
    }
}
