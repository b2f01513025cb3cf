import Foundation
import Analysis
import Checkpoints
import Testing

/// The pieces of the rise along training and across sizes: the correlations, the checkpoints a
/// run keeps, the folders `compare` reads them from, and the order it shows models in.
@Suite struct RiseTests {
    /// x = 1…5, y = 2, 4, 5, 4, 5: deviations (−2, −1, 0, 1, 2) and (−2, 0, 1, 0, 1), so Σdxdy = 6,
    /// Σdx² = 10, Σdy² = 6 and r = 6 / √60.
    @Test func pearsonMatchesTheHandComputedValue() throws {
        let r = try #require(Correlation.pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]))
        #expect(abs(r - 6 / 60.0.squareRoot()) < 1e-12)
        #expect(abs(r - 0.7745966692414834) < 1e-12)
        #expect(try #require(Correlation.pearson([1, 2, 3], [3, 2, 1])) == -1)
        #expect(Correlation.pearson([1, 2, 3], [4, 4, 4]) == nil, "undefined for a constant list")
        #expect(Correlation.pearson([1], [2]) == nil)
    }

    /// The same lists ranked: y's ties share their average rank, (1, 2.5, 4.5, 2.5, 4.5); against
    /// x's (1…5) Σdxdy = 7, Σdx² = 10, Σdy² = 9 and ρ = 7 / √90.
    @Test func spearmanRanksTiesByTheirAverage() throws {
        #expect(Correlation.averageRanks([2, 4, 5, 4, 5]) == [1, 2.5, 4.5, 2.5, 4.5])
        #expect(Correlation.averageRanks([3, 1, 3, 2]) == [3.5, 1, 3.5, 2])
        let rho = try #require(Correlation.spearman([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]))
        #expect(abs(rho - 7 / 90.0.squareRoot()) < 1e-12)
        #expect(abs(rho - 0.7378647873726218) < 1e-12)
        // Monotone but not linear: ρ is 1 where r is less.
        #expect(try #require(Correlation.spearman([1, 2, 3, 4], [1, 8, 27, 64])) == 1)
        #expect(try #require(Correlation.pearson([1, 2, 3, 4], [1, 8, 27, 64])) < 0.99)
    }

    @Test func checkpointsAreEvenlySpacedAndEndAtTheFinalStep() {
        #expect(DemoModel.checkpointSteps(steps: 1000, count: 8) == [125, 250, 375, 500, 625, 750, 875, 1000])
        #expect(DemoModel.checkpointSteps(steps: 8, count: 4) == [2, 4, 6, 8])
        #expect(DemoModel.checkpointSteps(steps: 10, count: 3) == [3, 6, 10])
        #expect(DemoModel.checkpointSteps(steps: 5, count: 5) == [1, 2, 3, 4, 5])
        #expect(DemoModel.checkpointSteps(steps: 5, count: 0) == [])
    }

    /// `step-N` and Hugging Face Trainer's `checkpoint-N` folders, in step order (step-10 after
    /// step-2, not before it as their names sort); files and other names are not checkpoints.
    @Test func aFolderOfCheckpointsListsThemInStepOrder() {
        #expect(CheckpointRun.step(folderName: "step-500") == 500)
        #expect(CheckpointRun.step(folderName: "checkpoint-1500") == 1500)
        for name in ["step-", "step-+5", "steps-5", "step-5a", "model", "step-٣"] {
            #expect(CheckpointRun.step(folderName: name) == nil, "\(name)")
        }
        let run = TemporaryFolder()
        for name in ["step-10", "step-2", "checkpoint-5", "logs"] {
            try? FileManager.default.createDirectory(atPath: run.file(name), withIntermediateDirectories: true)
        }
        run.write("step-7", "a file, not a checkpoint")
        #expect(CheckpointRun.checkpoints(in: run.path).map(\.step) == [2, 5, 10])
        #expect(CheckpointRun.checkpoints(in: run.path).map(\.folder) == [run.file("step-2"), run.file("checkpoint-5"), run.file("step-10")])
        #expect(CheckpointRun.checkpoints(in: run.file("logs")).isEmpty)
        #expect(CheckpointRun.checkpoints(in: run.file("none")).isEmpty)
    }

    /// Families in the order first named, each family's models by size, equal sizes as named.
    @Test func compareShowsAFamilysModelsBySize() {
        let families = ["qwen2", "llama", "qwen2", "llama", "llama"]
        let parameters = [1_500, 135, 500, 4_000, 4_000]
        #expect(Comparison.order(families: families, parameters: parameters) == [2, 0, 1, 3, 4])
    }
}
