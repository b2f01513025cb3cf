import Foundation
import Testing

/// `analyze` keeps every finished unit in its store: killed part-way and run again, it ends with
/// exactly the results of a run that was never interrupted.
@Suite struct ResumeAfterKill {
    /// The demo model on six of its concepts (48 questions) and 8 samples a domain: a run of a few
    /// seconds, long enough to be killed in the middle.
    static func probes(_ folder: String) throws -> String {
        let lines = try String(contentsOfFile: Neurotop.repository.appendingPathComponent("data/probes/demo.jsonl").path, encoding: .utf8)
            .split(separator: "\n").prefix(48)
        let path = folder + "/six-concepts.jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func arguments(_ probes: String, _ store: String, samples: Int = 8) -> [String] {
        ["--probes", probes, "--samples", "\(samples)", "--store", store]
    }

    /// Starts `analyze` and kills it with SIGKILL once its progress passes `percent`.
    static func killPartWay(_ arguments: [String], percent: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Neurotop.binary)
        process.arguments = ["analyze"] + arguments
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var seen = ""
        while process.isRunning {
            let data = stderr.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            let reached = seen.split(separator: "\n").compactMap { Int($0.split(separator: "%").first?.trimmingCharacters(in: .whitespaces) ?? "") }
            if let last = reached.last, last >= percent {
                kill(process.processIdentifier, SIGKILL)
                break
            }
        }
        process.waitUntilExit()
        return process
    }

    func exported(_ probes: String, _ store: String, _ folder: String, samples: Int = 8) throws -> [String: String] {
        let out = folder + "/export-\(UUID().uuidString)"
        let result = try Neurotop.run(["export"] + Self.arguments(probes, store, samples: samples) + ["--format", "csv", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        var tables: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: out) {
            tables[name] = try String(contentsOfFile: out + "/" + name, encoding: .utf8)
        }
        return tables
    }

    @Test func killedAnalysisResumesToTheSameResults() throws {
        let folder = NSTemporaryDirectory() + "neurotop-resume-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let probes = try Self.probes(folder)
        let whole = folder + "/whole.sqlite", resumed = folder + "/resumed.sqlite"

        let uninterrupted = try Neurotop.run(["analyze"] + Self.arguments(probes, whole) + ["--json"])
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        let killed = try Self.killPartWay(Self.arguments(probes, resumed), percent: 40)
        #expect(killed.terminationReason == .uncaughtSignal, "analyze finished before it could be killed")
        let again = try Neurotop.run(["analyze"] + Self.arguments(probes, resumed) + ["--json"])
        #expect(again.status == 0, "\(again.stderr)")
        // The rerun starts from what the killed run stored, not from zero: the engine's first line
        // (after the plan and the model load) says so.
        let firstLine = again.stderrLines.first { $0.contains("resuming from the store") }.map(String.init) ?? ""
        let firstPercent = Int(firstLine.split(separator: "%").first?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
        #expect(firstPercent >= 30, "the rerun began at: \(firstLine)")

        func withoutStore(_ text: String) throws -> NSDictionary {
            var object = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            object["store"] = nil
            // Times and speeds differ from run to run.
            object["efficiency"] = nil
            return object as NSDictionary
        }
        #expect(try withoutStore(again.stdout) == withoutStore(uninterrupted.stdout))
        let a = try exported(probes, whole, folder), b = try exported(probes, resumed, folder)
        #expect(a.keys.sorted() == ["accuracy.csv", "density.csv", "domains.csv", "focus.csv", "generic_neurons.csv", "knowledge_by_block.csv", "neurons.csv",
                                    "options.csv", "pruning.csv", "pss.csv", "pss_by_ratio.csv", "pss_concepts.csv", "pss_sign.csv",
                                    "shared_knowledge_vectors.csv", "similarity.csv", "tiers.csv"])
        for (name, table) in a { #expect(b[name] == table, "\(name) differs after the resume") }
    }

    /// Killed in the middle of the activation patterns (8 steps of 2 samples a domain), the rerun
    /// continues from the last step the store holds (the demo's sums are in memory: it runs the
    /// steps done again for them, and no sums file is made), and ends with the exports of an
    /// uninterrupted run, byte for byte.
    @Test func killedDuringActivationPatternsResumesFromItsLastStep() throws {
        let folder = NSTemporaryDirectory() + "neurotop-resume-patterns-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let probes = try Self.probes(folder)
        let whole = folder + "/whole.sqlite", resumed = folder + "/resumed.sqlite"

        let uninterrupted = try Neurotop.run(["analyze"] + Self.arguments(probes, whole, samples: 16))
        #expect(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        let killed = try Self.killPartWay(Self.arguments(probes, resumed, samples: 16), percent: 50)
        #expect(killed.terminationReason == .uncaughtSignal, "analyze finished before it could be killed")
        let sums = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("resumed.sqlite.") && $0.hasSuffix(".sums") }
        #expect(sums.isEmpty, "no sums file beside the store: \(sums)")
        let again = try Neurotop.run(["analyze"] + Self.arguments(probes, resumed, samples: 16))
        #expect(again.status == 0, "\(again.stderr)")
        let firstLine = again.stderrLines.first { $0.contains("resuming from the store") }.map(String.init) ?? ""
        let step = firstLine.components(separatedBy: "activation patterns from step ").dropFirst().first
            .flatMap { Int($0.prefix { $0.isNumber }) }
        #expect(step.map { (1..<8).contains($0) } == true, "the rerun began at: \(firstLine)")
        // Finished and stored, the sums file is gone.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sums") }.isEmpty)

        let a = try exported(probes, whole, folder, samples: 16), b = try exported(probes, resumed, folder, samples: 16)
        #expect(!a.isEmpty)
        for (name, table) in a { #expect(b[name] == table, "\(name) differs after the resume") }
    }

    /// A store file that is not a store: one line naming it, exit 1, the file untouched.
    @Test func aFileThatIsNotAStoreIsRefused() throws {
        let folder = NSTemporaryDirectory() + "neurotop-store-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/results.sqlite"
        let text = "model,accuracy\ndemo,1.0\n"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try Neurotop.run(["analyze", Neurotop.fixture("checkpoints/llama"), "--probes", Neurotop.fixture("probes/tiny-llama.jsonl"),
                                       "--domains", Neurotop.fixture("domains"), "--samples", "4", "--store", path])
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 1 && result.stderr.hasPrefix("neurotop: \(path): not an analysis store"), "\(result.stderr)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
    }
}
