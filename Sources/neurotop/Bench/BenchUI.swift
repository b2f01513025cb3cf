import ArgumentParser
import Foundation
import Analysis
import Engine
import Model
import Tensors
import TUI

/// `neurotop bench ui`: how fast the terminal front end draws and answers keys.
struct BenchUI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ui",
        abstract: "Time the terminal front end on the demo: drawing a full frame of each page, the first frame, and a key press to its redrawn frame while the engine computes.")

    @Option(help: "Columns of the timed frames.")
    var width = 200

    @Option(help: "Rows of the timed frames.")
    var height = 60

    @Option(help: "Timed frames of each page.")
    var runs = 50

    @Option(help: "Timed key presses.")
    var presses = 50

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if width < Screen.minimumWidth || height < Screen.minimumHeight { throw ValidationError("the screen must be at least \(Screen.minimumWidth)×\(Screen.minimumHeight)") }
        if runs < 1 || presses < 1 { throw ValidationError("--runs and --presses must be at least 1") }
    }

    func run() throws {
        let themes = try ThemeSet.load(folder: ThemeSet.shippedFolder())
        // Frames of a finished analysis, the fullest pages there are (kept in the store after the first run).
        let engine = try AnalysisEngine.load(model: nil, probes: "demo", domains: DomainCorpus.defaultName, options: AnalysisOptions(),
                                             storePath: SQLStore.defaultPath())
        let progress = ProgressReporter()
        let snapshot = try engine.runToEnd(progress: progress.report)
        progress.finish()
        let frames = try UIBenchmark.frames(snapshot, themes: themes, width: width, height: height, runs: runs)
        // The same pages for a model of Qwen2.5-0.5B's shape (24 blocks × 4864 neurons), with a Δ from
        // made-up coefficients on the demo's probes: what drawing costs when the heatmap bins 25 neurons a column.
        let large = Self.largeSnapshot(like: snapshot, blocks: 24, width: 4864)
        let largeFrames = try UIBenchmark.frames(large, themes: themes, width: width, height: height, runs: max(1, runs / 5))

        // The real program in a pseudo-terminal, its engine computing from scratch.
        let program = try PseudoTerminalProgram(arguments: [Self.executable, "--no-store"], width: width, height: height)
        let firstFrame = try program.waitFor("1 Overview", timeout: 10)
        _ = try program.send("5", waitingFor: "concepts of demo")
        var latencies: [Double] = []
        for _ in 0..<presses {
            latencies.append(try program.send("?", waitingFor: "Help: Concepts"))
            _ = try program.send("?", waitingFor: nil)
        }
        let busy = !program.everSaw("engine: finished")
        _ = try program.send("q", waitingFor: nil)
        let status = program.waitForExit()

        let render = Stats(frames.render.values.flatMap { $0 }), copy = Stats(frames.renderAndCopy.values.flatMap { $0 }), keys = Stats(latencies)
        let largeCopy = Stats(largeFrames.renderAndCopy.values.flatMap { $0 })
        if json {
            try printJSON(["width": width, "height": height, "colors": frames.colorMode.rawValue,
                           "frame_render_ms": render.json, "frame_render_and_copy_ms": copy.json, "large_model_frame_render_and_copy_ms": largeCopy.json,
                           "first_frame_ms": firstFrame, "key_to_frame_ms": keys.json, "engine_busy_throughout": busy, "exit_status": Int(status)])
            return
        }
        print("full frame at \(width)×\(height), every page × \(runs) (\(frames.colorMode.rawValue), the demo's finished analysis)")
        print("  views → cell buffer          median \(render.median) ms   p95 \(render.p95) ms   max \(render.max) ms")
        print("  views → buffer → ncurses     median \(copy.median) ms   p95 \(copy.p95) ms   max \(copy.max) ms  (whole screen rewritten)")
        for page in Page.allCases {
            let one = Stats(frames.renderAndCopy[page] ?? [])
            print("    \(page.title.padding(toLength: 10, withPad: " ", startingAt: 0))                 median \(one.median) ms   p95 \(one.p95) ms")
        }
        print("  24 × 4864 neurons (synthetic Δ): median \(largeCopy.median) ms   p95 \(largeCopy.p95) ms   max \(largeCopy.max) ms")
        for page in Page.allCases {
            let one = Stats(largeFrames.renderAndCopy[page] ?? [])
            print("    \(page.title.padding(toLength: 10, withPad: " ", startingAt: 0))                 median \(one.median) ms   p95 \(one.p95) ms")
        }
        print(String(format: "first frame of `neurotop` on the demo: %.0f ms after start", firstFrame))
        print("key press → redrawn frame (? opens help), \(presses) presses, neurotop in a pseudo-terminal, engine \(busy ? "computing throughout" : "finished before the end")")
        print("  median \(keys.median) ms   p95 \(keys.p95) ms   max \(keys.max) ms")
        print("exit status \(status)")
    }

    /// A snapshot of `blocks` × `width` neurons on the probes of `snapshot`: Δ from deterministic
    /// pseudo-random pooled coefficients, no activation patterns.
    static func largeSnapshot(like snapshot: AnalysisSnapshot, blocks: Int, width: Int) -> AnalysisSnapshot {
        let neurons = blocks * width, questions = snapshot.probes.questions.count
        var state: UInt64 = 0x9E3779B97F4A7C15
        let values = (0..<(questions * neurons)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
        let pooled = PooledCoefficients(questions: questions, neurons: neurons, values: values)
        let specialization = Specialization(pooled: pooled, probes: snapshot.probes, blocks: blocks, width: width)
        let card = ModelCard(name: "synthetic", family: "qwen2", blocks: blocks, hidden: 896, mlpWidth: width, heads: 14, vocab: 151_936,
                             parameters: 494_032_768, dtype: "BF16")
        return AnalysisSnapshot(generation: 1, card: card, probes: snapshot.probes, progress: snapshot.progress, pooled: pooled,
                                specialization: specialization, specializations: specialization.specializations, score: snapshot.score,
                                conceptCount: snapshot.conceptCount, patterns: nil, baseline: snapshot.baseline, live: nil,
                                requestedAblation: Ablation(), details: [:])
    }

    static var executable: String { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0] }
}

