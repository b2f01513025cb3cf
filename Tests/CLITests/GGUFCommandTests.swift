import Foundation
import Testing

/// The real GGUF files scripts/fetch-gguf caches; their tests are skipped, with the reason, when absent.
enum CachedGGUF {
    static let cache: String = {
        if let folder = ProcessInfo.processInfo.environment["NEUROTOP_CACHE"], !folder.isEmpty { return folder }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/neurotop")
    }()
    static let smolLM2 = (cache as NSString).appendingPathComponent("gguf/SmolLM2-135M-Instruct.Q4_1.gguf")
    static let gemma3 = (cache as NSString).appendingPathComponent("gguf/gemma-3-270m-q4_k_m.gguf")

    static func has(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func missing(_ path: String) -> Comment {
        let recorded = (try? String(contentsOfFile: (cache as NSString).appendingPathComponent("gguf-skipped.txt"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let why = recorded.isEmpty ? "scripts/fetch-gguf has not fetched it (scripts/test runs it)" : "scripts/fetch-gguf: \(recorded.replacingOccurrences(of: "\n", with: "; "))"
        return Comment(rawValue: "skipped: \(path) is missing; \(why)")
    }
}

@Suite struct GGUFCommands {
    func json(_ result: Neurotop.Result) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test func infoDescribesAGGUFFile() throws {
        let info = try json(Neurotop.run(["info", Neurotop.fixture("gguf/tiny-iq4_nl.gguf"), "--json"]))
        #expect(info["model_type"] as? String == "qwen2" && info["blocks"] as? Int == 2 && info["hidden_size"] as? Int == 64)
        let gguf = try #require(info["gguf"] as? [String: Any])
        #expect(gguf["types"] as? [String: Int] == ["F16": 14, "F32": 11, "IQ4_NL": 1])
        #expect(gguf["version"] as? Int == 3 && gguf["architecture"] as? String == "qwen2")
        let tensors = try #require(info["tensors"] as? [[String: Any]])
        #expect(tensors.contains { $0["name"] as? String == "model.layers.0.mlp.up_proj.weight" && $0["gguf_name"] as? String == "blk.0.ffn_up.weight" && $0["dtype"] as? String == "IQ4_NL" })
    }

    /// The same logits from a GGUF file as from the safetensors folder it was written from.
    @Test func runOnAGGUFFileEqualsRunOnItsFolder() throws {
        let fromGGUF = try json(Neurotop.run(["run", Neurotop.fixture("gguf/tiny-llama-linear.gguf"), "--ids", "134,29,399,388", "--json"]))
        let fromFolder = try json(Neurotop.run(["run", Neurotop.fixture("checkpoints/llama-linear"), "--ids", "134,29,399,388", "--json"]))
        let a = try #require(fromGGUF["top"] as? [[String: Any]]), b = try #require(fromFolder["top"] as? [[String: Any]])
        #expect(a.map { $0["id"] as? Int } == b.map { $0["id"] as? Int })
        for (x, y) in zip(a, b) { #expect(abs((x["logit"] as? Double ?? 0) - (y["logit"] as? Double ?? 1)) < 1e-5) }
    }

    @Test func badGGUFInputGetsOneLineAndExitOne() throws {
        let folder = NSTemporaryDirectory() + "neurotop-gguf-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tiny = try Data(contentsOf: URL(fileURLWithPath: Neurotop.fixture("gguf/tiny-qwen2.gguf")))
        var wrongMagic = tiny
        wrongMagic.replaceSubrange(0..<4, with: Array("GGML".utf8))
        let cases: [(String, Data?, String)] = [
            ("truncated.gguf", tiny.prefix(tiny.count / 2), "runs past the end of the data"),
            ("magic.gguf", wrongMagic, "wrong magic"),
            ("unsupported.gguf", try Data(contentsOf: URL(fileURLWithPath: Neurotop.fixture("gguf/tiny-iq4_nl.gguf"))), "is IQ4_NL, which neurotop does not dequantize"),
        ]
        for (name, data, problem) in cases {
            let path = (folder as NSString).appendingPathComponent(name)
            try data?.write(to: URL(fileURLWithPath: path))
            let result = try Neurotop.run(["run", path, "--ids", "1,2"])
            #expect(result.status == 1 && result.stderrLines.count == 1, "\(name): \(result.stderr)")
            #expect(result.stderr.contains(path) && result.stderr.contains(problem), "\(name): \(result.stderr)")
        }
        let ollama = try Neurotop.run(["info", "ollama:absent"], environment: ["OLLAMA_MODELS": folder])
        #expect(ollama.status == 1 && ollama.stderrLines.count == 1 && ollama.stderr.contains("ollama:absent"), "\(ollama.stderr)")
    }

    @Test(.enabled(if: CachedGGUF.has(CachedGGUF.smolLM2), CachedGGUF.missing(CachedGGUF.smolLM2)))
    func smolLM2OpensDirectly() throws {
        let info = try Neurotop.run(["info", CachedGGUF.smolLM2])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("family     llama (model_type llama)"))
        #expect(info.stdout.contains("blocks     30 × hidden 576, MLP width 1536, 9 heads (3 key/value), head dim 64"))
        #expect(info.stdout.contains("dtype      Q4_1 ×210, F32 ×61, Q8_0 ×1"))
        #expect(info.stdout.contains("parameters 134.5M"))
        let run = try json(Neurotop.run(["run", CachedGGUF.smolLM2, "--prompt", "The capital of France is", "--json", "--top", "1"]))
        let top = try #require((run["top"] as? [[String: Any]])?.first)
        #expect(top["token"] as? String == " Paris")
        #expect(abs((top["probability"] as? Double ?? 0) - 0.7725) < 0.001)
    }

    /// Gemma 3 opens once the engine runs the family; until then it is refused by name.
    @Test(.enabled(if: CachedGGUF.has(CachedGGUF.gemma3), CachedGGUF.missing(CachedGGUF.gemma3)))
    func gemma3OpensOrIsRefusedByName() throws {
        let info = try Neurotop.run(["info", CachedGGUF.gemma3])
        if info.status == 0 {
            #expect(info.stdout.contains("blocks     18 × hidden 640"))
            #expect(info.stdout.contains("Q8_0") && info.stdout.contains("Q6_K") && info.stdout.contains("Q5_0"))
        } else {
            #expect(info.status == 1 && info.stderrLines.count == 1)
            #expect(info.stderr.contains("architecture 'gemma3' (Hugging Face model_type gemma3_text) is not run by neurotop yet"), "\(info.stderr)")
        }
    }
}
