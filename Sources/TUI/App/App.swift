import Foundation
import Analysis
import Engine
import Model
import Tensors

/// What the front end reads and drives: the analysis engine, or a stand-in in tests.
public protocol AnalysisSource: AnyObject {
    var snapshot: AnalysisSnapshot { get }
    func setAblation(_ ablation: Ablation)
    func focus(_ focus: EngineFocus)
}

extension AnalysisEngine: AnalysisSource {}

/// Signals and engine publications wake the loop through this pipe; a signal handler can only
/// write to a file descriptor and set a flag.
private var wakePipe: [Int32] = [-1, -1]
private var signalReceived: Int32 = 0

/// The UI loop on the main thread: waits for input, a signal or the engine's next snapshot,
/// turns input into events, lets the state handle them, carries out the effects, and draws.
public final class App {
    public enum Ending: Equatable {
        case quit
        case signal(Int32)
    }

    private let source: AnalysisSource
    /// The other models of the Compare page.
    private let compared: [AnalysisSource]
    private let themes: ThemeSet
    private var state: AppState
    private var frame: Frame?
    private var terminal: Terminal?
    /// Set when something on screen must change before the next wait.
    private var dirty = true

    public init(source: AnalysisSource, themes: ThemeSet, themeIndex: Int, compared: [AnalysisSource] = [], page: Page = .overview) {
        self.source = source
        self.compared = compared
        self.themes = themes
        state = AppState(width: 80, height: 24, themeNames: themes.themes.map(\.name), themeIndex: themeIndex)
        state.show(page)
    }

    /// Fails with a clear message unless stdin and stdout are a terminal: checked before anything
    /// slow is loaded.
    public static func requireTerminal() throws {
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw InputError("", "the terminal front end needs a terminal on stdin and stdout; for results without one, use `neurotop analyze` or `neurotop export`")
        }
    }

    /// Wakes the loop from any thread (the engine calls this after each publication).
    public static func wake() {
        var byte: UInt8 = 1
        _ = write(wakePipe[1], &byte, 1)
    }

    /// Calls `start` (which starts the engine's threads), then runs until the user quits or a
    /// signal arrives; the terminal is restored whichever way it ends.
    public func run(starting start: @escaping () -> Void) throws -> Ending {
        if wakePipe[0] < 0 {
            guard pipe(&wakePipe) == 0 else { throw InputError("", "cannot create a pipe for the UI loop") }
            for fd in wakePipe { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        }
        // The terminal's signals go to this thread alone: the engine's threads are started with them
        // blocked (threads inherit the mask), and they are unblocked here, whatever mask the parent
        // process handed down (a program started from a thread pool may have them all blocked).
        var signals = sigset_t()
        sigemptyset(&signals)
        for signalNumber in [SIGTERM, SIGINT, SIGHUP, SIGWINCH] { sigaddset(&signals, signalNumber) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        // The engine's threads are started from a thread of lower priority, whose nice value they
        // inherit (on Linux it is a thread's own): on a busy machine the UI thread runs first.
        let started = DispatchSemaphore(value: 0)
        let starter = Thread {
            setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            start()
            started.signal()
        }
        starter.start()
        started.wait()
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        let terminal = try Terminal()
        self.terminal = terminal
        defer { terminal.restore() }
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
            signal(signalNumber) { number in
                signalReceived = number
                var byte: UInt8 = 0
                _ = write(wakePipe[1], &byte, 1)
            }
        }
        state.width = terminal.width
        state.height = terminal.height
        var drawnGenerations: [Int] = []
        dirty = true
        while !state.quitting && signalReceived == 0 {
            let snapshot = source.snapshot
            let generations = [snapshot.generation] + compared.map(\.snapshot.generation)
            if dirty || generations != drawnGenerations {
                draw(snapshot, terminal)
                drawnGenerations = generations
                dirty = false
            }
            wait()
            for input in terminal.read() {
                let event: Event
                switch input {
                case .key(let key): event = .key(key)
                case let .click(x, y): event = .click(frame?.target(atX: x, y: y))
                case .wheel(let steps): event = .wheel(steps)
                case .resize:
                    terminal.invalidate()
                    event = .resize(width: terminal.width, height: terminal.height)
                }
                handle(event)
                dirty = true
            }
        }
        terminal.restore()
        return signalReceived == 0 ? .quit : .signal(signalReceived)
    }

    /// Sleeps until input (a resize interrupts it too), a signal or an engine publication; at most a
    /// second, so that nothing can stall the loop for longer.
    private func wait() {
        var fds = [pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0), pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
        _ = poll(&fds, 2, 1000)
        var sink = [UInt8](repeating: 0, count: 64)
        while read(wakePipe[0], &sink, sink.count) > 0 {}
    }

    /// Ctrl-z in raw mode is a key, not a signal: the terminal is given back, the process stops
    /// itself as the shell's job control expects, and on `fg` the whole screen is drawn again (at
    /// the size the terminal has now).
    private func suspend() {
        guard let terminal else { return }
        terminal.restore()
        kill(getpid(), SIGTSTP)
        terminal.resume()
        handle(.resize(width: terminal.width, height: terminal.height))
        dirty = true
    }

    private func draw(_ snapshot: AnalysisSnapshot, _ terminal: Terminal) {
        let theme = terminal.colorMode == .monochrome ? themes.monochrome : themes.themes[state.themeIndex]
        let rendered = Screen.render(state, snapshot, RenderContext(theme: theme, colorMode: terminal.colorMode), compared: compared.map(\.snapshot))
        terminal.draw(rendered.buffer)
        frame = rendered
    }

    private func handle(_ event: Event) {
        let effects = state.handle(event, snapshot: source.snapshot)
        for effect in effects {
            switch effect {
            case .setAblation(let ablation): source.setAblation(ablation)
            case .focus(let focus): source.focus(focus)
            case .quit: break
            case .suspend: suspend()
            case let .save(neurons, path):
                do {
                    try AblationFile.write(neurons, to: path)
                    handle(.saved(count: neurons.count, path: path))
                } catch {
                    handle(.failed("\(error)"))
                }
            case .load(let path):
                do { handle(.ablationLoaded(try AblationFile.read(path), path: path)) } catch { handle(.failed("\(error)")) }
            }
        }
    }
}
