import Foundation
import Testing
@testable import Analysis
@testable import Checkpoints
@testable import Engine
@testable import Model
@testable import Tensors

/// Bytes of a GGUF file built field by field, for the malformed-file tests.
struct GGUFBytes {
    var data = Data()

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); data.append(contentsOf: Array(s.utf8)) }
    mutating func header(version: UInt32 = 3, tensors: UInt64, keys: UInt64) {
        data.append(contentsOf: Array("GGUF".utf8))
        u32(version)
        u64(tensors)
        u64(keys)
    }
    mutating func keyString(_ key: String, _ value: String) { string(key); u32(8); string(value) }
    mutating func keyU32(_ key: String, _ value: UInt32) { string(key); u32(4); u32(value) }
    mutating func keyF32(_ key: String, _ value: Float) { string(key); u32(6); u32(value.bitPattern) }
    mutating func tensor(_ name: String, _ dims: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dims.count))
        for d in dims { u64(d) }
        u32(type)
        u64(offset)
    }
    mutating func pad(to alignment: Int = 32) { data.append(contentsOf: [UInt8](repeating: 0, count: (alignment - data.count % alignment) % alignment)) }
    mutating func zeros(_ count: Int) { data.append(contentsOf: [UInt8](repeating: 0, count: count)) }
}

@Suite struct GGUFReaderTests {
    static let dequantizedTypes = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"]

