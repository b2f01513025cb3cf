import ArgumentParser
import Foundation
import Checkpoints
import Model
import Tensors
import Tokenizers

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the model on a prompt: the top next tokens, optionally with neurons ablated, and a dump of logits, coefficients and gradients.")

    @OptionGroup var model: ModelArguments

    @Option(help: "The prompt text (tokenized with the model's tokenizer, special tokens added as the library adds them).")
    var prompt: String?

    @Option(help: "Token ids instead of a prompt, comma-separated.")
    var ids: String?

    @Option(help: "How many next tokens to list.")
    var top = 10

    @Option(help: "Zero-ablate these neurons: BLOCK:INDEX,BLOCK:INDEX,...")
    var ablate: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Write a safetensors file with logits [tokens, vocab] and coefficients.L [tokens, F] for every block.")
    var dump: String?

    @Flag(help: "With --dump: add grad.NAME for every 2-D block weight, the gradient of the largest last-position logit.")
    var grad = false

    func validate() throws {
        if (prompt == nil) == (ids == nil) { throw ValidationError("give exactly one of --prompt and --ids") }
        if grad && dump == nil { throw ValidationError("--grad goes with --dump") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
    }

    func run() throws {
        let (checkpoint, transformer) = try model.load()
        // A prompt needs the tokenizer; with --ids it only names the tokens in the output.
        let tokenizer = prompt != nil || checkpoint.hasTokenizer ? try checkpoint.loadTokenizer() : nil
        let sequence = try tokens(tokenizer)
        let ablation = try Ablation(zeroing: ablate.map(NeuronID.parseList) ?? [])
        var coefficients: [Int: [Float]] = [:]
        let hooks = Hooks(coefficients: dump == nil ? nil : { block, values, rows, width in
            coefficients[block] = Array(UnsafeBufferPointer(start: values, count: rows * width))
        })
        let logits = try transformer.forward(Batch([sequence]), logits: dump == nil ? .last : .all, ablation: ablation, hooks: hooks)!
        let vocab = transformer.vocabSize
        let last = Array(UnsafeBufferPointer(start: logits.pointer + (logits.count - vocab), count: vocab))
        let ranked = TopTokens(logits: last, count: top)

        if let dump {
            var writer = SafetensorsWriter()
            writer.add("logits", shape: [sequence.count, vocab], values: logits.array)
            for (block, values) in coefficients { writer.add("coefficients.\(block)", shape: [sequence.count, transformer.mlpWidth], values: values) }
            if grad {
                try transformer.gradients(of: Batch([sequence]), ablation: ablation) { name, values, count in
                    writer.add("grad.\(name)", shape: checkpoint.source.tensor(name)?.shape ?? [count], values: Array(UnsafeBufferPointer(start: values, count: count)))
                }
            }
            writer.metadata = ["ids": sequence.map(String.init).joined(separator: ","), "model": checkpoint.folder]
            try writer.write(to: dump)
        }

        func text(_ id: Int) -> String { tokenizer?.displayString(id) ?? "#\(id)" }
        if json {
            try printJSON([
                "ids": sequence,
                "ablated": ablation.neurons.map(\.description),
                "top": ranked.entries.map { ["id": $0.id, "token": text($0.id), "logit": Double($0.logit), "probability": Double($0.probability)] },
            ])
        } else {
            let shown = sequence.count > 12 ? sequence.prefix(12).map(String.init).joined(separator: " ") + " … (\(sequence.count) tokens)" : sequence.map(String.init).joined(separator: " ")
            print("input     \(shown)")
            if !ablation.isEmpty { print("ablated   \(ablation.neurons.map(\.description).joined(separator: ", "))") }
            print("rank  probability     logit      id  token")
            for (rank, entry) in ranked.entries.enumerated() {
                print(String(format: "%4d  %11.6f  %8.3f  %6d  ", rank + 1, entry.probability, entry.logit, entry.id) + text(entry.id).debugDescription)
            }
        }
    }

    private func tokens(_ tokenizer: Tokenizer?) throws -> [Int] {
        if let ids {
            let parsed = ids.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else { throw InputError("", "--ids takes comma-separated integers, got '\(ids)'") }
            return parsed.map { $0! }
        }
        guard let prompt, !prompt.isEmpty else { throw InputError("", "empty prompt: give some text, or --ids") }
        let sequence = tokenizer?.encode(prompt) ?? []
        guard !sequence.isEmpty else { throw InputError("", "the prompt has no tokens") }
        return sequence
    }
}
