import Foundation
import Checkpoints
import Tensors

/// GPT-2: learned positions, pre-norm LayerNorm blocks, fused c_attn (q|k|v), `Conv1D` weights
/// stored `[in, out]`, tied unembedding.
struct GPT2: GGUFFamily {
    static let modelTypes = ["gpt2"]
    static let ggufArchitectures = ["gpt2"]
    let name = "gpt2"

    init(_ keys: ConfigKeys) {}

    func read(_ keys: ConfigKeys, into config: inout ModelConfig) throws {
        config.hiddenSize = try keys.int("n_embd", "hidden_size")
        config.layerCount = try keys.int("n_layer", "num_hidden_layers")
        config.headCount = try keys.int("n_head", "num_attention_heads")
        config.kvHeadCount = config.headCount
        config.intermediateSize = keys.optionalInt("n_inner") ?? 4 * config.hiddenSize
        config.vocabSize = try keys.int("vocab_size")
        config.contextLength = try keys.int("n_positions", "max_position_embeddings")
        config.normEpsilon = keys.optionalDouble("layer_norm_epsilon") ?? 1e-5
        config.activation = keys.string("activation_function") ?? "gelu_new"
        config.tieWordEmbeddings = keys.bool("tie_word_embeddings", default: true)
        config.attentionBias = true
        config.mlpBias = true
        config.headDim = config.hiddenSize / max(config.headCount, 1)
        // A head count that is not positive is reported with the other sizes.
        if config.headCount > 0, config.hiddenSize % config.headCount != 0 {
            throw InputError(keys.path, "n_embd \(config.hiddenSize) is not a multiple of n_head \(config.headCount)")
        }
    }

    func architecture(_ config: ModelConfig, _ activation: Activation, _ tensorNames: Set<String>) -> Architecture {
        // Hugging Face saves GPT2LMHeadModel under `transformer.`; the original checkpoints have no prefix.
        let p = tensorNames.contains("transformer.wte.weight") ? "transformer." : ""
        let d = config.hiddenSize, f = config.intermediateSize
        let blocks = (0..<config.layerCount).map { l in
            let b = "\(p)h.\(l)."
            return BlockDescription(
                attentionNorm: .layer(weight: b + "ln_1.weight", bias: b + "ln_1.bias"),
                qkv: .fused(.init(weight: b + "attn.c_attn.weight", bias: b + "attn.c_attn.bias", inFeatures: d, outFeatures: 3 * d), order: nil),
                queryKeyNorm: nil,
                output: .init(weight: b + "attn.c_proj.weight", bias: b + "attn.c_proj.bias", inFeatures: d, outFeatures: d),
                postAttentionNorm: nil,
                mlpNorm: .layer(weight: b + "ln_2.weight", bias: b + "ln_2.bias"),
                parallel: false,
                mlpInput: .plain(.init(weight: b + "mlp.c_fc.weight", bias: b + "mlp.c_fc.bias", inFeatures: d, outFeatures: f)),
                down: .init(weight: b + "mlp.c_proj.weight", bias: b + "mlp.c_proj.bias", inFeatures: f, outFeatures: d),
                postMLPNorm: nil,
                attentionScale: attentionScale(config), attentionSoftCap: nil, slidingWindow: nil, rotary: nil, clipQKV: nil)
        }
        return Architecture(config: config, layout: .inOut, activation: activation, tokenEmbedding: p + "wte.weight",
                            positionEmbedding: p + "wpe.weight", finalNorm: .layer(weight: p + "ln_f.weight", bias: p + "ln_f.bias"),
                            unembedding: untied("lm_head.weight", config, tensorNames), usesRotary: false, blocks: blocks)
    }

    static func ggufLayout(_ file: GGUFFile, architecture: String) throws -> GGUFLayout {
        let meta = GGUFMetadata(file, architecture: architecture)
        var config: [String: Any] = ["model_type": "gpt2"]
        config["n_embd"] = try meta.int("embedding_length")
        config["n_layer"] = try meta.int("block_count")
        config["n_head"] = try meta.int("attention.head_count")
        config["n_positions"] = try meta.int("context_length")
        if let inner = meta.value("feed_forward_length")?.int { config["n_inner"] = inner }
        if let epsilon = meta.value("attention.layer_norm_epsilon")?.double { config["layer_norm_epsilon"] = epsilon }
        var layout = GGUFLayout(config: config, blockPrefix: "h.", blockNames: [
            "attn_norm": "ln_1", "attn_qkv": "attn.c_attn", "attn_output": "attn.c_proj",
            "ffn_norm": "ln_2", "ffn_up": "mlp.c_fc", "ffn_down": "mlp.c_proj",
        ], modelNames: [
            "token_embd": "wte", "position_embd": "wpe", "output_norm": "ln_f", "output": "lm_head",
        ])
        // llama.cpp stores the Conv1D weights `[out, in]`.
        layout.transforms = ["attn_qkv.weight", "attn_output.weight", "ffn_up.weight", "ffn_down.weight"].map { ($0, .transpose) }
        return layout
    }
}
