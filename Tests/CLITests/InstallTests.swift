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
        defer { for folder in [prefix, alone] { try? files.removeItem(atPath: folder) } }
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

    /// bash, given the generated completion script, completes a subcommand's name and a
    /// subcommand's options, as it does when a user presses Tab.
    @Test func bashCompletesSubcommandsAndOptions() throws {
        let generated = try Neurotop.run(["--generate-completion-script", "bash"])
        #expect(generated.status == 0, "\(generated.stderr)")
        let folder = temporary()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let script = folder + "/neurotop.bash"
        try generated.stdout.write(toFile: script, atomically: true, encoding: .utf8)
        /// What `_neurotop` offers for the words typed so far (the last one being completed).
        func complete(_ words: [String]) throws -> String {
            let line = words.joined(separator: " ")
            let call = """
                source '\(script)'
                COMP_WORDS=(\(words.joined(separator: " "))); COMP_CWORD=\(words.count - 1)
                COMP_LINE='\(line)'; COMP_POINT=\(line.count)
                _neurotop neurotop '\(words.last!)' '\(words[words.count - 2])'
                echo "${COMPREPLY[*]}"
                """
            let result = try Neurotop.run(["-c", call], executable: "/bin/bash")
            #expect(result.status == 0, "\(result.stderr)")
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try complete(["neurotop", "an"]) == "analyze")
        #expect(try complete(["neurotop", "t"]).split(separator: " ") == ["tokenize", "train-demo"])
        #expect(try Set(complete(["neurotop", "compare", "--st"]).split(separator: " ")) == ["--stored", "--store"])
        #expect(try Set(complete(["neurotop", "analyze", "--me"]).split(separator: " ")) == ["--metric"])
    }
}
