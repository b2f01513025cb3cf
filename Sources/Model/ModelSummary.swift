import Foundation

/// What `neurotop info` and the overview's model card say about a checkpoint.
public struct ModelSummary {
    public let checkpoint: Checkpoint
    /// What the checkpoint's tensors compute, which the descriptions are derived from.
    let architecture: Architecture
    /// The tokenizer's description, or why there is none.
    public let tokenizer: String

    public init(checkpoint: Checkpoint) throws {
        self.checkpoint = checkpoint
        architecture = try Architecture(config: checkpoint.config, tensorNames: Set(checkpoint.tensorNames), path: checkpoint.source.configPath)
        if !checkpoint.hasTokenizer {
            tokenizer = checkpoint.source.missingTokenizer
        } else {
            do {
                let loaded = try checkpoint.loadTokenizer()
                tokenizer = "\(loaded.kind), \(loaded.vocabSize) tokens"
            } catch {
                tokenizer = "unreadable: \(error)"
            }
        }
    }

    var config: ModelConfig { checkpoint.config }

    public static func formatCount(_ n: Int) -> String {
        switch n {
        case 1_000_000_000...: return String(format: "%.2fB", Double(n) / 1e9)
        case 1_000_000...: return String(format: "%.1fM", Double(n) / 1e6)
        case 1_000...: return String(format: "%.1fK", Double(n) / 1e3)
        default: return String(n)
        }
    }

    public static func formatBytes(_ n: Int) -> String {
        switch n {
        case (1 << 30)...: return String(format: "%.2f GiB", Double(n) / Double(1 << 30))
        case (1 << 20)...: return String(format: "%.1f MiB", Double(n) / Double(1 << 20))
        case (1 << 10)...: return String(format: "%.1f KiB", Double(n) / Double(1 << 10))
        default: return "\(n) B"
        }
    }

    /// How positions enter: learned embeddings, ALiBi, or rotary with its settings.
    public var positionsDescription: String {
        if architecture.positionEmbedding != nil { return "learned positions" }
        if architecture.blocks.first?.alibiSlopes != nil { return "ALiBi (no position embedding)" }
        guard architecture.usesRotary else { return "none" }
        func describe(_ rope: RopeScaling) -> String {
            var text = "theta \(rope.theta.formatted)"
            if rope.kind != .none { text += ", \(rope.kind.rawValue) scaling × \(rope.factor.formatted)" }
            if rope.kind == .llama3 {
                text += " (low \(rope.lowFrequencyFactor.formatted), high \(rope.highFrequencyFactor.formatted), original context \(rope.originalContext))"
            }
            return text
        }
        var text = "rotary, " + describe(config.rope)
        if let local = config.localRope { text += "; sliding-window blocks " + describe(local) }
        if config.rotaryDimensions < config.headDim { text += "; first \(config.rotaryDimensions) of \(config.headDim) dimensions" }
        if let window = config.slidingWindow {
            let sliding = (0..<config.layerCount).filter { config.isSliding(block: $0) }.count
            text += "; sliding window \(window) on \(sliding) of \(config.layerCount) blocks"
        }
        return text
    }

    /// Tensor names grouped: block tensors once with the block range, the rest by name.
    public var tensorLines: [String] {
        var lines: [String] = []
        var blockSuffixes: [String] = []
        var lastBlock = -1
        var prefix = ""
        for name in checkpoint.tensorNames {
            if let tensor = Self.blockTensor(name) {
                lastBlock = max(lastBlock, tensor.block)
                if tensor.block == 0 { blockSuffixes.append(tensor.suffix); prefix = tensor.prefix }
                continue
            }
            lines.append(describe(name, name))
        }
        if lastBlock >= 0 {
            lines.append("\(prefix).{0..\(lastBlock)}: \(blockSuffixes.count) tensors each, block 0:")
            for suffix in blockSuffixes { lines.append("  " + describe("\(prefix).0.\(suffix)", suffix)) }
        }
        return lines
    }

    private func describe(_ name: String, _ label: String) -> String {
        guard let tensor = checkpoint.source.tensor(name) else { return label }
        return label.padding(toLength: max(label.count, 34), withPad: " ", startingAt: 0) + "  \(tensor.typeName) \(tensor.shape)"
            + (tensor.storedName.map { "  (\($0))" } ?? "")
    }

