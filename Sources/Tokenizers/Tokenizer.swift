import Foundation
import Tensors

/// A Hugging Face `tokenizer.json` tokenizer, encoding and decoding exactly as the `tokenizers`
/// library (0.23) does. Safe to use from several threads.
///
/// Supported: added tokens (special, lstrip, rstrip, single_word, normalized); normalizers
/// Sequence, Prepend, Replace, NFC/NFD/NFKC/NFKD, Lowercase, Strip, StripAccents, BertNormalizer,
/// ByteLevel; pre-tokenizers Sequence, ByteLevel, Split (all behaviors, invert), Metaspace,
/// Whitespace, WhitespaceSplit, Digits, Punctuation, BertPreTokenizer, CharDelimiterSplit; models
/// BPE (all options; dropout ignored), WordPiece, WordLevel; post-processors TemplateProcessing,
/// RobertaProcessing, BertProcessing, ByteLevel, Sequence; decoders ByteLevel, Metaspace, Replace,
/// ByteFallback, Fuse, Strip, WordPiece, BPEDecoder, Sequence. Regexes run on `TokRegex`, which
/// follows Oniguruma (the library's regex engine) down to its Unicode 16.0 tables.
/// Refused with an `InputError`: Unigram models, the Precompiled normalizer, UnicodeScripts, CTC,
/// and regex features outside that subset. `truncation` and `padding` are not applied.
public final class Tokenizer: @unchecked Sendable {
    let model: TokModel
    let added: TokAddedVocab
    let normalizer: TokNormalizer?
    let preTokenizer: TokPreTokenizer?
    let postProcessor: TokPostProcessor
    let decoder: TokDecoder?
    let specialContents: Set<String>

    /// A human description of the tokenizer, e.g. "byte-level BPE (GPT-2 split)".
    public let kind: String

    private let lock = NSLock()
    private var spareStates: [TokModelState] = []

    init(model: TokModel, added: TokAddedVocab, normalizer: TokNormalizer?, preTokenizer: TokPreTokenizer?,
         postProcessor: TokPostProcessor, decoder: TokDecoder?, kind: String) {
        self.model = model
        self.added = added
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.kind = kind
        specialContents = Set(added.tokens.filter { $0.0.special }.map { $0.0.content })
    }

    // MARK: Loading

