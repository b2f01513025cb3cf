import Foundation
import Tensors

/// GPT-J: attention and MLP in parallel under one LayerNorm (`ln_1`), separate q/k/v without
/// biases, rotary on the first `rotary_dim` dimensions of each head with neighbouring pairs
/// rotated together, a biased `lm_head`.
struct GPTJ: ModelFamily {
    static let modelTypes = ["gptj"]
    /// llama.cpp's `gptj` lays out the rotary dimensions otherwise; not undone here.
    static let ggufArchitecturesNotRead = ["gptj"]
    let name = "gptj"

    init(_ keys: ConfigKeys) {}

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        config.hiddenSize = try keys.int("n_embd", "hidden_size")
        config.layerCount = try keys.int("n_layer", "num_hidden_layers")
        config.headCount = try keys.int("n_head", "num_attention_heads")
        config.kvHeadCount = config.headCount
        config.headDim = config.hiddenSize / max(config.headCount, 1)
        config.intermediateSize = keys.optionalInt("n_inner") ?? 4 * config.hiddenSize
        config.vocabSize = try keys.int("vocab_size")
        config.contextLength = try keys.int("n_positions", "max_position_embeddings")
        config.normEpsilon = keys.optionalDouble("layer_norm_epsilon") ?? 1e-5
        config.activation = keys.string("activation_function") ?? "gelu_new"
        config.tieWordEmbeddings = keys.bool("tie_word_embeddings", default: false)
        config.parallelResidual = true
        config.rotaryDimensions = keys.optionalInt("rotary_dim") ?? config.headDim
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize
        let blocks = (0..<config.layerCount).map { l in
            let b = "transformer.h.\(l)."
            return BlockDescription(
                attentionNorm: .layer(weight: b + "ln_1.weight", bias: b + "ln_1.bias"),
                qkv: .separate(q: linear(b, "attn.q_proj", d, d, biased: false), k: linear(b, "attn.k_proj", d, d, biased: false),
                               v: linear(b, "attn.v_proj", d, d, biased: false)),
                queryKeyNorm: nil,
                output: linear(b, "attn.out_proj", d, d, biased: false),
                postAttentionNorm: nil,
                mlpNorm: nil,
                parallel: true,
                mlpInput: .plain(linear(b, "mlp.fc_in", d, f, biased: true)),
                down: linear(b, "mlp.fc_out", f, d, biased: true),
                postMLPNorm: nil,
                attentionScale: attentionScale(config), attentionSoftCap: nil, slidingWindow: nil, rotary: .init(local: false), clipQKV: nil)
        }
        let untiedHead = untied("lm_head.weight", config, tensorNames)
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: "transformer.wte.weight",
                            finalNorm: .layer(weight: "transformer.ln_f.weight", bias: "transformer.ln_f.bias"),
                            unembedding: untiedHead, unembeddingBias: tensorNames.contains("lm_head.bias") ? "lm_head.bias" : nil,
                            usesRotary: true, rotaryInterleaved: true, blocks: blocks)
    }
}
