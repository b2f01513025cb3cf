import ArgumentParser
import Foundation
import Model
import Tensors

/// `neurotop bench engine`: the numeric core's speed and memory on a model.
struct BenchEngine: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Time the engine on a model: forward over N tokens and forward + backward of the top logit, beside the machine's sgemm peak.")

    @OptionGroup var model: ModelArguments

    @Option(help: "Tokens in the benchmark sequence.")
    var tokens = 128

    @Option(help: "Timed runs of each pass (the median is reported).")
    var runs = 5

    @Option(help: "OpenBLAS threads (default: OpenBLAS's own choice, one per core).")
    var threads: Int?

    @Flag(help: "Widen half-precision and quantized matrices a panel at a time before each GEMM, even when their float32 copies would fit (the default keeps them when they take at most half the available memory).")
    var panels = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if tokens < 1 { throw ValidationError("--tokens must be at least 1") }
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        if let threads { BLAS.threads = threads }
        // What the process holds before any model: the runtime, libraries and OpenBLAS's buffers.
        let baseline = peakResidentBytes()
        let (checkpoint, transformer) = try model.load(widening: panels ? .panels : .automatic)
        guard tokens <= transformer.config.contextLength else {
            throw InputError("", "\(tokens) tokens exceed the model's context of \(transformer.config.contextLength)")
        }
        let sequence = benchmarkSequence(seed: 0, tokens: tokens, vocab: transformer.vocabSize)

        func median(_ body: () throws -> Void) rethrows -> Double {
            try body()
            var times: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            return times.sorted()[times.count / 2]
        }
        let forward = try median { _ = try transformer.forward(Batch([sequence]), logits: .all) }
        let backward = try median { try transformer.gradients(of: Batch([sequence])) { _, _, _ in } }
        let forwardFLOPs = transformer.forwardMatrixFLOPs(tokens: tokens, logitRows: tokens)
        let backwardFLOPs = transformer.forwardMatrixFLOPs(tokens: tokens, logitRows: 1) + transformer.backwardMatrixFLOPs(tokens: tokens)
        let forwardSpeed = forwardFLOPs / forward / 1e6, backwardSpeed = backwardFLOPs / backward / 1e6
        let fileBytes = checkpoint.bytesByDType.values.reduce(0, +)
        // The larger of what the two passes hold: every block's activations for the backward, or the
        // forward's full logits beside one block's scratch.
        let activationBytes = max(transformer.backwardActivationBytes(tokens: tokens),
                                  4 * tokens * transformer.vocabSize + transformer.backwardActivationBytes(tokens: tokens) / transformer.blockCount)
        let rss = peakResidentBytes()
        let peak = BLAS.measuredPeak()

        if json {
            try printJSON([
                "model": checkpoint.folder, "tokens": tokens, "threads": BLAS.threads, "runs": runs,
                "forward_ms": forward, "forward_backward_ms": backward,
                "forward_gflops": forwardSpeed, "forward_backward_gflops": backwardSpeed,
                "sgemm_peak_gflops": peak, "forward_fraction_of_peak": forwardSpeed / peak,
                "peak_rss_bytes": rss, "baseline_rss_bytes": baseline, "file_bytes": fileBytes, "activation_bytes": activationBytes,
                "largest_block_f32_bytes": transformer.largestBlockBytes, "widened_copy_bytes": transformer.widenedCopyBytes ?? 0,
            ])
        } else {
            print("model              \(checkpoint.folder)")
            print("tokens             \(tokens) (OpenBLAS threads \(BLAS.threads), median of \(runs))")
            if checkpoint.bytesByDType.keys.contains(where: { $0 != "F32" }) {
                print("widening           " + (transformer.widenedCopyBytes.map { "float32 copies kept (\(ModelSummary.formatBytes($0)), file-backed)" } ?? "a panel at a time before each GEMM"))
            }
            print(String(format: "forward            %8.1f ms  %6.1f GFLOP/s  (%2.0f%% of sgemm peak)", forward, forwardSpeed, 100 * forwardSpeed / peak))
            print(String(format: "forward+backward   %8.1f ms  %6.1f GFLOP/s  (%2.0f%% of sgemm peak)", backward, backwardSpeed, 100 * backwardSpeed / peak))
            print(String(format: "sgemm peak         %8.1f GFLOP/s (1536² measured now)", peak))
            let copies = transformer.widenedCopyBytes ?? 0
            let bound = baseline + fileBytes + activationBytes + transformer.largestBlockBytes + copies
            print("peak RSS           \(ModelSummary.formatBytes(rss)); bound \(ModelSummary.formatBytes(bound)) = process at start \(ModelSummary.formatBytes(baseline)) + file \(ModelSummary.formatBytes(fileBytes)) + activations \(ModelSummary.formatBytes(activationBytes)) + one F32 block \(ModelSummary.formatBytes(transformer.largestBlockBytes))" + (copies > 0 ? " + float32 copies \(ModelSummary.formatBytes(copies)) (file-backed)" : ""))
        }
    }
}
