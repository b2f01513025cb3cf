import Foundation

/// The release (or debug) `neurotop` binary built beside this test bundle, run as a user would.
enum Neurotop {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let binary: String = {
        let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for folder in [besideTests, besideTests.deletingLastPathComponent()] {
            let candidate = folder.appendingPathComponent("neurotop").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return repository.appendingPathComponent(".build/release/neurotop").path
    }()

    static func fixture(_ relative: String) -> String {
        repository.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relative).path
    }

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var stderrLines: [Substring] { stderr.split(separator: "\n") }
    }

    /// A cache folder of this test run's own, so analyses are stored there and not in the user's.
    static let cacheHome: String = {
        let folder = NSTemporaryDirectory() + "neurotop-tests-cache-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }()

    /// Runs neurotop (or `executable`, a copy of it or a program that starts it) with `arguments`,
    /// `input` on stdin, and the environment (with the test run's own XDG_CACHE_HOME) plus `environment`.
    static func run(_ arguments: [String], input: String = "", environment: [String: String] = [:], executable: String = binary) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["XDG_CACHE_HOME": cacheHome]) { $1 }.merging(environment) { $1 }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        // Read both pipes before waiting, so a large output cannot block the child.
        var errorData = Data()
        let group = DispatchGroup()
        group.enter()
        // A thread of its own, not Dispatch's global queue, whose few threads other tests may keep busy.
        Thread {
            errorData = stderr.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }.start()
        let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outputData, as: UTF8.self),
                      stderr: String(decoding: errorData, as: UTF8.self))
    }
}
