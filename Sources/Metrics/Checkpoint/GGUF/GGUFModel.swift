import Foundation

/// One of a GGUF file's tensors as the engine reads it: under its Hugging Face name and shape,
/// dequantized row range by row range, with llama.cpp's changes to the values undone.
public struct GGUFModelTensor: Sendable {
    /// What llama.cpp's converter did to the Hugging Face tensor, to be undone on reading.
    enum Transform: Sendable, Equatable {
        case none
        /// Llama's q and k rows, reordered within each head for llama.cpp's rope
        /// (HF row h·2n + a·n + b is stored as row h·2n + 2b + a).
        case unpermuteRotary(heads: Int)
        /// Gemma's norm weights, stored as HF's + 1.
        case subtractOne
        /// GPT-2's Conv1D weights, stored `[out, in]`; the engine reads `[in, out]`.
        case transpose
    }

    public let info: GGUFTensorInfo
    /// The shape the Hugging Face checkpoint has.
    public let shape: [Int]
    let transform: Transform

    public var rowCount: Int { shape.count == 1 ? 1 : shape[0] }
    public var rowWidth: Int { shape.count == 1 ? shape[0] : shape.dropFirst().reduce(1, *) }

    /// Rows `rows` of the Hugging Face tensor as float32 into `destination`; the caller has checked
    /// that the type is dequantizable.
    func readRows(_ file: GGUFFile, _ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        switch transform {
        case .none:
            file.dequantizeRows(info, rows, into: destination)
        case .subtractOne:
            file.dequantizeRows(info, rows, into: destination)
            for i in 0..<(rows.count * rowWidth) { destination[i] -= 1 }
        case .unpermuteRotary(let heads):
            let half = info.rowCount / heads / 2
            for (slot, row) in rows.enumerated() {
                let head = row / (2 * half), within = row % (2 * half)
                let stored = head * 2 * half + (within % half) * 2 + within / half
                file.dequantizeRows(info, stored..<(stored + 1), into: destination + slot * rowWidth)
            }
        case .transpose:
            // Columns of the stored matrix: the whole tensor is dequantized (one tensor, never the model).
            var stored = [Float](repeating: 0, count: info.elementCount)
            stored.withUnsafeMutableBufferPointer { file.dequantizeRows(info, 0..<info.rowCount, into: $0.baseAddress!) }
            let storedWidth = info.rowWidth
            for (slot, row) in rows.enumerated() {
                for column in 0..<rowWidth { destination[slot * rowWidth + column] = stored[column * storedWidth + row] }
            }
        }
    }
}

/// A model stored as one GGUF file: its `config.json` rebuilt from the metadata (as transformers
/// does when it loads the file) and its tensors under the names of the Hugging Face checkpoint.
public final class GGUFModel {
    public let file: GGUFFile
    /// `general.architecture`, llama.cpp's name for the family.
    public let architecture: String
    /// The `config.json` transformers builds from this file's metadata.
    public let configJSON: [String: Any]
    /// Tensors by Hugging Face name.
    public let tensors: [String: GGUFModelTensor]

    /// llama.cpp architectures and the model_type transformers gives them. The engine runs those its
    /// ModelConfig supports; the rest are refused by name until it does.
    static let modelTypes: [String: String] = [
        "llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gpt2": "gpt2",
        "gemma": "gemma", "gemma2": "gemma2", "gemma3": "gemma3_text", "phi3": "phi3",
        "olmo": "olmo", "olmo2": "olmo2",
    ]
    /// Families llama.cpp stores with their attention projections fused or reordered in ways not
    /// yet undone here (GPT-NeoX, Falcon and MPT reorder q/k/v; GPT-J's rotary layout differs).
    static let unmapped = ["gptneox", "gptj", "falcon", "mpt"]

