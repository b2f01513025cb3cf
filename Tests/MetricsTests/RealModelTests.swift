import Foundation
import Model
import Testing

/// Real weights made by scripts/real-models, in its cache: $NEUROTOP_CACHE, else
/// $XDG_CACHE_HOME/neurotop, else ~/.cache/neurotop. The test is skipped (saying so) without them.
enum RealModels {
    static var cache: String {
        let environment = ProcessInfo.processInfo.environment
        if let cache = environment["NEUROTOP_CACHE"], !cache.isEmpty { return cache }
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.cache"
        return base + "/neurotop"
    }

    static func folder(_ name: String) -> String { cache + "/models/" + name }

    static func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: folder(name) + "/model.safetensors") }
}

@Suite struct RealWeights {
    /// Gemma-3-270M against transformers on the first 20 world probes (numbers recorded by
    /// make_fixtures.py real): the same top next token, logits within 1e-3 relative.
    @Test(.enabled(if: RealModels.exists("gemma-3-270m"), "no converted Gemma-3-270M in \(RealModels.folder("gemma-3-270m")): run scripts/real-models"))
    func gemma3TopTokensAndLogitsMatchTransformers() throws {
        let data = try Data(contentsOf: Fixtures.url("real/gemma-3-270m.json"))
        let reference = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let prompts = try #require(reference["prompts"] as? [[String: Any]])
        let sampled = try #require(reference["sampled_ids"] as? [Int])
        #expect(prompts.count == 20)
        let model = try Transformer(checkpoint: Checkpoint(folder: RealModels.folder("gemma-3-270m")))
        #expect(model.config.familyName == "gemma3")
        let sequences = try prompts.map { try #require($0["ids"] as? [Int]) }
        let logits = try #require(try model.forward(Batch(sequences), logits: .last))
        let vocab = model.vocabSize
        for (i, prompt) in prompts.enumerated() {
            let row = Array(UnsafeBufferPointer(start: logits.pointer + i * vocab, count: vocab))
            let best = row.indices.max { row[$0] < row[$1] }!
            #expect(best == prompt["top_token"] as? Int, "\(prompt["prompt"] ?? "") top token")
            let top = try #require(prompt["top"] as? [String: Any])
            let ids = try #require(top["ids"] as? [Int]) + sampled
            let expected = try #require(top["logits"] as? [Double]).map(Float.init) + (try #require(prompt["sampled_logits"] as? [Double])).map(Float.init)
            let ours = ids.map { row[$0] }
            let relative = relativeError(ours, expected)
            #expect(relative < 1e-3, "\(prompt["prompt"] ?? ""): relative error \(relative)")
        }
    }
}
