import Foundation
import Analysis
import Checkpoints
import Model
import Tokenizers
import TUI

/// Every parser of outside input, each as a function of one input's bytes. The loaders read files,
/// so each input is written where the loader expects it (in a scratch folder of this process);
/// a thrown error is the right answer to bad input, a crash or a hang is a bug.
enum FuzzTargets {
    static let all: [(name: String, run: (Data) throws -> Void)] = [
        ("safetensors", { data in _ = try SafetensorsFile(path: try scratch.write("model.safetensors", data)) }),
        ("safetensors-index", { data in
            try scratch.write("index/config.json", Data(validConfig.utf8))
            try scratch.write("index/model.safetensors.index.json", data)
            _ = try Checkpoint(folder: scratch.path("index"))
        }),
        ("gguf", { data in
            // The header (metadata, tensor table), the first row of every tensor dequantized, and
            // the model and tokenizer made from the metadata.
            let path = try scratch.write("model.gguf", data)
            let file = try GGUFFile(path: path)
            for tensor in file.tensors where tensor.rowCount > 0 && tensor.rowWidth <= 1 << 20 {
                let row = UnsafeMutablePointer<Float>.allocate(capacity: tensor.rowWidth)
                defer { row.deallocate() }
                try? file.readRows(tensor, 0..<1, into: row)
            }
            let checkpoint = try Checkpoint(ggufPath: path)
            _ = try checkpoint.loadTokenizer().encode(sampleText)
        }),
        ("config", { data in _ = try ModelConfig.load(path: try scratch.write("config.json", data)) }),
        ("tokenizer", { data in
            let tokenizer = try Tokenizer.load(data: data, path: "tokenizer.json")
            _ = tokenizer.encode(sampleText)
        }),
        ("tokenizer-regex", { data in
            // The input is the split pattern of a byte-level tokenizer: the regex engine parses it
            // and then matches it against mixed text.
            let pattern = String(decoding: data, as: UTF8.self)
            let json = regexTokenizer.replacingOccurrences(of: "PATTERN", with: jsonString(pattern))
            let tokenizer = try Tokenizer.load(data: Data(json.utf8), path: "tokenizer.json")
            _ = tokenizer.encode(sampleText)
        }),
        ("probes", { data in _ = try ProbeSet.load(path: try scratch.write("probes.jsonl", data)) }),
        ("domains", { data in
            // One domain, in the format its first byte suggests: `{` for JSON Lines, else plain text.
            try? FileManager.default.removeItem(atPath: scratch.path("domains"))
            try scratch.write(data.first == UInt8(ascii: "{") ? "domains/lines.jsonl" : "domains/plain.txt", data)
            _ = try DomainCorpus.load(folder: scratch.path("domains"))
        }),
        ("theme", { data in _ = try Theme.load(path: try scratch.write("theme.txt", data)) }),
        ("ablation-set", { data in _ = try AblationFile.read(try scratch.write("set.txt", data)) }),
        ("neuron-list", { data in _ = try NeuronID.parseList(String(decoding: data, as: UTF8.self)) }),
    ]

    static func named(_ name: String) -> ((Data) throws -> Void)? { all.first { $0.name == name }?.run }

    static let scratch = ScratchFolder()

    static let sampleText = "Hello, world! The capital of France is Paris. 123 + 4567 = 4690\n\tcafé ünïcödé 東京 🙂  end"

    static let validConfig = """
        {"model_type": "llama", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
         "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 32, "max_position_embeddings": 64,
         "rms_norm_eps": 1e-6, "hidden_act": "silu", "tie_word_embeddings": true}
        """

    static let regexTokenizer = """
        {"version": "1.0", "added_tokens": [], "normalizer": null,
         "pre_tokenizer": {"type": "Split", "pattern": {"Regex": PATTERN}, "behavior": "Isolated", "invert": false},
         "post_processor": null, "decoder": null,
         "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "a": 1}, "unk_token": "[UNK]"}}
        """

    static func jsonString(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed]), as: UTF8.self)
            .dropFirst().dropLast().description
    }
}

/// A folder of this process's own in shared memory (files there cost no disk writes), removed at exit.
final class ScratchFolder {
    let root: String

    init() {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        root = (base as NSString).appendingPathComponent("neurotop-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: FuzzTargets.scratch.root) }
    }

    func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }

    @discardableResult
    func write(_ relative: String, _ data: Data) throws -> String {
        let file = path(relative)
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: file))
        return file
    }
}
