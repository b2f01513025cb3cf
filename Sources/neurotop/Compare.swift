import ArgumentParser
import Foundation
import Analysis
import Tensors
import TUI

/// `neurotop compare MODEL MODEL...`: models side by side, each analysed as `analyze` does it (the
/// same store and fingerprints, so a finished analysis is read and a partial one resumed).
struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put models side by side: accuracy, PSS(r), peak PSS, s and activated density by relative depth, deep-block similarity, the domain × domain matrices. On a terminal it opens the front end's Compare page; --text or --json print instead.",
        discussion: "Each model's analysis is read from the store (or computed, and stored, as `analyze` does). `demo` names the built-in model.")

    @OptionGroup var inputs: AnalysisArguments

    @Argument(help: "More models to put beside the first.")
    var others: [String] = []

    @Flag(help: "Print one JSON object: each model's section is what `analyze --json` prints for it.")
    var json = false

    @Flag(help: "Print the table instead of opening the front end.")
    var text = false

    @Option(help: "Also write the comparison's SVG figures into this folder.")
    var svg: String?

    @Option(help: "A colour theme for the front end: default, colorblind, light, monochrome, or the path of a .theme file.")
    var theme = "default"

    func validate() throws {
        if json && text { throw ValidationError("--json and --text exclude each other") }
    }

    /// The models named, `demo` (unless a folder of that name exists) as the built-in model.
    var models: [String?] {
        ([inputs.model.location ?? "demo"] + others).map { $0 == "demo" && !FileManager.default.fileExists(atPath: $0) ? nil : $0 }
    }

    func arguments(_ model: String?) -> AnalysisArguments {
        var arguments = inputs
        arguments.model.location = model
        return arguments
    }

    func run() throws {
        let interactive = !json && !text && svg == nil && isatty(STDIN_FILENO) != 0 && isatty(STDOUT_FILENO) != 0
        if interactive { return try openFrontEnd() }
        // One model at a time: each engine (and its memory) is gone before the next is loaded.
        var sections: [[String: Any]] = []
        var summaries: [AnalysisSummary] = []
        var settings: [(String, String)] = []
        for model in models {
            let (engine, snapshot) = try arguments(model).compute()
            sections.append(Analyze.summary(engine, snapshot))
            summaries.append(AnalysisSummary(snapshot: snapshot))
            if settings.isEmpty { settings = [("probes", engine.inputs.probes.label), ("domains", engine.inputs.corpus.label)] + engine.options.description }
        }
        if let svg { try writeFigures(summaries, settings: settings, folder: svg) }
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
            try printJSON(["models": sections, "relative_depth": depth])
        } else if svg == nil || text {
            print(Comparison(summaries).text, terminator: "")
        }
    }

    private func writeFigures(_ summaries: [AnalysisSummary], settings: [(String, String)], folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw InputError(folder, "cannot create the folder")
        }
        for (name, text) in Figures.comparison(summaries, settings: settings) {
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
        let engines = try models.map { try arguments($0).engine() }
        for engine in engines { engine.onPublish = { App.wake() } }
        let app = App(source: engines[0], themes: themes, themeIndex: themeIndex, compared: Array(engines.dropFirst()), page: .compare)
        do {
            try Open.finish(engines, try app.run { for engine in engines { engine.start() } })
        } catch {
            try Open.finish(engines, error: error)
        }
    }
}
