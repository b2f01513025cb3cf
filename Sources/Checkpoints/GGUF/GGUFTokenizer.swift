import Foundation
import Tensors
import Tokenizers

/// The tokenizer a GGUF file's metadata describes, built as transformers builds it when it loads a
/// GGUF file: the `tokenizer.json` its conversion would write (model, normalizer, pre-tokenizer,
/// added tokens, post-processor, decoder), read by the same loader as any tokenizer.json.
public enum GGUFTokenizer {
    /// How a SentencePiece vocabulary's conversion handles spaces. The metadata does not say: it
    /// follows the family (Families/), as transformers' conversion does.
    public enum Spaces: Sendable {
        /// A Metaspace pre-tokenizer turns spaces into ▁ and prepends one to the first word (Llama).
        case metaspace
        /// A normalizer prepends ▁ and replaces every space: "  hi" keeps all its spaces (Phi-3).
        case prependedByNormalizer
        /// A normalizer replaces spaces, nothing is prepended, and the text splits after each ▁;
        /// tokens of several spaces are stored as spaces, and merges go by position (Gemma).
        case splitAfterEach
    }

    public static func load(_ file: GGUFFile, spaces: Spaces) throws -> Tokenizer {
        try Tokenizer.load(data: tokenizerJSON(file, spaces: spaces), path: file.path)
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

    static func tokenizerJSON(_ file: GGUFFile, spaces: Spaces) throws -> Data {
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
        func specialToken(_ key: String) throws -> (String, Int)? {
            guard let id = meta["tokenizer.ggml.\(key)"]?.int else { return nil }
            guard id >= 0, id < tokens.count else { throw InputError(path, "tokenizer.ggml.\(key) \(id) is outside the \(tokens.count) tokens") }
            return (tokens[id], id)
        }
        let bos = try specialToken("bos_token_id"), eos = try specialToken("eos_token_id")
        let unk = try specialToken("unknown_token_id"), pad = try specialToken("padding_token_id")
        let addBOS = meta["tokenizer.ggml.add_bos_token"]?.bool ?? (kind == "llama")
        let addEOS = meta["tokenizer.ggml.add_eos_token"]?.bool ?? false

        var root: [(String, JSONValue)] = [("version", .string("1.0")), ("truncation", .null), ("padding", .null)]
        let vocab: Vocabulary
        var model: [(String, JSONValue)]
        let normalizer: JSONValue, decoder: JSONValue
        var preTokenizer: JSONValue
        let byteLevel = kind == "gpt2"
        if byteLevel {
            vocab = Vocabulary(tokens.map(ByteAlphabet.spelled))
            model = bpeModel(unk: nil, sentencePiece: false)
            model.append(("merges", .pairs(merges ?? [])))
            normalizer = .null
            preTokenizer = .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)), ("use_regex", .bool(true))])
            decoder = .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)), ("use_regex", .bool(true))])
        } else {
            let splitsAfterEach = spaces == .splitAfterEach
            // Gemma files store tokens of several spaces as spaces; its tokenizer spells them with ▁.
            let spelled = splitsAfterEach ? tokens.map { token in
                token.contains(" ") && token.unicodeScalars.allSatisfy(\.properties.isWhitespace)
                    ? String(repeating: "\u{2581}", count: token.unicodeScalars.count) : token
            } : tokens
            vocab = Vocabulary(spelled)
            model = bpeModel(unk: unk?.0, sentencePiece: true)
            if let merges {
                model.append(("merges", .pairs(merges)))
            } else {
                // No merges in the file: derived from the vocabulary, best first by the token's score
                // (Gemma's: its position in the file, whose scores do not follow the merge order).
                let scores = meta["tokenizer.ggml.scores"]?.array?.map { $0.double ?? 0 } ?? []
                guard splitsAfterEach || scores.count == tokens.count else {
                    throw InputError(path, "tokenizer.ggml.scores has \(scores.count) values for \(tokens.count) tokens")
                }
                model.append(("merges", .pairs(derivedMerges(vocab: vocab, scores: splitsAfterEach ? spelled.indices.map { -Double($0) } : scores))))
            }
            var decoders: [JSONValue] = [
                .object([("type", .string("Replace")), ("pattern", .object([("String", .string("\u{2581}"))])), ("content", .string(" "))]),
                .object([("type", .string("ByteFallback"))]), .object([("type", .string("Fuse"))]),
            ]
            let replaceSpaces = JSONValue.object([("type", .string("Replace")), ("pattern", .object([("String", .string(" "))])), ("content", .string("\u{2581}"))])
            if splitsAfterEach {
                normalizer = replaceSpaces
                preTokenizer = .object([("type", .string("Split")), ("pattern", .object([("String", .string(" "))])),
                                        ("behavior", .string("MergedWithPrevious")), ("invert", .bool(false))])
            } else {
                decoders.append(.object([("type", .string("Strip")), ("content", .string(" ")), ("start", .int(1)), ("stop", .int(0))]))
                if spaces == .prependedByNormalizer {
                    // Phi-3 prepends the space in a normalizer: "  hi" keeps all its spaces.
                    normalizer = .object([("type", .string("Sequence")), ("normalizers", .array([
                        .object([("type", .string("Prepend")), ("prepend", .string("\u{2581}"))]), replaceSpaces,
                    ]))])
                    preTokenizer = .null
                } else {
                    normalizer = .null
                    preTokenizer = .object([("type", .string("Metaspace")), ("replacement", .string("\u{2581}")),
                                            ("prepend_scheme", .string("first")), ("split", .bool(false))])
                }
            }
            decoder = .object([("type", .string("Sequence")), ("decoders", .array(decoders))])
        }
        if let name = meta["tokenizer.ggml.pre"]?.string, let pattern = splitPatterns[name] {
            preTokenizer = .object([("type", .string("Sequence")), ("pretokenizers", .array([
                .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(pattern))])), ("behavior", .string("Isolated")), ("invert", .bool(false))]),
                .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)), ("use_regex", .bool(false))]),
            ]))])
        }
        model.append(("vocab", .vocabulary(vocab)))
        root += [
            ("added_tokens", addedTokens(tokens: tokens, types: types, vocab: vocab, byteLevel: byteLevel, specials: [bos, eos, unk, pad].compactMap { $0 })),
            ("normalizer", normalizer), ("pre_tokenizer", preTokenizer),
            ("post_processor", postProcessor(bos: addBOS ? bos : nil, eos: addEOS ? eos : nil)),
            ("decoder", decoder), ("model", .object(model)),
        ]
        var text = ""
        JSONValue.object(root).write(to: &text)
        return Data(text.utf8)
    }

    static func bpeModel(unk: String?, sentencePiece: Bool) -> [(String, JSONValue)] {
        [
            ("type", .string("BPE")), ("dropout", .null), ("unk_token", unk.map(JSONValue.string) ?? .null),
            ("continuing_subword_prefix", sentencePiece ? .null : .string("")), ("end_of_word_suffix", sentencePiece ? .null : .string("")),
            ("fuse_unk", .bool(sentencePiece)), ("byte_fallback", .bool(sentencePiece)), ("ignore_merges", .bool(false)),
        ]
    }

    /// Control tokens as special added tokens, user-defined ones as plain added tokens: both are
    /// matched whole in the text. In a byte-level vocabulary a control token spelled outside the
    /// byte alphabet is a mislabel and left out (as transformers does). The tokens the metadata
    /// names (BOS, EOS, unknown, padding) are special, under the ids it gives them.
    static func addedTokens(tokens: [String], types: [Int], vocab: Vocabulary, byteLevel: Bool, specials: [(String, Int)]) -> JSONValue {
        var added: [Int: (String, Bool)] = [:]
        for (id, token) in tokens.enumerated() where id < types.count {
            switch TokenType(rawValue: types[id]) {
            case .control where !byteLevel || ByteAlphabet.isSpelled(token):
                if let id = vocab.id(token) { added[id] = (token, true) }
            case .userDefined:
                if let id = vocab.id(token), added[id] == nil { added[id] = (token, false) }
            default:
                break
            }
        }
        for (token, id) in specials { added[id] = (token, true) }
        return .array(added.keys.sorted().map { id in
            let (content, special) = added[id]!
            return .object([("id", .int(id)), ("content", .string(content)), ("single_word", .bool(false)), ("lstrip", .bool(false)),
                            ("rstrip", .bool(false)), ("normalized", .bool(false)), ("special", .bool(special))])
        })
    }

    static func postProcessor(bos: (String, Int)?, eos: (String, Int)?) -> JSONValue {
        func special(_ token: (String, Int)?, _ typeID: Int) -> [JSONValue] {
            token.map { [.object([("SpecialToken", .object([("id", .string($0.0)), ("type_id", .int(typeID))]))])] } ?? []
        }
        func sequence(_ id: String, _ typeID: Int) -> [JSONValue] { [.object([("Sequence", .object([("id", .string(id)), ("type_id", .int(typeID))]))])] }
        let specialTokens = [bos, eos].compactMap { $0 }.map { token in
            (token.0, JSONValue.object([("id", .string(token.0)), ("ids", .array([.int(token.1)])), ("tokens", .array([.string(token.0)]))]))
        }
        return .object([
            ("type", .string("TemplateProcessing")),
            ("single", .array(special(bos, 0) + sequence("A", 0) + special(eos, 0))),
            ("pair", .array(special(bos, 0) + sequence("A", 0) + special(eos, 0) + special(bos, 1) + sequence("B", 1) + special(eos, 1))),
            ("special_tokens", .object(specialTokens)),
        ])
    }

    /// Merges implied by a vocabulary: every split of every token into two tokens, ordered by the
    /// token's score (higher first), then by the longer left and right piece; within one token by
    /// the pieces' ids (transformers' `generate_merges`).
    static func derivedMerges(vocab: Vocabulary, scores: [Double]) -> [[String]] {
        var merges: [(left: ArraySlice<UInt8>, right: ArraySlice<UInt8>, score: Double, leftLength: Int, rightLength: Int, rank: Int)] = []
        // Each distinct token once, in the order of its first appearance, with the score of its last.
        for (index, (_, id)) in vocab.entries.enumerated() {
            let key = vocab.bytes[index]
            // Cuts at character (scalar) boundaries: not inside a UTF-8 sequence.
            let cuts = key.indices.dropFirst().filter { key[$0] & 0xC0 != 0x80 }
            guard !cuts.isEmpty else { continue }
            let length = cuts.count + 1
            var local: [(ArraySlice<UInt8>, ArraySlice<UInt8>, Int, Int, Int)] = []
            for (n, cut) in cuts.enumerated() {
                let left = key[..<cut], right = key[cut...]
                let ids = key.withUnsafeBytes { all in
                    (vocab.id(bytes: UnsafeRawBufferPointer(rebasing: all[..<cut])), vocab.id(bytes: UnsafeRawBufferPointer(rebasing: all[cut...])))
                }
                if let li = ids.0, let ri = ids.1 { local.append((left, right, li, ri, n + 1)) }
            }
            local.sort { ($0.2, $0.3) < ($1.2, $1.3) }
            for (left, right, _, _, n) in local {
                merges.append((left, right, scores[id], n, length - n, merges.count))
            }
        }
        merges.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.leftLength != b.leftLength { return a.leftLength > b.leftLength }
            if a.rightLength != b.rightLength { return a.rightLength > b.rightLength }
            return a.rank < b.rank
        }
        return merges.map { [String(decoding: $0.left, as: UTF8.self), String(decoding: $0.right, as: UTF8.self)] }
    }
}

