import ArgumentParser
import Foundation
import Analysis
import Engine
import Tensors
import Checkpoints

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run both analyses headless: knowledge specialization (Δ, knowledge vectors, PSS) on a probe set and activation patterns (density, similarity) on domain corpora.")

    @OptionGroup var inputs: AnalysisArguments

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Print what the store holds of this analysis, as far as it has got, and compute nothing (workers may be at work on it).")
    var stored = false

    func validate() throws {
        if stored && inputs.noStore { throw ValidationError("--stored reads the store: not with --no-store") }
    }

    func run() throws {
        let (engine, snapshot): (AnalysisEngine, AnalysisSnapshot)
        if stored {
            let reader = try inputs.engine()
            (engine, snapshot) = (reader, try reader.readStored())
        } else {
            (engine, snapshot) = try inputs.compute()
        }
        let probeSet = snapshot.probes, score = snapshot.score
        let (samples, gamma) = (inputs.samples, inputs.gamma)
        let accuracyMetric = engine.options.metric
        let plan = score.plan
        let association = engine.options.association
        let tiers = snapshot.tierFigures
        // The shared knowledge vectors and where they sit, every concept ranked once.
        let figures = AnalysisSummary(snapshot: snapshot)

        if json {
            try printJSON(Self.summary(engine, snapshot, figures))
            return
        }
        let byBlockRatio = KnowledgeVectorsByBlock.ratio
        let byBlock = figures.knowledgeVectorsByBlock ?? []
        let deepest = KnowledgeVectorsByBlock.deepestBlocks(byBlock.count)
        let deepShare = KnowledgeVectorsByBlock.deepestShare(byBlock)
        print("model        \(engine.inputs.checkpoint.folder)")
        print("probes       \(probeSet.label) (\(probeSet.concepts.count) concepts, \(accuracyMetric.rawValue) accuracy)")
        print("PSS on       \(plan?.summary ?? "–") (\(engine.options.pssQuestions == .known ? "known questions" : "all questions"), control set: \(engine.options.controlSet == .five ? "5 other concepts" : "all other concepts"))")
        print("domains      \(engine.inputs.corpus.domains.map(\.name).joined(separator: ", ")) (\(samples) samples each)")
        print("store        \(engine.store?.location ?? "none") (analysis \(engine.fingerprint.id))")
        if stored, let plan {
            print("PSS runs     \(score.entries.count) of \(plan.measuredConcepts.count * score.ratios.count) stored")
        }
        if let accuracy = snapshot.baseline?.overall {
            print("accuracy     " + Self.accuracyText(accuracy))
        }
        if let peak = score.peak {
            let wins = score.peakRatioWins.filter { $0.wins > 0 }.sorted { $0.wins > $1.wins }
                .map { String(format: "%g %% %.0f %%", $0.ratio * 100, 100 * Double($0.wins) / Double(Intervals.resamples)) }
            print(String(format: "peak PSS     %.3f at r = %g %% ", peak.score, peak.ratio * 100) + Self.intervalText(score.peakInterval)
                  + (wins.isEmpty ? "" : "; peak ratio over \(Intervals.resamples) resamples: " + wins.joined(separator: ", ")))
        } else if let plan, plan.measuredConcepts.isEmpty {
            print("peak PSS     not measured: no concept has enough questions")
        } else {
            print("peak PSS     not computed yet" + (plan.map { ": 0 of \($0.measuredConcepts.count * score.ratios.count) PSS runs stored" } ?? ""))
        }
        func sweep(_ scores: [(ratio: Double, score: Double?)], _ intervals: [Interval?]) -> String {
            zip(scores, intervals).map { item, interval in
                String(format: "%g%%: ", item.ratio * 100) + (item.score.map { String(format: "%.3f ", $0) + Self.intervalText(interval) } ?? "–")
            }.joined(separator: "  ")
        }
        print("PSS(r)       " + sweep(score.modelScores, score.modelIntervals.map(\.interval)))
        // The sign PSS's absolute value hides: positive when the concept lost more than its controls.
        print("signed PSS   " + score.modelSignedScores.map { item in
            String(format: "%g%%: ", item.ratio * 100) + (item.score.map { String(format: "%+.3f", $0) } ?? "–")
        }.joined(separator: "  "))
        print("by sign      " + score.signCounts.map { item in
            String(format: "%g%%: ", item.ratio * 100) + "+\(item.counts.positive) −\(item.counts.negative) =\(item.counts.zero)"
        }.joined(separator: "  ") + "  (concepts that lost more than their controls, less, as much)")
        print("association  \(association == .raw ? "raw Δ" : "standardized Δ/σ")")
        // How many of a concept's knowledge vectors are another concept's too: near 100 %, K_c is the model's generic neurons.
        if let sweep = figures.sharedKnowledgeVectors {
            print("K_c shared   " + sweep.map { shared in
                String(format: "%g%%: ", shared.ratio * 100) + (shared.medianSharedFraction.map { String(format: "%.0f %%", 100 * $0) } ?? "–")
            }.joined(separator: "  ") + "  (median over concepts of the share of K_c(r) in another concept's K_c(r))")
            if let atRatio = sweep.first(where: { $0.ratio == byBlockRatio }) {
                let top = atRatio.genericNeurons.prefix(3).map { "\($0.neuron) in \($0.concepts)" }
                print(String(format: "most shared  at r = %g %%: ", byBlockRatio * 100)
                      + (top.isEmpty ? "no neuron in two concepts' sets" : top.joined(separator: ", ") + " of \(atRatio.concepts.count) concepts' sets"))
            }
        }
        print(String(format: "K_c by block at r = %g %%, all concepts (%d of %d in the last %d of %d blocks, %.0f %%): ", byBlockRatio * 100,
                     byBlock.suffix(deepest).reduce(0, +), byBlock.reduce(0, +), deepest, byBlock.count, 100 * deepShare)
              + byBlock.map(String.init).joined(separator: " "))
        if !tiers.isEmpty {
            print("\nby popularity tier (\(accuracyMetric == .open ? "open accuracy; multiple choice is scored with --metric mcq, the default" : "open and multiple-choice accuracy"))")
            for figures in tiers {
                let accuracy = figures.accuracy.map { Self.accuracyText($0, counted: false) } ?? "accuracy not computed yet"
                print("\(figures.tier.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(figures.concepts) concepts, \(figures.questions) questions: \(accuracy); PSS on \(figures.measured.map(String.init) ?? "–") concepts")
                print("        peak PSS " + (figures.peak.map { String(format: "%.3f at r = %g %% ", $0.score, $0.ratio * 100) + Self.intervalText(figures.pssInterval(at: $0.ratio)) } ?? "not measured")
                      + "; PSS(r) " + sweep(figures.pss, figures.pssIntervals))
            }
        }
        guard let patterns = snapshot.patterns else {
            print("\nactivation patterns: not in the store yet" + (stored ? " (their chain is unfinished, or another process holds it)" : ""))
            return
        }
        print("\nactivated density per block (threshold \(gamma.map { "γ = \($0)" } ?? "top 5 % of each domain's weights"))")
        print("block  " + patterns.domains.map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined())
        for (block, row) in patterns.density.density.enumerated() {
            print(String(format: "%5d  ", block) + row.map { String(format: "%-13.4f", $0) }.joined())
        }
        print("\ndomain similarity over blocks \(patterns.deepBlocks.lowerBound)..<\(patterns.deepBlocks.upperBound) (mean cos)")
        print("              " + patterns.domains.map { $0.padding(toLength: 13, withPad: " ", startingAt: 0) }.joined())
        for (a, name) in patterns.domains.enumerated() {
            print(name.padding(toLength: 14, withPad: " ", startingAt: 0) + patterns.domainMatrix[a].map { String(format: "%-13.3f", $0) }.joined())
        }
    }
}

