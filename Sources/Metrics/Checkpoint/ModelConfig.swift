import Foundation

/// How positions are rotated into queries and keys, as `config.json` describes it either in the
/// older spelling (top-level `rope_theta`, `rope_scaling`) or transformers 5's (`rope_parameters`).
public struct RopeScaling: Equatable, Sendable {
    public enum Kind: String, Sendable { case none = "default", linear, llama3 }
    public var kind: Kind = .none
    public var theta: Double = 10_000
    public var factor: Double = 1
    public var lowFrequencyFactor: Double = 1
    public var highFrequencyFactor: Double = 4
    public var originalContext: Int = 8192

    public init(kind: Kind = .none, theta: Double = 10_000, factor: Double = 1, lowFrequencyFactor: Double = 1,
                highFrequencyFactor: Double = 4, originalContext: Int = 8192) {
        self.kind = kind
        self.theta = theta
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalContext = originalContext
    }
}

/// The architecture families the engine runs. Each family is one description over shared blocks.
public enum ModelFamily: String, Sendable {
    case gpt2
    /// Llama 1/2/3, Mistral, Qwen 2, Qwen 3, Yi: pre-norm RMSNorm blocks, rotary attention, gated MLP.
    case llama
}

/// The part of `config.json` the engine needs, normalised across spellings.
public struct ModelConfig: Sendable {
    public var modelType: String
    public var family: ModelFamily
    public var architectures: [String]
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var normEpsilon: Double
    public var activation: String
    public var tieWordEmbeddings: Bool
    /// Qwen 2 has biases on q, k and v; GPT-2 on every linear layer.
    public var attentionBias: Bool
    /// Llama's `mlp_bias`: biases on gate, up and down projections.
    public var mlpBias: Bool
    /// Qwen 3 normalises queries and keys per head.
    public var queryKeyNorm: Bool
    public var rope: RopeScaling
    public var slidingWindow: Int?
    /// The dtype the checkpoint says it was saved in (`dtype` or `torch_dtype`), if given.
    public var dtype: String?
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]

    public static let supportedModelTypes = ["gpt2", "llama", "mistral", "qwen2", "qwen3"]

    /// Reads `config.json` at `path`; every problem is reported against that file.
    public static func load(path: String) throws -> ModelConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "missing: a model folder needs a config.json")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
            throw InputError(path, "not a JSON object")
        }
        return try ModelConfig(json: json, path: path)
    }

    init(json: [String: Any], path: String) throws {
        let keys = ConfigKeys(json: json, path: path)
        guard let type = json["model_type"] as? String else {
            throw InputError(path, "no model_type; neurotop runs \(Self.supportedModelTypes.joined(separator: ", "))")
        }
        modelType = type
        architectures = json["architectures"] as? [String] ?? []
        dtype = (json["dtype"] as? String) ?? (json["torch_dtype"] as? String)
        bosTokenID = keys.optionalInt("bos_token_id")
        if let list = json["eos_token_id"] as? [Any] {
            eosTokenIDs = list.compactMap { ($0 as? NSNumber)?.intValue }
        } else {
            eosTokenIDs = keys.optionalInt("eos_token_id").map { [$0] } ?? []
        }
        switch type {
        case "gpt2":
            family = .gpt2
            hiddenSize = try keys.int("n_embd", "hidden_size")
            layerCount = try keys.int("n_layer", "num_hidden_layers")
            headCount = try keys.int("n_head", "num_attention_heads")
            kvHeadCount = headCount
            intermediateSize = keys.optionalInt("n_inner") ?? 4 * hiddenSize
            vocabSize = try keys.int("vocab_size")
            contextLength = try keys.int("n_positions", "max_position_embeddings")
            normEpsilon = keys.optionalDouble("layer_norm_epsilon") ?? 1e-5
            activation = json["activation_function"] as? String ?? "gelu_new"
            tieWordEmbeddings = json["tie_word_embeddings"] as? Bool ?? true
            attentionBias = true
            mlpBias = true
            queryKeyNorm = false
            rope = RopeScaling()
            slidingWindow = nil
            headDim = hiddenSize / max(headCount, 1)
        case "llama", "mistral", "qwen2", "qwen3":
            family = .llama
            hiddenSize = try keys.int("hidden_size")
            layerCount = try keys.int("num_hidden_layers")
            headCount = try keys.int("num_attention_heads")
            kvHeadCount = keys.optionalInt("num_key_value_heads") ?? headCount
            intermediateSize = try keys.int("intermediate_size")
            vocabSize = try keys.int("vocab_size")
            contextLength = try keys.int("max_position_embeddings")
            normEpsilon = keys.optionalDouble("rms_norm_eps") ?? 1e-6
            activation = json["hidden_act"] as? String ?? "silu"
            tieWordEmbeddings = json["tie_word_embeddings"] as? Bool ?? false
            attentionBias = type == "qwen2" || (json["attention_bias"] as? Bool ?? false)
            mlpBias = json["mlp_bias"] as? Bool ?? false
            queryKeyNorm = type == "qwen3"
            headDim = keys.optionalInt("head_dim") ?? hiddenSize / max(headCount, 1)
            rope = try keys.rope()
            let usesSlidingWindow = json["use_sliding_window"] as? Bool ?? (type == "mistral")
            slidingWindow = usesSlidingWindow ? keys.optionalInt("sliding_window") : nil
        default:
            throw InputError(path, "unknown model_type '\(type)'; neurotop runs \(Self.supportedModelTypes.joined(separator: ", "))")
        }
        try validate(path: path)
    }

    private func validate(path: String) throws {
        let positive: [(String, Int)] = [("hidden size", hiddenSize), ("layer count", layerCount), ("head count", headCount),
                                         ("key/value head count", kvHeadCount), ("head dimension", headDim),
                                         ("MLP width", intermediateSize), ("vocabulary size", vocabSize), ("context length", contextLength)]
        for (what, value) in positive where value <= 0 {
            throw InputError(path, "\(what) must be positive, got \(value)")
        }
        guard headCount % kvHeadCount == 0 else {
            throw InputError(path, "\(headCount) attention heads do not divide into \(kvHeadCount) key/value heads")
        }
        if family == .gpt2, hiddenSize % headCount != 0 {
            throw InputError(path, "n_embd \(hiddenSize) is not a multiple of n_head \(headCount)")
        }
        if family == .llama, headDim % 2 != 0 {
            throw InputError(path, "head dimension \(headDim) must be even for rotary embeddings")
        }
    }
}

