import Foundation

/// The tokenizer a GGUF file's metadata describes, built as transformers builds it when it loads a
/// GGUF file: the `tokenizer.json` its conversion would write (model, normalizer, pre-tokenizer,
/// added tokens, post-processor, decoder), read by the same loader as any tokenizer.json.
public enum GGUFTokenizer {
    public static func load(_ file: GGUFFile) throws -> Tokenizer {
        try Tokenizer.load(data: tokenizerJSON(file), path: file.path)
    }

    /// llama.cpp's token types.
    enum TokenType: Int { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    /// The pre-tokenizer split patterns transformers' GGUF conversion assigns by
    /// `tokenizer.ggml.pre`; other names keep the byte-level default (GPT-2's pattern).
    static let llama3Split = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Split = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen35Split = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let tekkenSplit = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let gpt4oSplit = #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static let splitPatterns: [String: String] = [
        "llama3": llama3Split, "llama-v3": llama3Split, "llama-bpe": llama3Split, "falcon3": llama3Split,
        "falcon-h1": llama3Split, "pixtral": llama3Split, "midm-2.0": llama3Split, "lfm2": llama3Split,
        "jina-v5-nano": llama3Split, "dbrx": llama3Split, "smaug-bpe": llama3Split,
        "tekken": tekkenSplit,
        "qwen2": qwen2Split, "deepseek-r1-qwen": qwen2Split, "kormo": qwen2Split, "f2llmv2": qwen2Split, "megrez": qwen2Split,
        "qwen35": qwen35Split,
        "gpt-4o": gpt4oSplit, "llama4": gpt4oSplit, "kanana2": gpt4oSplit, "talkie": gpt4oSplit, "minimax-m2": gpt4oSplit,
    ]

