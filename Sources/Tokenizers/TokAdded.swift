import Foundation

struct TokAddedToken {
    var content: String
    var special: Bool
    var lstrip: Bool
    var rstrip: Bool
    var singleWord: Bool
    var normalized: Bool
}

/// A trie matching patterns leftmost-longest (what `aho-corasick` with `MatchKind::LeftmostLongest`
/// reports): the earliest start, then the longest pattern there; the scan resumes after it.
struct TokTrie {
    private var children: [[UInt32: Int32]] = [[:]]
    private var terminal: [Int32] = [-1]      // payload (token id) or -1
    private var firstASCII: (UInt64, UInt64) = (0, 0)
    private var firstOther = Set<UInt32>()
    var isEmpty: Bool { children[0].isEmpty }

    /// Adds a pattern; the first payload given for a pattern is kept.
    mutating func insert(_ pattern: [UInt32], _ payload: Int32) {
        guard let c0 = pattern.first else { return }
        if c0 < 64 { firstASCII.0 |= 1 << UInt64(c0) } else if c0 < 128 { firstASCII.1 |= 1 << UInt64(c0 - 64) } else { firstOther.insert(c0) }
        var node = 0
        for c in pattern {
            if let nx = children[node][c] {
                node = Int(nx)
            } else {
                children.append([:])
                terminal.append(-1)
                let nx = Int32(children.count - 1)
                children[node][c] = nx
                node = Int(nx)
            }
        }
        if terminal[node] < 0 { terminal[node] = payload }
    }

    @inline(__always) private func mayStart(_ c: UInt32) -> Bool {
        if c < 64 { return (firstASCII.0 >> UInt64(c)) & 1 != 0 }
        if c < 128 { return (firstASCII.1 >> UInt64(c - 64)) & 1 != 0 }
        return firstOther.contains(c)
    }

    /// Non-overlapping leftmost-longest matches: (start, end, payload).
    func matches(_ s: UnsafeBufferPointer<UInt32>) -> [(Int, Int, Int32)] {
        var out: [(Int, Int, Int32)] = []
        if isEmpty { return out }
        let n = s.count
        var i = 0
        while i < n {
            if !mayStart(s[i]) { i += 1; continue }
            var node = 0
            var j = i
            var bestEnd = -1
            var bestPayload: Int32 = -1
            while j < n, let nx = children[node][s[j]] {
                node = Int(nx)
                j += 1
                if terminal[node] >= 0 { bestEnd = j; bestPayload = terminal[node] }
            }
            if bestEnd > 0 {
                out.append((i, bestEnd, bestPayload))
                i = bestEnd
            } else {
                i += 1
            }
        }
        return out
    }
}

/// The `AddedVocabulary` of the tokenizers library: ids, flags, and the two matching passes.
struct TokAddedVocab {
    var tokens: [(TokAddedToken, Int)] = []        // in registration order, with their ids
    var byContent: [String: Int] = [:]
    var byID: [Int: TokAddedToken] = [:]
    /// The string of an id: the content, normalized for `normalized` tokens (the library's
    /// `id_to_token` and decoding use that form).
    var stringByID: [Int: String] = [:]
    var specialIDs = Set<Int>()
    var rawTrie = TokTrie()
    var normalizedTrie = TokTrie()

    /// Registers tokens as `AddedVocabulary::add_tokens` does: an existing vocab token keeps its
    /// id, a new one gets the next id after the model vocab (the ids in the file are not used).
    init(_ list: [TokAddedToken], model: TokModel, normalizer: TokNormalizer?) {
        var specialContents = Set<String>()
        var specialOrder: [TokAddedToken] = []
        var addedOrder: [TokAddedToken] = []
        for t in list where t.special && !t.content.isEmpty && !specialContents.contains(t.content) {
            specialOrder.append(t)
            specialContents.insert(t.content)
        }
        let vocabSize = model.vocabCount
        for t in list {
            if t.content.isEmpty { continue }
            if let existing = byContent[t.content], let old = byID[existing], TokAddedVocab.same(old, t) { continue }
            let newID: Int
            if let id = byContent[t.content] ?? model.id(of: TokUTF8.scalars(t.content)) {
                newID = id
            } else if let mx = byContent.values.max() {
                newID = (mx >= vocabSize || vocabSize == 0) ? mx + 1 : vocabSize
            } else {
                newID = vocabSize
            }
            byContent[t.content] = newID
            byID[newID] = t
            if !specialContents.contains(t.content) { addedOrder.append(t) }
        }
        // Special flags and order of the matching patterns: special tokens first.
        for t in specialOrder + addedOrder {
            guard let id = byContent[t.content] else { continue }
            let tok = byID[id] ?? t
            tokens.append((tok, id))
            if specialContents.contains(t.content) { specialIDs.insert(id) }
        }
        for (t, id) in tokens {
            if t.normalized {
                var pattern = TokUTF8.scalars(t.content)
                if let normalizer { pattern = normalizer.apply(pattern) }
                normalizedTrie.insert(pattern, Int32(id))
                stringByID[id] = TokUTF8.string(pattern)
            } else {
                rawTrie.insert(TokUTF8.scalars(t.content), Int32(id))
                stringByID[id] = t.content
            }
        }
        for (id, t) in byID where stringByID[id] == nil { stringByID[id] = t.content }
    }

