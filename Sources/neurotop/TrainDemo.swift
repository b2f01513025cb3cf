import ArgumentParser
import Foundation
import Analysis
import Checkpoints
import Tensors

struct TrainDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-demo",
        abstract: "Train the built-in demo model from the shipped facts and domain corpora, deterministically for a seed, into a Hugging Face folder.")

    @Option(help: "Where to write config.json, model.safetensors and tokenizer.json.")
    var out = "neurotop-demo"

    @Option(help: "The seed of the initialisation and of the batches.")
    var seed: UInt64 = 0

    @Option(help: "Adam steps.")
    var steps = TrainingOptions().steps

    @Option(help: "Sequences per step.")
    var batchSize = TrainingOptions().batchSize

    @Option(help: "Also keep this many checkpoints, evenly spaced over the steps (the last the final step), each a folder OUT/step-STEP that `compare OUT` puts in step order.")
    var checkpoints: Int?

    func validate() throws {
        if steps < 1 || batchSize < 1 { throw ValidationError("--steps and --batch-size must be at least 1") }
        if let checkpoints, !(1...steps).contains(checkpoints) {
            throw ValidationError("--checkpoints must be from 1 to the number of steps (\(steps)); got \(checkpoints)")
        }
    }

    func run() throws {
        // A fixed thread count keeps the run reproducible across machines.
        BLAS.threads = 2
        var options = TrainingOptions()
        options.seed = seed
        options.steps = steps
        options.batchSize = batchSize
        options.warmupSteps = min(options.warmupSteps, steps / 10 + 1)
        let interactive = isatty(STDERR_FILENO) != 0
        try DemoModel.train(dataRoot: ShippedData.root(), folder: out, options: options, checkpoints: checkpoints ?? 0) { progress in
            let remaining = progress.seconds / Double(progress.step) * Double(progress.steps - progress.step)
            let line = String(format: "step %5d/%d  loss %.4f  %4.0fs elapsed, %4.0fs left", progress.step, progress.steps, progress.loss, progress.seconds, remaining)
            FileHandle.standardError.write(Data((interactive ? "\r" + line : line + "\n").utf8))
        }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        print("wrote \(out): config.json, model.safetensors, tokenizer.json")
        let kept = DemoModel.checkpointSteps(steps: steps, count: checkpoints ?? 0)
        if !kept.isEmpty {
            print("and \(kept.count) checkpoint\(kept.count == 1 ? "" : "s") in it: " + kept.map { "step-\($0)" }.joined(separator: ", "))
        }
    }
}
