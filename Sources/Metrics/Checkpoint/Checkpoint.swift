import Foundation

/// A Hugging Face model folder: its config, its safetensors files (one, or shards listed by
/// `model.safetensors.index.json`) and the path of its tokenizer. Tensors stay memory-mapped.
public final class Checkpoint {
    public let folder: String
    public let config: ModelConfig
    public let files: [SafetensorsFile]
    /// Every tensor name, sorted, with the index of the file holding it.
    public let tensorNames: [String]
    private let fileOfTensor: [String: Int]

    public var configPath: String { (folder as NSString).appendingPathComponent("config.json") }
    public var tokenizerPath: String { (folder as NSString).appendingPathComponent("tokenizer.json") }

    public convenience init(location: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        try self.init(folder: ModelLocator.folder(for: location, environment: environment))
    }

    public init(folder: String) throws {
        self.folder = folder
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

    public func tensor(_ name: String) -> StoredTensor? {
        fileOfTensor[name].flatMap { files[$0].tensors[name] }
    }

    public func file(holding name: String) -> SafetensorsFile? { fileOfTensor[name].map { files[$0] } }

    /// A tensor widened to float32, or an error naming the file and the tensor.
    public func floats(_ name: String) throws -> [Float] {
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
        files.reduce(0) { total, file in total + file.tensors.values.reduce(0) { $0 + $1.elementCount } }
    }

    /// Bytes of tensor data, by dtype name.
    public var bytesByDType: [String: Int] {
        var bytes: [String: Int] = [:]
        for file in files {
            for tensor in file.tensors.values { bytes[tensor.dtype.rawValue, default: 0] += tensor.byteRange.count }
        }
        return bytes
    }
}