/// Token → id, compared byte for byte (Swift's String equality would merge canonically equivalent
/// tokens, such as the two spellings of "έ", which a vocabulary keeps apart); the last of
/// duplicate tokens wins, as in a Python dict. Looked up by a 64-bit hash of the bytes, checked
/// against the token's bytes, so that probing byte slices allocates nothing.
struct Vocabulary {
    /// Distinct tokens in order of first appearance, with their ids.
    private(set) var entries: [(String, Int)] = []
    /// The UTF-8 bytes of each entry.
    private(set) var bytes: [[UInt8]] = []
    /// Hash → index into `entries`, and the indices of tokens whose hash another token shares.
    private var byHash: [UInt64: Int] = [:]
    private var sharedHashes: [UInt64: [Int]] = [:]

    init(_ tokens: [String]) {
        for (id, token) in tokens.enumerated() {
            let key = Array(token.utf8)
            let hash = key.withUnsafeBufferPointer { Self.hash(UnsafeRawBufferPointer($0)) }
            if let at = find(key, hash: hash) {
                entries[at].1 = id
                continue
            }
            let at = entries.count
            entries.append((token, id))
            bytes.append(key)
            if let other = byHash[hash] {
                sharedHashes[hash, default: [other]].append(at)
            } else {
                byHash[hash] = at
            }
        }
    }

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return value
    }

    private func find(_ key: UnsafeRawBufferPointer, hash: UInt64) -> Int? {
        if let candidates = sharedHashes[hash] {
            return candidates.first { bytes[$0].elementsEqual(key) }
        }
        guard let at = byHash[hash], bytes[at].elementsEqual(key) else { return nil }
        return at
    }

    private func find(_ key: [UInt8], hash: UInt64) -> Int? {
        key.withUnsafeBufferPointer { find(UnsafeRawBufferPointer($0), hash: hash) }
    }

    func id(bytes key: UnsafeRawBufferPointer) -> Int? { find(key, hash: Self.hash(key)).map { entries[$0].1 } }

    func id(_ token: String) -> Int? {
        Array(token.utf8).withUnsafeBufferPointer { id(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// JSON text written directly: object keys in the given order and tokens byte for byte.
indirect enum JSONValue {
    case null, bool(Bool), int(Int), string(String), array([JSONValue]), object([(String, JSONValue)])
    case vocabulary(Vocabulary)
    case pairs([[String]])

    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (n, item) in items.enumerated() {
                if n > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (n, (key, value)) in members.enumerated() {
                if n > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        case .vocabulary(let vocab):
            out += "{"
            for (n, (token, id)) in vocab.entries.enumerated() {
                if n > 0 { out += "," }
                Self.quote(token, into: &out)
                out += ":" + String(id)
            }
            out += "}"
        case .pairs(let pairs):
            out += "["
            for (n, pair) in pairs.enumerated() {
                out += n > 0 ? ",[" : "["
                Self.quote(pair[0], into: &out)
                out += ","
                Self.quote(pair[1], into: &out)
                out += "]"
            }
            out += "]"
        }
    }

    static func quote(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
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
