import ArgumentParser
import Foundation
import Analysis
import Tensors
import Model

/// `neurotop bench patterns`: method 2's cost per sample.
struct BenchPatterns: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patterns",
        abstract: "Time method 2 (activation patterns) per sample on a model: forward, backward of the top logit, a = |w·g|, the domains' sums and the cosines, on fixed pseudo-random token sequences.")

    @OptionGroup var model: ModelArguments

    @Option(help: "Tokens per sample.")
    var tokens = 128

    @Option(help: "Domains.")
    var domains = 5

    @Option(help: "Samples per domain (even: every step takes two per domain).")
    var samples = 4

    @Option(help: "OpenBLAS threads (default: OpenBLAS's own choice, one per core).")
    var threads: Int?

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if tokens < 1 || domains < 1 || samples < 2 { throw ValidationError("--tokens ≥ 1, --domains ≥ 1, --samples ≥ 2") }
    }

    func run() throws {
        if let threads { BLAS.threads = threads }
        let baseline = peakResidentBytes()
        let (checkpoint, transformer) = try model.load()
        guard tokens <= transformer.config.contextLength else {
            throw InputError("", "\(tokens) tokens exceed the model's context of \(transformer.config.contextLength)")
        }
        var options = ActivationPatterns.Options()
        options.samples = samples
        let sequences = (0..<domains).map { d in (0..<samples).map { benchmarkSequence(seed: d * 1000 + $0, tokens: tokens, vocab: transformer.vocabSize) } }
        let patterns = try ActivationPatterns(model: transformer, domains: (0..<domains).map { "domain\($0)" }, sequences: sequences, options: options)
        let anonymous = AnonymousMemoryPeak()
        var stepTimes: [Double] = [], summaryTimes: [Double] = []
        for _ in 0..<patterns.stepCount {
            let start = DispatchTime.now().uptimeNanoseconds
            try patterns.step()
            let stepped = DispatchTime.now().uptimeNanoseconds
            _ = patterns.results()
            stepTimes.append(Double(stepped - start) / 1e6)
            summaryTimes.append(Double(DispatchTime.now().uptimeNanoseconds - stepped) / 1e6)
        }
        let anonymousPeak = anonymous.stop()
        let perStep = patterns.stepCount > 1 ? Array(stepTimes.dropFirst()) : stepTimes
        let samplesPerStep = Double(domains * (samples >= 2 ? 2 : 1))
        let perSample = perStep.sorted()[perStep.count / 2] / samplesPerStep
        let fileBytes = checkpoint.bytesByDType.values.reduce(0, +)
        let rss = peakResidentBytes()
        let weights = transformer.blockWeightNames.joined().reduce(0) { $0 + transformer.weightElementCount($1) }
        let matrix = patterns.domainMatrix()
        if json {
            try printJSON([
                "model": checkpoint.folder, "tokens": tokens, "domains": domains, "samples": samples, "threads": BLAS.threads,
                "step_ms": stepTimes, "summary_ms": summaryTimes, "per_sample_ms": perSample, "block_weights": weights,
                "peak_rss_bytes": rss, "peak_rss_anon_bytes": anonymousPeak, "baseline_rss_bytes": baseline, "file_bytes": fileBytes,
                "domain_matrix_first_row": matrix.first ?? [],
            ])
        } else {
            print("model              \(checkpoint.folder)")
            print("samples            \(domains) domains × \(samples) of \(tokens) tokens (OpenBLAS threads \(BLAS.threads))")
            print(String(format: "per sample         %8.1f ms (median step after the first, / %d samples a step)", perSample, Int(samplesPerStep)))
            print(String(format: "summary            %8.1f ms (density and neuron activity after a step, median)", summaryTimes.sorted()[summaryTimes.count / 2]))
            print("peak RSS           \(ModelSummary.formatBytes(rss)) (file \(ModelSummary.formatBytes(fileBytes)), block weights \(ModelSummary.formatCount(weights)))")
            print("peak RssAnon       \(ModelSummary.formatBytes(anonymousPeak)) (the domains' sums are in a file-backed map, not counted)")
        }
    }
}

/// The peak of the process's anonymous resident memory (RssAnon), sampled every 10 ms on a
/// thread of its own: the kernel keeps no high-water mark of it.
final class AnonymousMemoryPeak: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    private var running = true
    private let done = DispatchSemaphore(value: 0)

    init() {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                let now = Self.current()
                lock.withLock { peak = max(peak, now) }
                usleep(10_000)
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops sampling; the peak seen.
    func stop() -> Int {
        lock.withLock { running = false }
        done.wait()
        return max(lock.withLock { peak }, Self.current())
    }

    static func current() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("RssAnon:") }),
              let kilobytes = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }
}
