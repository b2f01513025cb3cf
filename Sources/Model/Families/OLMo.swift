import Foundation
import Checkpoints
import Tensors

/// OLMo: LayerNorm without parameters, q/k/v clamped to ±`clip_qkv`, gated MLP.
/// OLMo 2: no norms before attention and MLP but RMSNorms after each (before the residual add),
/// and queries and keys RMS-normalised over the whole projection, before rotation.
struct OLMo: GGUFFamily {
    static let modelTypes = ["olmo", "olmo2"]
    static let ggufArchitectures = ["olmo", "olmo2"]
    /// 1 or 2.
    let generation: Int
    var name: String { generation == 1 ? "olmo" : "olmo2" }

    init(_ keys: ConfigKeys) {
        generation = keys.string("model_type") == "olmo" ? 1 : 2
    }

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        try config.readLlamaStyleSizes(keys)
        // OLMo's parameterless LayerNorm has a fixed epsilon.
        config.normEpsilon = generation == 1 ? 1e-5 : keys.optionalDouble("rms_norm_eps") ?? 1e-5
        config.activation = keys.string("hidden_act") ?? "silu"
        config.tieWordEmbeddings = keys.bool("tie_word_embeddings", default: false)
        config.attentionBias = keys.bool("attention_bias", default: false)
        config.clipQKV = keys.optionalDouble("clip_qkv")
        config.queryKeyNorm = generation == 2
        config.rope = try keys.rope()
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize
        let q = config.headCount * config.headDim, kv = config.kvHeadCount * config.headDim
        let bias = config.attentionBias, second = generation == 2
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

    /// OLMo 2's names for its norms after attention and the MLP; OLMo's query bias and its
    /// LayerNorm's epsilon, which transformers reads under its own key.
    static func ggufLayout(_ file: GGUFFile, architecture: String) throws -> GGUFLayout {
        var layout = try LlamaStyle.ggufLayout(file, architecture: architecture, modelType: architecture)
        if architecture == "olmo2" {
            layout.blockNames["post_attention_norm"] = "post_attention_layernorm"
            layout.blockNames["post_ffw_norm"] = "post_feedforward_layernorm"
        } else {
            layout.config["attention_bias"] = LlamaStyle.hasQueryBias(file)
            layout.config["layer_norm_eps"] = layout.config.removeValue(forKey: "rms_norm_eps")
        }
        return layout
    }
}
