import Foundation

/// OPT: learned positions from row 2 of `embed_positions`, pre-norm LayerNorm blocks with biases
/// everywhere, ReLU MLP (`fc1`, `fc2` on the layer itself), tied unembedding. OPT-350m's
/// `do_layer_norm_before: false` normalises the stream after each residual add instead (and has
/// no final norm); its `word_embed_proj_dim` ≠ hidden size adds `project_in` after the token
/// embedding and `project_out` before the unembedding.
extension ModelConfig {
    mutating func readOPT(_ keys: ConfigKeys) throws {
        family = .opt
        hiddenSize = try keys.int("hidden_size")
        layerCount = try keys.int("num_hidden_layers")
        headCount = try keys.int("num_attention_heads")
        kvHeadCount = headCount
        headDim = hiddenSize / max(headCount, 1)
        intermediateSize = try keys.int("ffn_dim")
        vocabSize = try keys.int("vocab_size")
        contextLength = try keys.int("max_position_embeddings")
        normEpsilon = 1e-5
        activation = keys.string("activation_function") ?? "relu"
        tieWordEmbeddings = keys.bool("tie_word_embeddings", default: true)
        attentionBias = keys.bool("enable_bias", default: true)
        mlpBias = attentionBias
        normsAfterResidual = !keys.bool("do_layer_norm_before", default: true)
        if let projection = keys.optionalInt("word_embed_proj_dim"), projection != hiddenSize {
            embeddingProjection = projection
        }
        if !keys.bool("layer_norm_elementwise_affine", default: true) || keys.bool("_remove_final_layer_norm", default: false) {
            throw InputError(keys.path, "OPT without LayerNorm parameters or without its final LayerNorm is not supported")
        }
    }
}

extension Architecture {
    static func opt(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        let d = config.hiddenSize, f = config.intermediateSize, bias = config.attentionBias
        let p = "model.decoder."
        func layerNorm(_ name: String) -> BlockDescription.Norm { .layer(weight: name + ".weight", bias: name + ".bias") }
        let postNorm = config.normsAfterResidual
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
        let projected = config.embeddingProjection != nil
        return Architecture(config: config, layout: .outIn, activation: activation, tokenEmbedding: p + "embed_tokens.weight",
                            projectIn: projected ? p + "project_in.weight" : nil, projectOut: projected ? p + "project_out.weight" : nil,
                            positionEmbedding: p + "embed_positions.weight", positionOffset: 2,
                            finalNorm: postNorm ? nil : layerNorm(p + "final_layer_norm"),
                            unembedding: untied("lm_head.weight", config, tensorNames), usesRotary: false, blocks: blocks)
    }
}