extension Analyze {
    /// "[0.170, 0.250] n = 40": a mean over concepts with its 95 % bootstrap interval and n, saying
    /// so when n is below `Intervals.fewestConcepts`.
    static func intervalText(_ interval: Interval?) -> String {
        guard let interval else { return "" }
        return interval.text() + " " + Intervals.conceptCount(interval.n)
    }

    /// "open 13.0 % [11.2, 15.1] mcq 60.0 % [57.1, 62.8] (530 questions)": accuracies with 95 %
    /// Wilson intervals (`counted`: with the number of questions, where the line does not say it already).
    static func accuracyText(_ a: ProbeAccuracy.Score, counted: Bool = true) -> String {
        func percent(_ interval: Interval?) -> String { interval.map { String(format: " [%.1f, %.1f]", 100 * $0.low, 100 * $0.high) } ?? "" }
        return String(format: "open %5.1f %%", 100 * a.open) + percent(a.openInterval)
            + (a.multipleChoice.map { String(format: "  mcq %5.1f %%", 100 * $0) + percent(a.multipleChoiceInterval) } ?? "")
            + (counted ? " (\(a.questions) questions)" : "")
    }

    /// What `analyze --json` prints, and `compare --json` for each model: the analysis's figures
    /// (`figures`, the snapshot's `AnalysisSummary`, made once by the caller) with the model, inputs and settings they come from.
    static func summary(_ engine: AnalysisEngine, _ snapshot: AnalysisSnapshot, _ figures: AnalysisSummary) -> [String: Any] {
        let options = engine.options
        let threshold: String
        switch options.patterns.threshold {
        case .absolute(let gamma): threshold = "absolute \(gamma)"
        case .quantile(let share): threshold = "quantile \(share)"
        }
        return figures.json(about: [
            "model": engine.inputs.checkpoint.folder, "probes": snapshot.probes.label, "metric": options.metric.rawValue,
            "control_set": options.controlSet.rawValue, "pss_questions": options.pssQuestions.rawValue,
            "association": options.association.rawValue, "threshold": threshold,
            "store": engine.store?.location ?? NSNull(), "fingerprint": engine.fingerprint.id,
            "efficiency": efficiency(snapshot.progress),
        ])
    }

