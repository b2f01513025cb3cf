import Foundation
import Tensors
import Tokenizers

/// A Hugging Face model folder: config.json, its safetensors files (one, or shards listed by
/// `model.safetensors.index.json`) and tokenizer.json. Tensors stay memory-mapped.
public final class SafetensorsFolder: WeightSource {
    public let path: String
    public let configJSON: [String: Any]
    public let files: [SafetensorsFile]
    public let tensorNames: [String]
    private let fileOfTensor: [String: Int]

    public var configPath: String { filePath("config.json") }
    public var tokenizerPath: String { filePath("tokenizer.json") }

    private func filePath(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    public init(path folder: String) throws {
        self.path = folder
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
        configJSON = try Self.readConfig(path: path("config.json"))
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

    /// `config.json` at `path` as a JSON object; every problem is reported against that file.
    public static func readConfig(path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "missing: a model folder needs a config.json")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data), let json = object as? [String: Any] else {
            throw InputError(path, "not a JSON object")
        }
        return json
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

    /// The file holding a tensor, and the tensor in it.
    private func stored(_ name: String) -> (file: SafetensorsFile, tensor: StoredTensor)? {
        guard let index = fileOfTensor[name], let tensor = files[index].tensors[name] else { return nil }
        return (files[index], tensor)
    }

    // MARK: WeightSource

    public var hasTokenizer: Bool { FileManager.default.fileExists(atPath: tokenizerPath) }
    public var missingTokenizer: String { "none (no tokenizer.json)" }

    public func loadTokenizer() throws -> Tokenizer {
        guard hasTokenizer else { throw InputError(path, "no tokenizer.json: this needs the model's tokenizer") }
        return try Tokenizer.load(contentsOf: URL(fileURLWithPath: tokenizerPath))
    }

    public func tensor(_ name: String) -> WeightTensor? {
        stored(name).map { WeightTensor(name: name, shape: $0.tensor.shape, typeName: $0.tensor.dtype.rawValue,
                                         fileName: ($0.file.path as NSString).lastPathComponent, storedName: nil) }
    }

    public func checkTensor(_ name: String, shape: [Int], neededBy modelType: String) throws {
        guard let (file, tensor) = stored(name) else {
            throw InputError(path, "no tensor '\(name)', which a \(modelType) model needs")
        }
        guard tensor.shape == shape else {
            throw InputError(file.path, "tensor '\(name)' has shape \(tensor.shape); config.json implies \(shape)")
        }
        guard tensor.dtype.isReadable else {
            throw InputError(file.path, "tensor '\(name)' is \(tensor.dtype.rawValue); neurotop reads F32, F16 and BF16 tensors")
        }
    }

    public func matrix(_ name: String) -> StoredMatrix {
        let (file, tensor) = stored(name)!
        let rows = tensor.shape.count > 1 ? tensor.shape[0] : 1
        return StoredMatrix(rows: rows, width: tensor.elementCount / max(rows, 1), dtype: tensor.dtype,
                            bytes: file.rawBytes(tensor).baseAddress!, owner: file)
    }

    public func floats(_ name: String) throws -> [Float] {
        guard let (file, tensor) = stored(name) else { throw InputError(path, "no tensor named '\(name)'") }
        return try file.floats(tensor)
    }

    public func fingerprint(_ add: (UnsafeRawBufferPointer) -> Void) throws {
        for path in [configPath, tokenizerPath] {
            guard let data = FileManager.default.contents(atPath: path) else { throw InputError(path, "cannot read") }
            data.withUnsafeBytes(add)
        }
        for name in tensorNames {
            let (file, tensor) = stored(name)!
            Data("\(name) \(tensor.dtype.rawValue) \(tensor.shape)".utf8).withUnsafeBytes(add)
            file.rawBytes(tensor).fingerprintSamples.forEach(add)
        }
    }

    public func endIfChanged() {
        for file in files {
            if let change = file.changedSinceOpened() { MappedFile.end(file.path, "changed since neurotop opened it (\(change)); open the model again") }
        }
    }

    public var parameterCount: Int {
        files.reduce(0) { total, file in total + file.tensors.values.reduce(0) { $0 + $1.elementCount } }
    }

    public var bytesByDType: [String: Int] {
        var bytes: [String: Int] = [:]
        for file in files {
            for tensor in file.tensors.values { bytes[tensor.dtype.rawValue, default: 0] += tensor.byteRange.count }
        }
        return bytes
    }

    public var storedTypes: [String] { bytesByDType.sorted { $0.value > $1.value }.map(\.key) }

    public var filesDescription: String {
        files.map { "\(($0.path as NSString).lastPathComponent) (\($0.tensors.count) tensors)" }.joined(separator: ", ")
    }

    public var summaryJSON: [String: Any] {
        ["files": files.map { ["name": ($0.path as NSString).lastPathComponent, "tensors": $0.tensors.count, "metadata": $0.metadata] }]
    }
}
