import Foundation
import Checkpoints
import Tensors

/// Phi-3: Llama's block with q|k|v fused in `qkv_proj` and gate|up fused in `gate_up_proj`
/// (neuron i is row i of the gate half and row i of the up half), rotary on the first
/// `partial_rotary_factor` of each head, an optional sliding window on every block.
struct Phi3: GGUFFamily {
    static let modelTypes = ["phi3"]
    static let ggufArchitectures = ["phi3"]
    static let ggufTokenizerSpaces = GGUFTokenizer.Spaces.prependedByNormalizer
    let name = "phi3"

    init(_ keys: ConfigKeys) {}

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        try config.readLlamaStyleSizes(keys)
        config.normEpsilon = keys.optionalDouble("rms_norm_eps") ?? 1e-5
        config.activation = keys.string("hidden_act") ?? "silu"
        config.tieWordEmbeddings = keys.bool("tie_word_embeddings", default: false)
        config.rope = try keys.rope()
        let fraction = ((keys.json["rope_parameters"] as? [String: Any])?["partial_rotary_factor"] as? NSNumber)?.doubleValue
            ?? keys.optionalDouble("partial_rotary_factor") ?? 1
        config.rotaryDimensions = Int(Double(config.headDim) * fraction)
        config.slidingWindow = keys.optionalInt("sliding_window")
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize
        let q = config.headCount * config.headDim, kv = config.kvHeadCount * config.headDim
        let blocks = (0..<config.layerCount).map { l in
            let b = "model.layers.\(l)."
            return BlockDescription(
                attentionNorm: .rms(weight: b + "input_layernorm.weight", addsOne: false),
                qkv: .fused(linear(b, "self_attn.qkv_proj", d, q + 2 * kv, biased: false), order: nil),
                queryKeyNorm: nil,
                output: linear(b, "self_attn.o_proj", q, d, biased: false),
                postAttentionNorm: nil,
                mlpNorm: .rms(weight: b + "post_attention_layernorm.weight", addsOne: false),
                parallel: false,
                mlpInput: .fusedGated(linear(b, "mlp.gate_up_proj", d, 2 * f, biased: false)),
                down: linear(b, "mlp.down_proj", f, d, biased: false),
                postMLPNorm: nil,
                attentionScale: attentionScale(config), attentionSoftCap: nil, slidingWindow: config.slidingWindow,
                rotary: .init(local: false), clipQKV: nil)
        }
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: "model.embed_tokens.weight",
                            finalNorm: .rms(weight: "model.norm.weight", addsOne: false),
                            unembedding: untied("lm_head.weight", config, tensorNames), usesRotary: true, blocks: blocks)
    }

    /// llama.cpp's `attn_qkv` and `ffn_up` are Phi-3's fused projections.
    static func ggufLayout(_ file: GGUFFile, architecture: String) throws -> GGUFLayout {
        var layout = try LlamaStyle.ggufLayout(file, architecture: architecture, modelType: "phi3")
        layout.blockNames["attn_qkv"] = "self_attn.qkv_proj"
        layout.blockNames["ffn_up"] = "mlp.gate_up_proj"
        return layout
    }
}