    static func same(_ a: TokAddedToken, _ b: TokAddedToken) -> Bool {
        a.content == b.content && a.special == b.special && a.lstrip == b.lstrip && a.rstrip == b.rstrip
            && a.singleWord == b.singleWord && a.normalized == b.normalized
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// `AddedVocabulary::find_matches`: splits `s` into (start, end, id or -1) with the
    /// single_word / lstrip / rstrip rules. Spans may overlap after an rstrip, exactly as there.
    func split(_ s: UnsafeBufferPointer<UInt32>, _ trie: TokTrie) -> [(Int, Int, Int32)] {
        let n = s.count
        if n == 0 { return [(0, 0, -1)] }
        var out: [(Int, Int, Int32)] = []
        var startOffset = 0
        for (mStart, mEnd, id) in trie.matches(s) {
            var start = mStart, stop = mEnd
            guard let tok = byID[Int(id)] else { continue }
            if tok.singleWord {
                let startSpace = start == 0 || !TokChar.isRustRegexWord(s[start - 1])
                let stopSpace = stop == n || !TokChar.isRustRegexWord(s[stop])
                if !startSpace || !stopSpace { continue }
            }
            if tok.lstrip {
                var k = start
                while k > 0 && TokChar.isWhitespace(s[k - 1]) { k -= 1 }
                start = max(k, startOffset)
            }
            if tok.rstrip {
                while stop < n && TokChar.isWhitespace(s[stop]) { stop += 1 }
            }
            if startOffset < start { out.append((startOffset, start, -1)) }
            out.append((start, stop, id))
            startOffset = stop
        }
        if startOffset != n { out.append((startOffset, n, -1)) }
        return out
    }
}

// MARK: - Post-processors

indirect enum TokPostProcessor {
    /// Pieces of the single-sequence template: special tokens (ids, tokens) and the sequence.
    case template([TemplatePiece])
    case sequence([TokPostProcessor])
    case none

    enum TemplatePiece {
        case special(ids: [Int], tokens: [String])
        case sequence
    }

    func process(_ ids: inout [Int], _ overrides: inout [Int: String]) {
        switch self {
        case .none:
            break
        case .sequence(let ps):
            for p in ps { p.process(&ids, &overrides) }
        case .template(let pieces):
            var newIDs: [Int] = []
            var newOverrides: [Int: String] = [:]
            for piece in pieces {
                switch piece {
                case .sequence:
                    for (k, v) in overrides { newOverrides[k + newIDs.count] = v }
                    newIDs.append(contentsOf: ids)
                case .special(let sids, let toks):
                    for (k, id) in sids.enumerated() {
                        if k < toks.count { newOverrides[newIDs.count] = toks[k] }
                        newIDs.append(id)
                    }
                }
            }
            ids = newIDs
            overrides = newOverrides
        }
    }

    /// The first special token id before the sequence, if any.
    var bosID: Int? {
        switch self {
        case .none: return nil
        case .sequence(let ps):
            for p in ps { if let b = p.bosID { return b } }
            return nil
        case .template(let pieces):
            for piece in pieces {
                switch piece {
                case .sequence: return nil
                case .special(let ids, _): if let f = ids.first { return f }
                }
            }
            return nil
        }
    }
}

// MARK: - Decoders

indirect enum TokDecoder {
    case sequence([TokDecoder])
    case byteLevel
    case metaspace(replacement: Unicode.Scalar, prependScheme: TokPrependScheme)
    case replace(TokPattern, String)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case wordPiece(prefix: String, cleanup: Bool)
    case bpe(suffix: String)

    /// `Decoder::decode_chain`. `asFirst` false decodes as if the tokens were not at the start
    /// (for showing one token on its own).
    func decodeChain(_ tokens: [String], asFirst: Bool = true) -> [String] {
        switch self {
        case .sequence(let ds):
            var t = tokens
            for d in ds { t = d.decodeChain(t, asFirst: asFirst) }
            return t
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                var mapped: [UInt8] = []
                var ok = true
                for u in t.unicodeScalars {
                    let v = Int(u.value)
                    if v < 512, TokByteLevel.charToByte[v] >= 0 {
                        mapped.append(UInt8(TokByteLevel.charToByte[v]))
                    } else {
                        ok = false
                        break
                    }
                }
                if ok { bytes.append(contentsOf: mapped) } else { bytes.append(contentsOf: Array(t.utf8)) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .metaspace(let replacement, let scheme):
            return tokens.enumerated().map { i, t in
                var s = ""
                for ch in t.unicodeScalars {
                    if ch == replacement {
                        if i == 0 && asFirst && scheme != .never { continue }
                        s.append(" ")
                    } else {
                        s.unicodeScalars.append(ch)
                    }
                }
                return s
            }
        case .replace(let pattern, let content):
            let c = TokUTF8.scalars(content)
            return tokens.map { TokUTF8.string(pattern.replace(TokUTF8.scalars($0), with: c)) }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                if pending.isEmpty { return }
                if let s = String(validating: pending, as: UTF8.self) {
                    out.append(s)
                } else {
                    for _ in pending { out.append("\u{FFFD}") }
                }
                pending.removeAll()
            }
            for t in tokens {
                if let b = TokDecoder.fallbackByte(t) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            if !asFirst { return tokens }
            return tokens.map { t in
                let chars = Array(t.unicodeScalars)
                var startCut = 0
                for k in 0..<min(start, chars.count) {
                    if chars[k] == content { startCut = k + 1 } else { break }
                }
                var stopCut = chars.count
                for k in 0..<min(stop, chars.count) {
                    let index = chars.count - k - 1
                    if chars[index] == content { stopCut = index } else { break }
                }
                if stopCut <= startCut { return "" }
                var r = String.UnicodeScalarView()
                r.append(contentsOf: chars[startCut..<stopCut])
                return String(r)
            }
        case .wordPiece(let prefix, let cleanup):
            return tokens.enumerated().map { i, t in
                var s = t
                if i != 0 || !asFirst {
                    if s.utf8.starts(with: prefix.utf8) {
                        s = String(decoding: Array(s.utf8.dropFirst(prefix.utf8.count)), as: UTF8.self)
                    } else {
                        s = " " + s
                    }
                }
                if cleanup { s = TokDecoder.cleanup(s) }
                return s
            }
        case .bpe(let suffix):
            return tokens.enumerated().map { i, t in
                tokReplace(t, suffix, i == tokens.count - 1 ? "" : " ")
            }
        }
    }

    /// A `<0xNN>` token's byte (parsed like Rust's `u8::from_str_radix(_, 16)`).
    static func fallbackByte(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        var digits = Array(u[3..<5])
        if digits[0] == 0x2B { digits.removeFirst() }  // a leading '+' is accepted
        var v = 0
        for d in digits {
            let h: Int
            switch d {
            case 0x30...0x39: h = Int(d) - 0x30
            case 0x41...0x46: h = Int(d) - 0x41 + 10
            case 0x61...0x66: h = Int(d) - 0x61 + 10
            default: return nil
            }
            v = v * 16 + h
        }
        return UInt8(v)
    }

    static func cleanup(_ s: String) -> String {
        var r = s
        for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                       (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            r = tokReplace(r, a, b)
        }
        return r
    }

    var containsByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let ds): return ds.contains { $0.containsByteLevel }
        default: return false
        }
    }
}

/// Replaces every occurrence of `a` in `s` by `b`, comparing scalars (not canonical equivalence).
func tokReplace(_ s: String, _ a: String, _ b: String) -> String {
    let sa = TokUTF8.scalars(a)
    if sa.isEmpty { return s }
    return TokUTF8.string(TokPattern.string(sa).replace(TokUTF8.scalars(s), with: TokUTF8.scalars(b)))
}