    /// Reads a `tokenizer.json` file. Throws `InputError` naming the file and the problem.
    public static func load(contentsOf url: URL) throws -> Tokenizer {
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            throw InputError(path, !exists ? "no such file" : isDir.boolValue ? "is a folder, not a tokenizer.json file" : "cannot read file")
        }
        return try load(data: data, path: path)
    }

    /// Parses `tokenizer.json` contents; `path` names the source in errors.
    public static func load(data: Data, path: String) throws -> Tokenizer {
        let json: TokJSON
        do {
            json = try TokJSONParser.parse(data)
        } catch let f as TokJSONParser.Failure {
            throw InputError(path, tokOneLine(f.message))
        }
        guard case .object(let root) = json else {
            throw InputError(path, "not a tokenizer.json: the top level is \(json.typeName), not an object")
        }
        do {
            return try TokLoader.build(root)
        } catch let e as TokLoadError {
            throw InputError(path, tokOneLine(e.message))
        } catch let e as TokBPE.LoadError {
            throw InputError(path, tokOneLine(e.message))
        }
    }

    // MARK: Encoding

    /// The token ids of `text`; with `addSpecialTokens`, the post-processor's tokens (BOS) too.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        encodeInternal(text, addSpecialTokens: addSpecialTokens, wantTokens: false).ids
    }

    /// The ids and their token strings (as the library's `Encoding.tokens`).
    public func encodeWithTokens(_ text: String, addSpecialTokens: Bool = true) -> (ids: [Int], tokens: [String]) {
        let r = encodeInternal(text, addSpecialTokens: addSpecialTokens, wantTokens: true)
        var tokens: [String] = []
        tokens.reserveCapacity(r.ids.count)
        for (k, id) in r.ids.enumerated() {
            tokens.append(r.overrides[k] ?? model.token(id) ?? added.stringByID[id] ?? "")
        }
        return (r.ids, tokens)
    }

    /// Runs `body` with a model state (word cache and scratch) that no other call uses meanwhile.
    private func withState<R>(_ body: (inout TokModelState) -> R) -> R {
        lock.lock()
        var state = spareStates.popLast() ?? TokModelState()
        lock.unlock()
        let r = body(&state)
        lock.lock()
        if spareStates.count < 4 { spareStates.append(state) }
        lock.unlock()
        return r
    }

    /// The pieces the model sees: the text after the added-token split, the normalizer and the
    /// pre-tokenizer (added tokens appear as their matched text). For showing how text is cut.
    public func preTokenize(_ text: String) -> [String] {
        let stage = piecesOf(text)
        return stage.pieces.map { TokUTF8.string(stage.text[$0.start..<$0.end]) }
    }

    func encodeInternal(_ text: String, addSpecialTokens: Bool, wantTokens: Bool) -> (ids: [Int], overrides: [Int: String]) {
        let stage = piecesOf(text)
        // 4. The model, piece by piece.
        var ids32: [Int32] = []
        ids32.reserveCapacity(stage.text.count / 3 + 8)
        var overrides: [Int: String] = [:]
        withState { state in
            stage.text.withUnsafeBufferPointer { tb in
                for piece in stage.pieces {
                    let s = UnsafeBufferPointer(rebasing: tb[piece.start..<piece.end])
                    if piece.added >= 0 {
                        if wantTokens { overrides[ids32.count] = TokUTF8.string(s) }
                        ids32.append(piece.added)
                    } else {
                        model.tokenize(s, &state, &ids32)
                    }
                }
            }
        }
        var ids = ids32.map { Int($0) }
        // 5. Post-process.
        if addSpecialTokens { postProcessor.process(&ids, &overrides) }
        return (ids, overrides)
    }

    /// Steps 1-3: added tokens, normalizer, pre-tokenizer.
    func piecesOf(_ text: String) -> TokPieces {
        let scalars = TokUTF8.scalars(text)
        var stage = TokPieces()
        // 1. Added tokens that match the raw text.
        if scalars.isEmpty {
            stage.text = scalars
        } else if added.rawTrie.isEmpty {
            stage.text = scalars
            stage.pieces = [TokPiece(start: 0, end: scalars.count, added: -1, first: true)]
        } else {
            let spans = scalars.withUnsafeBufferPointer { added.split($0, added.rawTrie) }
            stage.text = scalars
            for (a, b, id) in spans where b > a {
                stage.pieces.append(TokPiece(start: a, end: b, added: id, first: a == 0))
            }
        }
        // 2. Normalize each remaining piece, then match the normalized added tokens in it.
        if normalizer != nil || !added.normalizedTrie.isEmpty {
            var next = TokPieces()
            next.text.reserveCapacity(stage.text.count + 16)
            for piece in stage.pieces {
                let slice = Array(stage.text[piece.start..<piece.end])
                let base = next.text.count
                if piece.added >= 0 {
                    next.text.append(contentsOf: slice)
                    next.pieces.append(TokPiece(start: base, end: base + slice.count, added: piece.added, first: piece.first))
                    continue
                }
                let norm = normalizer?.apply(slice) ?? slice
                next.text.append(contentsOf: norm)
                if added.normalizedTrie.isEmpty {
                    if !norm.isEmpty {
                        next.pieces.append(TokPiece(start: base, end: base + norm.count, added: -1, first: piece.first))
                    }
                } else {
                    let spans = norm.withUnsafeBufferPointer { added.split($0, added.normalizedTrie) }
                    for (a, b, id) in spans where b > a {
                        next.pieces.append(TokPiece(start: base + a, end: base + b, added: id, first: piece.first && a == 0))
                    }
                }
            }
            stage = next
        }
        // 3. Pre-tokenize.
        preTokenizer?.apply(&stage)
        return stage
    }

    // MARK: Decoding

    /// The text of `ids` through the decoder (added tokens included, as the library does);
    /// `skipSpecialTokens` drops special added tokens first. Unknown ids are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let t = added.stringByID[id] ?? model.token(id) else { continue }
            if skipSpecialTokens && specialContents.contains(t) { continue }
            tokens.append(t)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// One token as text for display: byte-level tokens mapped back to bytes (decoded lossily),
    /// `▁` shown as a space, `<0xNN>` as its byte; special tokens as they are.
    public func displayString(_ id: Int) -> String {
        if let a = added.stringByID[id] { return a }
        guard let t = model.token(id) else { return "" }
        guard let decoder else { return t }
        return decoder.decodeChain([t], asFirst: false).joined()
    }

    // MARK: Vocabulary

    /// The vocab string of an id (raw, e.g. "Ġthe" or "▁the"); added tokens give their content.
    public func tokenString(_ id: Int) -> String? {
        added.stringByID[id] ?? model.token(id)
    }

    /// The id of a token string (added tokens first, then the model vocab).
    public func id(of token: String) -> Int? {
        added.byContent[token] ?? model.id(of: TokUTF8.scalars(token))
    }

    /// Max id + 1 over the vocab and the added tokens.
    public var vocabSize: Int {
        max(model.maxID, added.byID.keys.max() ?? -1) + 1
    }

    /// Whether an id is a special added token (BOS, EOS, chat markers, ...).
    public func isSpecialToken(_ id: Int) -> Bool { added.specialIDs.contains(id) }

    /// The BOS token the post-processor puts first, if any.
    public var bosTokenID: Int? { postProcessor.bosID }
}

