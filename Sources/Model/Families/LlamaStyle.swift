import Foundation
import Checkpoints

/// What the families that follow Llama's names share: config.json's size keys, and in llama.cpp's
/// GGUF files the metadata keys and tensor names that Gemma, OLMo and Phi-3 extend.
enum LlamaStyle {
    /// llama.cpp's names of a block's tensors (after `blk.N.`) and Llama's (after `model.layers.N.`).
    static let blockNames = [
        "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm",
        "attn_k_norm": "self_attn.k_norm", "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj",
        "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    ]

    /// A GGUF file's config.json in Llama's keys, as transformers reads the metadata, and Llama's
    /// tensor names. The head dimension is the first of `headDimensionKeys` given, else what the
    /// query rows hold.
    static func ggufLayout(_ file: GGUFFile, architecture: String, modelType: String,
                           headDimensionKeys: [String] = ["attention.key_length"]) throws -> GGUFLayout {
        let meta = GGUFMetadata(file, architecture: architecture)
        var config: [String: Any] = ["model_type": modelType]
        config["hidden_size"] = try meta.int("embedding_length")
        config["intermediate_size"] = try meta.int("feed_forward_length")
        config["num_hidden_layers"] = try meta.int("block_count")
        let heads = try meta.int("attention.head_count")
        config["num_attention_heads"] = heads
        config["num_key_value_heads"] = meta.value("attention.head_count_kv")?.int ?? heads
        config["max_position_embeddings"] = try meta.int("context_length")
        if let epsilon = meta.value("attention.layer_norm_rms_epsilon")?.double ?? meta.value("attention.layer_norm_epsilon")?.double {
            config["rms_norm_eps"] = epsilon
        }
        if let headDimension = headDimensionKeys.lazy.compactMap({ meta.value($0)?.int }).first {
            config["head_dim"] = headDimension
        } else if let query = file.tensorsByName["blk.0.attn_q.weight"], heads > 0 {
            config["head_dim"] = query.shape[0] / heads
        }
        if let theta = meta.value("rope.freq_base")?.double { config["rope_theta"] = theta }
        if let scaling = try meta.ropeScaling() { config["rope_scaling"] = scaling }
        if let window = meta.value("attention.sliding_window")?.int { config["sliding_window"] = window }
        if let softcap = meta.value("attn_logit_softcapping")?.double { config["attn_logit_softcapping"] = softcap }
        if let softcap = meta.value("final_logit_softcapping")?.double { config["final_logit_softcapping"] = softcap }
        return GGUFLayout(config: config, blockPrefix: "model.layers.", blockNames: blockNames, modelNames: [
            "token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head",
        ])
    }

    /// Whether the file's query projection has a bias (transformers' `attention_bias` for Llama and OLMo).
    static func hasQueryBias(_ file: GGUFFile) -> Bool { file.tensorsByName["blk.0.attn_q.bias"] != nil }
}

extension ModelConfig {
    /// The sizes of the families whose config.json uses Llama's key names.
    mutating func readLlamaStyleSizes(_ keys: ConfigKeys) throws {
        hiddenSize = try keys.int("hidden_size")
        layerCount = try keys.int("num_hidden_layers")
        headCount = try keys.int("num_attention_heads")
        kvHeadCount = keys.optionalInt("num_key_value_heads") ?? headCount
        intermediateSize = try keys.int("intermediate_size")
        vocabSize = try keys.int("vocab_size")
        contextLength = try keys.int("max_position_embeddings")
        headDim = keys.optionalInt("head_dim") ?? hiddenSize / max(headCount, 1)
    }
}
