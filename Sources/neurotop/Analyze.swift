import ArgumentParser
import Foundation
import Metrics

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run both analyses headless: knowledge specialization (Δ, knowledge vectors, PSS) on a probe set and activation patterns (density, similarity) on domain corpora.")

    @OptionGroup var inputs: AnalysisArguments

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let (checkpoint, analysis) = try inputs.compute()
        let (probeSet, score, patterns) = (analysis.probes, analysis.score, analysis.patterns)
        let (samples, gamma) = (inputs.samples, inputs.gamma)
        let accuracyMetric = analysis.options.metric
        let density = patterns.density()
        let matrix = patterns.domainMatrix()

        if json {
            try printJSON([
                "model": checkpoint.folder, "probes": probeSet.path, "domains": patterns.domains, "metric": accuracyMetric.rawValue,
                "threshold": gamma.map { "absolute \($0)" } ?? "quantile 0.05",
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
        print("model        \(checkpoint.folder)")
        print("probes       \(probeSet.path) (\(probeSet.concepts.count) concepts, \(accuracyMetric.rawValue) accuracy)")
        print("domains      \(patterns.domains.joined(separator: ", ")) (\(samples) samples each)")
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

    func validate() throws {
        if AccuracyMetric(rawValue: metric) == nil { throw ValidationError("--metric is open or mcq") }
        if samples < 2 { throw ValidationError("--samples must be at least 2") }
    }

    /// Loads everything and runs both analyses, with progress on stderr.
    func compute() throws -> (Checkpoint, AnalysisRun) {
        let dataRoot = try ShippedData.root()
        let checkpoint = try Checkpoint(location: resolveModel(model))
        let probeSet = try ProbeSet.load(path: ProbeSet.locate(probes, dataRoot: dataRoot))
        let corpus = try DomainCorpus.load(folder: DomainCorpus.locate(domains, dataRoot: dataRoot))
        let transformer = try Transformer(checkpoint: checkpoint, keepsWeights: true)
        let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath))
        var options = AnalysisRun.Options()
        options.metric = AccuracyMetric(rawValue: metric) ?? .open
        options.patterns.samples = samples
        if let gamma { options.patterns.threshold = .absolute(gamma) }
        let progress = ProgressReporter()
        let run = try AnalysisRun(model: transformer, tokenizer: tokenizer, probes: probeSet, corpus: corpus, options: options,
                                  progress: progress.report)
        progress.finish()
        return (checkpoint, run)
    }
}

/// Progress on stderr: a redrawn bar on a terminal, plain lines (every 5 %) otherwise.
final class ProgressReporter {
    private let interactive = isatty(STDERR_FILENO) != 0
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastPercent = -1

    func report(_ done: Int, _ total: Int, _ doing: String) {
        let percent = 100 * done / max(total, 1)
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let left = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        if interactive {
            let filled = percent / 5
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 20 - filled)
            let line = String(format: "\r%@ %3d%%  %d/%d  %.0fs left  ", bar, percent, done, total, left) + doing
            FileHandle.standardError.write(Data((line.padding(toLength: 110, withPad: " ", startingAt: 0)).utf8))
        } else if percent / 5 != lastPercent / 5 {
            FileHandle.standardError.write(Data(String(format: "%3d%%  %d/%d  %.0fs elapsed, %.0fs left  %@\n", percent, done, total, elapsed, left, doing).utf8))
        }
        lastPercent = percent
    }

    func finish() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
