import ArgumentParser
import Foundation
import Analysis
import Checkpoints
import Engine
import Model
import Tensors
import TUI

/// `neurotop compare MODEL MODEL...`: models side by side, each analysed as `analyze` does it (the
/// same store and fingerprints, so a finished analysis is read and a partial one resumed).
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put models side by side: accuracy, PSS(r), peak PSS and its correlation with accuracy across the models, s and activated density by relative depth, deep-block similarity, the domain × domain matrices. On a terminal it opens the front end's Compare page; --text or --json print instead.",
        discussion: "Each model's analysis is read from the store (or computed, and stored, as `analyze` does; with --stored, only read as far as it has got). `demo` names the built-in model. A folder of checkpoints named by step (step-N, or checkpoint-N as Hugging Face's Trainer writes them) stands for its checkpoints in step order; a family's models are shown in size order.")

    @OptionGroup var inputs: AnalysisArguments

    @Argument(help: "More models to put beside the first.")
    var others: [String] = []

    @Flag(help: "Print one JSON object: each model's section is what `analyze --json` prints for it, and the rise (peak PSS against accuracy: Pearson, Spearman, n).")
    var json = false

    @Flag(help: "Print the table instead of opening the front end.")
    var text = false

    @Option(help: "Also write the comparison's SVG figures into this folder (rise.svg: peak PSS and accuracy model by model).")
    var svg: String?

    @Option(help: "A colour theme for the front end: default, colorblind, light, monochrome, or the path of a .theme file.")
    var theme = "default"

    @Flag(help: "Read each model's analysis from the store as far as it has got and compute nothing (workers may be at work on them); prints the table unless --json or --svg is given.")
    var stored = false

    func validate() throws {
        if json && text { throw ValidationError("--json and --text exclude each other") }
        if stored && inputs.noStore { throw ValidationError("--stored reads the store: not with --no-store") }
    }

    /// The models named, in compare's order (`Comparison.order`: a family's models by size): `demo`
    /// (unless a folder of that name exists) as the built-in model (location nil), a folder of
    /// checkpoints (`CheckpointRun`) as its checkpoints in step order, each with the run it is of.
    func models() throws -> [(location: String?, run: String?)] {
        var named: [(location: String?, run: String?)] = []
        for argument in [inputs.model.location ?? "demo"] + others {
            if argument == "demo" && !FileManager.default.fileExists(atPath: argument) {
                named.append((nil, nil))
                continue
            }
            let checkpoints = CheckpointRun.checkpoints(in: argument)
            named += checkpoints.isEmpty ? [(argument, nil)] : checkpoints.map { ($0.folder, argument) }
        }
        // Only the configs and tensor indexes are read here, for the family and the size.
        let checkpoints = try named.map { model in
            var arguments = inputs.model
            arguments.location = model.location
            return try arguments.checkpoint()
        }
        let order = Comparison.order(families: checkpoints.map(\.config.modelType), parameters: checkpoints.map(\.parameterCount))
        return order.map { named[$0] }
    }

    func arguments(_ model: String?) -> AnalysisArguments {
        var arguments = inputs
        arguments.model.location = model
        return arguments
    }

    func run() throws {
        let interactive = !stored && !json && !text && svg == nil && isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0
        if interactive { return try openFrontEnd() }
        // One model at a time: each engine (and its memory) is gone before the next is loaded.
        var sections: [[String: Any]] = []
        var summaries: [AnalysisSummary] = []
        var settings: [(String, String)] = []
        let models = try models()
        for model in models {
            let (engine, snapshot): (AnalysisEngine, AnalysisSnapshot)
            if stored {
                let reader = try arguments(model.location).engine()
                (engine, snapshot) = (reader, try reader.readStored())
            } else {
                (engine, snapshot) = try arguments(model.location).compute()
            }
            let summary = AnalysisSummary(snapshot: snapshot)
            sections.append(Analyze.summary(engine, snapshot, summary))
            summaries.append(summary)
            if settings.isEmpty { settings = [("probes", engine.inputs.probes.label), ("domains", engine.inputs.corpus.label)] + engine.options.description }
        }
        if let svg { try writeFigures(summaries, runs: models.map(\.run), settings: settings, folder: svg) }
        if json {
            let depth: [[String: Any]] = summaries.map { s in
                var entry: [String: Any] = ["model": s.name, "bins": (0..<RelativeDepth.bins).map(Comparison.binLabel)]
                entry["s"] = s.layerSpecialization.map { RelativeDepth.binned($0).map { $0.map { $0 as Any } ?? NSNull() } } ?? NSNull()
                if let p = s.patterns {
                    entry["density"] = Dictionary(uniqueKeysWithValues: p.domains.enumerated().map { d, name in
                        (name, RelativeDepth.binned(p.density.density.map { $0[d] }).map { $0.map { $0 as Any } ?? NSNull() })
                    })
                } else {
                    entry["density"] = NSNull()
                }
                return entry
            }
            try printJSON(["models": sections, "relative_depth": depth, "rise": Rise(summaries).json])
        } else if svg == nil || text {
            print(Comparison(summaries).text, terminator: "")
        }
    }

    private func writeFigures(_ summaries: [AnalysisSummary], runs: [String?], settings: [(String, String)], folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw InputError(folder, "cannot create the folder")
        }
        for (name, text) in Figures.comparison(summaries, runs: runs, settings: settings) {
            let path = (folder as NSString).appendingPathComponent(name + ".svg")
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: path)) } catch { throw InputError(path, "cannot write") }
            FileHandle.standardError.write(Data("\(path)\n".utf8))
        }
    }

    /// The front end on the first model, its Compare page first, an engine per model computing
    /// what the store lacks in the background.
    private func openFrontEnd() throws {
        try App.requireTerminal()
        let (themes, themeIndex) = try ThemeSet.load(folder: ThemeSet.shippedFolder()).selecting(theme)
        let engines = try models().map { try arguments($0.location).engine() }
        for engine in engines { engine.onPublish = { App.wake() } }
        let app = App(source: engines[0], themes: themes, themeIndex: themeIndex, compared: Array(engines.dropFirst()), page: .compare)
        do {
            try Open.finish(engines, try app.run { for engine in engines { engine.start() } })
        } catch {
            try Open.finish(engines, error: error)
        }
    }
}