/// Typed access to config keys, with errors naming the key and the file.
private struct ConfigKeys {
    let json: [String: Any]
    let path: String

    func optionalInt(_ key: String) -> Int? {
        (json[key] as? NSNumber).flatMap { Int(exactly: $0.doubleValue) }
    }

    func optionalDouble(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }

    /// The first of `names` present, as an integer.
    func int(_ names: String...) throws -> Int {
        for name in names where json[name] != nil && !(json[name] is NSNull) {
            guard let value = optionalInt(name) else { throw InputError(path, "'\(name)' is not an integer") }
            return value
        }
        throw InputError(path, "missing '\(names[0])'")
    }

    /// Rotary settings: transformers 5's `rope_parameters`, else top-level `rope_theta` with `rope_scaling`.
    func rope() throws -> RopeScaling {
        var rope = RopeScaling()
        let parameters = json["rope_parameters"] as? [String: Any]
        let scaling = parameters ?? (json["rope_scaling"] as? [String: Any])
        if let theta = (parameters?["rope_theta"] as? NSNumber) ?? (json["rope_theta"] as? NSNumber) {
            rope.theta = theta.doubleValue
        }
        guard let scaling else { return rope }
        let typeName = (scaling["rope_type"] as? String) ?? (scaling["type"] as? String) ?? "default"
        guard let kind = RopeScaling.Kind(rawValue: typeName) else {
            throw InputError(path, "rope scaling type '\(typeName)' is not supported (default, linear and llama3 are)")
        }
        rope.kind = kind
        func number(_ key: String) -> Double? { (scaling[key] as? NSNumber)?.doubleValue }
        if kind != .none {
            guard let factor = number("factor"), factor > 0 else {
                throw InputError(path, "rope scaling '\(typeName)' needs a positive 'factor'")
            }
            rope.factor = factor
        }
        if kind == .llama3 {
            rope.lowFrequencyFactor = number("low_freq_factor") ?? rope.lowFrequencyFactor
            rope.highFrequencyFactor = number("high_freq_factor") ?? rope.highFrequencyFactor
            rope.originalContext = (scaling["original_max_position_embeddings"] as? NSNumber)?.intValue ?? rope.originalContext
        }
        return rope
    }
}
