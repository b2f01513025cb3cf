import Foundation
import Checkpoints
import Tokenizers

/// A model as neurotop opens it: its tensors, configuration and tokenizer from a `WeightSource`
/// (a Hugging Face folder or a GGUF file), with the configuration its family reads from them.
public final class Checkpoint {
    /// The model folder, or the GGUF file.
    public let folder: String
    public let source: any WeightSource
    public let config: ModelConfig

    public convenience init(location: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let file = try ModelLocator.ggufFile(for: location, environment: environment) {
            try self.init(ggufPath: file)
        } else {
            try self.init(folder: ModelLocator.folder(for: location, environment: environment))
        }
    }

    /// A model in one GGUF file, laid out as the family its metadata names describes.
    public convenience init(ggufPath: String) throws {
        try self.init(source: ModelFamilies.model(gguf: GGUFFile(path: ggufPath)))
    }

    public convenience init(folder: String) throws {
        try self.init(source: SafetensorsFolder(path: folder))
    }

    public init(source: any WeightSource) throws {
        self.source = source
        folder = source.path
        config = try ModelConfig(json: source.configJSON, path: source.configPath)
    }

    public var tensorNames: [String] { source.tensorNames }
    public var tokenizerPath: String { source.tokenizerPath }
    public var hasTokenizer: Bool { source.hasTokenizer }
    public func loadTokenizer() throws -> Tokenizer { try source.loadTokenizer() }
    public var parameterCount: Int { source.parameterCount }
    public var bytesByDType: [String: Int] { source.bytesByDType }

    /// Ends the program when a file of the model changed since it was opened: checked before each
    /// unit of work, so that two models' numbers are never mixed. Results stored so far are kept.
    public func endIfChanged() { source.endIfChanged() }
}