    /// Every supported type dequantizes to exactly the bits of `gguf.quants.dequantize`, whole and
    /// by row range.
    @Test(arguments: dequantizedTypes)
    func dequantizationIsBitExact(_ type: String) throws {
        let file = try GGUFFile(path: Fixtures.url("gguf/quants.gguf").path)
        let expectedFile = try SafetensorsFile(path: Fixtures.url("gguf/quants-expected.safetensors").path)
        let name = "\(type).weight"
        let tensor = try #require(file.tensorsByName[name])
        #expect(tensor.type.name.lowercased() == type)
        let expected = try expectedFile.floats(try #require(expectedFile.tensors[name]))
        #expect(tensor.shape == [3, 512])
        var whole = [Float](repeating: .nan, count: 3 * 512)
        try whole.withUnsafeMutableBufferPointer { try file.readRows(tensor, 0..<3, into: $0.baseAddress!) }
        #expect(whole.map(\.bitPattern) == expected.map(\.bitPattern))
        var tail = [Float](repeating: .nan, count: 2 * 512)
        try tail.withUnsafeMutableBufferPointer { try file.readRows(tensor, 1..<3, into: $0.baseAddress!) }
        #expect(tail.map(\.bitPattern) == expected[512...].map(\.bitPattern))
    }

    @Test func metadataOfEveryValueType() throws {
        var b = GGUFBytes()
        b.header(version: 2, tensors: 0, keys: 14)
        b.keyString("general.architecture", "llama")
        for (index, (type, bytes)) in [(UInt32(0), [UInt8(200)]), (1, [0xFE]), (2, [0x34, 0x12]), (3, [0xFE, 0xFF]),
                                       (10, [1, 0, 0, 0, 0, 0, 0, 0x80]), (11, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
                                       (7, [1])].enumerated() {
            b.string("k\(index)"); b.u32(type); b.data.append(contentsOf: bytes)
        }
        b.keyU32("u32", 70000)
        b.string("i32"); b.u32(5); b.u32(UInt32(bitPattern: -5))
        b.keyF32("f32", 0.25)
        b.string("f64"); b.u32(12); b.u64((1.0 / 3.0).bitPattern)
        b.string("strings"); b.u32(9); b.u32(8); b.u64(3); b.string("a b"); b.string(""); b.string("ü")
        b.string("floats"); b.u32(9); b.u32(6); b.u64(2); b.u32(Float(1.5).bitPattern); b.u32(Float(-2).bitPattern)
        let folder = TemporaryFolder()
        let file = try GGUFFile(path: folder.write("m.gguf", b.data))
        let m = file.metadata
        #expect(file.version == 2)
        #expect(m["k0"] == .unsigned(200) && m["k1"] == .signed(-2) && m["k2"] == .unsigned(0x1234) && m["k3"] == .signed(-2))
        #expect(m["k4"] == .unsigned(0x8000_0000_0000_0001) && m["k5"] == .signed(-1) && m["k6"] == .bool(true))
        #expect(m["u32"]?.int == 70000 && m["i32"]?.int == -5 && m["f32"]?.double == 0.25 && m["f64"]?.double == 1.0 / 3.0)
        #expect(m["strings"] == .array([.string("a b"), .string(""), .string("ü")]))
        #expect(m["floats"] == .array([.float(1.5), .float(-2)]))
        #expect(file.keys.first == "general.architecture" && file.keys.count == 14)
    }

    /// A well-formed one-tensor file, and the same file broken in each way a file can be.
    func brokenFiles() -> [(String, Data, String)] {
        func file(magic: String = "GGUF", version: UInt32 = 3, tensorCount: UInt64 = 1, keyCount: UInt64 = 1,
                  dims: [UInt64] = [64, 2], type: UInt32 = 0, offset: UInt64 = 0, dataBytes: Int = 512) -> Data {
            var b = GGUFBytes()
            b.header(version: version, tensors: tensorCount, keys: keyCount)
            b.data.replaceSubrange(0..<4, with: Array(magic.utf8))
            b.keyString("general.architecture", "llama")
            b.tensor("blk.0.ffn_up.weight", dims, type: type, offset: offset)
            b.pad()
            b.zeros(dataBytes)
            return b.data
        }
        let good = file()
        return [
            ("truncated header", good.prefix(40), "truncated"),
            ("truncated data", good.prefix(good.count - 100), "runs past the end of the data"),
            ("wrong magic", file(magic: "GGML"), "wrong magic"),
            ("version 1", file(version: 1), "GGUF version 1 is not supported"),
            ("absurd tensor count", file(tensorCount: 1 << 40), "absurd tensor count"),
            ("absurd metadata count", file(keyCount: 1 << 40), "absurd metadata count"),
            ("offset past the end", file(offset: 1 << 20), "runs past the end of the data"),
            ("unaligned offset", file(offset: 4), "not aligned"),
            ("unknown type", file(type: 99), "unknown ggml type 99"),
            ("too many dimensions", file(dims: [1, 1, 1, 1, 64]), "5 dimensions"),
            ("rows not whole blocks", file(dims: [48, 2], type: 8), "do not divide into Q8_0 blocks"),
        ]
    }

    @Test func brokenFilesGetOneLineNamingTheFileAndTheProblem() throws {
        let folder = TemporaryFolder()
        for (what, data, problem) in brokenFiles() {
            let path = folder.write("\(what).gguf", data)
            do {
                _ = try GGUFFile(path: path)
                Issue.record("\(what): opened")
            } catch let error as InputError {
                #expect(error.path == path, "\(what)")
                #expect(error.problem.contains(problem), "\(what): \(error.problem)")
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test func anUnsupportedQuantizationIsRefusedByName() throws {
        var b = GGUFBytes()
        b.header(tensors: 1, keys: 1)
        b.keyString("general.architecture", "llama")
        b.tensor("blk.0.ffn_up.weight", [256, 2], type: 16, offset: 0)
        b.pad()
        b.zeros(2 * 66)
        let folder = TemporaryFolder()
        let file = try GGUFFile(path: folder.write("iq.gguf", b.data))
        let tensor = try #require(file.tensorsByName["blk.0.ffn_up.weight"])
        var out = [Float](repeating: 0, count: 512)
        #expect(throws: InputError(file.path, "tensor 'blk.0.ffn_up.weight' is IQ2_XXS, which neurotop does not dequantize (it reads F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)")) {
            try out.withUnsafeMutableBufferPointer { try file.readRows(tensor, 0..<1, into: $0.baseAddress!) }
        }
    }
}

@Suite struct GGUFModelTests {
    /// The tiny checkpoints written as llama.cpp writes them (its names, permuted q/k rows,
    /// transposed GPT-2 weights) give the logits of the safetensors originals.
    @Test(arguments: ["llama-linear", "qwen2", "qwen3", "gpt2"])
    func tinyGGUFGivesTheLogitsOfTheSafetensorsCheckpoint(_ name: String) throws {
        let gguf = try Checkpoint(location: Fixtures.url("gguf/tiny-\(name).gguf").path)
        let original = try Checkpoint(folder: Fixtures.url("checkpoints/\(name)").path)
        #expect(gguf.config.familyName == original.config.familyName && gguf.config.headDim == original.config.headDim)
        #expect(gguf.config.rope == original.config.rope && gguf.config.tieWordEmbeddings == original.config.tieWordEmbeddings)
        let sequence = [134, 29, 399, 388, 328, 281, 189, 505, 24]
        let a = try #require(try Transformer(checkpoint: gguf).forward(Batch([sequence]), logits: .all))
        let b = try #require(try Transformer(checkpoint: original).forward(Batch([sequence]), logits: .all))
        #expect(maxAbsDifference(a.pointer, b.array) < 1e-5)
        for tensorName in original.tensorNames where original.source.tensor(tensorName)?.shape.count == 2 {
            let ggufName = name == "gpt2" ? String(tensorName.dropFirst("transformer.".count)) : tensorName
            #expect(try gguf.source.floats(ggufName) == original.source.floats(tensorName), "\(tensorName)")
        }
    }

    @Test func familiesTheEngineDoesNotRunAreRefusedByName() throws {
        var b = GGUFBytes()
        b.header(tensors: 0, keys: 1)
        b.keyString("general.architecture", "mamba")
        let folder = TemporaryFolder()
        let path = folder.write("mamba.gguf", b.data)
        #expect(throws: InputError(path, "architecture 'mamba' is not supported (GGUF files of gemma, gemma2, gemma3, gpt2, llama, olmo, olmo2, phi3, qwen2, qwen3 are read)")) {
            try Checkpoint(location: path)
        }
    }
}

@Suite struct GGUFLocatorTests {
    /// An Ollama folder laid out as `ollama pull` leaves it: a manifest naming the model blob.
    func ollamaFolder(_ folder: TemporaryFolder, root: String = "ollama", name: String = "library/tiny", tag: String = "latest") throws -> String {
        let blob = Data(try Data(contentsOf: Fixtures.url("gguf/tiny-qwen2.gguf")))
        let digest = String(repeating: "ab", count: 32)
        folder.write("\(root)/blobs/sha256-\(digest)", blob)
        let manifest: [String: Any] = ["schemaVersion": 2, "layers": [
            ["mediaType": "application/vnd.ollama.image.license", "digest": "sha256:" + String(repeating: "cd", count: 32), "size": 10],
            ["mediaType": "application/vnd.ollama.image.model", "digest": "sha256:\(digest)", "size": blob.count],
        ]]
        folder.write("\(root)/manifests/registry.ollama.ai/\(name)/\(tag)", try JSONSerialization.data(withJSONObject: manifest))
        return folder.file("\(root)/blobs/sha256-\(digest)")
    }

    @Test func ollamaNamesResolveThroughTheManifests() throws {
        let folder = TemporaryFolder()
        let blob = try ollamaFolder(folder)
        _ = try ollamaFolder(folder, name: "someone/other", tag: "7b")
        let environment = ["OLLAMA_MODELS": folder.file("ollama"), "HOME": folder.path]
        #expect(try ModelLocator.ggufFile(for: "ollama:tiny", environment: environment) == blob)
        #expect(try ModelLocator.ggufFile(for: "ollama:tiny:latest", environment: environment) == blob)
        #expect(try ModelLocator.ggufFile(for: "ollama:someone/other:7b", environment: environment) == blob)
        #expect(try ModelLocator.ggufFile(for: blob, environment: environment) == blob, "a blob path is a GGUF file by its magic")
        let checkpoint = try Checkpoint(location: "ollama:tiny", environment: environment)
        #expect(checkpoint.config.modelType == "qwen2" && checkpoint.source is GGUFModel)
        #expect(throws: InputError.self) { try ModelLocator.ggufFile(for: "ollama:tiny:13b", environment: environment) }
        do {
            _ = try ModelLocator.ggufFile(for: "ollama:absent", environment: environment)
            Issue.record("found a model that is not there")
        } catch let error as InputError {
            #expect(error.description.contains("ollama pull absent"), "\(error)")
        }
        // Without OLLAMA_MODELS, ~/.ollama/models.
        let home = TemporaryFolder()
        let homeBlob = try ollamaFolder(home, root: ".ollama/models")
        #expect(try ModelLocator.ggufFile(for: "ollama:tiny", environment: ["HOME": home.path]) == homeBlob)
    }

    @Test func lmStudioModelsAreFoundByPublisherAndRepository() throws {
        let folder = TemporaryFolder()
        let tiny = try Data(contentsOf: Fixtures.url("gguf/tiny-qwen3.gguf"))
        let one = folder.write(".lmstudio/models/someone/Tiny-GGUF/tiny-Q8_0.gguf", tiny)
        folder.write(".cache/lm-studio/models/other/Two-GGUF/a.gguf", tiny)
        folder.write(".cache/lm-studio/models/other/Two-GGUF/b.gguf", tiny)
        let environment = ["HOME": folder.path, "HF_HUB_CACHE": folder.file("hub")]
        #expect(try ModelLocator.ggufFile(for: "lmstudio:someone/Tiny-GGUF", environment: environment) == one)
        #expect(try ModelLocator.ggufFile(for: "someone/Tiny-GGUF", environment: environment) == one)
        #expect(try ModelLocator.ggufFile(for: "lmstudio:other/Two-GGUF/b.gguf", environment: environment) == folder.file(".cache/lm-studio/models/other/Two-GGUF/b.gguf"))
        #expect(throws: InputError.self) { try ModelLocator.ggufFile(for: "lmstudio:other/Two-GGUF", environment: environment) }
        #expect(try Checkpoint(location: "someone/Tiny-GGUF", environment: environment).config.modelType == "qwen3")
        // A model folder is not a GGUF file; an id not found anywhere is nobody's.
        #expect(try ModelLocator.ggufFile(for: Fixtures.url("checkpoints/qwen2").path, environment: environment) == nil)
        #expect(try ModelLocator.ggufFile(for: "nobody/Nothing", environment: environment) == nil)
    }
}

/// Logits of the two real GGUF files against transformers' model loaded from the same file, on
/// three prompts (Tests/Fixtures/gguf/logits-NAME.safetensors: every position, at 1,024 evenly
/// spaced vocabulary ids and the 16 largest).
@Suite struct RealGGUFLogitsTests {
    func check(_ name: String, path: String) throws {
        let reference = try SafetensorsFile(path: Fixtures.url("gguf/logits-\(name).safetensors").path)
        let checkpoint = try Checkpoint(location: path)
        let model = try Transformer(checkpoint: checkpoint)
        let tokenizer = try checkpoint.loadTokenizer()
        let promptsJSON = try #require(reference.metadata["prompts"])
        let prompts = try #require(try JSONSerialization.jsonObject(with: Data(promptsJSON.utf8)) as? [String])
        for (index, prompt) in prompts.enumerated() {
            func tensor(_ key: String) throws -> StoredTensor { try #require(reference.tensors["\(key).\(index)"]) }
            let idsTensor = try tensor("ids"), columnsTensor = try tensor("columns")
            func int64s(_ t: StoredTensor) -> [Int] {
                let raw = reference.rawBytes(t)
                return (0..<(raw.count / 8)).map { Int(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
            }
            let ids = int64s(idsTensor), columns = int64s(columnsTensor)
            #expect(tokenizer.encode(prompt) == ids, "\(name): the tokenizer on \(prompt.debugDescription)")
            let expected = try reference.floats(try tensor("logits"))
            let width = columnsTensor.shape[1]
            let logits = try #require(try model.forward(Batch([ids]), logits: .all))
            var worst: Float = 0
            for row in 0..<ids.count {
                for k in 0..<width {
                    worst = max(worst, abs(logits.pointer[row * model.vocabSize + columns[row * width + k]] - expected[row * width + k]))
                }
            }
            #expect(worst < 1e-4, "\(name) prompt \(index): max |Δ logit| \(worst)")
        }
    }

    @Test(.enabled(if: RealGGUF.has(RealGGUF.smolLM2), RealGGUF.missing(RealGGUF.smolLM2)))
    func smolLM2LogitsEqualTransformers() throws { try check("smollm2", path: RealGGUF.smolLM2) }

    /// Runs once the engine runs Gemma 3 (the families work); until then skipped with that reason.
    @Test(.enabled(if: RealGGUF.has(RealGGUF.gemma3), RealGGUF.missing(RealGGUF.gemma3)),
          .enabled(if: ModelConfig.supportedModelTypes.contains("gemma3_text") || ModelConfig.supportedModelTypes.contains("gemma3"),
                   "skipped: the engine does not run gemma3 yet (ModelConfig.supportedModelTypes)"))
    func gemma3LogitsEqualTransformers() throws { try check("gemma3", path: RealGGUF.gemma3) }
}

@Suite struct GGUFFingerprintTests {
    func fingerprint(_ path: String) throws -> String {
        let checkpoint = try Checkpoint(location: path)
        let inputs = AnalysisInputs(checkpoint: checkpoint, model: try Transformer(checkpoint: checkpoint), tokenizer: try checkpoint.loadTokenizer(),
                                    probes: try ProbeSet.load(path: Fixtures.url("probes/tiny-llama.jsonl").path),
                                    corpus: try DomainCorpus.load(folder: Fixtures.url("domains").path))
        return try AnalysisFingerprint(inputs: inputs, options: AnalysisOptions()).id
    }

    /// The store's fingerprint covers a GGUF file's metadata and tensors: a copy elsewhere is the
    /// same analysis, a changed metadata value or a changed tensor byte another one.
    @Test func fingerprintCoversMetadataAndTensors() throws {
        let folder = TemporaryFolder()
        let original = try Data(contentsOf: Fixtures.url("gguf/tiny-qwen2.gguf"))
        let file = try GGUFFile(path: Fixtures.url("gguf/tiny-qwen2.gguf").path)
        let down = try #require(file.tensorsByName["blk.1.ffn_down.weight"])
        var metadata = original
        let name = Data("tiny qwen2".utf8)
        let at = try #require(metadata.range(of: name))
        metadata.replaceSubrange(at, with: Data("tiny qwen3".utf8))
        var tensor = original
        tensor[down.byteRange.lowerBound] ^= 1
        let base = try fingerprint(Fixtures.url("gguf/tiny-qwen2.gguf").path)
        #expect(try fingerprint(folder.write("copy.gguf", original)) == base)
        #expect(try fingerprint(folder.write("metadata.gguf", metadata)) != base)
        #expect(try fingerprint(folder.write("tensor.gguf", tensor)) != base)
    }
}
