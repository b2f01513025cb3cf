import ArgumentParser
import Foundation
import Metrics

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run both analyses headless: knowledge specialization (Δ, knowledge vectors, PSS) on a probe set and activation patterns (density, similarity) on domain corpora.")

    @OptionGroup var inputs: AnalysisArguments

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let (engine, snapshot) = try inputs.compute()
        let probeSet = snapshot.probes, score = snapshot.score
        guard let patterns = snapshot.patterns else { return }
        let (samples, gamma) = (inputs.samples, inputs.gamma)
        let accuracyMetric = engine.options.metric
        let density = patterns.density
        let matrix = patterns.domainMatrix

        if json {
            try printJSON([
                "model": engine.inputs.checkpoint.folder, "probes": probeSet.path, "domains": patterns.domains, "metric": accuracyMetric.rawValue,
                "threshold": gamma.map { "absolute \($0)" } ?? "quantile 0.05",
                "store": engine.store?.path ?? NSNull(), "fingerprint": engine.fingerprint.id,
                "pss": score.modelScores.map { ["ratio": $0.ratio, "pss": $0.score] },
                "peak_pss": score.peak.map { ["ratio": $0.ratio, "pss": $0.score] } ?? NSNull(),
                "density": density.density.enumerated().map { block, row in
                    ["block": block, "domains": Dictionary(uniqueKeysWithValues: zip(patterns.domains, row).map { ($0, $1) })] as [String: Any]
                },
                "domain_matrix": Dictionary(uniqueKeysWithValues: patterns.domains.enumerated().map { a, name in
                    (name, Dictionary(uniqueKeysWithValues: patterns.domains.enumerated().map { ($1, matrix[a][$0]) }))
                }),
            ])
            return
        }
        print("model        \(engine.inputs.checkpoint.folder)")
        print("probes       \(probeSet.path) (\(probeSet.concepts.count) concepts, \(accuracyMetric.rawValue) accuracy)")
        print("domains      \(patterns.domains.joined(separator: ", ")) (\(samples) samples each)")
        print("store        \(engine.store?.path ?? "none") (analysis \(engine.fingerprint.id))")
        if let peak = score.peak {
            print(String(format: "peak PSS     %.3f at r = %g %%", peak.score, peak.ratio * 100))
        }
        print("PSS(r)       " + score.modelScores.map { String(format: "%g%%: %.3f", $0.ratio * 100, $0.score) }.joined(separator: "  "))
        print("\nactivated density per block (threshold \(gamma.map { "γ = \($0)" } ?? "top 5 % of each domain's weights"))")
        print("block  " + patterns.domains.map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined())
        for (block, row) in density.density.enumerated() {
            print(String(format: "%5d  ", block) + row.map { String(format: "%-13.4f", $0) }.joined())
        }
        print("\ndomain similarity over blocks \(patterns.deepBlocks.lowerBound)..<\(patterns.deepBlocks.upperBound) (mean cos)")
        print("              " + patterns.domains.map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined())
        for (a, name) in patterns.domains.enumerated() {
            print(name.padding(toLength: 14, withPad: " ", startingAt: 0) + matrix[a].map { String(format: "%-13.3f", $0) }.joined())
        }
    }
}

/// What both analyses run on, shared by `analyze` and `export`.
struct AnalysisArguments: ParsableArguments {
    @Argument(help: "A model folder or model id (default: the built-in model).")
    var model: String?

    @Option(help: "A shipped probe set (demo, world) or a JSON Lines file.")
    var probes = "demo"

    @Option(help: "A folder of domain corpora (default: the shipped ones).")
    var domains = DomainCorpus.defaultName

    @Option(help: "Samples per domain for the activation patterns.")
    var samples = 64

    @Option(help: "The accuracy PSS is computed from: open or mcq.")
    var metric = "open"

    @Option(help: "An absolute activation threshold γ instead of the default quantile (the top 5 % of each domain's weights).")
    var gamma: Double?

    @Option(help: "The SQLite file results are kept in, to resume and reuse (default: $XDG_CACHE_HOME/neurotop/analyses.sqlite or ~/.cache/neurotop/analyses.sqlite).")
    var store: String?

    @Flag(help: "Keep no results: compute everything, store nothing.")
    var noStore = false

    func validate() throws {
        if AccuracyMetric(rawValue: metric) == nil { throw ValidationError("--metric is open or mcq") }
        if samples < 2 { throw ValidationError("--samples must be at least 2") }
        if noStore, store != nil { throw ValidationError("--store and --no-store exclude each other") }
    }

    var options: AnalysisOptions {
        var options = AnalysisOptions()
        options.metric = AccuracyMetric(rawValue: metric) ?? .open
        options.patterns.samples = samples
        if let gamma { options.patterns.threshold = .absolute(gamma) }
        return options
    }

    /// Loads everything and runs both analyses (resuming from the store), with progress on stderr.
    func compute() throws -> (AnalysisEngine, AnalysisSnapshot) {
        let engine = try AnalysisEngine.load(model: model, probes: probes, domains: domains, options: options,
                                             storePath: noStore ? nil : (store ?? AnalysisStore.defaultPath()))
        let progress = ProgressReporter()
        let snapshot = try engine.runToEnd(progress: progress.report)
        progress.finish()
        return (engine, snapshot)
    }
}

/// Progress on stderr: a redrawn bar on a terminal, plain lines (every 5 %) otherwise.
final class ProgressReporter {
    private let interactive = isatty(STDERR_FILENO) != 0
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastPercent = -1

    func report(_ progress: EngineProgress) {
        let (done, total, doing) = (progress.done, progress.total, progress.doing)
        let percent = 100 * done / max(total, 1)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let left = progress.secondsLeft
        if interactive {
            let filled = percent / 5
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 20 - filled)
            let line = String(format: "\r%@ %3d%%  %d/%d  %@  ", bar, percent, done, total, Self.left(left)) + doing
            FileHandle.standardError.write(Data((line.padding(toLength: 110, withPad: " ", startingAt: 0)).utf8))
        } else if percent / 5 != lastPercent / 5 {
            FileHandle.standardError.write(Data(String(format: "%3d%%  %d/%d  %.0fs elapsed, %@  %@\n", percent, done, total, elapsed, Self.left(left), doing).utf8))
        }
        lastPercent = percent
    }

    static func left(_ seconds: Double?) -> String {
        seconds.map { String(format: "%.0fs left", $0) } ?? "estimating"
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
