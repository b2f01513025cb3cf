import Foundation
import Testing

/// Every kind of bad input gives exactly one line on stderr naming the file and the problem,
/// and an exit status between 1 and 127: no crash, no stack trace.
@Suite struct BadInput {
    let folder = NSTemporaryDirectory() + "neurotop-cli-\(UUID().uuidString)"

    init() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    func write(_ name: String, _ data: Data) throws -> String {
        let target = path(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: target))
        return target
    }

    /// A model folder made of the fixture llama's config and tokenizer, with `weights` as its model.safetensors.
    func modelFolder(_ name: String, weights: Data?, config: String? = nil) throws -> String {
        let source = Neurotop.fixture("checkpoints/llama")
        let target = path(name)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let configText = try config ?? String(contentsOfFile: source + "/config.json", encoding: .utf8)
        _ = try write("\(name)/config.json", Data(configText.utf8))
        try FileManager.default.copyItem(atPath: source + "/tokenizer.json", toPath: target + "/tokenizer.json")
        if let weights { _ = try write("\(name)/model.safetensors", weights) }
        return target
    }

    func header(_ text: String, length: UInt64? = nil, data: Int = 8) -> Data {
        var bytes = Data()
        var count = (length ?? UInt64(text.utf8.count)).littleEndian
        withUnsafeBytes(of: &count) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(text.utf8))
        bytes.append(contentsOf: [UInt8](repeating: 0, count: data))
        return bytes
    }

    func expectOneLineError(_ arguments: [String], naming file: String, _ problem: String) throws {
        let result = try Neurotop.run(arguments)
        #expect(result.status > 0 && result.status < 128, "exit status \(result.status)")
        #expect(result.stderrLines.count == 1, "stderr was:\n\(result.stderr)")
        let line = String(result.stderrLines.first ?? "")
        #expect(line.contains(file), "'\(line)' does not name \(file)")
        #expect(line.contains(problem), "'\(line)' does not say '\(problem)'")
        #expect(result.stdout.isEmpty)
    }

    @Test func truncatedFile() throws {
        let model = try modelFolder("truncated", weights: Data([7, 0, 0]))
        try expectOneLineError(["info", model], naming: model + "/model.safetensors", "truncated")
    }

    @Test func headerLengthPastTheEnd() throws {
        let model = try modelFolder("long-header", weights: header("{}", length: 1 << 40))
        try expectOneLineError(["info", model], naming: model + "/model.safetensors", "past the end of the file")
    }

    @Test func headerNotJSON() throws {
        let model = try modelFolder("not-json", weights: header("{\"a\": [1, 2"))
        try expectOneLineError(["info", model], naming: model + "/model.safetensors", "not a JSON object")
    }

    @Test func offsetsOverlapping() throws {
        let model = try modelFolder("overlap", weights: header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#))
        try expectOneLineError(["info", model], naming: model + "/model.safetensors", "overlap")
    }

    @Test func offsetsPastTheEnd() throws {
        let model = try modelFolder("past-end", weights: header(#"{"a":{"dtype":"F32","shape":[64],"data_offsets":[0,256]}}"#))
        try expectOneLineError(["info", model], naming: model + "/model.safetensors", "run past the end")
    }

    @Test func shapeNotMatchingOffsets() throws {
        let model = try modelFolder("shape", weights: header(#"{"a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,8]}}"#))
        try expectOneLineError(["info", model], naming: model + "/model.safetensors", "needs 12 bytes")
    }

    @Test func unknownDType() throws {
        let model = try modelFolder("dtype", weights: header(#"{"a":{"dtype":"Q8","shape":[8],"data_offsets":[0,8]}}"#))
        try expectOneLineError(["info", model], naming: model + "/model.safetensors", "unknown dtype 'Q8'")
    }

    @Test func missingConfig() throws {
        let model = try modelFolder("no-config", weights: header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#))
        try FileManager.default.removeItem(atPath: model + "/config.json")
        try expectOneLineError(["info", model], naming: model + "/config.json", "missing")
    }

    @Test func unknownModelType() throws {
        let model = try modelFolder("bert", weights: header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#),
                                    config: #"{"model_type": "bert", "hidden_size": 8}"#)
        try expectOneLineError(["info", model], naming: model + "/config.json", "unknown model_type 'bert'")
    }

    @Test func originalQwenIsRefusedByName() throws {
        let model = try modelFolder("qwen", weights: header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#),
                                    config: #"{"model_type": "qwen", "hidden_size": 8}"#)
        try expectOneLineError(["info", model], naming: model + "/config.json", "model_type 'qwen' (the original Qwen, custom code) is not supported")
    }

    @Test func missingTokenizer() throws {
        let model = try modelFolder("no-tokenizer", weights: nil)
        try FileManager.default.removeItem(atPath: model + "/tokenizer.json")
        try expectOneLineError(["tokenize", model, "hello"], naming: model + "/tokenizer.json", "missing")
    }

    @Test func pickleCheckpoint() throws {
        let model = try modelFolder("pickle", weights: nil)
        _ = try write("pickle/pytorch_model.bin", Data([0x80, 0x02, 0x7d, 0x71]))
        try expectOneLineError(["info", model], naming: model + "/pytorch_model.bin", "convert")
        try expectOneLineError(["info", model + "/pytorch_model.bin"], naming: model + "/pytorch_model.bin", "unpickling runs code")
    }

    @Test func emptyFolder() throws {
        let empty = path("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        try expectOneLineError(["info", empty], naming: empty, "empty")
    }

    @Test func pathThatDoesNotExist() throws {
        let missing = path("does/not/exist")
        try expectOneLineError(["info", missing], naming: missing, "no such file or folder")
    }

    @Test func modelIDNotInCache() throws {
        let cache = path("hub")
        let result = try Neurotop.run(["info", "nobody/nothing"], environment: ["HF_HUB_CACHE": cache])
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 1)
        #expect(result.stderr.contains(cache + "/models--nobody--nothing/snapshots"), "\(result.stderr)")
    }

    @Test func tokenizeFileThatIsNotUTF8() throws {
        let text = try write("latin1.txt", Data([0x63, 0x61, 0x66, 0xE9]))
        try expectOneLineError(["tokenize", Neurotop.fixture("checkpoints/llama"), "--file", text], naming: text, "not valid UTF-8")
    }
}
