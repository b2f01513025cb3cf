import Foundation

/// GPT-2: learned positions, pre-norm LayerNorm blocks, fused c_attn (q|k|v), `Conv1D` weights
/// stored `[in, out]`, tied unembedding.
extension ModelConfig {
    mutating func readGPT2(_ keys: ConfigKeys) throws {
        family = .gpt2
        hiddenSize = try keys.int("n_embd", "hidden_size")
        layerCount = try keys.int("n_layer", "num_hidden_layers")
        headCount = try keys.int("n_head", "num_attention_heads")
        kvHeadCount = headCount
        intermediateSize = keys.optionalInt("n_inner") ?? 4 * hiddenSize
        vocabSize = try keys.int("vocab_size")
        contextLength = try keys.int("n_positions", "max_position_embeddings")
        normEpsilon = keys.optionalDouble("layer_norm_epsilon") ?? 1e-5
        activation = keys.string("activation_function") ?? "gelu_new"
        tieWordEmbeddings = keys.bool("tie_word_embeddings", default: true)
        attentionBias = true
        mlpBias = true
        headDim = hiddenSize / max(headCount, 1)
    }
}

extension Architecture {
    static func gpt2(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        // Hugging Face saves GPT2LMHeadModel under `transformer.`; the original checkpoints have no prefix.
        let p = tensorNames.contains("transformer.wte.weight") ? "transformer." : ""
        let d = config.hiddenSize, f = config.intermediateSize
        let blocks = (0..<config.layerCount).map { l in
            let b = "\(p)h.\(l)."
            return BlockDescription(
                attentionNorm: .layer(weight: b + "ln_1.weight", bias: b + "ln_1.bias"),
                qkv: .fused(.init(weight: b + "attn.c_attn.weight", bias: b + "attn.c_attn.bias", inFeatures: d, outFeatures: 3 * d), order: nil),
                queryKeyNorm: nil,
                output: .init(weight: b + "attn.c_proj.weight", bias: b + "attn.c_proj.bias", inFeatures: d, outFeatures: d),
                postAttentionNorm: nil,
                mlpNorm: .layer(weight: b + "ln_2.weight", bias: b + "ln_2.bias"),
                parallel: false,
                mlpInput: .plain(.init(weight: b + "mlp.c_fc.weight", bias: b + "mlp.c_fc.bias", inFeatures: d, outFeatures: f)),
                down: .init(weight: b + "mlp.c_proj.weight", bias: b + "mlp.c_proj.bias", inFeatures: f, outFeatures: d),
                postMLPNorm: nil,
                attentionScale: attentionScale(config), attentionSoftCap: nil, slidingWindow: nil, rotary: nil, clipQKV: nil)
        }
        return Architecture(config: config, layout: .inOut, activation: activation, tokenEmbedding: p + "wte.weight",
                            positionEmbedding: p + "wpe.weight", finalNorm: .layer(weight: p + "ln_f.weight", bias: p + "ln_f.bias"),
                            unembedding: untied("lm_head.weight", config, tensorNames), usesRotary: false, blocks: blocks)
    }
}
