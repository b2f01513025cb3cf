import Foundation
import Testing

/// Reads a float32 safetensors file written by neurotop or the fixture script: name → (shape, values).
func readFloatTensors(_ path: String) throws -> [String: (shape: [Int], values: [Float])] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    let header = try #require(JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
    var tensors: [String: (shape: [Int], values: [Float])] = [:]
    for (name, entry) in header where name != "__metadata__" {
        let entry = try #require(entry as? [String: Any])
        #expect(entry["dtype"] as? String == "F32")
        let offsets = try #require(entry["data_offsets"] as? [Int])
        let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
        let values = bytes.withUnsafeBytes { raw in (0..<(bytes.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
        tensors[name] = (try #require(entry["shape"] as? [Int]), values)
    }
    return tensors
}

@Suite struct RunCommand {
    let model = Neurotop.fixture("checkpoints/llama")

    func referenceSequence(_ length: Int) throws -> [Int] {
        let data = try Data(contentsOf: URL(fileURLWithPath: model + "/reference.json"))
        let json = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require((json["sequences"] as? [String: [Int]])?[String(length)])
    }

    @Test func topTokensMatchTransformers() throws {
        let ids = try referenceSequence(9)
        let result = try Neurotop.run(["run", model, "--ids", ids.map(String.init).joined(separator: ","), "--top", "5", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let top = try #require(json["top"] as? [[String: Any]])
        let reference = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/reference.json"))) as? [String: Any])
        let expected = try #require(((reference["top5_last_position"] as? [String: Any])?["9"] as? [String: Any]))
        #expect(top.map { $0["id"] as? Int } == (expected["ids"] as? [Int])?.map { $0 })
        let probabilities = top.compactMap { $0["probability"] as? Double }
        #expect(probabilities == probabilities.sorted(by: >))
    }

    @Test func dumpHoldsLogitsCoefficientsAndGradients() throws {
        let ids = try referenceSequence(9)
        let dump = NSTemporaryDirectory() + "neurotop-dump-\(UUID().uuidString).safetensors"
        defer { try? FileManager.default.removeItem(atPath: dump) }
        let result = try Neurotop.run(["run", model, "--ids", ids.map(String.init).joined(separator: ","), "--dump", dump, "--grad"])
        #expect(result.status == 0, "\(result.stderr)")
        let ours = try readFloatTensors(dump)
        let reference = try readFloatTensors(model + "/reference.safetensors")
        #expect(ours["logits"]?.shape == [9, 512])
        for (name, theirs) in [("logits", "logits.9"), ("coefficients.0", "coefficients.9.0"), ("coefficients.1", "coefficients.9.1")] {
            let a = try #require(ours[name]).values, b = try #require(reference[theirs]).values
            #expect(zip(a, b).allSatisfy { abs($0 - $1) < 1e-4 }, "\(name)")
        }
        let gradients = ours.keys.filter { $0.hasPrefix("grad.") }
        #expect(gradients.count == 14)
        for name in gradients {
            let a = try #require(ours[name]), b = try #require(reference[name])
            #expect(a.shape == b.shape)
            let error = zip(a.values, b.values).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            let norm = b.values.reduce(0.0) { $0 + Double($1 * $1) }
            #expect((error / norm).squareRoot() < 1e-3, "\(name)")
        }
    }

    @Test func ablationChangesTheAnswer() throws {
        let ids = try referenceSequence(9).map(String.init).joined(separator: ",")
        let plain = try Neurotop.run(["run", model, "--ids", ids, "--json"])
        let ablated = try Neurotop.run(["run", model, "--ids", ids, "--ablate", "0:3,0:17,1:5", "--json"])
        #expect(plain.status == 0 && ablated.status == 0)
        #expect(plain.stdout != ablated.stdout)
        #expect(ablated.stdout.contains("\"0:17\""))
    }

    @Test func promptsAreTokenizedWithTheModelsTokenizer() throws {
        let result = try Neurotop.run(["run", model, "--prompt", "The capital of France is", "--top", "3"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("rank"))
        #expect(result.stdout.split(separator: "\n").count == 5)
    }

    @Test(arguments: [
        (["--ids", "1,2,512"], "token id 512 is outside the vocabulary"),
        (["--prompt", ""], "empty prompt"),
        (["--ids", Array(repeating: "7", count: 129).joined(separator: ",")], "129 tokens exceed the model's context of 128"),
        (["--ids", "1,2", "--ablate", "5:3"], "no neuron 5:3"),
        (["--ids", "1,2", "--ablate", "0:128"], "no neuron 0:128"),
        (["--ids", "1,2", "--ablate", "zero"], "'zero' is not a neuron"),
        (["--ids", "1,x"], "--ids takes comma-separated integers"),
    ])
    func badInputGivesOneLine(_ arguments: [String], _ message: String) throws {
        let result = try Neurotop.run(["run", model] + arguments)
        #expect(result.status > 0 && result.status < 128)
        #expect(result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
    }
}
