import Foundation
import Checkpoints
import Tensors

/// Llama 1/2/3, Mistral, Qwen 2, Qwen 3, Yi: pre-norm RMSNorm blocks, rotary attention with
/// grouped keys and values, gated MLP. Qwen 2 has q/k/v biases, Qwen 3 per-head q/k norms,
/// Mistral a sliding window.
struct Llama: GGUFFamily {
    static let modelTypes = ["llama", "mistral", "qwen2", "qwen3"]
    static let refusedModelTypes = [
        "qwen": "model_type 'qwen' (the original Qwen, custom code) is not supported: its fused c_attn and w1/w2 MLP halves are laid out by its own remote code, which neurotop cannot check; Qwen1.5 and later are 'qwen2', which runs",
    ]
    static let ggufArchitectures = ["llama", "qwen2", "qwen3"]
    let name = "llama"

    init(_ keys: ConfigKeys) {}

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        try config.readLlamaStyleSizes(keys)
        config.normEpsilon = keys.optionalDouble("rms_norm_eps") ?? 1e-6
        config.activation = keys.string("hidden_act") ?? "silu"
        config.tieWordEmbeddings = keys.bool("tie_word_embeddings", default: false)
        config.attentionBias = config.modelType == "qwen2" || keys.bool("attention_bias", default: false)
        config.mlpBias = keys.bool("mlp_bias", default: false)
        config.queryKeyNorm = config.modelType == "qwen3"
        config.rope = try keys.rope()
        let usesSlidingWindow = keys.bool("use_sliding_window", default: config.modelType == "mistral")
        config.slidingWindow = usesSlidingWindow ? keys.optionalInt("sliding_window") : nil
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
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

    /// llama.cpp's converter reorders Llama's (not Qwen's) q and k rows within each head for its
    /// rope, and may give the head dimension as the rotary one.
    static func ggufLayout(_ file: GGUFFile, architecture: String) throws -> GGUFLayout {
        guard architecture == "llama" else { return try LlamaStyle.ggufLayout(file, architecture: architecture, modelType: architecture) }
        var layout = try LlamaStyle.ggufLayout(file, architecture: architecture, modelType: "llama",
                                               headDimensionKeys: ["attention.key_length", "rope.dimension_count"])
        layout.config["attention_bias"] = LlamaStyle.hasQueryBias(file)
        let heads = layout.config["num_attention_heads"] as? Int ?? 1, kvHeads = layout.config["num_key_value_heads"] as? Int ?? heads
        layout.transforms = [(".attn_q.weight", .unpermuteRotary(heads: heads)), (".attn_q.bias", .unpermuteRotary(heads: heads)),
                             (".attn_k.weight", .unpermuteRotary(heads: kvHeads)), (".attn_k.bias", .unpermuteRotary(heads: kvHeads))]
        return layout
    }
}
