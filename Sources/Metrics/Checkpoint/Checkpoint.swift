import Foundation

/// A Hugging Face model folder: its config, its safetensors files (one, or shards listed by
/// `model.safetensors.index.json`) and the path of its tokenizer; or a GGUF file, which holds all
/// three. Tensors stay memory-mapped.
public final class Checkpoint {
    /// The model folder, or the GGUF file.
    public let folder: String
    public let config: ModelConfig
    public let files: [SafetensorsFile]
    /// The GGUF file the model comes from, if it does (then `files` is empty).
    public let gguf: GGUFModel?
    /// Every tensor name, sorted, with the index of the file holding it.
    public let tensorNames: [String]
    private let fileOfTensor: [String: Int]

    /// Where the configuration comes from: config.json, or the GGUF file's metadata.
    public var configPath: String { gguf == nil ? (folder as NSString).appendingPathComponent("config.json") : folder }
    public var tokenizerPath: String { gguf == nil ? (folder as NSString).appendingPathComponent("tokenizer.json") : folder }

    public convenience init(location: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let file = try ModelLocator.ggufFile(for: location, environment: environment) {
            try self.init(ggufPath: file)
        } else {
            try self.init(folder: ModelLocator.folder(for: location, environment: environment))
        }
    }

    /// A model in one GGUF file: configuration, tokenizer and tensors from the file.
    public init(ggufPath: String) throws {
        let model = try GGUFModel(file: GGUFFile(path: ggufPath))
        folder = ggufPath
        gguf = model
        config = try model.modelConfig()
        files = []
        fileOfTensor = [:]
        tensorNames = model.tensors.keys.sorted()
    }

    public init(folder: String) throws {
        self.folder = folder
        gguf = nil
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        } catch {
            throw InputError(folder, "cannot list folder")
        }
        if entries.isEmpty { throw InputError(folder, "folder is empty: a model folder holds config.json and *.safetensors") }
        func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

        // The index names the shards; otherwise model.safetensors, or the folder's only safetensors
        // file. Other safetensors files (adapters, Mistral's consolidated copy) are not the model.
        let weightFiles: [String]
        var indexMap: [String: String] = [:]
        let candidates = entries.filter { $0.hasSuffix(".safetensors") }
        if entries.contains("model.safetensors.index.json") {
            (weightFiles, indexMap) = try Self.shards(indexPath: path("model.safetensors.index.json"))
        } else if candidates.contains("model.safetensors") || candidates.count <= 1 {
            weightFiles = candidates.contains("model.safetensors") ? ["model.safetensors"] : candidates
        } else {
            throw InputError(folder, "several safetensors files (\(candidates.joined(separator: ", "))) and no model.safetensors or model.safetensors.index.json: which one is the model?")
        }
        if weightFiles.isEmpty {
            if let pickle = entries.first(where: PickleRefusal.isPickle) { throw PickleRefusal.error(path(pickle)) }
            throw InputError(folder, "no *.safetensors files")
        }
        config = try ModelConfig.load(path: path("config.json"))
        files = try weightFiles.map { try SafetensorsFile(path: path($0)) }

