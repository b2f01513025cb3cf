import Foundation
import Checkpoints
import Tensors

/// Gemma 1, 2 and 3 (text): RMSNorm scaling by (1 + w), GeGLU MLP (gelu_pytorch_tanh),
/// embeddings multiplied by √hidden, an explicit head_dim, tied unembedding.
/// Gemma 2 adds norms after attention and after the MLP, soft caps on attention scores and
/// final logits, scores scaled by 1/√query_pre_attn_scalar, and sliding-window attention on
/// alternate blocks. Gemma 3 drops the soft caps, normalises queries and keys per head, and
/// gives its sliding-window blocks their own rotary base (`rope_local_base_freq`).
struct Gemma: GGUFFamily {
    static let modelTypes = ["gemma", "gemma2", "gemma3_text", "gemma3"]
    static let multimodalModelTypes = ["gemma3"]
    static let ggufArchitectures = ["gemma", "gemma2", "gemma3"]
    static let ggufTokenizerSpaces = GGUFTokenizer.Spaces.splitAfterEach
    /// 1, 2 or 3.
    let generation: Int
    var name: String { generation == 1 ? "gemma" : "gemma\(generation)" }

    init(_ keys: ConfigKeys) {
        switch keys.string("model_type") {
        case "gemma": generation = 1
        case "gemma2": generation = 2
        default: generation = 3
        }
    }

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        try config.readLlamaStyleSizes(keys)
        config.headDim = keys.optionalInt("head_dim") ?? 256
        config.normEpsilon = keys.optionalDouble("rms_norm_eps") ?? 1e-6
        // Gemma 1's releases say "gelu" and mean the tanh approximation (as transformers reads them).
        let named = keys.string("hidden_activation") ?? keys.string("hidden_act") ?? "gelu_pytorch_tanh"
        config.activation = generation == 1 && named == "gelu" ? "gelu_pytorch_tanh" : named
        config.tieWordEmbeddings = keys.bool("tie_word_embeddings", default: true)
        config.attentionBias = keys.bool("attention_bias", default: false)
        if keys.bool("use_bidirectional_attention", default: false) {
            throw InputError(keys.path, "use_bidirectional_attention is set: this is an embedding model, not a causal language model")
        }
        guard generation > 1 else {
            config.rope = try keys.rope()
            return
        }
        config.queryPreAttentionScalar = keys.optionalDouble("query_pre_attn_scalar") ?? 256
        // An absent key takes transformers' default; a null one turns the feature off.
        func optional(_ key: String, default value: Double?) -> Double? {
            keys.json.keys.contains(key) ? keys.optionalDouble(key) : value
        }
        config.attentionSoftCap = optional("attn_logit_softcapping", default: generation == 2 ? 50 : nil)
        config.finalSoftCap = optional("final_logit_softcapping", default: generation == 2 ? 30 : nil)
        config.slidingWindow = keys.json.keys.contains("sliding_window") ? keys.optionalInt("sliding_window") : 4096
        // Without layer_types: Gemma 2 slides on even blocks, Gemma 3 on all but every sixth
        // (`sliding_window_pattern`).
        let pattern = generation == 2 ? 2 : keys.optionalInt("sliding_window_pattern") ?? keys.optionalInt("_sliding_window_pattern") ?? 6
        config.slidingBlocks = try keys.slidingLayerTypes() ?? (0..<config.layerCount).map { ($0 + 1) % pattern != 0 }
        guard generation == 3 else {
            config.rope = try keys.rope()
            return
        }
        config.queryKeyNorm = true
        if let parameters = keys.json["rope_parameters"] as? [String: Any], let global = parameters["full_attention"] as? [String: Any] {
            config.rope = try keys.rope(parameters: global)
            config.localRope = try keys.rope(parameters: parameters["sliding_attention"] as? [String: Any] ?? ["rope_theta": 10_000.0])
        } else {
            config.rope = try keys.rope()
            if keys.optionalDouble("rope_theta") == nil { config.rope.theta = 1_000_000 }
            config.localRope = RopeScaling(theta: keys.optionalDouble("rope_local_base_freq") ?? 10_000)
        }
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        // A multimodal Gemma 3 keeps its language model under another prefix (transformers 4 and 5 differ).
        let prefixes = ["model.", "model.language_model.", "language_model.model."]
        let p = prefixes.first { tensorNames.contains($0 + "embed_tokens.weight") } ?? "model."
        let d = config.hiddenSize, f = config.intermediateSize
        let q = config.headCount * config.headDim, kv = config.kvHeadCount * config.headDim
        let bias = config.attentionBias
        let second = generation > 1
        func norm(_ name: String) -> BlockDescription.Norm { .rms(weight: name + ".weight", addsOne: true) }
        let blocks = (0..<config.layerCount).map { l in
            let b = "\(p)layers.\(l)."
            return BlockDescription(
                attentionNorm: norm(b + "input_layernorm"),
                qkv: .separate(q: linear(b, "self_attn.q_proj", d, q, biased: bias), k: linear(b, "self_attn.k_proj", d, kv, biased: bias),
                               v: linear(b, "self_attn.v_proj", d, kv, biased: bias)),
                queryKeyNorm: generation == 3 ? .init(query: norm(b + "self_attn.q_norm"), key: norm(b + "self_attn.k_norm"), perHead: true) : nil,
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

    /// llama.cpp stores the norm weights as transformers' + 1, and calls Gemma 3's text model `gemma3`.
    static func ggufLayout(_ file: GGUFFile, architecture: String) throws -> GGUFLayout {
        var layout = try LlamaStyle.ggufLayout(file, architecture: architecture, modelType: architecture == "gemma3" ? "gemma3_text" : architecture)
        if architecture != "gemma" {
            layout.blockNames["ffn_norm"] = "pre_feedforward_layernorm"
            layout.blockNames["post_attention_norm"] = "post_attention_layernorm"
            layout.blockNames["post_ffw_norm"] = "post_feedforward_layernorm"
        }
        layout.transforms = [("norm.weight", .subtractOne)]
        return layout
    }
}
