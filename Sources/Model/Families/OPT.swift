import Foundation
import Tensors

/// OPT: learned positions from row 2 of `embed_positions`, pre-norm LayerNorm blocks with biases
/// everywhere, ReLU MLP (`fc1`, `fc2` on the layer itself), tied unembedding. OPT-350m's
/// `do_layer_norm_before: false` normalises the stream after each residual add instead (and has
/// no final norm); its `word_embed_proj_dim` ≠ hidden size adds `project_in` after the token
/// embedding and `project_out` before the unembedding.
struct OPT: ModelFamily {
    static let modelTypes = ["opt"]
    let name = "opt"
    /// `do_layer_norm_before: false` (OPT-350m): each block normalises the stream after each
    /// residual add, and there is no final norm.
    let normsAfterResidual: Bool
    /// `word_embed_proj_dim` when it differs from the hidden size: the token embedding and the
    /// unembedding are this wide, projected in before block 0 and out after the last.
    let embeddingProjection: Int?

    init(_ keys: ConfigKeys) {
        normsAfterResidual = !keys.bool("do_layer_norm_before", default: true)
        let projection = keys.optionalInt("word_embed_proj_dim")
        embeddingProjection = projection != keys.optionalInt("hidden_size") ? projection : nil
    }

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        config.hiddenSize = try keys.int("hidden_size")
        config.layerCount = try keys.int("num_hidden_layers")
        config.headCount = try keys.int("num_attention_heads")
        config.kvHeadCount = config.headCount
        config.headDim = config.hiddenSize / max(config.headCount, 1)
        config.intermediateSize = try keys.int("ffn_dim")
        config.vocabSize = try keys.int("vocab_size")
        config.contextLength = try keys.int("max_position_embeddings")
        config.normEpsilon = 1e-5
        config.activation = keys.string("activation_function") ?? "relu"
        config.tieWordEmbeddings = keys.bool("tie_word_embeddings", default: true)
        config.attentionBias = keys.bool("enable_bias", default: true)
        config.mlpBias = config.attentionBias
        if !keys.bool("layer_norm_elementwise_affine", default: true) || keys.bool("_remove_final_layer_norm", default: false) {
            throw InputError(keys.path, "OPT without LayerNorm parameters or without its final LayerNorm is not supported")
        }
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize, bias = config.attentionBias
        let p = "model.decoder."
        func layerNorm(_ name: String) -> BlockDescription.Norm { .layer(weight: name + ".weight", bias: name + ".bias") }
        let postNorm = normsAfterResidual
        let blocks = (0..<config.layerCount).map { l in
            let b = "\(p)layers.\(l)."
            var block = BlockDescription(
                attentionNorm: postNorm ? nil : layerNorm(b + "self_attn_layer_norm"),
                qkv: .separate(q: linear(b, "self_attn.q_proj", d, d, biased: bias), k: linear(b, "self_attn.k_proj", d, d, biased: bias),
                               v: linear(b, "self_attn.v_proj", d, d, biased: bias)),
                queryKeyNorm: nil,
                output: linear(b, "self_attn.out_proj", d, d, biased: bias),
                postAttentionNorm: nil,
                mlpNorm: postNorm ? nil : layerNorm(b + "final_layer_norm"),
                parallel: false,
                mlpInput: .plain(linear(b, "fc1", d, f, biased: bias)),
                down: linear(b, "fc2", f, d, biased: bias),
                postMLPNorm: nil,
                attentionScale: attentionScale(config), attentionSoftCap: nil, slidingWindow: nil, rotary: nil, clipQKV: nil)
            if postNorm {
                block.normAfterAttentionAdd = layerNorm(b + "self_attn_layer_norm")
                block.normAfterMLPAdd = layerNorm(b + "final_layer_norm")
            }
            return block
        }
        let projected = embeddingProjection != nil
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: p + "embed_tokens.weight",
                            embeddingWidth: embeddingProjection,
                            projectIn: projected ? p + "project_in.weight" : nil, projectOut: projected ? p + "project_out.weight" : nil,
                            positionEmbedding: p + "embed_positions.weight", positionOffset: 2,
                            finalNorm: postNorm ? nil : layerNorm(p + "final_layer_norm"),
                            unembedding: untied("lm_head.weight", config, tensorNames), usesRotary: false, blocks: blocks)
    }
}
