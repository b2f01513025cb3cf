import ArgumentParser
import Foundation
import Model

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a checkpoint: family, sizes, dtype, parameters, tensors, tokenizer.")

    @OptionGroup var model: ModelArguments

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let summary = try ModelSummary(checkpoint: model.checkpoint())
        if json {
            try printJSON(summary.json)
        } else {
            print(summary.plainText)
        }
    }
}