struct TokLoadError: Error { let message: String }

/// A message as one line: control characters escaped, at most about 400 characters.
func tokOneLine(_ s: String) -> String {
    var out = ""
    var count = 0
    for u in s.unicodeScalars {
        if count >= 400 { out += "…"; break }
        switch u {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) || u.value == 0x2028 || u.value == 0x2029 {
                out += String(format: "\\u{%X}", u.value)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        count += 1
    }
    return out
}

// MARK: - Building from JSON

enum TokLoader {
    typealias Obj = TokJSONObject

    static func fail(_ m: String) -> TokLoadError { TokLoadError(message: m) }

    static func build(_ root: Obj) throws -> Tokenizer {
        guard let modelJSON = root["model"], case .object(let modelObj) = modelJSON else {
            throw fail(root["model"] == nil ? "not a tokenizer.json: no \"model\"" : "\"model\" is not an object")
        }
        let normalizer = try optional(root["normalizer"], "normalizer") { try buildNormalizer($0, "normalizer") }
        let preTokenizer = try optional(root["pre_tokenizer"], "pre_tokenizer") { try buildPreTokenizer($0, "pre_tokenizer") }
        let (model, modelKind) = try buildModel(modelObj)
        let post = try optional(root["post_processor"], "post_processor") { try buildPostProcessor($0, "post_processor") } ?? .none
        let decoder = try optional(root["decoder"], "decoder") { try buildDecoder($0, "decoder") }

        var list: [TokAddedToken] = []
        if let at = root["added_tokens"], !at.isNull {
            guard let arr = at.arrayValue else { throw fail("\"added_tokens\" is not an array") }
            for (k, item) in arr.enumerated() {
                guard let o = item.objectValue else { throw fail("added_tokens[\(k)] is not an object") }
                guard let content = o["content"]?.stringValue else { throw fail("added_tokens[\(k)] has no \"content\" string") }
                list.append(TokAddedToken(
                    content: content,
                    special: o["special"]?.boolValue ?? false,
                    lstrip: o["lstrip"]?.boolValue ?? false,
                    rstrip: o["rstrip"]?.boolValue ?? false,
                    singleWord: o["single_word"]?.boolValue ?? false,
                    normalized: o["normalized"]?.boolValue ?? !(o["special"]?.boolValue ?? false)))
            }
        }
        let added = TokAddedVocab(list, model: model, normalizer: normalizer)
        let kind = describe(modelKind: modelKind, model: model, normalizer: normalizer, preTokenizer: preTokenizer)
        return Tokenizer(model: model, added: added, normalizer: normalizer, preTokenizer: preTokenizer,
                         postProcessor: post, decoder: decoder, kind: kind)
    }

    /// Runs `f` on a component that may be absent or null.
    static func optional<T>(_ v: TokJSON?, _ what: String, _ f: (Obj) throws -> T) throws -> T? {
        guard let v, !v.isNull else { return nil }
        guard let o = v.objectValue else { throw fail("\(what) is \(v.typeName), not an object") }
        return try f(o)
    }

    static func type(_ o: Obj, _ what: String) throws -> String {
        guard let t = o["type"]?.stringValue else { throw fail("\(what) has no \"type\"") }
        return t
    }

    static func bool(_ o: Obj, _ key: String, _ def: Bool) -> Bool { o[key]?.boolValue ?? def }

    static func string(_ o: Obj, _ key: String, _ what: String) throws -> String {
        guard let s = o[key]?.stringValue else { throw fail("\(what) has no \"\(key)\" string") }
        return s
    }

    static func scalar(_ s: String, _ what: String) throws -> UInt32 {
        let u = Array(s.unicodeScalars)
        guard u.count == 1 else { throw fail("\(what) must be one character, not \"\(s)\"") }
        return u[0].value
    }

    static func pattern(_ o: Obj, _ what: String) throws -> TokPattern {
        guard let p = o["pattern"]?.objectValue else { throw fail("\(what) has no \"pattern\" object") }
        if let s = p["String"]?.stringValue { return .string(TokUTF8.scalars(s)) }
        if let r = p["Regex"]?.stringValue {
            do {
                return .regex(try TokRegex(r))
            } catch let e as TokRegex.CompileError {
                throw fail("\(what) regex: \(e.message) in \(quote(r))")
            }
        }
        throw fail("\(what) has a pattern that is neither String nor Regex")
    }

    static func quote(_ s: String) -> String {
        var r = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\n": r += "\\n"
            case "\r": r += "\\r"
            case "\t": r += "\\t"
            case "\"": r += "\\\""
            default: r.unicodeScalars.append(u)
            }
        }
        return r + "\""
    }

    static func behavior(_ o: Obj, _ what: String, _ def: TokSplitBehavior) throws -> TokSplitBehavior {
        guard let v = o["behavior"], !v.isNull else { return def }
        guard let s = v.stringValue else { throw fail("\(what) has a bad \"behavior\"") }
        guard let b = TokSplitBehavior(rawValue: s) else { throw fail("\(what): unsupported split behavior \(s)") }
        return b
    }

    static func prependScheme(_ o: Obj, _ what: String) throws -> TokPrependScheme {
        if let s = o["prepend_scheme"]?.stringValue {
            guard let p = TokPrependScheme(rawValue: s) else { throw fail("\(what): unsupported prepend_scheme \(s)") }
            return p
        }
        if let b = o["add_prefix_space"]?.boolValue { return b ? .always : .never }
        return .always
    }

    // MARK: Normalizers

    static func buildNormalizer(_ o: Obj, _ what: String) throws -> TokNormalizer {
        let t = try type(o, what)
        switch t {
        case "Sequence":
            guard let arr = o["normalizers"]?.arrayValue else { throw fail("\(what) Sequence has no \"normalizers\" array") }
            return .sequence(try arr.enumerated().map { k, v in
                guard let x = v.objectValue else { throw fail("\(what).normalizers[\(k)] is not an object") }
                return try buildNormalizer(x, "\(what).normalizers[\(k)]")
            })
        case "Prepend":
            return .prepend(TokUTF8.scalars(try string(o, "prepend", "\(what) Prepend")))
        case "Replace":
            return .replace(try pattern(o, "\(what) Replace"), TokUTF8.scalars(try string(o, "content", "\(what) Replace")))
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Strip":
            return .strip(left: bool(o, "strip_left", true), right: bool(o, "strip_right", true))
        case "StripAccents": return .stripAccents
        case "ByteLevel": return .byteLevel
        case "BertNormalizer":
            let lower = bool(o, "lowercase", true)
            let strip = o["strip_accents"]?.boolValue ?? lower
            return .bert(cleanText: bool(o, "clean_text", true), chineseChars: bool(o, "handle_chinese_chars", true),
                         stripAccents: strip, lowercase: lower)
        default:
            throw fail("unsupported normalizer type \(t)")
        }
    }

    // MARK: Pre-tokenizers

    static func buildPreTokenizer(_ o: Obj, _ what: String) throws -> TokPreTokenizer {
        let t = try type(o, what)
        switch t {
        case "Sequence":
            guard let arr = o["pretokenizers"]?.arrayValue else { throw fail("\(what) Sequence has no \"pretokenizers\" array") }
            return .sequence(try arr.enumerated().map { k, v in
                guard let x = v.objectValue else { throw fail("\(what).pretokenizers[\(k)] is not an object") }
                return try buildPreTokenizer(x, "\(what).pretokenizers[\(k)]")
            })
        case "ByteLevel":
            let useRegex = bool(o, "use_regex", true)
            if useRegex && TokByteLevel.gpt2Regex == nil { throw fail("internal: the GPT-2 pattern does not compile") }
            return .byteLevel(addPrefixSpace: bool(o, "add_prefix_space", true), useRegex: useRegex)
        case "Split":
            return .split(try pattern(o, "\(what) Split"), try behavior(o, "\(what) Split", .isolated), invert: bool(o, "invert", false))
        case "Metaspace":
            let rep = try scalar(o["replacement"]?.stringValue ?? "\u{2581}", "\(what) Metaspace replacement")
            return .metaspace(replacement: rep, prepend: try prependScheme(o, "\(what) Metaspace"), split: bool(o, "split", true))
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "Digits": return .digits(individual: bool(o, "individual_digits", false))
        case "Punctuation": return .punctuation(try behavior(o, "\(what) Punctuation", .isolated))
        case "BertPreTokenizer": return .bert
        case "CharDelimiterSplit":
            return .charDelimiter(try scalar(try string(o, "delimiter", "\(what) CharDelimiterSplit"), "\(what) delimiter"))
        default:
            throw fail("unsupported pre_tokenizer type \(t)")
        }
    }

    // MARK: Model

    static func vocabPairs(_ o: Obj, _ what: String) throws -> [(String, Int)] {
        guard let v = o["vocab"] else { throw fail("\(what) has no \"vocab\"") }
        guard let vo = v.objectValue else { throw fail("\(what) \"vocab\" is \(v.typeName), not an object") }
        var pairs: [(String, Int)] = []
        pairs.reserveCapacity(vo.keys.count)
        for (k, val) in zip(vo.keys, vo.values) {
            guard let id = val.intValue, id >= 0, id < 10_000_000 else { throw fail("\(what) vocab entry \(quote(k)) has a bad id") }
            pairs.append((k, id))
        }
        return pairs
    }

    static func buildModel(_ o: Obj) throws -> (TokModel, String) {
        var t = o["type"]?.stringValue
        if t == nil {
            // Old files leave the type out.
            if o["merges"] != nil { t = "BPE" }
            else if o["vocab"]?.arrayValue != nil { t = "Unigram" }
            else if o["max_input_chars_per_word"] != nil { t = "WordPiece" }
            else if o["vocab"] != nil { t = "WordLevel" }
        }
        guard let type = t else { throw fail("model has no \"type\"") }
        switch type {
        case "BPE":
            let pairs = try vocabPairs(o, "model")
            let vocab = TokVocab(pairs)
            var merges: [(String, String)] = []
            if let m = o["merges"], !m.isNull {
                guard let arr = m.arrayValue else { throw fail("model \"merges\" is not an array") }
                merges.reserveCapacity(arr.count)
                for (k, item) in arr.enumerated() {
                    switch item {
                    case .string(let s):
                        if s.hasPrefix("#version") { continue }
                        let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                        guard parts.count == 2 else { throw fail("model merge \(k + 1) \(quote(s)) is not two tokens separated by a space") }
                        merges.append((String(parts[0]), String(parts[1])))
                    case .array(let ab):
                        guard ab.count == 2, let a = ab[0].stringValue, let b = ab[1].stringValue else {
                            throw fail("model merge \(k + 1) is not a pair of strings")
                        }
                        merges.append((a, b))
                    default:
                        throw fail("model merge \(k + 1) is \(item.typeName)")
                    }
                }
            }
            let model = try TokBPE(vocab: vocab, merges: merges, unkToken: o["unk_token"]?.stringValue,
                                   prefix: o["continuing_subword_prefix"]?.stringValue,
                                   suffix: o["end_of_word_suffix"]?.stringValue,
                                   fuseUnk: bool(o, "fuse_unk", false), byteFallback: bool(o, "byte_fallback", false),
                                   ignoreMerges: bool(o, "ignore_merges", false))
            return (model, "BPE")
        case "WordLevel":
            return (TokWordLevel(vocab: TokVocab(try vocabPairs(o, "model")), unkToken: o["unk_token"]?.stringValue), "WordLevel")
        case "WordPiece":
            return (TokWordPiece(vocab: TokVocab(try vocabPairs(o, "model")), unkToken: o["unk_token"]?.stringValue ?? "[UNK]",
                                 prefix: o["continuing_subword_prefix"]?.stringValue ?? "##",
                                 maxChars: o["max_input_chars_per_word"]?.intValue ?? 100), "WordPiece")
        default:
            throw fail("unsupported model type \(type)")
        }
    }

    // MARK: Post-processors

    static func buildPostProcessor(_ o: Obj, _ what: String) throws -> TokPostProcessor {
        let t = try type(o, what)
        switch t {
        case "Sequence":
            guard let arr = o["processors"]?.arrayValue else { throw fail("\(what) Sequence has no \"processors\" array") }
            return .sequence(try arr.enumerated().map { k, v in
                guard let x = v.objectValue else { throw fail("\(what).processors[\(k)] is not an object") }
                return try buildPostProcessor(x, "\(what).processors[\(k)]")
            })
        case "ByteLevel":
            return .none
        case "TemplateProcessing":
            return try template(o, what)
        case "RobertaProcessing", "BertProcessing":
            func pair(_ key: String) throws -> (String, Int) {
                guard let a = o[key]?.arrayValue, a.count == 2, let s = a[0].stringValue, let id = a[1].intValue else {
                    throw fail("\(what) \(t) has a bad \"\(key)\"")
                }
                return (s, id)
            }
            let (cls, clsID) = try pair("cls")
            let (sep, sepID) = try pair("sep")
            return .template([.special(ids: [clsID], tokens: [cls]), .sequence, .special(ids: [sepID], tokens: [sep])])
        default:
            throw fail("unsupported post_processor type \(t)")
        }
    }

    static func template(_ o: Obj, _ what: String) throws -> TokPostProcessor {
        var specials: [String: ([Int], [String])] = [:]
        if let st = o["special_tokens"]?.objectValue {
            for (k, v) in zip(st.keys, st.values) {
                guard let vo = v.objectValue, let idsJ = vo["ids"]?.arrayValue else { throw fail("\(what) special token \(quote(k)) has no \"ids\"") }
                let ids = try idsJ.map { j -> Int in
                    guard let i = j.intValue else { throw fail("\(what) special token \(quote(k)) has a bad id") }
                    return i
                }
                let toks = vo["tokens"]?.arrayValue?.compactMap { $0.stringValue } ?? []
                specials[k] = (ids, toks)
            }
        }
        guard let single = o["single"] else { throw fail("\(what) TemplateProcessing has no \"single\" template") }
        var pieces: [TokPostProcessor.TemplatePiece] = []
        if let arr = single.arrayValue {
            for (k, item) in arr.enumerated() {
                guard let io = item.objectValue else { throw fail("\(what) template piece \(k) is not an object") }
                if let sp = io["SpecialToken"]?.objectValue {
                    guard let id = sp["id"]?.stringValue else { throw fail("\(what) template piece \(k) has no id") }
                    guard let (ids, toks) = specials[id] else { throw fail("\(what) template uses \(quote(id)), which is not in its special_tokens") }
                    pieces.append(.special(ids: ids, tokens: toks))
                } else if let sq = io["Sequence"]?.objectValue {
                    if sq["id"]?.stringValue == "A" || sq["id"] == nil { pieces.append(.sequence) }
                } else {
                    throw fail("\(what) template piece \(k) is neither SpecialToken nor Sequence")
                }
            }
        } else if let str = single.stringValue {
            // The string form: "<s> $A </s>", "$A:0", "<s>:1".
            for word in str.split(separator: " ") {
                var w = String(word)
                if let colon = w.lastIndex(of: ":"), w[w.index(after: colon)...].allSatisfy({ $0.isNumber }), colon != w.startIndex {
                    w = String(w[..<colon])
                }
                if w == "$" || w == "$A" || w == "$a" || w == "$0" {
                    pieces.append(.sequence)
                } else if w.hasPrefix("$") {
                    continue
                } else {
                    guard let (ids, toks) = specials[w] else { throw fail("\(what) template uses \(quote(w)), which is not in its special_tokens") }
                    pieces.append(.special(ids: ids, tokens: toks))
                }
            }
        } else {
            throw fail("\(what) TemplateProcessing \"single\" is \(single.typeName)")
        }
        return .template(pieces)
    }

    // MARK: Decoders

    static func buildDecoder(_ o: Obj, _ what: String) throws -> TokDecoder {
        let t = try type(o, what)
        switch t {
        case "Sequence":
            guard let arr = o["decoders"]?.arrayValue else { throw fail("\(what) Sequence has no \"decoders\" array") }
            return .sequence(try arr.enumerated().map { k, v in
                guard let x = v.objectValue else { throw fail("\(what).decoders[\(k)] is not an object") }
                return try buildDecoder(x, "\(what).decoders[\(k)]")
            })
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            let rep = try scalar(o["replacement"]?.stringValue ?? "\u{2581}", "\(what) Metaspace replacement")
            return .metaspace(replacement: Unicode.Scalar(rep) ?? "\u{2581}", prependScheme: try prependScheme(o, "\(what) Metaspace"))
        case "Replace":
            return .replace(try pattern(o, "\(what) Replace"), try string(o, "content", "\(what) Replace"))
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            let c = try scalar(try string(o, "content", "\(what) Strip"), "\(what) Strip content")
            return .strip(content: Unicode.Scalar(c) ?? " ", start: max(0, o["start"]?.intValue ?? 0), stop: max(0, o["stop"]?.intValue ?? 0))
        case "WordPiece":
            return .wordPiece(prefix: o["prefix"]?.stringValue ?? "##", cleanup: bool(o, "cleanup", true))
        case "BPEDecoder":
            return .bpe(suffix: o["suffix"]?.stringValue ?? "</w>")
        default:
            throw fail("unsupported decoder type \(t)")
        }
    }

    // MARK: Description

    static func describe(modelKind: String, model: TokModel, normalizer: TokNormalizer?, preTokenizer: TokPreTokenizer?) -> String {
        func flatten(_ p: TokPreTokenizer?) -> [TokPreTokenizer] {
            guard let p else { return [] }
            if case .sequence(let xs) = p { return xs.flatMap { flatten($0) } }
            return [p]
        }
        func flattenN(_ n: TokNormalizer?) -> [TokNormalizer] {
            guard let n else { return [] }
            if case .sequence(let xs) = n { return xs.flatMap { flattenN($0) } }
            return [n]
        }
        let pres = flatten(preTokenizer)
        let norms = flattenN(normalizer)
        switch modelKind {
        case "BPE":
            let bpe = model as? TokBPE
            var gpt2 = false, byteLevel = false, regexSplit = false, metaspace = false
            for p in pres {
                switch p {
                case .byteLevel(_, let useRegex): byteLevel = true; if useRegex { gpt2 = true }
                case .split(let pat, _, _): if case .regex = pat { regexSplit = true }
                case .metaspace: metaspace = true
                default: break
                }
            }
            for n in norms {
                switch n {
                case .byteLevel: byteLevel = true
                case .replace(_, let content): if content == [0x2581] { metaspace = true }
                case .prepend(let p): if p == [0x2581] { metaspace = true }
                default: break
                }
            }
            if byteLevel {
                if gpt2 { return "byte-level BPE (GPT-2 split)" }
                if regexSplit { return "byte-level BPE (regex split)" }
                return "byte-level BPE"
            }
            let fallback = bpe?.byteFallback ?? false
            if metaspace { return fallback ? "SentencePiece-style BPE, byte fallback" : "SentencePiece-style BPE" }
            return fallback ? "BPE, byte fallback" : "BPE"
        case "WordLevel": return "word-level"
        case "WordPiece": return "WordPiece"
        default: return modelKind
        }
    }
}