    public init(file: GGUFFile) throws {
        self.file = file
        let path = file.path
        guard let architecture = file.metadata["general.architecture"]?.string else {
            throw InputError(path, "no general.architecture in the metadata")
        }
        self.architecture = architecture
        guard let modelType = Self.modelTypes[architecture] else {
            if Self.unmapped.contains(architecture) {
                throw InputError(path, "architecture '\(architecture)': reading its fused attention weights from GGUF is not supported yet")
            }
            throw InputError(path, "architecture '\(architecture)' is not supported (GGUF files of \(Self.modelTypes.keys.sorted().joined(separator: ", ")) are read)")
        }
        let supported = ModelConfig.supportedModelTypes
        guard supported.contains(modelType) || supported.contains(architecture) else {
            throw InputError(path, "architecture '\(architecture)' (Hugging Face model_type \(modelType)) is not run by neurotop yet; it runs \(supported.joined(separator: ", "))")
        }
        if file.tensorsByName["rope_freqs.weight"] != nil {
            throw InputError(path, "rope frequency factors (rope_freqs.weight, Llama 3.1-style rope scaling) are not supported")
        }

        let names = Self.tensorNames(architecture: architecture)
        var config = try Self.config(file: file, architecture: architecture, modelType: modelType)
        let heads = config["num_attention_heads"] as? Int ?? 1
        let kvHeads = config["num_key_value_heads"] as? Int ?? heads
        var tensors: [String: GGUFModelTensor] = [:]
        for info in file.tensors {
            guard let name = Self.huggingFaceName(info.name, names) else { continue }
            var transform = GGUFModelTensor.Transform.none
            var shape = info.shape
            if architecture == "llama", info.name.hasSuffix(".attn_q.weight") || info.name.hasSuffix(".attn_q.bias") {
                transform = .unpermuteRotary(heads: heads)
            } else if architecture == "llama", info.name.hasSuffix(".attn_k.weight") || info.name.hasSuffix(".attn_k.bias") {
                transform = .unpermuteRotary(heads: kvHeads)
            } else if architecture.hasPrefix("gemma"), info.name.hasSuffix("norm.weight") {
                transform = .subtractOne
            } else if architecture == "gpt2", shape.count == 2,
                      ["attn_qkv.weight", "attn_output.weight", "ffn_up.weight", "ffn_down.weight"].contains(where: info.name.hasSuffix) {
                transform = .transpose
                shape = [shape[1], shape[0]]
            }
            if case .unpermuteRotary(let h) = transform, info.shape[0] % (2 * h) != 0 {
                throw InputError(path, "tensor '\(info.name)': \(info.shape[0]) rows do not split into \(h) heads of rotary pairs")
            }
            if tensors[name] != nil { throw InputError(path, "two tensors map onto '\(name)'") }
            tensors[name] = GGUFModelTensor(info: info, shape: shape, transform: transform)
        }
        // The vocabulary is what the embedding holds; the head dimension what the query rows give.
        if let embedding = tensors[architecture == "gpt2" ? "wte.weight" : "model.embed_tokens.weight"], embedding.shape.count == 2 {
            config["vocab_size"] = embedding.shape[0]
        }
        if config["head_dim"] == nil, let query = tensors["model.layers.0.self_attn.q_proj.weight"], heads > 0 {
            config["head_dim"] = query.shape[0] / heads
        }
        let hasOutput = tensors["lm_head.weight"] != nil
        config["tie_word_embeddings"] = !hasOutput
        if architecture == "llama" || architecture == "olmo" {
            config["attention_bias"] = tensors["model.layers.0.self_attn.q_proj.bias"] != nil
        }
        configJSON = config
        self.tensors = tensors
    }

    /// Checks, when a model is opened, that a tensor it needs is here, in the shape it needs and
    /// in a type neurotop dequantizes.
    func checkTensor(_ name: String, shape: [Int], modelType: String) throws {
        guard let tensor = tensors[name] else {
            throw InputError(file.path, "no tensor for '\(name)', which a \(modelType) model needs")
        }
        guard tensor.shape == shape else {
            throw InputError(file.path, "tensor '\(tensor.info.name)' has shape \(tensor.shape) as '\(name)'; the metadata implies \(shape)")
        }
        guard tensor.info.type.isDequantizable else { throw file.unsupported(tensor.info) }
    }

    /// The model's configuration, as `ModelConfig` reads a `config.json`.
    public func modelConfig() throws -> ModelConfig { try ModelConfig(json: configJSON, path: file.path) }

    /// Counts of stored tensors by ggml type, most common first.
    public var typeCounts: [(type: GGMLType, count: Int)] {
        var counts: [GGMLType: Int] = [:]
        for tensor in file.tensors { counts[tensor.type, default: 0] += 1 }
        return counts.sorted { ($0.value, $1.key.rawValue) > ($1.value, $0.key.rawValue) }.map { ($0.key, $0.value) }
    }

    // MARK: Names

    /// llama.cpp's per-block tensor names (after `blk.N.`) and the Hugging Face ones (after the
    /// block prefix), and the model-level names, for one architecture.
    struct NameMap {
        let blockPrefix: String
        let block: [String: String]
        let model: [String: String]
    }

