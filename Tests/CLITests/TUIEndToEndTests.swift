import Foundation
import Testing

/// tmux on its own server, driving neurotop in a real terminal.
struct Tmux {
    static let path: String? = ["/usr/bin/tmux", "/usr/local/bin/tmux", "/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }

    let server = "neurotop-e2e-\(UUID().uuidString.prefix(8))"
    let session = "tui"

    /// Runs a tmux command and returns its output. Not with `Process`: the command that starts
    /// the server would hand the server Foundation's pipes, which then never close, and the
    /// signal mask of the test's thread (the terminal's signals may be blocked there).
    @discardableResult
    func run(_ arguments: [String]) throws -> String {
        let path = NSTemporaryDirectory() + "\(server)-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([Self.path!, "-L", server] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, Self.path!, &actions, &attributes, argv, environ)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOENT) }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    func capture() throws -> String { try run(["capture-pane", "-t", session, "-p"]) }

    func keys(_ keys: String...) throws { try run(["send-keys", "-t", session] + keys) }

    /// Typed text, sent literally.
    func type(_ text: String) throws { try run(["send-keys", "-t", session, "-l", text]) }

    /// Polls the pane until `condition` holds; fails with the last capture after `timeout` seconds.
    @discardableResult
    func waitFor(_ what: String, timeout: Double = 60, _ condition: (String) -> Bool) throws -> String {
        let end = Date().addingTimeInterval(timeout)
        var screen = ""
        while Date() < end {
            screen = try capture()
            if condition(screen) { return screen }
            usleep(100_000)
        }
        Issue.record("timed out waiting for \(what); the screen was:\n\(screen)")
        throw CancellationError()
    }

    func waitFor(_ text: String, timeout: Double = 60) throws -> String { try waitFor("'\(text)'", timeout: timeout) { $0.contains(text) } }
}

/// The acceptance test of the terminal front end: neurotop on the demo in tmux at 120×40.
@Suite(.enabled(if: Tmux.path != nil, "tmux is not installed: scripts/setup installs it"))
struct TUIEndToEndTests {
    /// `compare` on a terminal: the front end opens on its Compare page, a column a fixture model,
    /// both engines computing into it until both are finished; q quits.
    @Test func compareOpensTheComparePage() throws {
        let tmux = Tmux()
        defer { _ = try? tmux.run(["kill-server"]) }
        let llama = Neurotop.fixture("checkpoints/llama"), gpt2 = Neurotop.fixture("checkpoints/gpt2")
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "80", "-y", "24",
                      "'\(Neurotop.binary)' compare '\(llama)' '\(gpt2)' --probes '\(Neurotop.fixture("probes/tiny-llama.jsonl"))'"
                        + " --domains '\(Neurotop.fixture("domains"))' --samples 4 --no-store; echo EXIT=$?; sleep 60"])
        let screen = try tmux.waitFor("both engines finished") { $0.range(of: "engine +finished +finished", options: .regularExpression) != nil }
        for expected in ["7 Compare", "2 models side by side", "llama", "gpt2", "accuracy open"] {
            #expect(screen.contains(expected), "\(expected)\n\(screen)")
        }
        try tmux.keys("q")
        try tmux.waitFor("EXIT=0")
    }