    /// Each kind of unit computed in this run: its time, useful arithmetic and share of the sgemm
    /// peak measured at start (README, "Efficiency"); empty when nothing was computed.
    static func efficiency(_ progress: EngineProgress) -> [String: Any] {
        [
            "sgemm_peak_gflops": progress.sgemmPeak ?? NSNull() as Any,
            "kinds": progress.kinds.filter { $0.seconds > 0 }.map { kind -> [String: Any] in
                ["name": kind.name, "units": kind.done, "seconds": kind.seconds, "useful_gflop": kind.flops / 1e9,
                 "gflops": kind.gflops ?? NSNull() as Any,
                 "fraction_of_peak": progress.sgemmPeak.flatMap { peak in kind.gflops.map { $0 / peak } } ?? NSNull() as Any]
            },
        ]
    }
}

/// What both analyses run on and how, shared by every command that computes or opens one.
struct AnalysisArguments: ParsableArguments {
    @OptionGroup var model: ModelArguments

    @Option(help: "A shipped probe set (demo, world, world-mc, world-v1) or a JSON Lines file.")
    var probes = "demo"

    @Option(help: "A folder of domain corpora (a NAME.txt or NAME.jsonl file a domain), or default, the shipped ones.")
    var domains = DomainCorpus.defaultName

    @Option(help: "Samples per domain for the activation patterns.")
    var samples = 64

    @OptionGroup var pss: PSSOptions

    @Option(help: "An absolute activation threshold γ instead of the default quantile (the top 5 % of each domain's weights).")
    var gamma: Double?

    @Option(help: "Where results are kept, to resume, reuse and share with other processes: a SQLite file (default: $XDG_CACHE_HOME/neurotop/analyses.sqlite or ~/.cache/neurotop/analyses.sqlite) or a PostgreSQL database, postgresql://USER@HOST/DB (password from PGPASSWORD or ~/.pgpass).")
    var store: String?

    @Flag(help: "Keep no results: compute everything, store nothing.")
    var noStore = false

    func validate() throws {
        if samples < 2 { throw ValidationError("--samples must be at least 2") }
        if noStore, store != nil { throw ValidationError("--store and --no-store exclude each other") }
    }

    var options: AnalysisOptions {
        var options = AnalysisOptions()
        options.metric = pss.metric
        options.controlSet = pss.control
        options.pssQuestions = pss.questions
        options.association = pss.association
        options.patterns.samples = samples
        if let gamma { options.patterns.threshold = .absolute(gamma) }
        return options
    }

    /// The store's location; nil with --no-store.
    var storePath: String? {
        noStore ? nil : (store ?? SQLStore.defaultPath())
    }

    /// The engine on these inputs and store, not started: what the front end runs.
    func engine() throws -> AnalysisEngine {
        try AnalysisEngine.load(model: model.location, probes: probes, domains: domains, options: options, storePath: storePath)
    }

