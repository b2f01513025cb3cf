import Foundation
import Testing

@Suite struct EvalCommand {
    /// The shipped demo model knows its world: at least 90 % open-answer and 95 % multiple-choice.
    @Test func theDemoModelKnowsTheDemoFacts() throws {
        let result = try Neurotop.run(["eval", "--probes", "demo", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let open = try #require(json["open_accuracy"] as? Double), multipleChoice = try #require(json["mcq_accuracy"] as? Double)
        #expect(open >= 0.90, "open accuracy \(open)")
        #expect(multipleChoice >= 0.95, "multiple-choice accuracy \(multipleChoice)")
        let concepts = try #require(json["concepts"] as? [String: [String: Any]])
        #expect(concepts.count == 48)
        #expect((json["categories"] as? [String: Any])?.count == 6)
    }

    @Test func ablatingNeuronsIsReported() throws {
        let result = try Neurotop.run(["eval", "--probes", "demo", "--ablate", "0:1,3:200", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\"3:200\""))
    }

    func probeFile(_ lines: [String]) throws -> String {
        let path = NSTemporaryDirectory() + "neurotop-probes-\(UUID().uuidString).jsonl"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let good = #"{"concept": "Zorvia", "category": "country", "prompt": "The capital of Zorvia is", "answer": " Lotherby", "choices": [" Lotherby", " Corvance"]}"#

    @Test(arguments: [
        (#"{"concept": "Zorvia", "category": "country", "prompt": "The capital"#, "line 2: not valid JSON"),
        (#"{"concept": "Zorvia", "category": "country", "answer": " Lotherby"}"#, "line 2: missing field \"prompt\""),
        (#"{"concept": "Zorvia", "category": "country", "prompt": "Zorvia speaks", "answer": ""}"#, "line 2: field \"answer\" is empty"),
        (#"{"concept": "Zorvia", "category": "country", "prompt": "Zorvia speaks", "answer": " Ovulan", "choices": [" A", " B"]}"#, "line 2: the choices do not include the answer"),
    ])
    func badProbeFilesNameTheFileAndLine(_ line: String, _ message: String) throws {
        let path = try probeFile([Self.good, line])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try Neurotop.run(["eval", "--probes", path])
        #expect(result.status > 0 && result.status < 128)
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(path + ": " + message), "\(result.stderr)")
    }

    @Test func anUnknownProbeSetNameListsTheShippedOnes() throws {
        let result = try Neurotop.run(["eval", "--probes", "nonesuch"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("demo, world"), "\(result.stderr)")
    }
}
