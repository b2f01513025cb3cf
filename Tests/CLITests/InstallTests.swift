import Foundation
import Testing

/// neurotop away from its checkout, as `scripts/install` lays it out: PREFIX/bin/neurotop reads
/// PREFIX/share/neurotop/{data,themes}; its completions come from the command definitions.
@Suite struct InstalledNeurotop {
    func temporary() -> String {
        let folder = NSTemporaryDirectory() + "neurotop-install-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A copy of the binary in PREFIX/bin with the shipped folders under PREFIX/share/neurotop
    /// opens the demo from any folder, started by its path or found on the PATH, without
    /// NEUROTOP_DATA; the binary copied alone says what it cannot find and exits 1.
    @Test func anInstalledBinaryFindsItsDataUnderItsPrefix() throws {
        let files = FileManager.default
        let prefix = temporary(), alone = temporary()
        try files.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        try files.createDirectory(atPath: prefix + "/share/neurotop", withIntermediateDirectories: true)
        try files.copyItem(atPath: Neurotop.binary, toPath: prefix + "/bin/neurotop")
        for folder in ["data", "themes"] {
            try files.copyItem(atPath: Neurotop.repository.appendingPathComponent(folder).path, toPath: prefix + "/share/neurotop/" + folder)
        }
        let unset = ["NEUROTOP_DATA": ""]
        let byPath = try Neurotop.run(["info"], environment: unset, executable: prefix + "/bin/neurotop")
        #expect(byPath.status == 0 && byPath.stdout.contains(prefix + "/share/neurotop/data/models/demo"), "\(byPath.stdout)\(byPath.stderr)")
        let onPath = try Neurotop.run(["neurotop", "info"], environment: unset.merging(["PATH": prefix + "/bin:/usr/bin:/bin"]) { $1 },
                                      executable: "/usr/bin/env")
        #expect(onPath.status == 0 && onPath.stdout == byPath.stdout, "\(onPath.stderr)")

        try files.copyItem(atPath: Neurotop.binary, toPath: alone + "/neurotop")
        let lost = try Neurotop.run(["info"], environment: unset, executable: alone + "/neurotop")
        #expect(lost.status == 1 && lost.stderr.contains("cannot find neurotop's shipped data folder")
                && lost.stderr.contains("PREFIX/share/neurotop/data") && lost.stderr.contains("NEUROTOP_DATA"), "\(lost.stderr)")
    }

    /// The bash completion script names every subcommand and completes a subcommand's options.
    @Test func bashCompletionsCoverTheCommands() throws {
        let result = try Neurotop.run(["--generate-completion-script", "bash"])
        #expect(result.status == 0, "\(result.stderr)")
        for subcommand in ["open", "analyze", "worker", "compare", "ablate", "export", "list", "train-demo"] {
            #expect(result.stdout.contains(subcommand), "\(subcommand)")
        }
        for option in ["--probes", "--store", "--stored", "--metric"] {
            #expect(result.stdout.contains(option), "\(option)")
        }
    }
}
