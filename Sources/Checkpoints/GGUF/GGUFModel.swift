import Foundation
import Tensors
import Tokenizers

/// One of a GGUF file's tensors as the engine reads it: under its Hugging Face name and shape,
/// dequantized row range by row range, with llama.cpp's changes to the values undone.
public struct GGUFModelTensor: Sendable {
    /// What llama.cpp's converter did to the Hugging Face tensor, to be undone on reading.
    public enum Transform: Sendable, Equatable {
        case none
        /// q or k rows reordered within each of `heads` heads for llama.cpp's rope (Llama's):
        /// HF row h·2n + a·n + b is stored as row h·2n + 2b + a.
        case unpermuteRotary(heads: Int)
        /// Values stored as HF's + 1 (Gemma's norm weights).
        case subtractOne
        /// A matrix stored `[out, in]` that the engine reads `[in, out]` (GPT-2's Conv1D weights).
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

/// What a family's description (Families/) tells the GGUF reader about a file of its models:
/// the `config.json` transformers builds from the metadata, the Hugging Face names of llama.cpp's
/// tensors, and what llama.cpp's converter did to them.
public struct GGUFLayout {
    /// The family's keys of `config.json`, `model_type` included; the reader adds those every
    /// family has (name, special tokens, vocabulary size, tied embeddings).
    public var config: [String: Any]
    /// Block N's tensors are named `blockPrefix` N `.` and the Hugging Face name that
    /// `blockNames` gives llama.cpp's (after `blk.N.`); the others as `modelNames` gives them.
    public var blockPrefix: String
    public var blockNames: [String: String]
    public var modelNames: [String: String]
    /// What the converter did to the tensors whose llama.cpp names end so (the first that matches).
    public var transforms: [(suffix: String, transform: GGUFModelTensor.Transform)] = []

    public init(config: [String: Any], blockPrefix: String, blockNames: [String: String], modelNames: [String: String]) {
        self.config = config
        self.blockPrefix = blockPrefix
        self.blockNames = blockNames
        self.modelNames = modelNames
    }
}

/// A llama.cpp architecture's metadata keys (`ARCHITECTURE.KEY`), with errors naming the key and the file.
public struct GGUFMetadata {
    public let file: GGUFFile
    public let architecture: String

    public init(_ file: GGUFFile, architecture: String) {
        self.file = file
        self.architecture = architecture
    }

    public func value(_ key: String) -> GGUFValue? { file.metadata["\(architecture).\(key)"] }

    public func int(_ key: String) throws -> Int {
        guard let v = value(key)?.int else { throw InputError(file.path, "no integer \(architecture).\(key) in the metadata") }
        return v
    }

    /// llama.cpp's rope scaling as `config.json`'s `rope_scaling`, if any.
    public func ropeScaling() throws -> [String: Any]? {
        guard let kind = value("rope.scaling.type")?.string, kind != "none" else { return nil }
        guard kind == "linear", let factor = value("rope.scaling.factor")?.double else {
            throw InputError(file.path, "rope scaling '\(kind)' is not supported (linear is)")
        }
        return ["rope_type": "linear", "factor": factor]
    }
}

/// A model stored as one GGUF file: its `config.json` rebuilt from the metadata (as transformers
/// does when it loads the file) and its tensors under the names of the Hugging Face checkpoint,
/// as the family's `GGUFLayout` gives them.
public final class GGUFModel: WeightSource {
    public let file: GGUFFile
    /// `general.architecture`, llama.cpp's name for the family.
    public let architecture: String
    public let configJSON: [String: Any]
    /// Tensors by Hugging Face name.
    public let tensors: [String: GGUFModelTensor]
    public let tensorNames: [String]
    private let tokenizerSpaces: GGUFTokenizer.Spaces

    /// `general.architecture`, which says which family's layout reads the file.
    public static func architecture(of file: GGUFFile) throws -> String {
        guard let architecture = file.metadata["general.architecture"]?.string else {
            throw InputError(file.path, "no general.architecture in the metadata")
        }
        return architecture
    }

    public init(file: GGUFFile, layout: GGUFLayout, tokenizerSpaces: GGUFTokenizer.Spaces) throws {
        self.file = file
        self.tokenizerSpaces = tokenizerSpaces
        let path = file.path
        architecture = try Self.architecture(of: file)
        if file.tensorsByName["rope_freqs.weight"] != nil {
            throw InputError(path, "rope frequency factors (rope_freqs.weight, Llama 3.1-style rope scaling) are not supported")
        }
        var tensors: [String: GGUFModelTensor] = [:]
        for info in file.tensors {
            guard let name = Self.huggingFaceName(info.name, layout) else { continue }
            var transform = layout.transforms.first { info.name.hasSuffix($0.suffix) }?.transform ?? .none
            var shape = info.shape
            if transform == .transpose {
                if shape.count == 2 { shape = [shape[1], shape[0]] } else { transform = .none }
            }
            if case .unpermuteRotary(let h) = transform, info.shape[0] % (2 * h) != 0 {
                throw InputError(path, "tensor '\(info.name)': \(info.shape[0]) rows do not split into \(h) heads of rotary pairs")
            }
            if tensors[name] != nil { throw InputError(path, "two tensors map onto '\(name)'") }
            tensors[name] = GGUFModelTensor(info: info, shape: shape, transform: transform)
        }
        // What every family's config.json holds: from the general and tokenizer keys, the
        // vocabulary from what the embedding holds, tied embeddings when there is no output matrix.
        let meta = file.metadata
        var config = layout.config
        if let name = meta["general.name"]?.string { config["_name_or_path"] = name }
        if let bos = meta["tokenizer.ggml.bos_token_id"]?.int { config["bos_token_id"] = bos }
        if let eos = meta["tokenizer.ggml.eos_token_id"]?.int { config["eos_token_id"] = eos }
        if let tokens = meta["tokenizer.ggml.tokens"]?.array { config["vocab_size"] = tokens.count }
        if let embedding = file.tensorsByName["token_embd.weight"], embedding.shape.count == 2 {
            config["vocab_size"] = embedding.shape[0]
        }
        config["tie_word_embeddings"] = file.tensorsByName["output.weight"] == nil
        configJSON = config
        self.tensors = tensors
        tensorNames = tensors.keys.sorted()
    }

