import ArgumentParser
import Foundation
import Engine
import Tensors
import TUI

/// `neurotop open` and `neurotop` with no arguments: the terminal front end on a model.
struct Open: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open the terminal front end on a model (the default command: with no arguments, the built-in demo).")

    @OptionGroup var inputs: AnalysisArguments

    @Option(help: "A colour theme: default, colorblind, light, monochrome, or the path of a .theme file.")
    var theme = "default"

    /// Parameters under which a model counts as small (the demo has under a million).
    static let smallModel = 10_000_000
    /// Seconds quitting waits for the engine's unit under way: a unit of a large model takes
    /// minutes, and a unit cut short is only computed again next time.
    static let quitPatience = 0.5

    func run() throws {
        try App.requireTerminal()
        let (themes, themeIndex) = try ThemeSet.load(folder: ThemeSet.shippedFolder()).selecting(theme)
        let engine = try inputs.engine()
        engine.onPublish = { App.wake() }
        // On a small model one product cannot keep the cores busy: toggles are answered fastest
        // with chunks side by side, one OpenBLAS thread each (every choice on the demo, median:
        // 44 ms against 75 ms with two OpenBLAS threads on one chunk at a time; README).
        if engine.parameters < Self.smallModel {
            BLAS.threads = 1
            engine.evaluationThreads = ProcessInfo.processInfo.activeProcessorCount
        }
        let app = App(source: engine, themes: themes, themeIndex: themeIndex)
        do {
            try Self.finish([engine], try app.run(starting: engine.start))
        } catch {
            try Self.finish([engine], error: error)
        }
    }

    /// Stops the engines, waiting at most `quitPatience` for a unit under way, and ends as the
    /// front end ended (a signal's status) or with its error. When a unit is still computing, the
    /// process ends here with `_exit`: exit's handlers include OpenBLAS's, which would wait for
    /// the product under way.
    static func finish(_ engines: [AnalysisEngine], _ ending: App.Ending? = nil, error: Error? = nil) throws {
        let ended = engines.map { $0.stop(patience: quitPatience) }.allSatisfy { $0 }
        var status: Int32 = error == nil ? 0 : 1
        if case .signal(let number) = ending { status = 128 + number }
        if !ended {
            if let error { FileHandle.standardError.write(Data("neurotop: \(error)\n".utf8)) }
            fflush(stdout)
            _exit(status)
        }
        if let error { throw error }
        if status != 0 { Foundation.exit(status) }
    }
}
