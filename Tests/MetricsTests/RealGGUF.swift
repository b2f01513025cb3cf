import Foundation
import Testing

/// The real GGUF files `scripts/fetch-gguf` caches (NEUROTOP_CACHE, default ~/.cache/neurotop):
/// the tests on them run when the files are there and are skipped, with the reason, when not.
enum RealGGUF {
    static let cache: String = {
        let environment = ProcessInfo.processInfo.environment
        if let folder = environment["NEUROTOP_CACHE"], !folder.isEmpty { return folder }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".cache/neurotop")
    }()

    static let smolLM2 = (cache as NSString).appendingPathComponent("gguf/SmolLM2-135M-Instruct.Q4_1.gguf")
    static let gemma3 = (cache as NSString).appendingPathComponent("gguf/gemma-3-270m-q4_k_m.gguf")
    static let vocabFolder = (cache as NSString).appendingPathComponent("llama-vocab")

    static func vocabFile(_ name: String) -> String { (vocabFolder as NSString).appendingPathComponent("ggml-vocab-\(name).gguf") }

    static func has(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Why a file is missing: what scripts/fetch-gguf recorded, or that it has not run.
    static func missing(_ path: String) -> Comment {
        let recorded = (try? String(contentsOfFile: (cache as NSString).appendingPathComponent("gguf-skipped.txt"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let why = recorded.isEmpty ? "scripts/fetch-gguf has not fetched it (scripts/test runs it)" : "scripts/fetch-gguf: \(recorded.replacingOccurrences(of: "\n", with: "; "))"
        return Comment(rawValue: "skipped: \(path) is missing; \(why)")
    }
}