    @Test func browseAblateHelpResizeAndQuit() throws {
        let tmux = Tmux()
        defer { _ = try? tmux.run(["kill-server"]) }
        // No store: the run computes everything and writes nothing outside the test.
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "120", "-y", "40",
                      "'\(Neurotop.binary)' --no-store; echo EXIT=$?; sleep 60"])

        // The overview, then the unablated accuracy in the status bar, then Δ (its maximal s on
        // the overview): the knowledge vectors below need it.
        try tmux.waitFor("Knowledge specialization", timeout: 10)
        try tmux.waitFor("accuracy 100.0%")
        try tmux.waitFor("max s ")

        // Quellport's strongest knowledge vector (0:66 on the demo model) alone costs it one of its
        // eight questions: light its knowledge vectors, go to the heatmap, ablate the neuron under the cursor.
        try tmux.type(":concept Quellport")
        try tmux.keys("Enter")
        try tmux.waitFor("• Quellport")
        try tmux.keys("Enter")
        try tmux.waitFor("lit: Quellport's")
        let neuronLine = try tmux.waitFor("the cursor on a knowledge vector") { $0.contains("knowledge vector  s ") }
        #expect(neuronLine.contains("association Δ with Quellport"))
        try tmux.keys("Space")
        try tmux.waitFor("ABLATED")
        try tmux.waitFor("× 1 ablated")

        // Its accuracy changes on the Concepts page once the engine has evaluated the ablation.
        try tmux.keys("5")
        let concepts = try tmux.waitFor("Quellport's accuracy to drop") { screen in
            screen.split(separator: "\n").contains { $0.contains("Quellport") && $0.contains("100% →") && $0.contains("−") }
        }
        let row = concepts.split(separator: "\n").first { $0.contains("• Quellport") }
        #expect(row?.contains("1/") == true, "one of its knowledge vectors is ablated: \(row ?? "")")

        // Help for the current page, and closing it.
        try tmux.keys("?")
        try tmux.waitFor("Help: Concepts")
        try tmux.keys("?")
        try tmux.waitFor("help closed") { !$0.contains("Help: Concepts") }

        // Resize: the layout reflows to 100×30; too small says so; back again.
        try tmux.run(["resize-window", "-t", tmux.session, "-x", "100", "-y", "30"])
        try tmux.waitFor("the layout at 100×30") { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
            return lines.count >= 30 && lines[0].contains("6 Ablations") && lines[28].contains("engine") && lines.allSatisfy { $0.count <= 100 }
        }
        try tmux.run(["resize-window", "-t", tmux.session, "-x", "60", "-y", "20"])
        try tmux.waitFor("The terminal is too small: 60×20.")
        try tmux.run(["resize-window", "-t", tmux.session, "-x", "120", "-y", "40"])
        try tmux.waitFor("5 Concepts")

        // q on a top page quits; the terminal is given back as it was.
        try tmux.keys("q")
        let after = try tmux.waitFor("EXIT=", timeout: 20)
        #expect(after.contains("EXIT=0"), "\(after)")
        #expect(!after.contains("1 Overview"), "the alternate screen is gone: \(after)")
        try expectRestored(tmux)
    }

    /// SIGTERM, and SIGHUP (the terminal closed), end neurotop at once with the terminal given
    /// back (exit status 128 + the signal's number).
    @Test(arguments: [SIGTERM, SIGHUP]) func endedBySignal(_ signalNumber: Int32) throws {
        let tmux = Tmux()
        defer { _ = try? tmux.run(["kill-server"]) }
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "100", "-y", "30",
                      "'\(Neurotop.binary)' --no-store; echo EXIT=$?; sleep 60"])
        try tmux.waitFor("Knowledge specialization", timeout: 10)
        // The pane runs a shell, and the shell runs neurotop.
        let shell = try tmux.run(["display-message", "-p", "-t", tmux.session, "#{pane_pid}"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let children = try String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)
        let neurotop = try #require(children.split(separator: " ").first.flatMap { pid_t($0) })
        kill(neurotop, signalNumber)
        let after = try tmux.waitFor("EXIT=", timeout: 20)
        #expect(after.contains("EXIT=\(128 + signalNumber)"), "\(after)")
        #expect(!after.contains("1 Overview"))
        try expectRestored(tmux)
    }

    /// Ctrl-z gives the terminal back and stops neurotop as a shell job; `fg` brings it back with
    /// the whole screen drawn again, and it goes on working.
    @Test func suspendedByCtrlZAndResumedByFg() throws {
        let tmux = Tmux()
        defer { _ = try? tmux.run(["kill-server"]) }
        // An interactive shell, for job control.
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "100", "-y", "30", "exec bash --norc --noprofile -i"])
        try tmux.type("'\(Neurotop.binary)' --no-store; echo EXIT=$?")
        try tmux.keys("Enter")
        try tmux.waitFor("Knowledge specialization", timeout: 10)
        try tmux.keys("C-z")
        let stopped = try tmux.waitFor("Stopped")
        #expect(!stopped.contains("1 Overview"), "the shell's screen, not neurotop's: \(stopped)")
        try expectRestored(tmux)

        try tmux.run(["send-keys", "-t", tmux.session, "clear; fg", "Enter"])
        // The whole screen, status bar included: under load the redraw reaches tmux in parts.
        let resumed = try tmux.waitFor("the screen drawn again") { screen in
            screen.contains("1 Overview") && screen.contains("Knowledge specialization") && screen.contains("engine") && !screen.contains("Stopped")
        }
        #expect(resumed.contains("engine"), "the status bar is back: \(resumed)")
        try tmux.keys("q")
        try tmux.waitFor("the shell again") { !$0.contains("1 Overview") }
        try tmux.type("echo STATUS=$?")
        try tmux.keys("Enter")
        let after = try tmux.waitFor("the exit status") { $0.split(separator: "\n").contains { $0.hasPrefix("STATUS=") } }
        #expect(after.split(separator: "\n").contains("STATUS=0"), "\(after)")
        try expectRestored(tmux)
    }

    /// A checkpoint truncated under the running front end ends it with one line naming the file,
    /// exit status 1, and the terminal given back (the weights are memory-mapped: the next read of
    /// a vanished page raises SIGBUS, and the check before each unit of work finds the change).
    @Test func truncatedCheckpointEndsWithOneLine() throws {
        let folder = NSTemporaryDirectory() + "neurotop-truncated-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.copyItem(atPath: Neurotop.repository.appendingPathComponent("data/models/demo").path, toPath: folder)
        let weights = folder + "/model.safetensors"
        let tmux = Tmux()
        defer { _ = try? tmux.run(["kill-server"]) }
        try tmux.run(["new-session", "-d", "-s", tmux.session, "-x", "120", "-y", "40",
                      "'\(Neurotop.binary)' open '\(folder)' --no-store; echo EXIT=$?; sleep 60"])
        try tmux.waitFor("Knowledge specialization", timeout: 10)
        #expect(truncate(weights, 4096) == 0)
        let after = try tmux.waitFor("EXIT=", timeout: 30)
        #expect(after.contains("EXIT=1"), "\(after)")
        let message = after.replacingOccurrences(of: "\n", with: "")
        #expect(message.contains("neurotop: \(weights): ") && message.contains("open the model again"), "\(after)")
        #expect(!after.contains("1 Overview"))
        try expectRestored(tmux)
    }

    private func expectRestored(_ tmux: Tmux) throws {
        let flags = try tmux.run(["display-message", "-p", "-t", tmux.session, "#{alternate_on} #{cursor_flag} #{mouse_any_flag} #{mouse_standard_flag}"])
        #expect(flags.trimmingCharacters(in: .whitespacesAndNewlines) == "0 1 0 0", "alternate screen off, cursor shown, mouse off: \(flags)")
    }
}

/// Without a terminal the front end says so and stops, instead of reading nothing forever.
@Suite struct TUIWithoutATerminal {
    @Test func refusesWithoutATerminal() throws {
        let result = try Neurotop.run(["--no-store"])
        #expect(result.status == 1)
        #expect(result.stderr == "neurotop: the terminal front end needs a terminal on stdin and stdout; for results without one, use `neurotop analyze` or `neurotop export`\n")
        #expect(result.stdout.isEmpty)
    }
}
