import ArgumentParser
import Foundation
import Analysis
import Tensors
import Model
import Checkpoints

/// `neurotop bench patterns`: method 2's cost per sample.
struct BenchPatterns: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patterns",
        abstract: "Time method 2 (activation patterns) per sample on a model: forward, backward of the top logit, a = |w·g|, the domains' sums and the cosines, on fixed pseudo-random token sequences or a domain corpus; its useful arithmetic against the sgemm peak measured in the same run.")

    @OptionGroup var model: ModelArguments

    @Option(help: "Tokens per sample (pseudo-random sequences).")
    var tokens = 128

    @Option(help: "Domains (pseudo-random sequences).")
    var domains = 5

    @Option(help: "Take the samples from these domain corpora instead (\"default\": the shipped ones), tokenized by the model's tokenizer.")
    var corpus: String?

    @Option(help: "Samples per domain (even: every step takes two per domain).")
    var samples = 4

    @Option(help: "GiB of anonymous memory the domains' sums may take before they go to a file-backed map (0: always the file).")
    var sumsMemory = Double(ActivationPatterns.Options().sumsMemoryBudget) / Double(1 << 30)

    @Option(help: "GiB of anonymous memory the backward may keep of the last blocks' activations rather than running their forward again.")
    var activationMemory = Double(ActivationPatterns.Options().activationMemoryBudget) / Double(1 << 30)

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
        let peak = BLAS.measuredPeak()
        var options = ActivationPatterns.Options()
        options.samples = samples
        options.sumsMemoryBudget = Int(sumsMemory * Double(1 << 30))
        options.activationMemoryBudget = Int(activationMemory * Double(1 << 30))
        let patterns: ActivationPatterns
        if let corpus {
            let domains = try DomainCorpus.load(named: corpus, dataRoot: ShippedData.root())
            patterns = try ActivationPatterns(model: transformer, tokenizer: checkpoint.loadTokenizer(), corpus: domains, options: options)
        } else {
            guard tokens <= transformer.config.contextLength else {
                throw InputError("", "\(tokens) tokens exceed the model's context of \(transformer.config.contextLength)")
            }
            let sequences = (0..<domains).map { d in (0..<samples).map { benchmarkSequence(seed: d * 1000 + $0, tokens: tokens, vocab: transformer.vocabSize) } }
            patterns = try ActivationPatterns(model: transformer, domains: (0..<domains).map { "domain\($0)" }, sequences: sequences, options: options)
        }
        let lengths = patterns.sampleLengths
        if !json {
            // What is measured first: a long run shows its samples before its steps.
            let all = lengths.joined()
            print("model              \(checkpoint.folder)")
            print("samples            \(patterns.domains.count) domains × \(samples), \(all.min() ?? 0)–\(all.max() ?? 0) tokens, mean \(String(format: "%.1f", Double(all.reduce(0, +)) / Double(max(all.count, 1)))) (OpenBLAS threads \(BLAS.threads))")
            for (name, counts) in zip(patterns.domains, lengths) {
                print("  \(name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(counts.map(String.init).joined(separator: " "))")
            }
            fflush(stdout)
        }
        let anonymous = AnonymousMemoryPeak()
        var steps: [(ms: Double, flops: Double, times: ActivationPatterns.StepTimes)] = [], summaryTimes: [Double] = []
        for k in 0..<patterns.stepCount {
            let start = DispatchTime.now().uptimeNanoseconds
            try patterns.step()
            let stepped = DispatchTime.now().uptimeNanoseconds
            _ = patterns.results()
            steps.append((Double(stepped - start) / 1e6, patterns.usefulFLOPs(ofStep: k), patterns.lastStepTimes))
            summaryTimes.append(Double(DispatchTime.now().uptimeNanoseconds - stepped) / 1e6)
        }
        let anonymousPeak = anonymous.stop()
        // The median step after the first (which also faults in the sums and the widened weights).
        let measured = (patterns.stepCount > 1 ? Array(steps.dropFirst()) : steps).sorted { $0.ms < $1.ms }
        let median = measured[measured.count / 2]
        let samplesPerStep = patterns.domains.count * (samples >= 2 ? 2 : 1)
        let perSample = median.ms / Double(samplesPerStep)
        let achieved = median.flops / (median.ms / 1e3) / 1e9
        let fileBytes = checkpoint.bytesByDType.values.reduce(0, +)
        let rss = peakResidentBytes()
        let weights = transformer.blockWeightNames.joined().reduce(0) { $0 + transformer.weightElementCount($1) }
        let matrix = patterns.domainMatrix()
        let t = median.times, b = t.backward
        let parts: [(String, Double, String)] = [
            ("forward", b.forward, "every block and the head; again before its backward, each block whose activations were not kept"),
            ("weight gradients", b.weightGradients, "dW_s = dY_sᵀ X_s per sample, in panels"),
            ("backward, rest", b.total - b.forward - b.weightGradients - b.receiver, "input gradients, attention, norms"),
            ("|w·g|, norms, dots", t.reduction, "a = |w·g|, per-block squared norms and pair dot products"),
            ("sums update", t.sumsUpdate, "reading the old sums and writing the new"),
            ("first pass", t.firstPass, "checksums, histograms, u_d over the new sums"),
            ("threshold", t.threshold, "γ_d and N_l(d): the second pass over the sums"),
            ("other", t.total - b.total - t.threshold, ""),
        ]
        if json {
            try printJSON([
                "model": checkpoint.folder, "corpus": corpus ?? "", "sample_tokens": lengths, "domains": patterns.domains.count, "samples": samples,
                "threads": BLAS.threads, "sums_in_memory": patterns.sumsInMemory, "step_ms": steps.map(\.ms), "summary_ms": summaryTimes, "per_sample_ms": perSample,
                "useful_flops_per_step": median.flops, "gflops": achieved, "peak_gflops": peak, "fraction_of_peak": achieved / peak,
                "step_seconds": Dictionary(uniqueKeysWithValues: parts.map { ($0.0, $0.1) }), "block_weights": weights,
                "peak_rss_bytes": rss, "peak_rss_anon_bytes": anonymousPeak, "baseline_rss_bytes": baseline, "file_bytes": fileBytes,
                "domain_matrix_first_row": matrix.first ?? [], "activated": patterns.density().activated,
                "checksums": patterns.lastStep().checksums.map(String.init),
            ])
        } else {
            print(String(format: "per sample         %8.1f ms (median step after the first, / %d samples a step)", perSample, samplesPerStep))
            print(String(format: "useful work        %8.1f GFLOP a step (README, \"Efficiency\": per sample 3 × the linear work, 3 × attention, the last row's logits forward and back)", median.flops / 1e9))
            print(String(format: "achieved           %8.1f GFLOP/s, %.0f %% of the sgemm peak of %.1f GFLOP/s measured at start (floor %.1f s a step, %.2f× it)",
                         achieved, 100 * achieved / peak, peak, median.flops / peak / 1e9, median.ms / 1e3 / (median.flops / peak / 1e9)))
            for (name, seconds, what) in parts {
                print("  " + name.padding(toLength: 19, withPad: " ", startingAt: 0)
                      + String(format: "%7.2f s  %4.0f %%  ", seconds, 100 * seconds / (median.ms / 1e3)) + what)
            }
            print(String(format: "summary            %8.1f ms (density and neuron activity after a step, median)", summaryTimes.sorted()[summaryTimes.count / 2]))
            print("peak RSS           \(ModelSummary.formatBytes(rss)) (file \(ModelSummary.formatBytes(fileBytes)), block weights \(ModelSummary.formatCount(weights)))")
            print("peak RssAnon       \(ModelSummary.formatBytes(anonymousPeak)) (the domains' sums \(patterns.sumsInMemory ? "in it" : "in a file-backed map, not in it"))")
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
