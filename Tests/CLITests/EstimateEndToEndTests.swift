import Foundation
import Analysis
import Model
import Testing

/// A toggle on a model whose exact re-evaluation takes a while: the estimate shows at once,
/// marked ≈, and the exact figure replaces it.
@Suite(.enabled(if: Tmux.path != nil, "tmux is not installed: scripts/setup installs it"))
struct EstimateEndToEndTests {
    /// A random GPT-2-shaped checkpoint (hidden 768, MLP 3072 as GPT-2 small, 4 blocks) with the
    /// fixtures' GPT-2 tokenizer, written with the project's own safetensors writer, and the
    /// first `questions` world-v1 probes.
    static func makeInputs(_ folder: String, questions: Int) throws -> (model: String, probes: String) {
        let model = (folder as NSString).appendingPathComponent("gpt2-random")
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        let config: [String: Any] = ["model_type": "gpt2", "n_embd": 768, "n_layer": 4, "n_head": 12, "n_inner": 3072, "n_positions": 128,
                                     "vocab_size": 1536, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
                                     "bos_token_id": 1500, "eos_token_id": 1500, "tie_word_embeddings": true]
        let configPath = (model as NSString).appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        try FileManager.default.copyItem(atPath: Neurotop.repository.appendingPathComponent("Tests/Fixtures/tokenizers/gpt2/tokenizer.json").path,
                                         toPath: (model as NSString).appendingPathComponent("tokenizer.json"))
        var options = TrainingOptions()
        options.seed = 7
        try Trainer(config: ModelConfig.load(path: configPath), options: options).writeWeights(to: (model as NSString).appendingPathComponent("model.safetensors"))
        let world = try String(contentsOf: Neurotop.repository.appendingPathComponent("data/probes/world-v1.jsonl"), encoding: .utf8)
        let probes = (folder as NSString).appendingPathComponent("probes.jsonl")
        try (world.split(separator: "\n").prefix(questions).joined(separator: "\n") + "\n").write(toFile: probes, atomically: true, encoding: .utf8)
        return (model, probes)
    }

    @Test func theEstimateShowsFirstThenTheExactFigure() throws {
        let folder = NSTemporaryDirectory() + "neurotop-estimate-e2e-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (model, probes) = try Self.makeInputs(folder, questions: 48)
        let tmux = Tmux()
        defer { _ = try? tmux.run(["kill-server"]) }
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "120", "-y", "40",
                      "'\(Neurotop.binary)' open '\(model)' --probes '\(probes)' --samples 2 --no-store; echo EXIT=$?; sleep 60"])
        // The unmasked accuracy with the pooled coefficients, then the estimate's attributions: past
        // them the engine measures PSS and activation patterns ("activation patterns:", a step: not
        // the "activation patterns from step 0" of the engine resuming at the start).
        try tmux.waitFor("the estimate's attributions", timeout: 120) { screen in
            let engine = screen.split(separator: "\n").first { $0.contains("engine:") } ?? ""
            return screen.contains("accuracy ") && ["specialization:", "activation patterns:", "finished"].contains { engine.contains($0) }
        }
        // Ablate the neuron under the Neurons page's cursor (block 0: every block reruns).
        try tmux.keys("2")
        _ = try tmux.waitFor("Neurons", timeout: 10)
        try tmux.keys("Space")
        let estimated = try tmux.waitFor("the ≈ estimate in the status bar", timeout: 10) { $0.contains("with 1 ablated") }
        #expect(estimated.contains("→ ≈") && estimated.contains("(exact 0/48)"), "the estimate comes before any exact result:\n\(estimated)")
        let exact = try tmux.waitFor("the exact figure", timeout: 60) { $0.contains("with 1 ablated") && !$0.contains("≈") }
        let status = try #require(exact.split(separator: "\n").first { $0.contains("with 1 ablated") })
        #expect(status.contains("% → ") && !status.contains("exact "), "\(status)")
        try tmux.keys("q")
        try tmux.keys("q")
        // Quitting does not wait for the engine's unit under way (a pattern step of this
        // GPT-2-width model took over 10 s on the loaded 2-core machine): half a second at most.
        _ = try tmux.waitFor("EXIT=0", timeout: 20)
    }
}

@Suite struct AblateEstimateTests {
    /// `ablate --estimate`: the estimate (figures, time, agreement) beside the exact figures, which
    /// are those of a plain `ablate`.
    @Test func ablateEstimatePrintsTheEstimateThenTheExactNumbers() throws {
        let model = Neurotop.fixture("checkpoints/llama"), probes = Neurotop.fixture("probes/tiny-llama.jsonl")
        let arguments = ["ablate", model, "--probes", probes, "--neurons", "0:3,1:7,1:90"]
        let run = try Neurotop.run(arguments + ["--estimate", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let estimate = try #require(object["estimate"] as? [String: Any])
        #expect((estimate["milliseconds"] as? Double).map { $0 >= 0 } == true)
        #expect((estimate["attribution_seconds"] as? Double).map { $0 > 0 } == true)
        #expect((estimate["pearson_log_probability_change"] as? Double).map { $0 > 0.5 } == true, "\(estimate)")
        let plain = try #require(JSONSerialization.jsonObject(with: Data(try Neurotop.run(arguments + ["--json"]).stdout.utf8)) as? [String: Any])
        #expect(object["open_after"] as? Double == plain["open_after"] as? Double)
        #expect(object["mcq_after"] as? Double == plain["mcq_after"] as? Double)
        let text = try Neurotop.run(arguments + ["--estimate"]).stdout
        #expect(text.hasPrefix("estimate  ≈ first-order, in "), "\(text)")
        #expect(text.contains("exact     in ") && text.contains("→ ≈"))
    }
}
