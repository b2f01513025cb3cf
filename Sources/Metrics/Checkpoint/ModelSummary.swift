import Foundation

/// What `neurotop info` and the overview's model card say about a checkpoint.
public struct ModelSummary {
    public let checkpoint: Checkpoint
    /// The tokenizer's description, or why there is none.
    public let tokenizer: String

    public init(checkpoint: Checkpoint) {
        self.checkpoint = checkpoint
        if !checkpoint.hasTokenizer {
            tokenizer = checkpoint.gguf == nil ? "none (no tokenizer.json)" : "none (no tokenizer in the GGUF metadata)"
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

    /// The dtypes of the stored tensors, largest share first; for GGUF, each type with its tensor count.
    public var storedDTypes: [String] {
        if let gguf = checkpoint.gguf { return gguf.typeCounts.map { "\($0.type.name) ×\($0.count)" } }
        return checkpoint.bytesByDType.sorted { $0.value > $1.value }.map(\.key)
    }

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

    public var ropeDescription: String {
        switch config.family {
        case .gpt2, .opt: return "learned positions"
        case .mpt: return "ALiBi (no position embedding)"
        default: break
        }
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
        if let tensor = checkpoint.gguf?.tensors[name] {
            return label.padding(toLength: max(label.count, 34), withPad: " ", startingAt: 0) + "  \(tensor.info.type.name) \(tensor.shape)  (\(tensor.info.name))"
        }
        guard let tensor = checkpoint.tensor(name) else { return label }
        return label.padding(toLength: max(label.count, 34), withPad: " ", startingAt: 0) + "  \(tensor.dtype.rawValue) \(tensor.shape)"
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
            ("family", "\(c.family.rawValue) (model_type \(c.modelType)\(c.architectures.isEmpty ? "" : ", " + c.architectures.joined(separator: ", ")))"),
            ("blocks", "\(c.layerCount) × hidden \(c.hiddenSize), MLP width \(c.intermediateSize), \(heads), head dim \(c.headDim)"),
            ("neurons", "\(Self.formatCount(c.layerCount * c.intermediateSize)) (\(c.layerCount) × \(c.intermediateSize)), activation \(c.activation)"),
            ("vocab", "\(c.vocabSize) tokens, context \(c.contextLength)\(c.tieWordEmbeddings ? ", tied embeddings" : "")"),
            ("positions", ropeDescription),
            ("dtype", storedDTypes.joined(separator: ", ") + (c.dtype.map { " (config: \($0))" } ?? "")),
            ("parameters", "\(Self.formatCount(checkpoint.parameterCount)) (\(Self.formatBytes(bytes)))"),
            ("files", checkpoint.gguf.map { gguf in
                "\((gguf.file.path as NSString).lastPathComponent) (GGUF version \(gguf.file.version), architecture \(gguf.architecture), \(gguf.file.tensors.count) tensors, \(gguf.file.keys.count) metadata keys)"
            } ?? checkpoint.files.map { "\(($0.path as NSString).lastPathComponent) (\($0.tensors.count) tensors)" }.joined(separator: ", ")),
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
            if let gguf = checkpoint.gguf, let t = gguf.tensors[name] {
                return ["name": name, "dtype": t.info.type.name, "shape": t.shape, "file": (gguf.file.path as NSString).lastPathComponent, "gguf_name": t.info.name]
            }
            guard let t = checkpoint.tensor(name), let file = checkpoint.file(holding: name) else { return nil }
            return ["name": name, "dtype": t.dtype.rawValue, "shape": t.shape, "file": (file.path as NSString).lastPathComponent]
        }
        var object: [String: Any] = [
            "folder": checkpoint.folder,
            "family": c.family.rawValue,
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
            "dtypes": storedDTypes,
            "parameters": checkpoint.parameterCount,
            "bytes": checkpoint.bytesByDType.values.reduce(0, +),
            "files": checkpoint.files.map { ["name": ($0.path as NSString).lastPathComponent, "tensors": $0.tensors.count, "metadata": $0.metadata] },
            "tensors": tensors,
            "tokenizer": tokenizer,
        ]
        if let dtype = c.dtype { object["config_dtype"] = dtype }
        if let gguf = checkpoint.gguf {
            object["gguf"] = ["version": gguf.file.version, "architecture": gguf.architecture,
                              "types": Dictionary(uniqueKeysWithValues: gguf.typeCounts.map { ($0.type.name, $0.count) })]
            object["files"] = [["name": (gguf.file.path as NSString).lastPathComponent, "tensors": gguf.file.tensors.count,
                                "metadata": Dictionary(uniqueKeysWithValues: gguf.file.metadata.map { ($0.key, $0.value.summary) })]]
        }
        return object
    }
}

extension Double {
    /// Integers without a fraction, others as Swift prints them.
    var formatted: String { self == rounded() && abs(self) < 1e15 ? String(Int(self)) : String(self) }
}
