import Foundation
import Checkpoints
import Tensors

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

/// The part of `config.json` the engine needs, normalised across spellings.
public struct ModelConfig: Sendable {
    public var modelType: String
    /// The family that read this config, with its own settings (Families/).
    var family: any ModelFamily
    public var architectures: [String]
    public var hiddenSize = 0
    public var intermediateSize = 0
    public var layerCount = 0
    public var headCount = 0
    public var kvHeadCount = 0
    public var headDim = 0
    public var vocabSize = 0
    public var contextLength = 0
    public var normEpsilon = 1e-5
    public var activation = "silu"
    public var tieWordEmbeddings = false
    /// Qwen 2 has biases on q, k and v; GPT-2 on every linear layer.
    public var attentionBias = false
    /// Llama's `mlp_bias`: biases on gate, up and down projections.
    public var mlpBias = false
    /// Qwen 3 and Gemma 3 normalise queries and keys per head, OLMo 2 over the whole projection.
    public var queryKeyNorm = false
    public var rope = RopeScaling()
    /// Gemma 3's rotary settings for its sliding-window blocks (the others use `rope`).
    public var localRope: RopeScaling?
    /// The leading dimensions of each head that rotate (GPT-NeoX's `rotary_pct`, Phi-3's
    /// `partial_rotary_factor`); the rest pass through.
    public var rotaryDimensions = 0
    public var slidingWindow: Int?
    /// Per block, whether it attends within `slidingWindow` only; nil when every block does.
    public var slidingBlocks: [Bool]?
    /// Gemma 2/3 scale attention scores by 1/√query_pre_attn_scalar instead of 1/√head_dim.
    public var queryPreAttentionScalar: Double?
    /// Gemma 2's soft caps: scores and final logits become cap · tanh(x / cap).
    public var attentionSoftCap: Double?
    public var finalSoftCap: Double?
    /// GPT-NeoX's `use_parallel_residual`: attention and MLP both read the block's input.
    public var parallelResidual = false
    /// OLMo's and MPT's `clip_qkv`: q, k and v are clamped to ±clip.
    public var clipQKV: Double?
    /// The dtype the checkpoint says it was saved in (`dtype` or `torch_dtype`), if given.
    public var dtype: String?
    public var bosTokenID: Int?
    public var eosTokenIDs: [Int]

    /// What `info` calls the model's family: "gpt2", "gemma2".
    public var familyName: String { family.name }

    /// Every config.json model_type neurotop runs.
    public static var supportedModelTypes: [String] { ModelFamilies.all.flatMap { $0.modelTypes } }

    /// Reads `config.json` at `path`; every problem is reported against that file.
    public static func load(path: String) throws -> ModelConfig {
        try ModelConfig(json: SafetensorsFolder.readConfig(path: path), path: path)
    }

    public init(json: [String: Any], path: String) throws {
        guard let type = json["model_type"] as? String else {
            throw InputError(path, "no model_type; neurotop runs \(Self.supportedModelTypes.joined(separator: ", "))")
        }
        guard let familyType = ModelFamilies.family(modelType: type) else {
            throw InputError(path, ModelFamilies.refusal(modelType: type) ?? "unknown model_type '\(type)'; neurotop runs \(Self.supportedModelTypes.joined(separator: ", "))")
        }
        modelType = type
        // A multimodal model keeps its language model's settings in text_config (over the top level's).
        let json = familyType.multimodalModelTypes.contains(type)
            ? json.merging(json["text_config"] as? [String: Any] ?? [:]) { _, text in text }.merging(["model_type": type]) { _, top in top } : json
        let keys = ConfigKeys(json: json, path: path)
        architectures = json["architectures"] as? [String] ?? []
        dtype = (json["dtype"] as? String) ?? (json["torch_dtype"] as? String)
        bosTokenID = keys.optionalInt("bos_token_id")
        if let list = json["eos_token_id"] as? [Any] {
            eosTokenIDs = list.compactMap { ($0 as? NSNumber)?.intValue }
        } else {
            eosTokenIDs = keys.optionalInt("eos_token_id").map { [$0] } ?? []
        }
        let family = try familyType.init(keys)
        self.family = family
        try family.read(keys, into: &self)
        if rotaryDimensions == 0 { rotaryDimensions = headDim }
        try validate(path: path)
    }

    /// Whether block `index` attends within the sliding window.
    public func isSliding(block index: Int) -> Bool {
        guard slidingWindow != nil else { return false }
        return slidingBlocks?[index] ?? true
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
        if let slidingBlocks, slidingBlocks.count != layerCount {
            throw InputError(path, "layer_types lists \(slidingBlocks.count) layers for \(layerCount) blocks")
        }
    }
}

/// Typed access to config keys, with errors naming the key and the file.
struct ConfigKeys {
    let json: [String: Any]
    let path: String

    func optionalInt(_ key: String) -> Int? {
        (json[key] as? NSNumber).flatMap { Int(exactly: $0.doubleValue) }
    }

    func optionalDouble(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }

    func bool(_ key: String, default value: Bool) -> Bool { json[key] as? Bool ?? value }

    func string(_ key: String) -> String? { json[key] as? String }

    /// transformers 5's `layer_types` as per-block sliding flags, if given.
    func slidingLayerTypes() throws -> [Bool]? {
        guard let types = json["layer_types"] as? [String] else { return nil }
        return try types.map { type in
            switch type {
            case "sliding_attention": return true
            case "full_attention": return false
            default: throw InputError(path, "layer type '\(type)' is not supported (sliding_attention and full_attention are)")
            }
        }
    }

    /// The first of `names` present, as an integer.
    func int(_ names: String...) throws -> Int {
        for name in names where json[name] != nil && !(json[name] is NSNull) {
            guard let value = optionalInt(name) else { throw InputError(path, "'\(name)' is not an integer") }
            return value
        }
        throw InputError(path, "missing '\(names[0])'")
    }

    /// Rotary settings: transformers 5's `rope_parameters`, else top-level `rope_theta` with `rope_scaling`.
    func rope(parameters given: [String: Any]? = nil) throws -> RopeScaling {
        var rope = RopeScaling()
        let parameters = given ?? json["rope_parameters"] as? [String: Any]
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
