import ArgumentParser
import Foundation
import Checkpoints
import Model
import Tensors
import Tokenizers

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Turn text into token ids with a model's tokenizer.json, exactly as the Hugging Face tokenizers library does.")

    @Argument(help: "A model folder or model id, any folder holding a tokenizer.json, or the tokenizer.json itself.")
    var model: String

    @Argument(help: "The text (default: standard input, unless --file is given).")
    var text: String?

    @Option(help: "Read the text from this file (UTF-8, bytes kept as they are).")
    var file: String?

    @Flag(help: "Print one JSON object: {\"ids\": [...], \"tokens\": [...], \"decoded\": \"...\"}.")
    var json = false

    @Flag(name: .customLong("no-special"), help: "Do not add the post-processor's special tokens (BOS).")
    var noSpecial = false

    @Flag(help: "Also encode the text 5 more times and print the median time and throughput on stderr.")
    var timing = false

    func validate() throws {
        if text != nil && file != nil { throw ValidationError("give the text or --file, not both") }
    }

    func run() throws {
        let tokenizer = try ModelLocator.ggufFile(for: model).map { try ModelFamilies.tokenizer(gguf: GGUFFile(path: $0)) }
            ?? Tokenizer.load(contentsOf: URL(fileURLWithPath: try tokenizerPath()))
        let input = try readText()
        let (ids, tokens) = tokenizer.encodeWithTokens(input, addSpecialTokens: !noSpecial)
        if timing { reportTiming(tokenizer, input) }
        if json {
            try printJSON(["ids": ids, "tokens": tokens, "decoded": tokenizer.decode(ids)])
        } else {
            print(ids.map(String.init).joined(separator: " "))
        }
    }

    /// A tokenizer.json file, a folder holding one, or a model id whose folder holds one.
    private func tokenizerPath() throws -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory), !isDirectory.boolValue, model.hasSuffix(".json") {
            return model
        }
        let folder = try ModelLocator.folder(for: model)
        let path = (folder as NSString).appendingPathComponent("tokenizer.json")
        guard FileManager.default.fileExists(atPath: path) else {
            throw InputError(path, "missing: neurotop reads tokenizers from tokenizer.json")
        }
        return path
    }

    private func readText() throws -> String {
        if let text { return text }
        let data: Data
        let source: String
        if let file {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw InputError(file, FileManager.default.fileExists(atPath: file) ? "cannot read file" : "no such file")
            }
            (data, source) = (contents, file)
        } else {
            (data, source) = (FileHandle.standardInput.readDataToEndOfFile(), "standard input")
        }
        guard let text = String(validating: data, as: UTF8.self) else { throw InputError(source, "not valid UTF-8 text") }
        return text
    }

    private func reportTiming(_ tokenizer: Tokenizer, _ input: String) {
        var times: [Double] = []
        var count = 0
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            count = tokenizer.encode(input, addSpecialTokens: !noSpecial).count
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let median = times.sorted()[times.count / 2]
        let bytes = input.utf8.count
        let line = String(format: "%d bytes, %d tokens, median %.1f ms, %.2f MB/s\n", bytes, count, median * 1e3, Double(bytes) / median / 1e6)
        FileHandle.standardError.write(Data(line.utf8))
    }
}
