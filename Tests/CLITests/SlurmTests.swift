import Foundation
import Testing

/// The Slurm array job of docs/stores-and-workers.md, run for real on a one-node cluster of the
/// test's own (scripts/slurm: Debian's munge, slurmctld and slurmd, everything in a folder of the
/// test's). A cluster that cannot start fails the test: it is not skipped.
@Suite struct SlurmArrayJob {
    /// Three array tasks of scripts/worker.sbatch on a PostgreSQL store, the second cancelled with
    /// scancel while it computes: the others finish the analysis, each unit once, and its exports
    /// are those of a single process with as many BLAS threads as a task, byte for byte.
    @Test func anArrayJobWithATaskCancelledMatchesASingleRun() throws {
        // One BLAS thread, as each task has one core (--cpus-per-task=1).
        let setting = try WorkersShareAnAnalysis.Setting("workers-slurm", environment: ["OPENBLAS_NUM_THREADS": "1"])
        defer { try? FileManager.default.removeItem(atPath: setting.folder) }
        let server = try WorkersShareAnAnalysis.Server()
        defer { server.stop() }
        let scripts = Neurotop.repository.appendingPathComponent("scripts").path
        let cluster = setting.folder + "/slurm"
        let started = WorkersShareAnAnalysis.shell("'\(scripts)/slurm' start '\(cluster)'")
        try #require(started.status == 0, "scripts/slurm could not start a cluster: \(started.output)")
        defer { _ = WorkersShareAnAnalysis.shell("'\(scripts)/slurm' stop '\(cluster)'") }
        let conf = started.output.split(separator: "\n").last.map(String.init) ?? ""
        func slurm(_ command: String) -> (status: Int32, output: String) {
            WorkersShareAnAnalysis.shell("SLURM_CONF='\(conf)' NEUROTOP='\(Neurotop.binary)' " + command)
        }

        let options = (WorkersShareAnAnalysis.arguments(setting.probes, server.url).filter { $0 != server.url && $0 != "--store" }
                       + ["--lease", "5"]).map { "'\($0)'" }.joined(separator: " ")
        let logs = (0..<3).map { cluster + "/task-\($0).log" }
        let submitted = slurm("sbatch --parsable --array=0-2 --cpus-per-task=1 --output='\(cluster)/task-%a.log' "
                              + "'\(scripts)/worker.sbatch' demo '\(server.url)' \(options)")
        try #require(submitted.status == 0, "sbatch: \(submitted.output)")
        let job = submitted.output.trimmingCharacters(in: .whitespacesAndNewlines)

        func log(_ task: Int) -> String { (try? String(contentsOfFile: logs[task], encoding: .utf8)) ?? "" }
        func queued() -> [String] {
            slurm("squeue --noheader --format=%i -j \(job)").output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        // Task 1 cancelled once it has finished a unit and started another.
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            let lines = WorkersShareAnAnalysis.unitLines(log(1))
            if lines.contains(where: { $0.event == "finished" }), lines.last?.event == "started" { break }
            try #require(!log(1).contains("is complete"), "task 1 ended before it could be cancelled: \(log(1))")
            Thread.sleep(forTimeInterval: 0.05)
        }
        let cancelled = slurm("scancel \(job)_1")
        #expect(cancelled.status == 0, "\(cancelled.output)")
        while Date() < deadline, !queued().isEmpty { Thread.sleep(forTimeInterval: 0.2) }
        try #require(queued().isEmpty, "the array job did not end in 5 minutes: \(slurm("squeue").output)")

        #expect(log(1).contains("CANCELLED") && !log(1).contains("is complete"), "task 1: \(log(1))")
        for task in [0, 2] { #expect(log(task).contains("is complete in \(server.url)"), "task \(task): \(log(task))") }
        try setting.check(server.url, logs: (0..<3).map(log))
    }
}
