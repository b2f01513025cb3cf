import Foundation
import Tensors

/// MPT: ALiBi instead of positions, q|k|v fused in `Wqkv` and clamped to ±`clip_qkv`, LayerNorm
/// without bias, no biases anywhere (`no_bias`), a 4× MLP with exact GELU, tied unembedding.
struct MPT: ModelFamily {
    static let modelTypes = ["mpt"]
    /// llama.cpp's `mpt` keeps q|k|v fused in an order not undone here.
    static let ggufArchitecturesNotRead = ["mpt"]
    let name = "mpt"
    /// ALiBi's largest slope exponent (`attn_config.alibi_bias_max`).
    let alibiBiasMax: Double
    /// A score scale other than 1/√head_dim (`attn_config.softmax_scale`).
    let softmaxScale: Double?

    init(_ keys: ConfigKeys) {
        let attention = Self.attentionKeys(keys)
        alibiBiasMax = attention.optionalDouble("alibi_bias_max") ?? 8
        softmaxScale = attention.optionalDouble("softmax_scale")
    }

    /// `attn_config`, where MPT keeps its attention settings.
    static func attentionKeys(_ keys: ConfigKeys) -> ConfigKeys {
        ConfigKeys(json: keys.json["attn_config"] as? [String: Any] ?? [:], path: keys.path)
    }

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        config.hiddenSize = try keys.int("d_model")
        config.layerCount = try keys.int("n_layers")
        config.headCount = try keys.int("n_heads")
        config.kvHeadCount = config.headCount
        config.headDim = config.hiddenSize / max(config.headCount, 1)
        // transformers' MPT, the reference here, builds a 4× MLP and no biases whatever the config says.
        guard (keys.optionalInt("expansion_ratio") ?? 4) == 4, keys.bool("no_bias", default: true) else {
            throw InputError(keys.path, "MPT with expansion_ratio other than 4 or with biases (no_bias: false) is not supported")
        }
        config.intermediateSize = 4 * config.hiddenSize
        config.vocabSize = try keys.int("vocab_size")
        config.contextLength = try keys.int("max_seq_len")
        config.normEpsilon = keys.optionalDouble("layer_norm_epsilon") ?? 1e-5
        config.activation = "gelu"
        config.tieWordEmbeddings = true
        let attention = Self.attentionKeys(keys)
        if attention.bool("qk_ln", default: false) {
            throw InputError(keys.path, "MPT with attn_config.qk_ln is not supported")
        }
        config.clipQKV = attention.optionalDouble("clip_qkv")
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize, bias = false
        func layerNorm(_ name: String) -> BlockDescription.Norm { .layer(weight: name + ".weight", bias: nil) }
        let slopes = Self.alibiSlopes(heads: config.headCount, biasMax: alibiBiasMax)
        let blocks = (0..<config.layerCount).map { l in
            let b = "transformer.blocks.\(l)."
            var block = BlockDescription(
                attentionNorm: layerNorm(b + "norm_1"),
                qkv: .fused(linear(b, "attn.Wqkv", d, 3 * d, biased: bias), order: nil),
                queryKeyNorm: nil,
                output: linear(b, "attn.out_proj", d, d, biased: bias),
                postAttentionNorm: nil,
                mlpNorm: layerNorm(b + "norm_2"),
                parallel: false,
                mlpInput: .plain(linear(b, "ffn.up_proj", d, f, biased: bias)),
                down: linear(b, "ffn.down_proj", f, d, biased: bias),
                postMLPNorm: nil,
                attentionScale: softmaxScale.map(Float.init) ?? attentionScale(config), attentionSoftCap: nil, slidingWindow: nil,
                rotary: nil, clipQKV: config.clipQKV.map(Float.init))
            block.alibiSlopes = slopes
            return block
        }
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: "transformer.wte.weight",
                            finalNorm: layerNorm("transformer.norm_f"), unembedding: nil, usesRotary: false, blocks: blocks)
    }

    /// MPT's slopes: 2^(−biasMax·k/n) for k = 1...n, n the heads rounded up to a power of two;
    /// with fewer heads, the odd-numbered slopes first, then the even ones.
    static func alibiSlopes(heads: Int, biasMax: Double) -> [Float] {
        var power = 1
        while power < heads { power *= 2 }
        let slopes = (1...power).map { Float(1 / pow(2, Double(Float($0) * Float(biasMax / Double(power))))) }
        guard power != heads else { return slopes }
        let reordered = stride(from: 1, to: power, by: 2).map { slopes[$0] } + stride(from: 0, to: power, by: 2).map { slopes[$0] }
        return Array(reordered.prefix(heads))
    }
}
