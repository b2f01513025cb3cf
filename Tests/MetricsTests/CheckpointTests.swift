import Foundation
import Checkpoints
import Model
import Tensors
import Testing

/// FNV-1a 64 over the bytes of float32 values, as the fixture script hashes numpy's reading.
func fnv1a64(_ values: [Float]) -> String {
    var hash: UInt64 = 0xcbf29ce484222325
    values.withUnsafeBytes { bytes in
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100000001b3
        }
    }
    return String(hash, radix: 16).leftPadded(to: 16)
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

@Suite struct CheckpointReading {
    /// Every tensor of every fixture (F32, F16, BF16; one file and sharded) equals numpy's reading, bit for bit.
    @Test(arguments: ["gpt2", "llama", "llama-linear", "mistral", "qwen2", "qwen3", "llama-sharded", "llama-f16", "llama-bf16"])
    func everyTensorEqualsNumpy(_ name: String) throws {
        let folder = Fixtures.url("checkpoints/\(name)").path
        let source = try SafetensorsFolder(path: folder)
        let data = try Data(contentsOf: Fixtures.url("checkpoints/\(name)/tensors.json"))
        let json = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let tensors = try #require(json["tensors"] as? [[String: Any]])
        #expect(Set(tensors.compactMap { $0["name"] as? String }) == Set(source.tensorNames))
        for expected in tensors {
            let tensorName = try #require(expected["name"] as? String)
            let stored = try #require(source.tensor(tensorName))
            #expect(stored.typeName == expected["dtype"] as? String)
            #expect(stored.shape == expected["shape"] as? [Int])
            #expect(stored.fileName == expected["file"] as? String)
            let values = try source.floats(tensorName)
            #expect(fnv1a64(values) == expected["fnv1a64"] as? String, "\(name): \(tensorName)")
            let first = try #require(expected["first"] as? [Double]).map(Float.init)
            #expect(Array(values.prefix(first.count)) == first)
        }
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(source.files.count == files.count)
        for file in source.files {
            let entry = try #require(files.first { $0["file"] as? String == (file.path as NSString).lastPathComponent })
            #expect(file.metadata == entry["metadata"] as? [String: String])
        }
    }

    @Test func olderAndNewerConfigSpellingsAgree() throws {
        let older = try Checkpoint(folder: Fixtures.url("checkpoints/llama-linear").path).config
        #expect(older.rope.kind == .linear && older.rope.factor == 2)
        #expect(older.dtype == "float32")
        let newer = try Checkpoint(folder: Fixtures.url("checkpoints/llama").path).config
        #expect(newer.rope.kind == .llama3 && newer.rope.factor == 8 && newer.rope.originalContext == 64 && newer.rope.theta == 500_000)
        #expect(newer.kvHeadCount == 2 && newer.headCount == 4)
        let qwen3 = try Checkpoint(folder: Fixtures.url("checkpoints/qwen3").path).config
        #expect(qwen3.headDim == 24 && qwen3.hiddenSize == 64)
    }

    @Test func modelIDsResolveInTheHuggingFaceCache() throws {
        let cache = TemporaryFolder()
        let snapshot = cache.file("hub/models--neurotop--tiny-llama/snapshots/abc123")
        try FileManager.default.createDirectory(atPath: (snapshot as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: snapshot, withDestinationPath: Fixtures.url("checkpoints/llama").path)
        cache.write("hub/models--neurotop--tiny-llama/refs/main", "abc123\n")
        for environment in [["HF_HUB_CACHE": cache.file("hub")], ["HF_HOME": cache.path], ["HOME": cache.path, "XDG": ""]] {
            var environment = environment
            if environment["HOME"] != nil {
                try? FileManager.default.createDirectory(atPath: cache.file(".cache/huggingface"), withIntermediateDirectories: true)
                try? FileManager.default.createSymbolicLink(atPath: cache.file(".cache/huggingface/hub"), withDestinationPath: cache.file("hub"))
                environment.removeValue(forKey: "XDG")
            }
            let checkpoint = try Checkpoint(location: "neurotop/tiny-llama", environment: environment)
            #expect(checkpoint.folder.hasSuffix("/models--neurotop--tiny-llama/snapshots/abc123"))
            #expect(checkpoint.config.modelType == "llama")
        }
        #expect(throws: InputError("neurotop/absent", "not a folder, and not in the Hugging Face cache (looked for \(cache.file("hub"))/models--neurotop--absent/snapshots/*); neurotop never downloads: put the model there or pass its folder")) {
            try Checkpoint(location: "neurotop/absent", environment: ["HF_HUB_CACHE": cache.file("hub")])
        }
    }

    @Test func shardIndexNamingAMissingShardIsRefused() throws {
        let folder = TemporaryFolder()
        for file in ["config.json", "model.safetensors.index.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors"] {
            try FileManager.default.copyItem(atPath: Fixtures.url("checkpoints/llama-sharded/\(file)").path, toPath: folder.file(file))
        }
        #expect(throws: InputError(folder.file("model.safetensors.index.json"), "lists shard model-00003-of-00003.safetensors, which is missing")) {
            try Checkpoint(folder: folder.path)
        }
    }
}
