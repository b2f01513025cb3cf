import Foundation

/// OLMo: LayerNorm without parameters, q/k/v clamped to ±`clip_qkv`, gated MLP.
/// OLMo 2: no norms before attention and MLP but RMSNorms after each (before the residual add),
/// and queries and keys RMS-normalised over the whole projection, before rotation.
extension ModelConfig {
    mutating func readOLMo(_ keys: ConfigKeys) throws {
        family = modelType == "olmo" ? .olmo : .olmo2
        try readLlamaStyleSizes(keys)
        // OLMo's parameterless LayerNorm has a fixed epsilon.
        normEpsilon = family == .olmo ? 1e-5 : keys.optionalDouble("rms_norm_eps") ?? 1e-5
        activation = keys.string("hidden_act") ?? "silu"
        tieWordEmbeddings = keys.bool("tie_word_embeddings", default: false)
        attentionBias = keys.bool("attention_bias", default: false)
        clipQKV = keys.optionalDouble("clip_qkv")
        queryKeyNorm = family == .olmo2
        rope = try keys.rope()
    }
}

extension Architecture {
    static func olmo(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize
        let q = config.headCount * config.headDim, kv = config.kvHeadCount * config.headDim
        let bias = config.attentionBias, second = config.family == .olmo2
        let parameterless = BlockDescription.Norm.layer(weight: nil, bias: nil)
        func rms(_ name: String) -> BlockDescription.Norm { .rms(weight: name + ".weight", addsOne: false) }
        let blocks = (0..<config.layerCount).map { l in
            let b = "model.layers.\(l)."
            return BlockDescription(
                attentionNorm: second ? nil : parameterless,
                qkv: .separate(q: linear(b, "self_attn.q_proj", d, q, biased: bias), k: linear(b, "self_attn.k_proj", d, kv, biased: bias),
                               v: linear(b, "self_attn.v_proj", d, kv, biased: bias)),
                queryKeyNorm: second ? .init(query: rms(b + "self_attn.q_norm"), key: rms(b + "self_attn.k_norm"), perHead: false) : nil,
                output: linear(b, "self_attn.o_proj", q, d, biased: bias),
                postAttentionNorm: second ? rms(b + "post_attention_layernorm") : nil,
                mlpNorm: second ? nil : parameterless,
                parallel: false,
                mlpInput: .gated(gate: linear(b, "mlp.gate_proj", d, f, biased: false), up: linear(b, "mlp.up_proj", d, f, biased: false)),
                down: linear(b, "mlp.down_proj", f, d, biased: false),
                postMLPNorm: second ? rms(b + "post_feedforward_layernorm") : nil,
                attentionScale: attentionScale(config), attentionSoftCap: nil, slidingWindow: nil, rotary: .init(local: false),
                clipQKV: config.clipQKV.map(Float.init))
        }
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: "model.embed_tokens.weight",
                            finalNorm: second ? rms("model.norm") : parameterless,
                            unembedding: untied("lm_head.weight", config, tensorNames), usesRotary: true, blocks: blocks)
    }
}
