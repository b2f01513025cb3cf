import Foundation
import Testing
@testable import Checkpoints
@testable import Model

/// Tokenizers built from GGUF metadata give the ids of transformers' GGUF tokenizer conversion on
/// the 24,000 character test text (Tests/Fixtures/gguf/tokenizers.json, made by the fixture
/// script), and llama.cpp's own test vectors (`.inp`/`.out` beside its vocab files).
@Suite struct GGUFTokenizerTests {
    static let expected: [String: [String: Any]] = {
        let data = (try? Data(contentsOf: Fixtures.url("gguf/tokenizers.json"))) ?? Data()
        return (try? JSONSerialization.jsonObject(with: data) as? [String: [String: Any]]) ?? [:]
    }()

    static let text: String = {
        let data = (try? Data(contentsOf: Fixtures.url("tokenizers/text.txt"))) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }()

    func ids(_ value: Any?) -> [Int]? { (value as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } }

    /// Files whose BOS transformers appends as a new token past the vocabulary (their BOS is
    /// spelled outside the byte alphabet); neurotop keeps the file's id, as llama.cpp does, so
    /// these compare without special tokens.
    static let bosPastVocabulary: Set<String> = ["deepseek-llm", "deepseek-coder"]

    func checkText(_ name: String, path: String) throws {
        let entry = try #require(Self.expected[name], "no fixture for \(name)")
        let plain = Self.bosPastVocabulary.contains(name)
        let expected = try #require(ids(entry[plain ? "text_ids_plain" : "text_ids"]), "\(name): \(entry["transformers_error"] ?? "no ids")")
        let tokenizer = try ModelFamilies.tokenizer(gguf: GGUFFile(path: path))
        let got = tokenizer.encode(Self.text, addSpecialTokens: !plain)
        let first = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(got == expected, "\(name): \(got.count) ids for \(expected.count); first difference at \(first.map(String.init) ?? "the end")")
    }

    @Test(.enabled(if: RealGGUF.has(RealGGUF.smolLM2), RealGGUF.missing(RealGGUF.smolLM2)))
    func smolLM2TokenizerEqualsTransformers() throws { try checkText("smollm2", path: RealGGUF.smolLM2) }

    @Test(.enabled(if: RealGGUF.has(RealGGUF.gemma3), RealGGUF.missing(RealGGUF.gemma3)))
    func gemma3TokenizerEqualsTransformers() throws { try checkText("gemma3", path: RealGGUF.gemma3) }

    static let vocabFiles = ["gpt-2", "llama-bpe", "qwen2", "phi-3", "gpt-neox", "llama-spm", "falcon", "mpt", "starcoder",
                             "deepseek-llm", "deepseek-coder", "refact", "command-r", "qwen35"]

    @Test(.enabled(if: RealGGUF.has(RealGGUF.vocabFile("gpt-2")), RealGGUF.missing(RealGGUF.vocabFile("gpt-2"))), arguments: vocabFiles)
    func vocabFileTokenizerEqualsTransformers(_ name: String) throws {
        try checkText(name, path: RealGGUF.vocabFile(name))
    }

    /// llama.cpp's test vectors: each `.inp` case (without special tokens) gives the ids of
    /// transformers' conversion and, where that agrees with llama.cpp (recorded by the fixture
    /// script), llama.cpp's `.out` ids.
    static let vectorFiles = ["gpt-2", "llama-bpe", "qwen2", "phi-3", "llama-spm", "falcon", "mpt", "starcoder", "deepseek-llm",
                              "deepseek-coder", "refact", "command-r", "qwen35"]

    @Test(.enabled(if: RealGGUF.has(RealGGUF.vocabFile("gpt-2")), RealGGUF.missing(RealGGUF.vocabFile("gpt-2"))), arguments: vectorFiles)
    func llamaCppTestVectors(_ name: String) throws {
        let path = RealGGUF.vocabFile(name)
        let input = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path + ".inp")), as: UTF8.self)
        let output = String(decoding: try Data(contentsOf: URL(fileURLWithPath: path + ".out")), as: UTF8.self)
        let cases = Array(input.components(separatedBy: "\n__ggml_vocab_test__\n").dropLast())
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).prefix(cases.count)
        let entry = try #require(Self.expected[name])
        let converted = try #require(entry["cases"] as? [Any]).map { ids($0) ?? [] }
        let agrees = try #require(entry["agrees_with_llama_cpp"] as? [Bool])
        #expect(lines.count == cases.count && converted.count == cases.count && agrees.count == cases.count)
        let tokenizer = try ModelFamilies.tokenizer(gguf: GGUFFile(path: path))
        for (index, (text, line)) in zip(cases, lines).enumerated() {
            let got = tokenizer.encode(text, addSpecialTokens: false)
            #expect(got == converted[index], "\(name): \(text.debugDescription)")
            if agrees[index] {
                #expect(got == line.split(separator: " ").compactMap { Int($0) }, "\(name): \(text.debugDescription)")
            }
        }
    }
}
