import Foundation
import Tensors
import Tokenizers

/// Trains a byte-level BPE tokenizer (GPT-2's pre-tokenization and byte alphabet) on a corpus and
/// writes it as a Hugging Face `tokenizer.json`, with a BOS special token added by the
/// post-processor and an end-of-text token.
public enum TokenizerTrainer {
    public static let beginOfText = "<|begin_of_text|>"
    public static let endOfText = "<|end_of_text|>"

    /// GPT-2's map from bytes to printable characters: bytes that are printable stay themselves,
    /// the others are moved past U+0100.
    static let byteCharacters: [String] = {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        var characters = [Int: Int]()
        for byte in printable { characters[byte] = byte }
        var next = 0
        for byte in 0..<256 where characters[byte] == nil {
            characters[byte] = 256 + next
            next += 1
        }
        return (0..<256).map { String(UnicodeScalar(UInt32(characters[$0]!))!) }
    }()

    /// A `tokenizer.json` with `vocabularySize` entries in all (bytes, merges, two special tokens).
    public static func train(corpus: [String], vocabularySize: Int) throws -> String {
        guard vocabularySize > 258 else { throw InputError("", "a byte-level tokenizer needs more than 258 tokens") }
        // Pre-tokenize with the same pipeline the finished tokenizer will use (no merges yet).
        let base = try Tokenizer.load(data: Data(json(merges: []).utf8), path: "tokenizer.json")
        var counts: [String: Int] = [:]
        for text in corpus {
            for piece in base.preTokenize(text) { counts[piece, default: 0] += 1 }
        }
        // Words as sequences of symbol ids; `symbols` holds each id's text.
        var symbols = byteCharacters
        var symbolID = Dictionary(uniqueKeysWithValues: byteCharacters.enumerated().map { ($1, $0) })
        var words: [(symbols: [Int], count: Int)] = counts.keys.sorted().map { word in
            (word.unicodeScalars.map { symbolID[String($0)] ?? 0 }, counts[word]!)
        }
        var merges: [(String, String)] = []
        while symbols.count + 2 < vocabularySize {
            var pairs: [Int: Int] = [:]
            for word in words where word.symbols.count > 1 {
                for i in 0..<(word.symbols.count - 1) { pairs[word.symbols[i] << 32 | word.symbols[i + 1], default: 0] += word.count }
            }
            // The most frequent pair; ties go to the pair whose texts sort first, so runs are reproducible.
            func texts(_ key: Int) -> (String, String) { (symbols[key >> 32], symbols[key & 0xFFFF_FFFF]) }
            guard let best = pairs.max(by: { $0.value < $1.value || ($0.value == $1.value && texts($0.key) > texts($1.key)) }),
                  best.value > 1 else { break }
            let (left, right) = (best.key >> 32, best.key & 0xFFFF_FFFF)
            let merged = symbols[left] + symbols[right]
            merges.append((symbols[left], symbols[right]))
            let id: Int
            if let existing = symbolID[merged] {
                id = existing
            } else {
                id = symbols.count
                symbols.append(merged)
                symbolID[merged] = id
            }
            for index in words.indices where words[index].symbols.count > 1 {
                var word = words[index].symbols
                var i = 0
                while i < word.count - 1 {
                    if word[i] == left && word[i + 1] == right {
                        word[i] = id
                        word.remove(at: i + 1)
                    }
                    i += 1
                }
                words[index].symbols = word
            }
        }
        return json(merges: merges)
    }

    /// The tokenizer.json text: bytes first (ids 0–255 in byte order), then one token per merge,
    /// then the two special tokens.
    static func json(merges: [(String, String)]) -> String {
        var vocabulary: [String: Int] = [:]
        for (byte, character) in byteCharacters.enumerated() { vocabulary[character] = byte }
        for (left, right) in merges where vocabulary[left + right] == nil { vocabulary[left + right] = vocabulary.count }
        let bos = vocabulary.count, eos = vocabulary.count + 1
        func special(_ id: Int, _ content: String) -> [String: Any] {
            ["id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true]
        }
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        let object: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(),
            "padding": NSNull(),
            "added_tokens": [special(bos, beginOfText), special(eos, endOfText)],
            "normalizer": NSNull(),
            "pre_tokenizer": byteLevel,
            "post_processor": [
                "type": "TemplateProcessing",
                "single": [["SpecialToken": ["id": beginOfText, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                "pair": [["SpecialToken": ["id": beginOfText, "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                         ["SpecialToken": ["id": beginOfText, "type_id": 1]], ["Sequence": ["id": "B", "type_id": 1]]],
                "special_tokens": [beginOfText: ["id": beginOfText, "ids": [bos], "tokens": [beginOfText]]],
            ] as [String: Any],
            "decoder": byteLevel,
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                "vocab": vocabulary, "merges": merges.map { [$0.0, $0.1] },
            ] as [String: Any],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