    /// `model.layers.3.mlp.up_proj.weight` → (`model.layers`, 3, `mlp.up_proj.weight`); GPT-2's `h.3.` likewise.
    static func blockTensor(_ name: String) -> (prefix: String, block: Int, suffix: String)? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        for (index, part) in parts.enumerated() where index > 0 && (parts[index - 1] == "layers" || parts[index - 1] == "h") {
            if let block = Int(part), index + 1 < parts.count {
                return (parts[..<index].joined(separator: "."), block, parts[(index + 1)...].joined(separator: "."))
            }
        }
        return nil
    }

    public var plainText: String {
        let c = config
        let heads = c.kvHeadCount == c.headCount ? "\(c.headCount) heads" : "\(c.headCount) heads (\(c.kvHeadCount) key/value)"
        let bytes = checkpoint.bytesByDType.values.reduce(0, +)
        var rows: [(String, String)] = [
            ("model", checkpoint.folder),
            ("family", "\(c.familyName) (model_type \(c.modelType)\(c.architectures.isEmpty ? "" : ", " + c.architectures.joined(separator: ", ")))"),
            ("blocks", "\(c.layerCount) × hidden \(c.hiddenSize), MLP width \(c.intermediateSize), \(heads), head dim \(c.headDim)"),
            ("neurons", "\(Self.formatCount(c.layerCount * c.intermediateSize)) (\(c.layerCount) × \(c.intermediateSize)), activation \(c.activation)"),
            ("vocab", "\(c.vocabSize) tokens, context \(c.contextLength)\(c.tieWordEmbeddings ? ", tied embeddings" : "")"),
            ("positions", positionsDescription),
            ("dtype", checkpoint.source.storedTypes.joined(separator: ", ") + (c.dtype.map { " (config: \($0))" } ?? "")),
            ("parameters", "\(Self.formatCount(checkpoint.parameterCount)) (\(Self.formatBytes(bytes)))"),
            ("files", checkpoint.source.filesDescription),
            ("tokenizer", tokenizer),
        ]
        rows.append(("tensors", "\(checkpoint.tensorNames.count)"))
        var text = rows.map { $0.0.padding(toLength: 11, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
        text += "\n" + tensorLines.map { "  " + $0 }.joined(separator: "\n")
        return text
    }

    public var json: [String: Any] {
        let c = config
        var rope: [String: Any] = ["type": c.rope.kind.rawValue, "theta": c.rope.theta, "factor": c.rope.factor]
        if c.rope.kind == .llama3 {
            rope["low_freq_factor"] = c.rope.lowFrequencyFactor
            rope["high_freq_factor"] = c.rope.highFrequencyFactor
            rope["original_max_position_embeddings"] = c.rope.originalContext
        }
        let tensors: [[String: Any]] = checkpoint.tensorNames.compactMap { name in
            guard let t = checkpoint.source.tensor(name) else { return nil }
            var entry: [String: Any] = ["name": name, "dtype": t.typeName, "shape": t.shape, "file": t.fileName]
            if let stored = t.storedName { entry["gguf_name"] = stored }
            return entry
        }
        var object: [String: Any] = [
            "folder": checkpoint.folder,
            "family": c.familyName,
            "model_type": c.modelType,
            "architectures": c.architectures,
            "blocks": c.layerCount,
            "hidden_size": c.hiddenSize,
            "mlp_width": c.intermediateSize,
            "heads": c.headCount,
            "kv_heads": c.kvHeadCount,
            "head_dim": c.headDim,
            "vocab_size": c.vocabSize,
            "context_length": c.contextLength,
            "tied_embeddings": c.tieWordEmbeddings,
            "rope": rope,
            "dtypes": checkpoint.source.storedTypes,
            "parameters": checkpoint.parameterCount,
            "bytes": checkpoint.bytesByDType.values.reduce(0, +),
            "tensors": tensors,
            "tokenizer": tokenizer,
        ]
        if let dtype = c.dtype { object["config_dtype"] = dtype }
        object.merge(checkpoint.source.summaryJSON) { _, format in format }
        return object
    }
}

extension Double {
    /// Integers without a fraction, others as Swift prints them.
    var formatted: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}
