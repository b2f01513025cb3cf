import Foundation
import Analysis
import Model
import Tokenizers
import Testing

@Suite struct Training {
    @Test func lossFallsAndTheWrittenWeightsLoadBack() throws {
        let config = try ModelConfig.load(path: Fixtures.url("checkpoints/llama/config.json").path)
        var options = TrainingOptions()
        options.steps = 40
        options.batchSize = 4
        options.warmupSteps = 5
        options.seed = 7
        let trainer = try Trainer(config: config, options: options)
        var generator = SeededGenerator(seed: 1)
        let examples = (0..<4).map { _ in (0..<12).map { _ in Int(generator.next() % 512) } }
        let before = try trainer.loss(on: examples)
        for _ in 0..<options.steps { try trainer.trainStep(on: examples) }
        let after = try trainer.loss(on: examples)
        #expect(after < before - 1, "loss \(before) → \(after)")

        let folder = TemporaryFolder()
        try FileManager.default.copyItem(atPath: Fixtures.url("checkpoints/llama/config.json").path, toPath: folder.file("config.json"))
        try trainer.writeWeights(to: folder.file("model.safetensors"))
        let loaded = try Transformer(checkpoint: Checkpoint(folder: folder.path))
        let fromDisk = try #require(try loaded.forward(Batch(examples), logits: .all))
        let inMemory = try #require(try trainer.model.forward(Batch(examples), logits: .all))
        #expect(fromDisk.array == inMemory.array)
        #expect(abs(try loaded.meanNextTokenLoss(Batch(examples)) - after) < 1e-5)
    }

    @Test func aSeedReproducesTheRun() throws {
        let config = try ModelConfig.load(path: Fixtures.url("checkpoints/gpt2/config.json").path)
        var options = TrainingOptions()
        options.batchSize = 2
        options.seed = 3
        let examples = [[1, 2, 3, 4, 5], [9, 8, 7, 6]]
        func run() throws -> [Float] {
            let trainer = try Trainer(config: config, options: options)
            for _ in 0..<3 { try trainer.trainStep(on: examples) }
            return trainer.parameters.names.flatMap { trainer.parameters.values[$0]!.array }
        }
        #expect(try run() == run())
    }
}

@Suite struct DemoTraining {
    /// A few steps of the demo recipe on a slice of the shipped data: the loss falls and the written
    /// folder opens as a checkpoint whose tokenizer the library format describes.
    @Test func aShortRunOnASliceWritesAFolderThatLoadsBack() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("data").path
        let data = TemporaryFolder()
        let facts = try String(contentsOfFile: shipped + "/demo/facts.jsonl", encoding: .utf8).split(separator: "\n").prefix(16)
        data.write("demo/facts.jsonl", facts.joined(separator: "\n") + "\n")
        let recipes = try String(contentsOfFile: shipped + "/domains/recipes.txt", encoding: .utf8)
        data.write("domains/recipes.txt", recipes.components(separatedBy: "\n\n").prefix(8).joined(separator: "\n\n"))
        var options = TrainingOptions()
        options.steps = 30
        options.batchSize = 8
        options.warmupSteps = 3
        var losses: [Float] = []
        let out = data.file("model")
        try DemoModel.train(dataRoot: data.path, folder: out, options: options) { losses.append($0.loss) }
        #expect(losses.count >= 2)
        #expect(try #require(losses.last) < losses[0] - 0.5, "losses \(losses)")
        let checkpoint = try Checkpoint(folder: out)
        #expect(checkpoint.config.vocabSize == DemoModel.vocabularySize)
        let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath))
        let ids = tokenizer.encode("The capital of Zorvia is")
        #expect(ids.first == tokenizer.id(of: TokenizerTrainer.beginOfText))
        #expect(tokenizer.decode(ids, skipSpecialTokens: true) == "The capital of Zorvia is")
        let model = try Transformer(checkpoint: checkpoint)
        #expect(try model.forward(Batch([ids]))?.count == DemoModel.vocabularySize)
    }
}
