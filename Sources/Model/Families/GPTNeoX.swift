import Foundation
import Tensors

/// GPT-NeoX (Pythia): LayerNorm with bias, q|k|v fused and interleaved per head, rotary on the
/// first `rotary_pct` of each head, attention and MLP in parallel on the block's input
/// (`use_parallel_residual`), biases everywhere, a separate `embed_out` unembedding.
struct GPTNeoX: ModelFamily {
    static let modelTypes = ["gpt_neox"]
    /// llama.cpp's `gptneox` keeps q|k|v fused in an order not undone here.
    static let ggufArchitecturesNotRead = ["gptneox"]
    let name = "gpt-neox"

    init(_ keys: ConfigKeys) {}

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        try config.readLlamaStyleSizes(keys)
        config.kvHeadCount = config.headCount
        config.headDim = config.hiddenSize / max(config.headCount, 1)
        config.normEpsilon = keys.optionalDouble("layer_norm_eps") ?? 1e-5
        config.activation = keys.string("hidden_act") ?? "gelu"
        config.tieWordEmbeddings = keys.bool("tie_word_embeddings", default: false)
        config.attentionBias = keys.bool("attention_bias", default: true)
        config.mlpBias = true
        config.parallelResidual = keys.bool("use_parallel_residual", default: true)
        config.rope = try keys.rope()
        if keys.json["rope_parameters"] == nil, let base = keys.optionalDouble("rotary_emb_base") { config.rope.theta = base }
        let fraction = (keys.json["rope_parameters"] as? [String: Any])?["partial_rotary_factor"] as? NSNumber
        config.rotaryDimensions = Int(Double(config.headDim) * (fraction?.doubleValue ?? keys.optionalDouble("rotary_pct") ?? 0.25))
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize, hd = config.headDim, heads = config.headCount
        // The fused output is [heads, (q, k, v), head_dim]; q|k|v side by side is [(q, k, v), heads, head_dim].
        let order = (0..<(3 * heads * hd)).map { c in
            let (head, rest) = c.quotientAndRemainder(dividingBy: 3 * hd)
            let (part, i) = rest.quotientAndRemainder(dividingBy: hd)
            return part * heads * hd + head * hd + i
        }
        let blocks = (0..<config.layerCount).map { l in
            let b = "gpt_neox.layers.\(l)."
            return BlockDescription(
                attentionNorm: .layer(weight: b + "input_layernorm.weight", bias: b + "input_layernorm.bias"),
                qkv: .fused(linear(b, "attention.query_key_value", d, 3 * d, biased: config.attentionBias), order: order),
                queryKeyNorm: nil,
                output: linear(b, "attention.dense", d, d, biased: config.attentionBias),
                postAttentionNorm: nil,
                mlpNorm: .layer(weight: b + "post_attention_layernorm.weight", bias: b + "post_attention_layernorm.bias"),
                parallel: config.parallelResidual,
                mlpInput: .plain(linear(b, "mlp.dense_h_to_4h", d, f, biased: true)),
                down: linear(b, "mlp.dense_4h_to_h", f, d, biased: true),
                postMLPNorm: nil,
                attentionScale: attentionScale(config), attentionSoftCap: nil, slidingWindow: nil, rotary: .init(local: false), clipQKV: nil)
        }
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: "gpt_neox.embed_in.weight",
                            finalNorm: .layer(weight: "gpt_neox.final_layer_norm.weight", bias: "gpt_neox.final_layer_norm.bias"),
                            unembedding: config.tieWordEmbeddings ? nil : "embed_out.weight", usesRotary: true, blocks: blocks)
    }
}