        var fileOfTensor: [String: Int] = [:]
        for (index, file) in files.enumerated() {
            for name in file.names {
                if let other = fileOfTensor[name] {
                    throw InputError(file.path, "tensor '\(name)' is also in \(files[other].path)")
                }
                fileOfTensor[name] = index
            }
        }
        let loaded = files
        for (tensor, file) in indexMap where fileOfTensor[tensor].map({ (loaded[$0].path as NSString).lastPathComponent }) != file {
            throw InputError(path("model.safetensors.index.json"), "lists tensor '\(tensor)' in \(file), which does not hold it")
        }
        self.fileOfTensor = fileOfTensor
        tensorNames = fileOfTensor.keys.sorted()
    }

    /// The shard files named by a sharded checkpoint's index, in a stable order.
    private static func shards(indexPath: String) throws -> (files: [String], map: [String: String]) {
        guard let data = FileManager.default.contents(atPath: indexPath),
              let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
            throw InputError(indexPath, "not a JSON object")
        }
        guard let map = json["weight_map"] as? [String: Any] else { throw InputError(indexPath, "no weight_map") }
        var files: Set<String> = []
        var tensors: [String: String] = [:]
        for (tensor, file) in map {
            guard let file = file as? String, !file.contains("/"), file.hasSuffix(".safetensors") else {
                throw InputError(indexPath, "weight_map entry for '\(tensor)' is not a .safetensors file in this folder")
            }
            files.insert(file)
            tensors[tensor] = file
        }
        let folder = (indexPath as NSString).deletingLastPathComponent
        for file in files where !FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(file)) {
            throw InputError(indexPath, "lists shard \(file), which is missing")
        }
        return (files.sorted(), tensors)
    }

    /// The tokenizer: tokenizer.json, or the one the GGUF metadata describes.
    public func loadTokenizer() throws -> Tokenizer {
        if let gguf { return try GGUFTokenizer.load(gguf.file) }
        guard FileManager.default.fileExists(atPath: tokenizerPath) else {
            throw InputError(folder, "no tokenizer.json: this needs the model's tokenizer")
        }
        return try Tokenizer.load(contentsOf: URL(fileURLWithPath: tokenizerPath))
    }

    public var hasTokenizer: Bool {
        if let gguf { return gguf.file.metadata["tokenizer.ggml.model"] != nil }
        return FileManager.default.fileExists(atPath: tokenizerPath)
    }

    /// The shape of a tensor as the Hugging Face checkpoint has it.
    public func shape(of name: String) -> [Int]? {
        if let gguf { return gguf.tensors[name]?.shape }
        return tensor(name)?.shape
    }

    /// A safetensors tensor (nil for a GGUF model: see `gguf`).
    public func tensor(_ name: String) -> StoredTensor? {
        fileOfTensor[name].flatMap { files[$0].tensors[name] }
    }

    public func file(holding name: String) -> SafetensorsFile? { fileOfTensor[name].map { files[$0] } }

    /// A tensor widened to float32, or an error naming the file and the tensor.
    public func floats(_ name: String) throws -> [Float] {
        if let gguf, let tensor = gguf.tensors[name] {
            guard tensor.info.type.isDequantizable else { throw gguf.file.unsupported(tensor.info) }
            var values = [Float](repeating: 0, count: tensor.rowCount * tensor.rowWidth)
            values.withUnsafeMutableBufferPointer { tensor.readRows(gguf.file, 0..<tensor.rowCount, into: $0.baseAddress!) }
            return values
        }
        guard let index = fileOfTensor[name], let tensor = files[index].tensors[name] else {
            throw InputError(folder, "no tensor named '\(name)'")
        }
        return try files[index].floats(tensor)
    }

    /// Ends the program, naming the file, when a file of the checkpoint was changed since it was
    /// opened, as a read from its vanished pages would (`MappedFile`): checked before each unit of
    /// work, so two models' numbers are never mixed. Results stored so far are kept.
    public func endIfChanged() {
        for file in files {
            if let change = file.changedSinceOpened() { MappedFile.end(file.path, "changed since neurotop opened it (\(change)); open the model again") }
        }
    }

    public var parameterCount: Int {
        if let gguf { return gguf.file.tensors.reduce(0) { $0 + $1.elementCount } }
        return files.reduce(0) { total, file in total + file.tensors.values.reduce(0) { $0 + $1.elementCount } }
    }

    /// Bytes of tensor data, by dtype name.
    public var bytesByDType: [String: Int] {
        var bytes: [String: Int] = [:]
        for tensor in gguf?.file.tensors ?? [] { bytes[tensor.type.name, default: 0] += tensor.byteRange.count }
        for file in files {
            for tensor in file.tensors.values { bytes[tensor.dtype.rawValue, default: 0] += tensor.byteRange.count }
        }
        return bytes
    }
}
