import Foundation
import Testing

/// Every committed fuzz input (the seeds, and each crash the fuzzer found once, kept as a
/// regression) goes through its parser again in the ordinary build: an error is fine, a crash is not.
@Suite struct FuzzCorpusReplay {
    static let root = Neurotop.repository.appendingPathComponent("Tests/Fixtures/fuzz").path
    static let targets = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()

    @Test func everyParserHasSeeds() {
        #expect(Self.targets == ["ablation-set", "config", "domains", "gguf", "neuron-list", "probes", "safetensors", "safetensors-index",
                                 "theme", "tokenizer", "tokenizer-regex"])
    }

    @Test(arguments: targets) func replaysWithoutACrash(_ target: String) throws {
        let folder = (Self.root as NSString).appendingPathComponent(target)
        let inputs = try FileManager.default.contentsOfDirectory(atPath: folder).sorted().map { (folder as NSString).appendingPathComponent($0) }
        #expect(!inputs.isEmpty)
        let binary = (Neurotop.binary as NSString).deletingLastPathComponent + "/neurotop-fuzz"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [target] + inputs
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(target): \(text)")
        #expect(text.hasPrefix("\(target): \(inputs.count) inputs") && text.contains("no crash"), "\(text)")
    }
}
