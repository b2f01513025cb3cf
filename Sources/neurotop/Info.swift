import ArgumentParser
import Foundation
import Metrics

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a checkpoint: family, sizes, dtype, parameters, tensors, tokenizer.")

    @Argument(help: "A model folder, or a model id in the local Hugging Face cache (default: the built-in model).")
    var model: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let checkpoint = try Checkpoint(location: resolveModel(model))
        let summary = try ModelSummary(checkpoint: checkpoint)
        if json {
            try printJSON(summary.json)
        } else {
            print(summary.plainText)
        }
    }
}
