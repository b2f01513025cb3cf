import Foundation
import Engine
import Testing

/// Several processes on one store compute one analysis together: each unit is claimed before it
/// is computed and written once, a worker killed in the middle of a unit leaves it to another, and
/// the results are those of a single process, byte for byte. The same on a SQLite file and on a
/// PostgreSQL server the tests start (scripts/postgres: loopback only, a fresh data folder).
@Suite struct WorkersShareAnAnalysis {
    /// The demo on six concepts and 16 samples a domain (8 pattern steps): units of every kind.
    static func arguments(_ probes: String, _ store: String) -> [String] {
        ResumeAfterKill.arguments(probes, store, samples: 16)
    }

    /// A worker's lines about its units: (event, unit), e.g. ("finished", "pss 3 0.01").
    static func unitLines(_ text: String) -> [(event: String, unit: String)] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("worker "), let colon = line.firstIndex(of: ":") else { return nil }
            let said = line[line.index(colon, offsetBy: 2)...]
            for event in ["started", "finished", "lost"] where said.hasPrefix(event + " ") {
                var unit = said.dropFirst(event.count + 1)
                if let end = unit.range(of: " in ") ?? unit.range(of: ":") { unit = unit[..<end.lowerBound] }
                return (event, String(unit))
            }
            return nil
        }
    }

    /// The claim a unit's line names: the pattern steps are one chain.
    static func claimName(_ unit: String) -> String { unit.hasPrefix("pattern step") ? "patterns" : unit }

    /// A folder of the test's own with the six-concept probes, and the single process's exports
    /// (from a SQLite store) that every shared run must give.
    struct Setting {
        let folder: String
        let probes: String
        let single: [String: String]

        /// `environment`: the single process's, as the workers will have it (results are the same
        /// to the bit only for the same number of BLAS threads).
        init(_ name: String, environment: [String: String] = [:]) throws {
            folder = NSTemporaryDirectory() + "neurotop-\(name)-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            probes = try ResumeAfterKill.probes(folder)
            let store = folder + "/single.sqlite"
            let alone = try Neurotop.run(["analyze"] + WorkersShareAnAnalysis.arguments(probes, store), environment: environment)
            #expect(alone.status == 0, "\(alone.stderr)")
            single = try ResumeAfterKill().exported(probes, store, folder, samples: 16)
            #expect(single.count == 16)
        }

        func worker(_ store: String, stderr: Any) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Neurotop.binary)
            process.arguments = ["worker"] + WorkersShareAnAnalysis.arguments(probes, store) + ["--lease", "5"]
            process.standardError = stderr
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            return process
        }

        /// The workers' logs together: every unit finished exactly once and none computed twice;
        /// every claim done; the store's exports (computing nothing) those of the single process.
        func check(_ store: String, logs: [String]) throws {
            let lines = logs.flatMap(WorkersShareAnAnalysis.unitLines)
            let finished = lines.filter { $0.event == "finished" }.map(\.unit)
            #expect(Set(finished).count == finished.count, "finished twice: \(finished)")
            #expect(!lines.contains { $0.event == "lost" }, "a unit was computed by two workers: \(logs)")
            let opened = try openResultStore(store)
            let stored = try #require(try opened.analyses().first)
            let claims = try opened.claims(AnalysisFingerprint(stored: stored))
            #expect(claims.filter { !$0.value.done }.isEmpty)
            #expect(Set(finished) == Set(claims.keys.filter { $0 != "patterns" } + (1...8).map { "pattern step \($0)" }))
            let shared = try ResumeAfterKill().exported(probes, store, folder, samples: 16)
            for (name, table) in single { #expect(shared[name] == table, "\(name) differs from the single run's") }
            // `list` reads a database as it reads a file: the one analysis, complete.
            let listed = try Neurotop.run(["list", "--store", store, "--json"])
            let listing = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]
            let analyses = listing?["analyses"] as? [[String: Any]]
            #expect(listed.status == 0 && analyses?.count == 1 && analyses?.first?["complete"] as? Bool == true, "\(listed.stderr)")
        }
    }

    /// Three workers on `store`; the first is killed with SIGKILL in the middle of a unit once it
    /// has finished two, and its unit is finished by another.
    func threeWorkersOneKilled(_ setting: Setting, _ store: String) throws {
        // Opened before the workers start: reading it never waits for their writes.
        let opened = try openResultStore(store)
        let watched = Pipe()
        var workers = [try setting.worker(store, stderr: watched)]
        var logs: [String] = []
        for index in 1..<3 {
            let log = setting.folder + "/worker\(index).log"
            FileManager.default.createFile(atPath: log, contents: nil)
            logs.append(log)
            workers.append(try setting.worker(store, stderr: try FileHandle(forWritingTo: URL(fileURLWithPath: log))))
        }
        let victim = workers[0]
        var seen = "", killedUnit: String?
        reading: while victim.isRunning {
            let data = watched.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            let lines = Self.unitLines(seen)
            guard lines.filter({ $0.event == "finished" }).count >= 2, let last = lines.last, last.event == "started" else { continue }
            // Stopped, then killed only if the unit it started is still its own and not stored.
            kill(victim.processIdentifier, SIGSTOP)
            for stored in try opened.analyses() {
                let claim = try opened.claims(AnalysisFingerprint(stored: stored))[Self.claimName(last.unit)]
                if let claim, !claim.done, claim.worker.split(separator: " ").dropFirst().first == Substring("\(victim.processIdentifier)") {
                    kill(victim.processIdentifier, SIGKILL)
                    killedUnit = last.unit
                    break reading
                }
            }
            kill(victim.processIdentifier, SIGCONT)
        }
        victim.waitUntilExit()
        for worker in workers.dropFirst() { worker.waitUntilExit() }
        let killed = try #require(killedUnit, "the first worker ended before it could be killed in the middle of a unit: \(seen)")
        #expect(victim.terminationReason == .uncaughtSignal)
        for worker in workers.dropFirst() { #expect(worker.terminationStatus == 0) }
        let others = try logs.map { try String(contentsOfFile: $0, encoding: .utf8) }
        #expect(others.flatMap(Self.unitLines).contains { $0 == ("finished", killed) }, "\(killed) was not finished by another worker")
        #expect(!Self.unitLines(seen).contains { $0 == ("finished", killed) })
        try setting.check(store, logs: [seen] + others)
    }

    @Test func threeWorkersOnOneSQLiteStoreMatchASingleRun() throws {
        let setting = try Setting("workers-sqlite")
        defer { try? FileManager.default.removeItem(atPath: setting.folder) }
        try threeWorkersOneKilled(setting, setting.folder + "/shared.sqlite")
    }

    /// A PostgreSQL server of the test's own, stopped and removed at the end.
    struct Server {
        let folder: String
        let url: String

        init() throws {
            folder = NSTemporaryDirectory() + "neurotop-postgres-\(UUID().uuidString)"
            let started = try Server.script(["start", folder])
            #expect(started.status == 0, "scripts/postgres could not start a server: \(started.output)")
            url = started.output.split(separator: "\n").last.map(String.init) ?? ""
            #expect(url.hasPrefix("postgresql://"))
        }

        func stop() {
            _ = try? Server.script(["stop", folder])
            try? FileManager.default.removeItem(atPath: folder)
        }

        static func script(_ arguments: [String]) throws -> (status: Int32, output: String) {
            WorkersShareAnAnalysis.shell(([Neurotop.repository.appendingPathComponent("scripts/postgres").path] + arguments).map { "'\($0)'" }.joined(separator: " "))
        }
    }

    /// Runs `command` with /bin/sh through posix_spawn and waitpid, its output and errors together:
    /// Foundation's Process was seen never to notice the end of a script that had started a server
    /// (it left a zombie).
    static func shell(_ command: String) -> (status: Int32, output: String) {
        let output = NSTemporaryDirectory() + "neurotop-script-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let argv: [UnsafeMutablePointer<CChar>?] = ["/bin/sh", "-c", command + " </dev/null >'\(output)' 2>&1"].map { (text: String) in strdup(text) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else { return (-1, "cannot run /bin/sh") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        return ((status >> 8) & 0xff, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    @Test func threeWorkersOnOnePostgreSQLServerMatchASingleSQLiteRun() throws {
        let setting = try Setting("workers-postgres")
        defer { try? FileManager.default.removeItem(atPath: setting.folder) }
        let server = try Server()
        defer { server.stop() }
        try threeWorkersOneKilled(setting, server.url)
    }

    /// The server restarted under two workers (down for two seconds): they wait for it, go on,
    /// and the analysis ends with no unit lost or doubled.
    @Test func workersGoOnAfterTheServerRestarts() throws {
        let setting = try Setting("workers-restart")
        defer { try? FileManager.default.removeItem(atPath: setting.folder) }
        let server = try Server()
        defer { server.stop() }
        // Logs in files, not pipes: the server started again must not hold a pipe of the test's open.
        let logs = (0..<2).map { setting.folder + "/worker\($0).log" }
        let workers = try logs.map { log in
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            return try setting.worker(server.url, stderr: try FileHandle(forWritingTo: URL(fileURLWithPath: log)))
        }
        func finished() -> Int {
            logs.map { Self.unitLines((try? String(contentsOfFile: $0, encoding: .utf8)) ?? "").filter { $0.event == "finished" }.count }.reduce(0, +)
        }
        while workers.allSatisfy(\.isRunning), finished() < 4 { Thread.sleep(forTimeInterval: 0.05) }
        let bothRunning = workers.allSatisfy(\.isRunning)
        #expect(bothRunning, "a worker finished before the server could be restarted")
        let restarted = try Server.script(["restart", server.folder, "2"])
        #expect(restarted.status == 0, "\(restarted.output)")
        for worker in workers {
            worker.waitUntilExit()
            #expect(worker.terminationStatus == 0)
        }
        try setting.check(server.url, logs: try logs.map { try String(contentsOfFile: $0, encoding: .utf8) })
    }
}