/// Median, 95th percentile and maximum, formatted to 2 decimals.
private struct Stats {
    let median: String, p95: String, max: String
    let json: [String: Double]

    init(_ values: [Double]) {
        let sorted = values.sorted()
        func at(_ q: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))] }
        median = String(format: "%.2f", at(0.5))
        p95 = String(format: "%.2f", at(0.95))
        max = String(format: "%.2f", sorted.last ?? 0)
        json = ["median": at(0.5), "p95": at(0.95), "max": sorted.last ?? 0, "count": Double(sorted.count)]
    }
}

/// A program running on a pseudo-terminal of a given size, as a user's terminal would run it:
/// keys are written to it and what it draws is read back.
private final class PseudoTerminalProgram {
    private let master: Int32
    private let pid: pid_t
    private let start = DispatchTime.now().uptimeNanoseconds
    /// Everything read since the last key, and whether a text was ever seen.
    private var recent = [UInt8]()
    private var seen: [String: Bool] = [:]
    private var everything = [UInt8]()

    init(arguments: [String], width: Int, height: Int) throws {
        // posix_openpt, unlockpt and ptsname, which Swift's Glibc does not export, as the ioctls
        // glibc makes them of: TIOCSPTLCK (unlock) and TIOCGPTN (the terminal's number).
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        self.master = master
        var unlock: Int32 = 0, number: UInt32 = 0
        guard master >= 0, ioctl(master, 0x4004_5431, &unlock) == 0, ioctl(master, 0x8004_5430, &number) == 0 else {
            throw InputError("/dev/ptmx", "cannot open a pseudo-terminal")
        }
        let slave = "/dev/pts/\(number)"
        var size = winsize(ws_row: UInt16(height), ws_col: UInt16(width), ws_xpixel: 0, ws_ypixel: 0)
        _ = withUnsafeMutablePointer(to: &size) { ioctl(master, UInt(TIOCSWINSZ), $0) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // A new session whose first terminal opened, the pseudo-terminal, becomes its controlling terminal.
        posix_spawn_file_actions_addclose(&actions, master)
        posix_spawn_file_actions_addopen(&actions, 0, slave, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | 0x80 /* POSIX_SPAWN_SETSID */))
        var environment = ProcessInfo.processInfo.environment
        environment["TERM"] = "xterm-256color"
        environment["NO_COLOR"] = nil
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, arguments[0], &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw InputError(arguments[0], "cannot start (error \(spawned))") }
        pid = child
    }

    private var milliseconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }

    /// Reads what arrives within `timeout` seconds; returns false when nothing did.
    @discardableResult
    private func read(timeout: Double) -> Bool {
        var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, Int32(timeout * 1000)) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = Glibc.read(master, &chunk, chunk.count)
        guard count > 0 else { return false }
        recent += chunk[0..<count]
        everything += chunk[0..<count]
        return true
    }

    private func contains(_ text: String, in bytes: [UInt8]) -> Bool {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// Milliseconds since the start until `text` is drawn.
    func waitFor(_ text: String, timeout: Double) throws -> Double {
        let end = milliseconds + timeout * 1000
        while !contains(text, in: recent) {
            guard milliseconds < end else { throw InputError("", "the program did not draw '\(text)' within \(timeout) s") }
            read(timeout: 0.05)
        }
        return milliseconds
    }

    /// Writes `key` and returns the milliseconds until `marker` is drawn (nil: waits until the
    /// program has been quiet for 0.1 s).
    func send(_ key: String, waitingFor marker: String?) throws -> Double {
        recent.removeAll()
        let sent = milliseconds
        _ = Array(key.utf8).withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
        guard let marker else {
            while read(timeout: 0.1) {}
            return milliseconds - sent
        }
        return try waitFor(marker, timeout: 10) - sent
    }

    func everSaw(_ text: String) -> Bool { contains(text, in: everything) }

    func waitForExit() -> Int32 {
        while read(timeout: 0.1) {}
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(master)
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
