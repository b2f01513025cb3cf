import ArgumentParser
import Foundation
import Metrics
import TUI

/// `neurotop open` and `neurotop` with no arguments: the terminal front end on a model.
struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open the terminal front end on a model (the default command: with no arguments, the built-in demo).")

    @OptionGroup var inputs: AnalysisArguments

    @Option(help: "A colour theme: default, colorblind, light, monochrome, or the path of a .theme file.")
    var theme = "default"

    /// Parameters under which a model counts as small (the demo has under a million).
    static let smallModel = 10_000_000

    func run() throws {
        try App.requireTerminal()
        let (themes, themeIndex) = try ThemeSet.load(folder: ThemeSet.shippedFolder()).selecting(theme)
        let engine = try AnalysisEngine.load(model: inputs.model, probes: inputs.probes, domains: inputs.domains, options: inputs.options,
                                             storePath: inputs.noStore ? nil : (inputs.store ?? AnalysisStore.defaultPath()))
        engine.onPublish = { App.wake() }
        // On a small model one product cannot keep the cores busy: toggles are answered fastest
        // with chunks side by side, one OpenBLAS thread each (every choice on the demo, median:
        // 44 ms against 75 ms with two OpenBLAS threads on one chunk at a time; README).
        if engine.parameters < Self.smallModel {
            BLAS.threads = 1
            engine.evaluationThreads = ProcessInfo.processInfo.activeProcessorCount
        }
        let app = App(source: engine, themes: themes, themeIndex: themeIndex)
        let ending: App.Ending
        do { ending = try app.run(starting: engine.start) } catch {
            engine.stop()
            throw error
        }
        engine.stop()
        if case .signal(let number) = ending { Foundation.exit(128 + number) }
    }
}
