import Foundation
import Tensors

/// Falcon. The 7B layout: attention and MLP in parallel under one LayerNorm, multi-query
/// attention (one key/value head), q|k|v fused as all query heads then the key then the value.
/// `new_decoder_architecture` (40B, 180B): grouped keys and values, q|k|v fused per group
/// (the group's query heads, its key, its value), `ln_attn` and `ln_mlp` (or one
/// `input_layernorm` when `num_ln_in_parallel_attn` is 1). Without `parallel_attn`
/// (Falcon-RW): sequential blocks, q|k|v interleaved per head. Rotary positions, or with `alibi`
/// (Falcon-RW) BLOOM's ALiBi slopes, added once to the scaled scores: what the original Falcon-RW
/// code and transformers' SDPA path compute. transformers' eager path adds it twice (before the
/// scaling and again in its mask); neurotop does not follow that.
struct Falcon: ModelFamily {
    static let modelTypes = ["falcon"]
    /// llama.cpp's `falcon` keeps q|k|v fused in an order not undone here.
    static let ggufArchitecturesNotRead = ["falcon"]
    let name = "falcon"
    /// `new_decoder_architecture`: grouped q|k|v, `ln_attn` and `ln_mlp`; else multi-query with one LayerNorm.
    let newDecoderArchitecture: Bool
    /// The norms of a parallel block: two (`ln_attn`, `ln_mlp`) or one.
    let parallelNorms: Int
    /// `alibi` (Falcon-RW): ALiBi instead of rotary positions.
    let alibi: Bool

    init(_ keys: ConfigKeys) {
        newDecoderArchitecture = keys.bool("new_decoder_architecture", default: false)
        parallelNorms = newDecoderArchitecture ? keys.optionalInt("num_ln_in_parallel_attn") ?? 2 : 1
        alibi = keys.bool("alibi", default: false)
    }

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        config.hiddenSize = try keys.int("hidden_size")
        config.layerCount = try keys.int("num_hidden_layers", "n_layer")
        config.headCount = try keys.int("num_attention_heads", "n_head")
        let multiQuery = keys.bool("multi_query", default: true)
        config.kvHeadCount = newDecoderArchitecture ? keys.optionalInt("num_kv_heads") ?? config.headCount : multiQuery ? 1 : config.headCount
        config.headDim = config.hiddenSize / max(config.headCount, 1)
        config.intermediateSize = keys.optionalInt("ffn_hidden_size") ?? 4 * config.hiddenSize
        config.vocabSize = try keys.int("vocab_size")
        config.contextLength = keys.optionalInt("max_position_embeddings") ?? 2048
        config.normEpsilon = keys.optionalDouble("layer_norm_epsilon") ?? 1e-5
        config.activation = keys.string("activation") ?? "gelu"
        config.tieWordEmbeddings = keys.bool("tie_word_embeddings", default: true)
        config.attentionBias = keys.bool("bias", default: false)
        config.mlpBias = config.attentionBias
        config.parallelResidual = keys.bool("parallel_attn", default: true)
        config.rope = try keys.rope()
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize, hd = config.headDim
        let heads = config.headCount, kvHeads = config.kvHeadCount, group = heads / kvHeads
        let qWidth = heads * hd, kvWidth = kvHeads * hd
        let order: [Int]?
        if newDecoderArchitecture {
            // [kv heads, (the group's query heads, key, value), head_dim].
            order = (0..<(qWidth + 2 * kvWidth)).map { c in
                let (kvHead, rest) = c.quotientAndRemainder(dividingBy: (group + 2) * hd)
                let (slot, i) = rest.quotientAndRemainder(dividingBy: hd)
                if slot < group { return (kvHead * group + slot) * hd + i }
                return qWidth + (slot - group) * kvWidth + kvHead * hd + i
            }
        } else if kvHeads == heads {
            // [heads, (q, k, v), head_dim], as GPT-NeoX.
            order = (0..<(3 * qWidth)).map { c in
                let (head, rest) = c.quotientAndRemainder(dividingBy: 3 * hd)
                let (part, i) = rest.quotientAndRemainder(dividingBy: hd)
                return part * qWidth + head * hd + i
            }
        } else {
            order = nil
        }
        func layerNorm(_ name: String) -> BlockDescription.Norm { .layer(weight: name + ".weight", bias: name + ".bias") }
        // Added to the scaled scores: transformers' bias slope · position, divided by √head_dim.
        let slopes = alibi ? Self.alibiSlopes(heads: heads).map { $0 * attentionScale(config) } : nil
        let blocks = (0..<config.layerCount).map { l in
            let b = "transformer.h.\(l)."
            let twoNorms = config.parallelResidual && parallelNorms == 2
            var block = BlockDescription(
                attentionNorm: layerNorm(b + (twoNorms ? "ln_attn" : "input_layernorm")),
                qkv: .fused(linear(b, "self_attention.query_key_value", d, qWidth + 2 * kvWidth, biased: config.attentionBias), order: order),
                queryKeyNorm: nil,
                output: linear(b, "self_attention.dense", qWidth, d, biased: config.attentionBias),
                postAttentionNorm: nil,
                mlpNorm: twoNorms ? layerNorm(b + "ln_mlp") : config.parallelResidual ? nil : layerNorm(b + "post_attention_layernorm"),
                parallel: config.parallelResidual,
                mlpInput: .plain(linear(b, "mlp.dense_h_to_4h", d, f, biased: config.mlpBias)),
                down: linear(b, "mlp.dense_4h_to_h", f, d, biased: config.mlpBias),
                postMLPNorm: nil,
                attentionScale: attentionScale(config), attentionSoftCap: nil, slidingWindow: nil,
                rotary: slopes == nil ? .init(local: false) : nil, clipQKV: nil)
            block.alibiSlopes = slopes
            return block
        }
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: "transformer.word_embeddings.weight",
                            finalNorm: layerNorm("transformer.ln_f"), unembedding: untied("lm_head.weight", config, tensorNames),
                            usesRotary: slopes == nil, blocks: blocks)
    }

    /// BLOOM's slopes, as Falcon builds them: 2^(−8k/p) for k = 1...p, p the heads rounded down
    /// to a power of two; then 2^(−4k/p) for odd k, for the heads beyond p. transformers rounds
    /// slope · position to bfloat16, exact for slopes that are powers of two (up to 8 heads, or
    /// 6) and positions below 256; neurotop keeps them in float32.
    static func alibiSlopes(heads: Int) -> [Float] {
        var power = 1
        while power * 2 <= heads { power *= 2 }
        var slopes = (1...power).map { Float(pow(2, -8 * Double($0) / Double(power))) }
        let extra = min(power, heads - power)
        if extra > 0 {
            slopes += stride(from: 1, to: 2 * extra, by: 2).map { Float(pow(2, -4 * Double($0) / Double(power))) }
        }
        return slopes
    }
}
