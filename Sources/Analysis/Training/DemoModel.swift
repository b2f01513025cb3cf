import Foundation
import Model
import Tensors
import Tokenizers

/// The built-in demo model: a small Llama-style model that neurotop trains itself on the demo
/// world's facts (several phrasings each) and the shipped domain corpora, written as a Hugging
/// Face folder (`config.json`, `model.safetensors`, `tokenizer.json`).
public enum DemoModel {
    public static let vocabularySize = 2048

    /// The demo's architecture as `config.json` holds it (transformers 5 spelling).
    public static func configJSON(bos: Int, eos: Int) -> [String: Any] {
        [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 4,
            "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32,
            "max_position_embeddings": 128, "vocab_size": vocabularySize,
            "rms_norm_eps": 1e-5, "hidden_act": "silu", "tie_word_embeddings": true,
            "attention_bias": false, "mlp_bias": false, "attention_dropout": 0.0,
            "rope_parameters": ["rope_type": "default", "rope_theta": 10000.0],
            "bos_token_id": bos, "eos_token_id": eos, "dtype": "float32",
        ]
    }

    /// Every phrasing of every fact in `data/demo/facts.jsonl`, in file order.
    public static func factTexts(path: String) throws -> [String] {
        var texts: [String] = []
        for (index, line) in try DataText.lines(of: path, kind: "facts").enumerated() where !DataText.isBlank(line) {
            let object = try DataText.object(line, number: index + 1, path: path)
            guard let phrasings = object["phrasings"] as? [String], !phrasings.isEmpty else {
                throw InputError(path, "line \(index + 1): field \"phrasings\" is not a list of sentences")
            }
            texts += phrasings
        }
        return texts
    }

    /// Token sequences to train on: each fact phrasing, and each domain sample cut into windows
    /// that fit the context, every one starting with BOS.
    static func examples(_ texts: [String], tokenizer: Tokenizer, context: Int) -> [[Int]] {
        texts.flatMap { text -> [[Int]] in
            let ids = tokenizer.encode(text)
            guard ids.count > context, let bos = ids.first else { return [ids] }
            return stride(from: 1, to: ids.count, by: context - 1).map { [bos] + ids[$0..<min($0 + context - 1, ids.count)] }
        }
    }

    public struct Progress {
        public let step: Int
        public let steps: Int
        public let loss: Float
        public let seconds: Double
    }

    /// The steps after which `count` checkpoints are kept: evenly spaced over `steps`, the last
    /// one the final step (1000 steps, 8 checkpoints: 125, 250, …, 1000).
    public static func checkpointSteps(steps: Int, count: Int) -> [Int] {
        precondition((0...steps).contains(count), "at most a checkpoint a step")
        return count == 0 ? [] : (1...count).map { $0 * steps / count }
    }

    /// The folder `train` writes the checkpoint after `step` to, inside its own folder.
    public static func checkpointFolder(_ folder: String, step: Int) -> String {
        (folder as NSString).appendingPathComponent("step-\(step)")
    }

    /// Trains the demo model from the shipped data and writes it to `folder`; with `checkpoints`,
    /// also that many checkpoints along the way, each a complete folder (`checkpointFolder`).
    public static func train(dataRoot: String, folder: String, options: TrainingOptions, checkpoints: Int = 0,
                             progress: (Progress) -> Void) throws {
        let facts = try factTexts(path: (dataRoot as NSString).appendingPathComponent("demo/facts.jsonl"))
        let corpus = try DomainCorpus.load(folder: (dataRoot as NSString).appendingPathComponent("domains"))
        let samples = corpus.domains.flatMap(\.samples)
        let tokenizerJSON = try TokenizerTrainer.train(corpus: facts + samples, vocabularySize: vocabularySize)
        let tokenizer = try Tokenizer.load(data: Data(tokenizerJSON.utf8), path: "tokenizer.json")
        guard let bos = tokenizer.id(of: TokenizerTrainer.beginOfText), let eos = tokenizer.id(of: TokenizerTrainer.endOfText) else {
            throw InputError("", "the trained tokenizer lacks its special tokens")
        }
        let configObject = configJSON(bos: bos, eos: eos)
        let config = try ModelConfig(json: configObject, path: "config.json")
        let examples = examples(facts + samples, tokenizer: tokenizer, context: config.contextLength)
        let trainer = try Trainer(config: config, options: options)
        let configData = try JSONSerialization.data(withJSONObject: configObject, options: [.sortedKeys, .prettyPrinted]) + Data("\n".utf8)
        func write(to folder: String) throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
            try configData.write(to: URL(fileURLWithPath: path("config.json")))
            try Data(tokenizerJSON.utf8).write(to: URL(fileURLWithPath: path("tokenizer.json")))
            try trainer.writeWeights(to: path("model.safetensors"))
        }
        let kept = Set(checkpointSteps(steps: options.steps, count: checkpoints))
        let start = DispatchTime.now().uptimeNanoseconds
        for step in 0..<options.steps {
            let loss = try trainer.trainStep(on: examples)
            if step % 50 == 0 || step == options.steps - 1 {
                progress(Progress(step: step + 1, steps: options.steps, loss: loss,
                                  seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            }
            if kept.contains(step + 1) { try write(to: checkpointFolder(folder, step: step + 1)) }
        }
        try write(to: folder)
    }
}