    /// Loads everything and runs both analyses (resuming from the store, sharing the work with the
    /// other processes on it), with progress on stderr: the first line before the model is loaded,
    /// the load counted as a unit of its own. `configure` sees the engine before it starts.
    func compute(configure: (AnalysisEngine) -> Void = { _ in }) throws -> (AnalysisEngine, AnalysisSnapshot) {
        // The store and the inputs' files are checked first: bad input is one line, with no progress before it.
        let resultStore = try storePath.map(openResultStore)
        let (plan, units) = try plannedWork()
        let progress = ProgressReporter()
        progress.begin(plan, engineUnits: units)
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let engine = try AnalysisEngine(inputs: AnalysisInputs.load(model: model.location, probes: probes, domains: domains), options: options,
                                        store: resultStore)
        progress.loaded(seconds: Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9)
        configure(engine)
        let readOnly = engine.snapshot.progress.notSaving
        if let readOnly { FileHandle.standardError.write(Data("neurotop: \(readOnly)\n".utf8)) }
        let snapshot: AnalysisSnapshot
        do {
            defer { progress.finish() }
            snapshot = try engine.runToEnd(progress: progress.report)
        }
        // A write that failed part-way: said once, after the results it did not stop.
        if let failed = snapshot.progress.notSaving, failed != readOnly {
            FileHandle.standardError.write(Data("neurotop: \(failed)\n".utf8))
        }
        return (engine, snapshot)
    }

    /// What will be computed, from the files alone (the checkpoint's config and tensor index, the
    /// probe set, the corpora): the first progress line, printed before the model is loaded.
    func plannedWork() throws -> (text: String, engineUnits: Int) {
        let dataRoot = try ShippedData.root()
        let checkpoint = try model.checkpoint()
        let probeSet = try ProbeSet.load(named: probes, dataRoot: dataRoot)
        let corpus = try DomainCorpus.load(named: domains, dataRoot: dataRoot)
        let c = checkpoint.config, options = options
        guard FileManager.default.fileExists(atPath: checkpoint.tokenizerPath) else {
            throw InputError(checkpoint.folder, "no tokenizer.json: the analyses need the model's tokenizer")
        }
        // The engine checks these too; here they come before any progress line.
        for domain in corpus.domains where domain.samples.count < options.patterns.samples {
            throw InputError(domain.path, "domain '\(domain.name)' has \(domain.samples.count) samples; \(options.patterns.samples) were asked for")
        }
        let parameters = Double(checkpoint.parameterCount)
        let size = parameters >= 1e9 ? String(format: "%.1fB", parameters / 1e9) : String(format: "%.0fM", parameters / 1e6)
        let dtype = checkpoint.bytesByDType.sorted { $0.value > $1.value }.map(\.key).joined(separator: ", ")
        let concepts = probeSet.concepts.count, ratios = options.ratios.count
        let batches = (probeSet.questions.count + AnalysisEngine.promptBatch - 1) / AnalysisEngine.promptBatch
        // Two samples per domain a step.
        let steps = (options.patterns.samples + 1) / 2
        func count(_ n: Int, _ what: String) -> String { "\(n) \(what)\(n == 1 ? "" : "s")" }
        let text = "analyzing \(checkpoint.folder) (\(c.familyName), \(c.layerCount) blocks × \(c.intermediateSize) MLP neurons, \(size) parameters, \(dtype))"
            + "; method 1: \(options.metric.rawValue) accuracy on \(probeSet.name) (\(concepts) concepts, \(probeSet.questions.count) questions)"
            + ", PSS over \(options.pssQuestions == .known ? "known" : "all") questions against \(options.controlSet == .five ? "5 other concepts" : "all other concepts")"
            + " at \(ratios) ratios, neurons ranked by \(options.association == .raw ? "raw Δ" : "standardized Δ/σ"); method 2: \(corpus.domains.count) domains × \(options.patterns.samples) samples"
            + "; units: 1 model load, 1 unmasked evaluation, \(count(batches, "pooling batch").replacingOccurrences(of: "batchs", with: "batches"))"
            + ", at most \(count(concepts * ratios, "PSS evaluation")) (\(concepts) concepts × \(ratios) ratios, fewer once the concepts left out are known)"
            + ", \(count(steps, "pattern step"))"
        return (text, 1 + batches + concepts * ratios + steps)
    }
}

