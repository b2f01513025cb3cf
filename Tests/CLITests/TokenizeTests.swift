import Foundation
import Testing

@Suite struct TokenizeCommand {
    /// `neurotop tokenize --file` gives the tokenizers library's ids, tokens and decoding on the
    /// 24,000-character mixed text, for every fixture tokenizer.
    @Test(arguments: ["gpt2", "llama3", "qwen2", "spm", "spm-metaspace", "spm-nonlegacy", "special"])
    func matchesTheLibraryOnTheMixedText(_ name: String) throws {
        let folder = Neurotop.fixture("tokenizers/\(name)")
        let expected = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/expected.json"))) as? [String: Any])
        let text = Neurotop.fixture("tokenizers/" + (try #require(expected["text_file"] as? String)))
        let result = try Neurotop.run(["tokenize", folder, "--file", text, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let ours = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let ids = try #require(ours["ids"] as? [Int]), expectedIDs = try #require(expected["ids"] as? [Int])
        #expect(ids.count == expectedIDs.count)
        if let first = zip(ids, expectedIDs).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("\(name): first difference at token \(first.offset): \(first.element.0) vs \(first.element.1)")
        }
        #expect(ours["tokens"] as? [String] == expected["tokens"] as? [String])
        #expect(ours["decoded"] as? String == expected["decoded"] as? String)
    }

    @Test func readsStandardInputAndPlainOutputIsTheIDs() throws {
        let result = try Neurotop.run(["tokenize", Neurotop.fixture("tokenizers/gpt2/tokenizer.json")], input: "Hello world")
        #expect(result.status == 0)
        let withArgument = try Neurotop.run(["tokenize", Neurotop.fixture("tokenizers/gpt2"), "Hello world"])
        #expect(result.stdout == withArgument.stdout)
        #expect(result.stdout.split(separator: " ").allSatisfy { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) != nil })
    }
}
