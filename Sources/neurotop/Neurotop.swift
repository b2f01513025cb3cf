import ArgumentParser
import Foundation
import Checkpoints
import Model
import Tensors

@main
struct Neurotop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neurotop",
        abstract: "Explore where a language model keeps what it knows: its MLP neurons, their knowledge and their activation patterns.",
        subcommands: [Open.self, Overview.self, Info.self, Tokenize.self, Run.self, Eval.self, Analyze.self, Worker.self, Ablate.self, Export.self, Compare.self, List.self, TrainDemo.self, Bench.self],
        defaultSubcommand: Open.self
    )

    /// Input problems print one line naming the file and the problem, and exit 1; nothing else is printed.
    static func main() {
        BLAS.keepFreedMemory()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as InputError {
            FileHandle.standardError.write(Data("neurotop: \(error)\n".utf8))
            Foundation.exit(1)
        } catch {
            exit(withError: error)
        }
    }
}

/// `neurotop overview`: what the built-in model is, and where to go next.
struct Overview: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "overview", abstract: "Describe the built-in model.", shouldDisplay: false)

    func run() throws {
        let model = try ShippedData.defaultModel()
        let checkpoint = try Checkpoint(location: model)
        print(try ModelSummary(checkpoint: checkpoint).plainText)
        print("\nCommands: neurotop info MODEL, neurotop tokenize MODEL TEXT (neurotop --help for all)")
    }
}

func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}