    static func tokenizerJSON(_ file: GGUFFile) throws -> Data {
        let meta = file.metadata
        let path = file.path
        guard let kind = meta["tokenizer.ggml.model"]?.string else {
            throw InputError(path, "no tokenizer in the metadata (tokenizer.ggml.model)")
        }
        guard kind == "gpt2" || kind == "llama" else {
            throw InputError(path, "tokenizer.ggml.model '\(kind)' is not supported (gpt2 and llama are)")
        }
        guard let tokenValues = meta["tokenizer.ggml.tokens"]?.array, !tokenValues.isEmpty else {
            throw InputError(path, "no tokenizer.ggml.tokens")
        }
        let tokens = try tokenValues.map { value -> String in
            guard let s = value.string else { throw InputError(path, "tokenizer.ggml.tokens holds a non-string") }
            return s
        }
        let types = meta["tokenizer.ggml.token_type"]?.array?.map { $0.int ?? 0 } ?? []
        let merges = try meta["tokenizer.ggml.merges"]?.array.map { list in
            try list.map { value -> [String] in
                guard let s = value.string else { throw InputError(path, "tokenizer.ggml.merges holds a non-string") }
                return s.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            }
        }
        if let bad = merges?.firstIndex(where: { $0.count != 2 }) {
            throw InputError(path, "tokenizer.ggml.merges entry \(bad) is not two tokens separated by a space")
        }
        let architecture = meta["general.architecture"]?.string ?? ""
        func specialToken(_ key: String) throws -> String? {
            guard let id = meta["tokenizer.ggml.\(key)"]?.int else { return nil }
            guard id >= 0, id < tokens.count else { throw InputError(path, "tokenizer.ggml.\(key) \(id) is outside the \(tokens.count) tokens") }
            return tokens[id]
        }
        let bos = try specialToken("bos_token_id"), eos = try specialToken("eos_token_id")
        let unk = try specialToken("unknown_token_id"), pad = try specialToken("padding_token_id")
        let addBOS = meta["tokenizer.ggml.add_bos_token"]?.bool ?? (kind == "llama")
        let addEOS = meta["tokenizer.ggml.add_eos_token"]?.bool ?? false

        var root: [String: Any] = ["version": "1.0", "truncation": NSNull(), "padding": NSNull()]
        var vocab: [String: Int] = [:]
        let byteLevel = kind == "gpt2"
        if byteLevel {
            for (id, token) in tokens.enumerated() { vocab[ByteAlphabet.spelled(token)] = id }
            root["model"] = bpeModel(vocab: vocab, merges: merges ?? [], unk: nil, sentencePiece: false)
            root["normalizer"] = NSNull()
            root["pre_tokenizer"] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
            root["decoder"] = ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true]
        } else {
            let gemma = ["gemma", "gemma2", "gemma3"].contains(architecture)
            // Gemma files store tokens of several spaces as spaces; its tokenizer spells them with ▁.
            let spelled = gemma ? tokens.map { token in
                token.contains(" ") && token.unicodeScalars.allSatisfy(\.properties.isWhitespace)
                    ? String(repeating: "\u{2581}", count: token.unicodeScalars.count) : token
            } : tokens
            for (id, token) in spelled.enumerated() { vocab[token] = id }
            let pieces: [[String]]
            if let merges {
                pieces = merges
            } else {
                // No merges in the file: derived from the vocabulary, best first by the token's score
                // (Gemma's: its position in the file, whose scores do not follow the merge order).
                let scores = meta["tokenizer.ggml.scores"]?.array?.map { $0.double ?? 0 } ?? []
                guard gemma || scores.count == tokens.count else {
                    throw InputError(path, "tokenizer.ggml.scores has \(scores.count) values for \(tokens.count) tokens")
                }
                pieces = derivedMerges(tokens: spelled, vocab: vocab, scores: gemma ? spelled.indices.map { -Double($0) } : scores)
            }
            root["model"] = bpeModel(vocab: vocab, merges: pieces, unk: unk, sentencePiece: true)
            var decoders: [[String: Any]] = [
                ["type": "Replace", "pattern": ["String": "\u{2581}"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
            ]
            if gemma {
                root["normalizer"] = ["type": "Replace", "pattern": ["String": " "], "content": "\u{2581}"]
                root["pre_tokenizer"] = ["type": "Split", "pattern": ["String": " "], "behavior": "MergedWithPrevious", "invert": false]
            } else {
                decoders.append(["type": "Strip", "content": " ", "start": 1, "stop": 0])
                if architecture == "phi3" {
                    // Phi-3 prepends the space in a normalizer: "  hi" keeps all its spaces.
                    root["normalizer"] = ["type": "Sequence", "normalizers": [
                        ["type": "Prepend", "prepend": "\u{2581}"], ["type": "Replace", "pattern": ["String": " "], "content": "\u{2581}"],
                    ]]
                    root["pre_tokenizer"] = NSNull()
                } else {
                    root["normalizer"] = NSNull()
                    root["pre_tokenizer"] = ["type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "first", "split": false]
                }
            }
            root["decoder"] = ["type": "Sequence", "decoders": decoders]
        }
        if let name = meta["tokenizer.ggml.pre"]?.string, let pattern = splitPatterns[name] {
            root["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [
                ["type": "Split", "pattern": ["Regex": pattern], "behavior": "Isolated", "invert": false],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
            ]]
        }
        root["added_tokens"] = addedTokens(tokens: tokens, types: types, vocab: vocab, byteLevel: byteLevel,
                                           specials: [bos, eos, unk, pad].compactMap { $0 })
        root["post_processor"] = postProcessor(bos: addBOS ? bos.flatMap { b in vocab[b].map { (b, $0) } } : nil,
                                               eos: addEOS ? eos.flatMap { e in vocab[e].map { (e, $0) } } : nil)
        do {
            return try JSONSerialization.data(withJSONObject: root)
        } catch {
            throw InputError(path, "cannot build the tokenizer: \(error.localizedDescription)")
        }
    }

    static func bpeModel(vocab: [String: Int], merges: [[String]], unk: String?, sentencePiece: Bool) -> [String: Any] {
        [
            "type": "BPE", "dropout": NSNull(), "unk_token": unk.map { $0 as Any } ?? NSNull(),
            "continuing_subword_prefix": sentencePiece ? NSNull() as Any : "", "end_of_word_suffix": sentencePiece ? NSNull() as Any : "",
            "fuse_unk": sentencePiece, "byte_fallback": sentencePiece, "ignore_merges": false,
            "vocab": vocab, "merges": merges,
        ]
    }

    /// Control tokens as special added tokens, user-defined ones as plain added tokens: both are
    /// matched whole in the text. In a byte-level vocabulary a control token spelled outside the
    /// byte alphabet is a mislabel and left out (transformers does the same). The tokenizer's named
    /// special tokens (BOS, EOS, unknown, padding) are special too.
    static func addedTokens(tokens: [String], types: [Int], vocab: [String: Int], byteLevel: Bool, specials: [String]) -> [[String: Any]] {
        var added: [Int: (String, Bool)] = [:]
        for (id, token) in tokens.enumerated() where id < types.count {
            switch TokenType(rawValue: types[id]) {
            case .control where !byteLevel || ByteAlphabet.isSpelled(token):
                if let id = vocab[token] { added[id] = (token, true) }
            case .userDefined:
                if let id = vocab[token], added[id] == nil { added[id] = (token, false) }
            default:
                break
            }
        }
        for token in specials {
            if let id = vocab[token] { added[id] = (token, true) }
        }
        return added.keys.sorted().map { id in
            let (content, special) = added[id]!
            return ["id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false,
                    "normalized": false, "special": special]
        }
    }

    static func postProcessor(bos: (String, Int)?, eos: (String, Int)?) -> [String: Any] {
        func special(_ token: (String, Int)?, _ typeID: Int) -> [[String: Any]] {
            token.map { [["SpecialToken": ["id": $0.0, "type_id": typeID]]] } ?? []
        }
        func sequence(_ id: String, _ typeID: Int) -> [[String: Any]] { [["Sequence": ["id": id, "type_id": typeID]]] }
        var specialTokens: [String: Any] = [:]
        for token in [bos, eos].compactMap({ $0 }) { specialTokens[token.0] = ["id": token.0, "ids": [token.1], "tokens": [token.0]] }
        return [
            "type": "TemplateProcessing",
            "single": special(bos, 0) + sequence("A", 0) + special(eos, 0),
            "pair": special(bos, 0) + sequence("A", 0) + special(eos, 0) + special(bos, 1) + sequence("B", 1) + special(eos, 1),
            "special_tokens": specialTokens,
        ]
    }

    /// Merges implied by a vocabulary: every split of every token into two tokens, ordered by the
    /// token's score (higher first), then by the longer left and right piece; within one token by
    /// the pieces' ids (transformers' `generate_merges`).
    static func derivedMerges(tokens: [String], vocab: [String: Int], scores: [Double]) -> [[String]] {
        // Each distinct token once, in the order of its first appearance, with its last score.
        var firstIndex: [String: Int] = [:]
        var order: [String] = []
        var score: [String: Double] = [:]
        for (index, token) in tokens.enumerated() {
            if firstIndex[token] == nil { firstIndex[token] = index; order.append(token) }
            score[token] = scores[index]
        }
        var merges: [(left: String, right: String, score: Double, leftLength: Int, rightLength: Int, rank: Int)] = []
        for token in order {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count > 1 else { continue }
            var local: [(String, String, Int, Int, Int)] = []
            for cut in 1..<scalars.count {
                var left = String.UnicodeScalarView(), right = String.UnicodeScalarView()
                left.append(contentsOf: scalars[..<cut])
                right.append(contentsOf: scalars[cut...])
                let l = String(left), r = String(right)
                if let li = vocab[l], let ri = vocab[r] { local.append((l, r, li, ri, cut)) }
            }
            local.sort { ($0.2, $0.3, $0.4) < ($1.2, $1.3, $1.4) }
            for (l, r, _, _, cut) in local {
                merges.append((l, r, score[token]!, cut, scalars.count - cut, merges.count))
            }
        }
        merges.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.leftLength != b.leftLength { return a.leftLength > b.leftLength }
            if a.rightLength != b.rightLength { return a.rightLength > b.rightLength }
            return a.rank < b.rank
        }
        return merges.map { [$0.left, $0.right] }
    }
}

/// GPT-2's printable spelling of bytes: byte-level vocabularies spell every token in it.
enum ByteAlphabet {
    static let characters: [Character] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var mapping = [Int](repeating: 0, count: 256)
        for byte in printable { mapping[byte] = byte }
        var next = 256
        for byte in 0..<256 where !printable.contains(byte) {
            mapping[byte] = next
            next += 1
        }
        printable.removeAll()
        return mapping.map { Character(Unicode.Scalar($0)!) }
    }()

    static let set = Set(characters.map { $0.unicodeScalars.first! })

    static func isSpelled(_ token: String) -> Bool { token.unicodeScalars.allSatisfy(set.contains) }

    /// The token as it is, when already spelled in the alphabet; else its UTF-8 bytes spelled.
    static func spelled(_ token: String) -> String {
        isSpelled(token) ? token : String(token.utf8.map { characters[Int($0)] })
    }
}
