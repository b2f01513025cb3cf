import Foundation
import Tokenizers

/// Where a model's tensors, configuration and tokenizer come from: a Hugging Face safetensors
/// folder (`SafetensorsFolder`) or a llama.cpp GGUF file (`GGUFModel`). Above this protocol no code
/// asks which format it has; a third format is one more conformance.
public protocol WeightSource: AnyObject {
    /// The model folder, or the file.
    var path: String { get }
    /// config.json's keys, or those transformers builds from the format's own metadata.
    var configJSON: [String: Any] { get }
    /// Where problems with the configuration are reported: config.json, or the file.
    var configPath: String { get }

    /// Where the tokenizer is read from: tokenizer.json, or the file.
    var tokenizerPath: String { get }
    var hasTokenizer: Bool { get }
    /// What `info` says when there is no tokenizer.
    var missingTokenizer: String { get }
    func loadTokenizer() throws -> Tokenizer

    /// Every tensor's Hugging Face name, sorted.
    var tensorNames: [String] { get }
    func tensor(_ name: String) -> WeightTensor?
    /// Checks, when a model is opened, that a tensor it needs is here, in the shape it needs and
    /// in a type neurotop reads.
    func checkTensor(_ name: String, shape: [Int], neededBy modelType: String) throws
    /// A checked tensor as a matrix of rows (a 1-D tensor is one row), read where it is stored.
    func matrix(_ name: String) -> StoredMatrix
    /// A tensor widened to float32, or an error naming the file and the tensor.
    func floats(_ name: String) throws -> [Float]

    /// Calls `add` with the byte strings that identify the model for the analysis store: its
    /// configuration, its tokenizer, its tensors' names, types and shapes, and samples of every
    /// tensor's bytes (enough to tell two models apart without reading gigabytes on every start).
    func fingerprint(_ add: (UnsafeRawBufferPointer) -> Void) throws
    /// Ends the program, naming the file, when a file of the model was changed since it was
    /// opened, as a read from its vanished pages would (`MappedFile`).
    func endIfChanged()

    var parameterCount: Int { get }
    /// Bytes of tensor data, by stored type name.
    var bytesByDType: [String: Int] { get }
    /// The stored types for `info`, most common first.
    var storedTypes: [String] { get }
    /// The files for `info`, on one line.
    var filesDescription: String { get }
    /// The format's entries of `info --json`: its files, and what else it knows about them.
    var summaryJSON: [String: Any] { get }
}

/// One tensor as `info` describes it: under its Hugging Face name and shape, and how it is stored.
public struct WeightTensor {
    public let name: String
    /// The shape the Hugging Face checkpoint has.
    public let shape: [Int]
    /// The stored type as the format names it (BF16, Q4_K).
    public let typeName: String
    /// The file holding it, without its folder.
    public let fileName: String
    /// The tensor's own name in the file, when the format names it otherwise (GGUF's `blk.0.attn_q.weight`).
    public let storedName: String?
}

extension UnsafeRawBufferPointer {
    /// 256 bytes from the start, the middle and the end: what a fingerprint reads of a tensor.
    var fingerprintSamples: [UnsafeRawBufferPointer] {
        [0, count / 2, Swift.max(0, count - 256)].map { start in UnsafeRawBufferPointer(rebasing: self[start..<Swift.min(count, start + 256)]) }
    }
}