    static func tensorNames(architecture: String) -> NameMap {
        if architecture == "gpt2" {
            return NameMap(blockPrefix: "h.", block: [
                "attn_norm": "ln_1", "attn_qkv": "attn.c_attn", "attn_output": "attn.c_proj",
                "ffn_norm": "ln_2", "ffn_up": "mlp.c_fc", "ffn_down": "mlp.c_proj",
            ], model: [
                "token_embd": "wte", "position_embd": "wpe", "output_norm": "ln_f", "output": "lm_head",
            ])
        }
        var block = [
            "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
            "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm",
            "attn_k_norm": "self_attn.k_norm", "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj",
            "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
        ]
        switch architecture {
        case "gemma2", "gemma3":
            block["ffn_norm"] = "pre_feedforward_layernorm"
            block["post_attention_norm"] = "post_attention_layernorm"
            block["post_ffw_norm"] = "post_feedforward_layernorm"
        case "olmo2":
            block["post_attention_norm"] = "post_attention_layernorm"
            block["post_ffw_norm"] = "post_feedforward_layernorm"
        case "phi3":
            block["attn_qkv"] = "self_attn.qkv_proj"
            block["ffn_up"] = "mlp.gate_up_proj"
        default:
            break
        }
        return NameMap(blockPrefix: "model.layers.", block: block, model: [
            "token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head",
        ])
    }

    /// `blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`; nil for tensors the
    /// Hugging Face model does not have (llama.cpp's precomputed rope tables).
    static func huggingFaceName(_ name: String, _ map: NameMap) -> String? {
        let parts = name.split(separator: ".").map(String.init)
        guard let suffix = parts.last, suffix == "weight" || suffix == "bias" else { return nil }
        if parts.count == 4, parts[0] == "blk", let block = Int(parts[1]), let mapped = map.block[parts[2]] {
            return "\(map.blockPrefix)\(block).\(mapped).\(suffix)"
        }
        if parts.count == 2, let mapped = map.model[parts[0]] { return "\(mapped).\(suffix)" }
        return nil
    }

    // MARK: Config

    /// The metadata keys transformers reads into `config.json`, by family, as
    /// `(GGUF key after the architecture prefix, config key)`.
    static func config(file: GGUFFile, architecture: String, modelType: String) throws -> [String: Any] {
        let meta = file.metadata
        func value(_ key: String) -> GGUFValue? { meta["\(architecture).\(key)"] }
        func int(_ key: String) throws -> Int {
            guard let v = value(key)?.int else { throw InputError(file.path, "no integer \(architecture).\(key) in the metadata") }
            return v
        }
        var config: [String: Any] = ["model_type": modelType]
        if let name = meta["general.name"]?.string { config["_name_or_path"] = name }
        if let bos = meta["tokenizer.ggml.bos_token_id"]?.int { config["bos_token_id"] = bos }
        if let eos = meta["tokenizer.ggml.eos_token_id"]?.int { config["eos_token_id"] = eos }
        if let tokens = meta["tokenizer.ggml.tokens"]?.array { config["vocab_size"] = tokens.count }

        if architecture == "gpt2" {
            config["n_embd"] = try int("embedding_length")
            config["n_layer"] = try int("block_count")
            config["n_head"] = try int("attention.head_count")
            config["n_positions"] = try int("context_length")
            if let inner = value("feed_forward_length")?.int { config["n_inner"] = inner }
            if let epsilon = value("attention.layer_norm_epsilon")?.double { config["layer_norm_epsilon"] = epsilon }
            return config
        }
        config["hidden_size"] = try int("embedding_length")
        config["intermediate_size"] = try int("feed_forward_length")
        config["num_hidden_layers"] = try int("block_count")
        config["num_attention_heads"] = try int("attention.head_count")
        config["num_key_value_heads"] = value("attention.head_count_kv")?.int ?? config["num_attention_heads"]
        config["max_position_embeddings"] = try int("context_length")
        if let epsilon = value("attention.layer_norm_rms_epsilon")?.double ?? value("attention.layer_norm_epsilon")?.double {
            config[architecture == "olmo" ? "layer_norm_eps" : "rms_norm_eps"] = epsilon
        }
        if let keyLength = value("attention.key_length")?.int {
            config["head_dim"] = keyLength
        } else if architecture == "llama", let rotary = value("rope.dimension_count")?.int {
            config["head_dim"] = rotary
        }
        if let theta = value("rope.freq_base")?.double { config["rope_theta"] = theta }
        if let kind = value("rope.scaling.type")?.string, kind != "none" {
            guard kind == "linear", let factor = value("rope.scaling.factor")?.double else {
                throw InputError(file.path, "rope scaling '\(kind)' is not supported (linear is)")
            }
            config["rope_scaling"] = ["rope_type": "linear", "factor": factor]
        }
        if let window = value("attention.sliding_window")?.int { config["sliding_window"] = window }
        if let softcap = value("attn_logit_softcapping")?.double { config["attn_logit_softcapping"] = softcap }
        if let softcap = value("final_logit_softcapping")?.double { config["final_logit_softcapping"] = softcap }
        return config
    }
}
