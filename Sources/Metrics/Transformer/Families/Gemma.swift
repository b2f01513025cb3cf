import Foundation

/// Gemma 1, 2 and 3 (text): RMSNorm scaling by (1 + w), GeGLU MLP (gelu_pytorch_tanh),
/// embeddings multiplied by √hidden, an explicit head_dim, tied unembedding.
/// Gemma 2 adds norms after attention and after the MLP, soft caps on attention scores and
/// final logits, scores scaled by 1/√query_pre_attn_scalar, and sliding-window attention on
/// alternate blocks. Gemma 3 drops the soft caps, normalises queries and keys per head, and
/// gives its sliding-window blocks their own rotary base (`rope_local_base_freq`).
extension ModelConfig {
    mutating func readGemma(_ keys: ConfigKeys) throws {
        family = modelType == "gemma" ? .gemma : modelType == "gemma2" ? .gemma2 : .gemma3
        try readLlamaStyleSizes(keys)
        headDim = keys.optionalInt("head_dim") ?? 256
        normEpsilon = keys.optionalDouble("rms_norm_eps") ?? 1e-6
        // Gemma 1's releases say "gelu" and mean the tanh approximation (as transformers reads them).
        let named = keys.string("hidden_activation") ?? keys.string("hidden_act") ?? "gelu_pytorch_tanh"
        activation = family == .gemma && named == "gelu" ? "gelu_pytorch_tanh" : named
        tieWordEmbeddings = keys.bool("tie_word_embeddings", default: true)
        attentionBias = keys.bool("attention_bias", default: false)
        if keys.bool("use_bidirectional_attention", default: false) {
            throw InputError(keys.path, "use_bidirectional_attention is set: this is an embedding model, not a causal language model")
        }
        guard family != .gemma else {
            rope = try keys.rope()
            return
        }
        queryPreAttentionScalar = keys.optionalDouble("query_pre_attn_scalar") ?? 256
        // An absent key takes transformers' default; a null one turns the feature off.
        func optional(_ key: String, default value: Double?) -> Double? {
            keys.json.keys.contains(key) ? keys.optionalDouble(key) : value
        }
        attentionSoftCap = optional("attn_logit_softcapping", default: family == .gemma2 ? 50 : nil)
        finalSoftCap = optional("final_logit_softcapping", default: family == .gemma2 ? 30 : nil)
        slidingWindow = keys.json.keys.contains("sliding_window") ? keys.optionalInt("sliding_window") : 4096
        // Without layer_types: Gemma 2 slides on even blocks, Gemma 3 on all but every sixth
        // (`sliding_window_pattern`).
        let pattern = family == .gemma2 ? 2 : keys.optionalInt("sliding_window_pattern") ?? keys.optionalInt("_sliding_window_pattern") ?? 6
        slidingBlocks = try keys.slidingLayerTypes() ?? (0..<layerCount).map { ($0 + 1) % pattern != 0 }
        guard family == .gemma3 else {
            rope = try keys.rope()
            return
        }
        queryKeyNorm = true
        if let parameters = keys.json["rope_parameters"] as? [String: Any], let global = parameters["full_attention"] as? [String: Any] {
            rope = try keys.rope(parameters: global)
            localRope = try keys.rope(parameters: parameters["sliding_attention"] as? [String: Any] ?? ["rope_theta": 10_000.0])
        } else {
            rope = try keys.rope()
            if keys.optionalDouble("rope_theta") == nil { rope.theta = 1_000_000 }
            localRope = RopeScaling(theta: keys.optionalDouble("rope_local_base_freq") ?? 10_000)
        }
    }
}

extension Architecture {
    static func gemma(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        // A multimodal Gemma 3 keeps its language model under another prefix (transformers 4 and 5 differ).
        let prefixes = ["model.", "model.language_model.", "language_model.model."]
        let p = prefixes.first { tensorNames.contains($0 + "embed_tokens.weight") } ?? "model."
        let d = config.hiddenSize, f = config.intermediateSize
        let q = config.headCount * config.headDim, kv = config.kvHeadCount * config.headDim
        let bias = config.attentionBias
        let second = config.family != .gemma
        func norm(_ name: String) -> BlockDescription.Norm { .rms(weight: name + ".weight", addsOne: true) }
        let blocks = (0..<config.layerCount).map { l in
            let b = "\(p)layers.\(l)."
            return BlockDescription(
                attentionNorm: norm(b + "input_layernorm"),
                qkv: .separate(q: linear(b, "self_attn.q_proj", d, q, biased: bias), k: linear(b, "self_attn.k_proj", d, kv, biased: bias),
                               v: linear(b, "self_attn.v_proj", d, kv, biased: bias)),
                queryKeyNorm: config.family == .gemma3 ? .init(query: norm(b + "self_attn.q_norm"), key: norm(b + "self_attn.k_norm"), perHead: true) : nil,
                output: linear(b, "self_attn.o_proj", q, d, biased: bias),
                // Gemma 2 and 3 call the norm after attention post_attention_layernorm, the one
                // before the MLP pre_feedforward_layernorm; Gemma 1 (like Llama) calls the latter
                // post_attention_layernorm.
                postAttentionNorm: second ? norm(b + "post_attention_layernorm") : nil,
                mlpNorm: second ? norm(b + "pre_feedforward_layernorm") : norm(b + "post_attention_layernorm"),
                parallel: false,
                mlpInput: .gated(gate: linear(b, "mlp.gate_proj", d, f, biased: false), up: linear(b, "mlp.up_proj", d, f, biased: false)),
                down: linear(b, "mlp.down_proj", f, d, biased: false),
                postMLPNorm: second ? norm(b + "post_feedforward_layernorm") : nil,
                attentionScale: attentionScale(config), attentionSoftCap: config.attentionSoftCap.map(Float.init),
                slidingWindow: config.isSliding(block: l) ? config.slidingWindow : nil,
                rotary: .init(local: config.localRope != nil && config.isSliding(block: l)), clipQKV: nil)
        }
        let lmHead = ["lm_head.weight", "language_model.lm_head.weight"].first { tensorNames.contains($0) }
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: p + "embed_tokens.weight",
                            scalesEmbedding: true, finalNorm: norm(p + "norm"),
                            unembedding: lmHead.flatMap { untied($0, config, tensorNames) }, usesRotary: true, blocks: blocks)
    }
}
