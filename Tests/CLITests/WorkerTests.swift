import Foundation
import Metrics
import Testing

/// Several processes on one store compute one analysis together: each unit is claimed before it
/// is computed and written once, a worker killed in the middle of a unit leaves it to another, and
/// the results are those of a single process, byte for byte.
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

    @Test func threeWorkersOnOneSQLiteStoreMatchASingleRun() throws {
        let folder = NSTemporaryDirectory() + "neurotop-workers-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let probes = try ResumeAfterKill.probes(folder)
        let single = folder + "/single.sqlite", shared = folder + "/shared.sqlite"

        let alone = try Neurotop.run(["analyze"] + Self.arguments(probes, single))
        #expect(alone.status == 0, "\(alone.stderr)")

        // Opened here before the workers start: reading it never waits for their writes.
        let store = try AnalysisStore(path: shared)
        // Three workers; the first is killed in the middle of a unit once it has finished two.
        var workers: [Process] = []
        var logs: [String] = []
        let watched = Pipe()
        for index in 0..<3 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Neurotop.binary)
            process.arguments = ["worker"] + Self.arguments(probes, shared) + ["--lease", "5"]
            let log = folder + "/worker\(index).log"
            FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = index == 0 ? watched : try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            workers.append(process)
            logs.append(log)
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
            for stored in try store.analyses() {
                let claim = try store.claims(AnalysisFingerprint(stored: stored))[Self.claimName(last.unit)]
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
        let killedUnitName = try #require(killedUnit, "the first worker ended before it could be killed in the middle of a unit: \(seen)")
        #expect(victim.terminationReason == .uncaughtSignal)
        for worker in workers.dropFirst() { #expect(worker.terminationStatus == 0) }

        // Every unit finished exactly once, the killed one by another worker; none computed twice.
        let others = try logs.dropFirst().map { try String(contentsOfFile: $0, encoding: .utf8) }
        let victimLines = Self.unitLines(seen), otherLines = others.flatMap(Self.unitLines)
        let finished = (victimLines + otherLines).filter { $0.event == "finished" }.map(\.unit)
        #expect(Set(finished).count == finished.count, "finished twice: \(finished)")
        #expect(!(victimLines + otherLines).contains { $0.event == "lost" }, "a unit was computed by two workers: \(others)")
        #expect(otherLines.contains { $0 == ("finished", killedUnitName) }, "\(killedUnitName) was not finished by another worker")
        #expect(!victimLines.contains { $0 == ("finished", killedUnitName) })
        let stored = try #require(try store.analyses().first)
        let claims = try store.claims(AnalysisFingerprint(stored: stored))
        let undone = claims.filter { !$0.value.done }.map(\.key)
        #expect(undone.isEmpty)
        let expected = Set(claims.keys.filter { $0 != "patterns" } + (1...8).map { "pattern step \($0)" })
        #expect(Set(finished) == expected)

        // The store holds the whole analysis: exporting it computes nothing, and gives exactly
        // what the single process's store gives.
        let a = try ResumeAfterKill().exported(probes, single, folder, samples: 16)
        let b = try ResumeAfterKill().exported(probes, shared, folder, samples: 16)
        #expect(a.count == 11)
        for (name, table) in a { #expect(b[name] == table, "\(name) differs from the single run's") }
    }
}