    /// `blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`; nil for tensors the
    /// Hugging Face model does not have (llama.cpp's precomputed rope tables).
    static func huggingFaceName(_ name: String, _ layout: GGUFLayout) -> String? {
        let parts = name.split(separator: ".").map(String.init)
        guard let suffix = parts.last, suffix == "weight" || suffix == "bias" else { return nil }
        if parts.count == 4, parts[0] == "blk", let block = Int(parts[1]), let mapped = layout.blockNames[parts[2]] {
            return "\(layout.blockPrefix)\(block).\(mapped).\(suffix)"
        }
        if parts.count == 2, let mapped = layout.modelNames[parts[0]] { return "\(mapped).\(suffix)" }
        return nil
    }

    /// Counts of stored tensors by ggml type, most common first.
    public var typeCounts: [(type: GGMLType, count: Int)] {
        var counts: [GGMLType: Int] = [:]
        for tensor in file.tensors { counts[tensor.type, default: 0] += 1 }
        return counts.sorted { ($0.value, $1.key.rawValue) > ($1.value, $0.key.rawValue) }.map { ($0.key, $0.value) }
    }

    private var fileName: String { (file.path as NSString).lastPathComponent }

    // MARK: WeightSource

    public var path: String { file.path }
    public var configPath: String { file.path }
    public var tokenizerPath: String { file.path }
    public var hasTokenizer: Bool { file.metadata["tokenizer.ggml.model"] != nil }
    public var missingTokenizer: String { "none (no tokenizer in the GGUF metadata)" }

    public func loadTokenizer() throws -> Tokenizer { try GGUFTokenizer.load(file, spaces: tokenizerSpaces) }

    public func tensor(_ name: String) -> WeightTensor? {
        tensors[name].map { WeightTensor(name: name, shape: $0.shape, typeName: $0.info.type.name, fileName: fileName, storedName: $0.info.name) }
    }

    public func checkTensor(_ name: String, shape: [Int], neededBy modelType: String) throws {
        guard let tensor = tensors[name] else {
            throw InputError(file.path, "no tensor for '\(name)', which a \(modelType) model needs")
        }
        guard tensor.shape == shape else {
            throw InputError(file.path, "tensor '\(tensor.info.name)' has shape \(tensor.shape) as '\(name)'; the metadata implies \(shape)")
        }
        guard tensor.info.type.isDequantizable else { throw file.unsupported(tensor.info) }
    }

    public func matrix(_ name: String) -> StoredMatrix {
        let tensor = tensors[name]!, file = file
        var matrix = StoredMatrix(rows: tensor.rowCount, width: tensor.rowWidth, dtype: .f32, bytes: file.file.bytes.baseAddress!, owner: file)
        matrix.dequantize = { rows, destination in tensor.readRows(file, rows, into: destination) }
        return matrix
    }

    public func floats(_ name: String) throws -> [Float] {
        guard let tensor = tensors[name] else { throw InputError(file.path, "no tensor named '\(name)'") }
        guard tensor.info.type.isDequantizable else { throw file.unsupported(tensor.info) }
        var values = [Float](repeating: 0, count: tensor.rowCount * tensor.rowWidth)
        values.withUnsafeMutableBufferPointer { tensor.readRows(file, 0..<tensor.rowCount, into: $0.baseAddress!) }
        return values
    }

    /// The header holds the configuration and tokenizer (metadata) and the tensors' names, types,
    /// shapes and offsets; samples of every tensor's bytes follow.
    public func fingerprint(_ add: (UnsafeRawBufferPointer) -> Void) throws {
        add(file.headerBytes)
        for tensor in file.tensors { file.rawBytes(tensor).fingerprintSamples.forEach(add) }
    }

    public func endIfChanged() {
        if let change = file.file.changedSinceOpened() { MappedFile.end(file.path, "changed since neurotop opened it (\(change)); open the model again") }
    }

    public var parameterCount: Int { file.tensors.reduce(0) { $0 + $1.elementCount } }

    public var bytesByDType: [String: Int] {
        var bytes: [String: Int] = [:]
        for tensor in file.tensors { bytes[tensor.type.name, default: 0] += tensor.byteRange.count }
        return bytes
    }

    public var storedTypes: [String] { typeCounts.map { "\($0.type.name) ×\($0.count)" } }

    public var filesDescription: String {
        "\(fileName) (GGUF version \(file.version), architecture \(architecture), \(file.tensors.count) tensors, \(file.keys.count) metadata keys)"
    }

    public var summaryJSON: [String: Any] {
        ["gguf": ["version": file.version, "architecture": architecture,
                  "types": Dictionary(uniqueKeysWithValues: typeCounts.map { ($0.type.name, $0.count) })],
         "files": [["name": fileName, "tensors": file.tensors.count,
                    "metadata": Dictionary(uniqueKeysWithValues: file.metadata.map { ($0.key, $0.value.summary) })]]]
    }
}
