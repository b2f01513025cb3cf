import Foundation

/// Falcon. The 7B layout: attention and MLP in parallel under one LayerNorm, multi-query
/// attention (one key/value head), q|k|v fused as all query heads then the key then the value.
/// `new_decoder_architecture` (40B, 180B): grouped keys and values, q|k|v fused per group
/// (the group's query heads, its key, its value), `ln_attn` and `ln_mlp` (or one
/// `input_layernorm` when `num_ln_in_parallel_attn` is 1). Without `parallel_attn`
/// (Falcon-RW): sequential blocks, q|k|v interleaved per head. Rotary positions; ALiBi is refused.
extension ModelConfig {
    mutating func readFalcon(_ keys: ConfigKeys) throws {
        family = .falcon
        hiddenSize = try keys.int("hidden_size")
        layerCount = try keys.int("num_hidden_layers", "n_layer")
        headCount = try keys.int("num_attention_heads", "n_head")
        falconNewArchitecture = keys.bool("new_decoder_architecture", default: false)
        let multiQuery = keys.bool("multi_query", default: true)
        kvHeadCount = falconNewArchitecture ? keys.optionalInt("num_kv_heads") ?? headCount : multiQuery ? 1 : headCount
        headDim = hiddenSize / max(headCount, 1)
        intermediateSize = keys.optionalInt("ffn_hidden_size") ?? 4 * hiddenSize
        vocabSize = try keys.int("vocab_size")
        contextLength = keys.optionalInt("max_position_embeddings") ?? 2048
        normEpsilon = keys.optionalDouble("layer_norm_epsilon") ?? 1e-5
        activation = keys.string("activation") ?? "gelu"
        tieWordEmbeddings = keys.bool("tie_word_embeddings", default: true)
        attentionBias = keys.bool("bias", default: false)
        mlpBias = attentionBias
        parallelResidual = keys.bool("parallel_attn", default: true)
        parallelNorms = falconNewArchitecture ? keys.optionalInt("num_ln_in_parallel_attn") ?? 2 : 1
        if keys.bool("alibi", default: false) {
            throw InputError(keys.path, "Falcon with alibi: true is not supported (no released Falcon uses it; the rotary layout runs)")
        }
        rope = try keys.rope()
    }
}

extension Architecture {
    static func falcon(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize, hd = config.headDim
        let heads = config.headCount, kvHeads = config.kvHeadCount, group = heads / kvHeads
        let qWidth = heads * hd, kvWidth = kvHeads * hd
        let order: [Int]?
        if config.falconNewArchitecture {
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
        let blocks = (0..<config.layerCount).map { l in
            let b = "transformer.h.\(l)."
            let twoNorms = config.parallelResidual && config.parallelNorms == 2
            return BlockDescription(
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
                attentionScale: attentionScale(config), attentionSoftCap: nil, slidingWindow: nil, rotary: .init(local: false), clipQKV: nil)
        }
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: "transformer.word_embeddings.weight",
                            finalNorm: layerNorm("transformer.ln_f"), unembedding: untied("lm_head.weight", config, tensorNames),
                            usesRotary: true, blocks: blocks)
    }
}