/// Progress on stderr. Plain lines (not a terminal): the plan first, then a line at every 5 % and
/// at least every 25 s, each with units done, elapsed time, time left (once every kind of unit
/// with work left has been timed), peak anonymous memory so far and what is being done. On a
/// terminal, one line redrawn in place with the same fields.
final class ProgressReporter: @unchecked Sendable {
    private let interactive = isatty(STDERR_FILENO) != 0
    private let start = DispatchTime.now().uptimeNanoseconds
    /// Seconds between lines when nothing else prints one.
    static let heartbeat = 25.0
    private let lock = NSLock()
    private var loadSeconds: Double?
    private var latest = EngineProgress(state: .working, doing: "loading the model", done: 0, total: 0)
    private var lastPercent = -1
    private var lastLine = 0.0
    private var peakAnonymous = 0
    private var finished = false
    private var ticker: Thread?

    private var elapsed: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// Prints the plan and starts sampling memory and printing a line when none came for a while.
    func begin(_ plan: String, engineUnits: Int) {
        FileHandle.standardError.write(Data((plan + "\n").utf8))
        lock.withLock {
            latest.total = engineUnits
            lastLine = elapsed
            samplePeak()
        }
        let thread = Thread { [self] in
            while true {
                Thread.sleep(forTimeInterval: 1)
                let stop = lock.withLock { () -> Bool in
                    if finished { return true }
                    samplePeak()
                    if interactive || elapsed - lastLine >= Self.heartbeat { printLine() }
                    return false
                }
                if stop { return }
            }
        }
        thread.name = "neurotop progress"
        ticker = thread
        thread.start()
    }

    /// The model load, the first unit, is done.
    func loaded(seconds: Double) {
        lock.withLock {
            loadSeconds = seconds
            latest.doing = String(format: "model loaded in %.1f s", seconds)
            printLine()
        }
    }

    func report(_ progress: EngineProgress) {
        lock.withLock {
            latest = progress
            samplePeak()
            let percent = self.percent
            if interactive || percent / 5 != lastPercent / 5 || lastPercent < 0 { printLine() }
        }
    }

    /// Ends the progress with where the time went, per kind of unit computed in this run.
    func finish() {
        lock.withLock {
            finished = true
            if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
            let spent = [String(format: "model load %.1f s", loadSeconds ?? 0)]
                + latest.kinds.filter { $0.seconds > 0 }.map { String(format: "%d %@ %.1f s", $0.done, $0.name, $0.seconds) }
            FileHandle.standardError.write(Data(("time: " + spent.joined(separator: ", ") + String(format: "; %.1f s in all, peak RssAnon %.0f MiB\n", elapsed, Double(peakAnonymous) / 1024)).utf8))
            if let efficiency = latest.efficiencyText {
                FileHandle.standardError.write(Data(("efficiency (useful arithmetic): " + efficiency + "\n").utf8))
            }
        }
    }

    /// Units of the whole run: the model load and the engine's.
    private var units: (done: Int, total: Int) {
        (latest.done + (loadSeconds == nil ? 0 : 1), latest.total + 1)
    }

    private var percent: Int { 100 * units.done / max(units.total, 1) }

    /// One line with every field (called with the lock held).
    private func printLine() {
        let (done, total) = units, percent = self.percent
        let left: String
        if loadSeconds == nil {
            left = "estimating"
        } else {
            left = latest.secondsLeft.map { Self.duration($0) + " left" } ?? "estimating"
        }
        var memory = String(format: "peak RssAnon %.0f MiB", Double(peakAnonymous) / 1024)
        if latest.otherWorkers > 0 { memory += "  \(latest.otherWorkers) other worker\(latest.otherWorkers == 1 ? "" : "s")" }
        let fields = String(format: "%3d%%  %d/%d units  %@ elapsed, %@  %@", percent, done, total, Self.duration(elapsed), left, memory)
        if interactive {
            let filled = percent / 5
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 20 - filled)
            FileHandle.standardError.write(Data(("\r" + bar + " " + fields + "  " + latest.doing).padding(toLength: 140, withPad: " ", startingAt: 0).utf8))
        } else {
            FileHandle.standardError.write(Data((fields + "  " + latest.doing + "\n").utf8))
        }
        lastPercent = percent
        lastLine = elapsed
    }

    /// The largest RssAnon seen so far, in kB (the kernel keeps no peak of it: it is sampled).
    private func samplePeak() {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        if let line = status.split(separator: "\n").first(where: { $0.hasPrefix("RssAnon:") }),
           let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") {
            peakAnonymous = max(peakAnonymous, kilobytes)
        }
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return whole < 60 ? "\(whole)s" : whole < 3600 ? "\(whole / 60)m\(String(format: "%02d", whole % 60))s"
            : "\(whole / 3600)h\(String(format: "%02d", whole / 60 % 60))m"
    }
}
