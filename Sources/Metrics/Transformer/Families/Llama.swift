import Foundation

/// Llama 1/2/3, Mistral, Qwen 2, Qwen 3, Yi: pre-norm RMSNorm blocks, rotary attention with
/// grouped keys and values, gated MLP. Qwen 2 has q/k/v biases, Qwen 3 per-head q/k norms,
/// Mistral a sliding window.
extension ModelConfig {
    mutating func readLlama(_ keys: ConfigKeys) throws {
        family = .llama
        try readLlamaStyleSizes(keys)
        normEpsilon = keys.optionalDouble("rms_norm_eps") ?? 1e-6
        activation = keys.string("hidden_act") ?? "silu"
        tieWordEmbeddings = keys.bool("tie_word_embeddings", default: false)
        attentionBias = modelType == "qwen2" || keys.bool("attention_bias", default: false)
        mlpBias = keys.bool("mlp_bias", default: false)
        queryKeyNorm = modelType == "qwen3"
        rope = try keys.rope()
        let usesSlidingWindow = keys.bool("use_sliding_window", default: modelType == "mistral")
        slidingWindow = usesSlidingWindow ? keys.optionalInt("sliding_window") : nil
    }
}

extension Architecture {
    static func llama(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize
        let q = config.headCount * config.headDim, kv = config.kvHeadCount * config.headDim
        let bias = config.attentionBias
        let blocks = (0..<config.layerCount).map { l in
            let b = "model.layers.\(l)."
            return BlockDescription(
                attentionNorm: .rms(weight: b + "input_layernorm.weight", addsOne: false),
                qkv: .separate(q: linear(b, "self_attn.q_proj", d, q, biased: bias), k: linear(b, "self_attn.k_proj", d, kv, biased: bias),
                               v: linear(b, "self_attn.v_proj", d, kv, biased: bias)),
                queryKeyNorm: config.queryKeyNorm
                    ? .init(query: .rms(weight: b + "self_attn.q_norm.weight", addsOne: false), key: .rms(weight: b + "self_attn.k_norm.weight", addsOne: false), perHead: true)
                    : nil,
                output: linear(b, "self_attn.o_proj", q, d, biased: config.modelType != "qwen2" && bias),
                postAttentionNorm: nil,
                mlpNorm: .rms(weight: b + "post_attention_layernorm.weight", addsOne: false),
                parallel: false,
                mlpInput: .gated(gate: linear(b, "mlp.gate_proj", d, f, biased: config.mlpBias), up: linear(b, "mlp.up_proj", d, f, biased: config.mlpBias)),
                down: linear(b, "mlp.down_proj", f, d, biased: config.mlpBias),
                postMLPNorm: nil,
                attentionScale: attentionScale(config), attentionSoftCap: nil,
                slidingWindow: config.isSliding(block: l) ? config.slidingWindow : nil, rotary: .init(local: false), clipQKV: nil)
        }
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: "model.embed_tokens.weight",
                            finalNorm: .rms(weight: "model.norm.weight", addsOne: false),
                            unembedding: untied("lm_head.weight", config, tensorNames), usesRotary: true, blocks: blocks)
    }
}
