import Foundation

/// A run of the text being tokenized: `text[start..<end]`, or an added token already matched.
struct TokPiece {
    var start: Int
    var end: Int
    var added: Int32   // the added token's id, or -1
    var first: Bool    // begins at offset 0 of the original input (Metaspace prepend_scheme "first")

    var count: Int { end - start }
}

/// The text between stages: scalars plus the pieces that refer to them (pieces may overlap).
struct TokPieces {
    var text: [UInt32] = []
    var pieces: [TokPiece] = []
}

// MARK: - Patterns

/// A Split / Replace pattern: a literal string or a regex.
enum TokPattern {
    case string([UInt32])
    case regex(TokRegex)

    /// Non-overlapping matches, left to right (empty for an empty literal).
    func matches(_ s: UnsafeBufferPointer<UInt32>) -> [(Int, Int)] {
        switch self {
        case .regex(let r):
            return r.matches(s)
        case .string(let lit):
            return TokPattern.literalMatches(lit, s)
        }
    }

    static func literalMatches(_ lit: [UInt32], _ s: UnsafeBufferPointer<UInt32>) -> [(Int, Int)] {
        let m = lit.count
        guard m > 0, s.count >= m else { return [] }
        var out: [(Int, Int)] = []
        let first = lit[0]
        var i = 0
        let last = s.count - m
        while i <= last {
            if s[i] == first {
                var k = 1
                while k < m && s[i + k] == lit[k] { k += 1 }
                if k == m {
                    out.append((i, i + m))
                    i += m
                    continue
                }
            }
            i += 1
        }
        return out
    }

    /// Replaces every match with `content`.
    func replace(_ s: [UInt32], with content: [UInt32]) -> [UInt32] {
        let ms = s.withUnsafeBufferPointer { matches($0) }
        if ms.isEmpty { return s }
        var out: [UInt32] = []
        out.reserveCapacity(s.count + ms.count * max(0, content.count - 1))
        var prev = 0
        for (a, b) in ms {
            out.append(contentsOf: s[prev..<a])
            out.append(contentsOf: content)
            prev = b
        }
        out.append(contentsOf: s[prev..<s.count])
        return out
    }
}

/// How Split keeps the delimiters (`SplitDelimiterBehavior`).
enum TokSplitBehavior: String {
    case removed = "Removed"
    case isolated = "Isolated"
    case mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext"
    case contiguous = "Contiguous"

    /// Applies the behavior to `(start, end, isMatch)` spans covering a piece, as
    /// `NormalizedString::split` does, and returns the kept spans (empty ones included).
    func apply(_ spans: [(Int, Int, Bool)]) -> [(Int, Int)] {
        switch self {
        case .isolated:
            return spans.map { ($0.0, $0.1) }
        case .removed:
            return spans.filter { !$0.2 }.map { ($0.0, $0.1) }
        case .mergedWithPrevious:
            var acc: [(Int, Int)] = []
            var previousMatch = false
            for (a, b, m) in spans {
                if m && !previousMatch {
                    if !acc.isEmpty { acc[acc.count - 1].1 = b } else { acc.append((a, b)) }
                } else {
                    acc.append((a, b))
                }
                previousMatch = m
            }
            return acc
        case .mergedWithNext:
            var acc: [(Int, Int)] = []
            var previousMatch = false
            for (a, b, m) in spans.reversed() {
                if m && !previousMatch {
                    if !acc.isEmpty { acc[acc.count - 1].0 = a } else { acc.append((a, b)) }
                } else {
                    acc.append((a, b))
                }
                previousMatch = m
            }
            return acc.reversed()
        case .contiguous:
            var acc: [(Int, Int)] = []
            var previousMatch = false
            for (a, b, m) in spans {
                if m == previousMatch {
                    if !acc.isEmpty { acc[acc.count - 1].1 = b } else { acc.append((a, b)) }
                } else {
                    acc.append((a, b))
                }
                previousMatch = m
            }
            return acc
        }
    }
}

/// `(start, end, isMatch)` spans covering `0..<n` from regex / literal matches (`find_matches`).
func tokSpans(_ ms: [(Int, Int)], _ n: Int) -> [(Int, Int, Bool)] {
    if n == 0 { return [(0, 0, false)] }
    var out: [(Int, Int, Bool)] = []
    out.reserveCapacity(ms.count * 2 + 1)
    var prev = 0
    for (a, b) in ms {
        if prev != a { out.append((prev, a, false)) }
        out.append((a, b, true))
        prev = b
    }
    if prev != n { out.append((prev, n, false)) }
    return out
}

/// Spans from a per-character predicate: every matching character is its own match.
func tokCharSpans(_ s: UnsafeBufferPointer<UInt32>, _ pred: (UInt32) -> Bool) -> [(Int, Int, Bool)] {
    let n = s.count
    if n == 0 { return [(0, 0, false)] }
    var out: [(Int, Int, Bool)] = []
    var last = 0
    for i in 0..<n where pred(s[i]) {
        if last < i { out.append((last, i, false)) }
        out.append((i, i + 1, true))
        last = i + 1
    }
    if n > last { out.append((last, n, false)) }
    return out
}

// MARK: - Normalizers

indirect enum TokNormalizer {
    case sequence([TokNormalizer])
    case prepend([UInt32])
    case replace(TokPattern, [UInt32])
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case strip(left: Bool, right: Bool)
    case stripAccents
    case bert(cleanText: Bool, chineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case byteLevel

    func apply(_ s: [UInt32]) -> [UInt32] {
        switch self {
        case .sequence(let ns):
            var x = s
            for n in ns { x = n.apply(x) }
            return x
        case .prepend(let p):
            return s.isEmpty ? s : p + s
        case .replace(let pattern, let content):
            return pattern.replace(s, with: content)
        case .nfc: return TokUnicodeNormalization.apply(s, .nfc)
        case .nfd: return TokUnicodeNormalization.apply(s, .nfd)
        case .nfkc: return TokUnicodeNormalization.apply(s, .nfkc)
        case .nfkd: return TokUnicodeNormalization.apply(s, .nfkd)
        case .lowercase:
            var out: [UInt32] = []
            out.reserveCapacity(s.count)
            for c in s { TokChar.appendLowercase(c, to: &out) }
            return out
        case .strip(let left, let right):
            var a = 0, b = s.count
            if left { while a < b && TokChar.isWhitespace(s[a]) { a += 1 } }
            if right { while b > a && TokChar.isWhitespace(s[b - 1]) { b -= 1 } }
            return Array(s[a..<b])
        case .stripAccents:
            let props = TokUnicodeProps.shared
            return s.filter { c in c < 0x300 || (TokCat.mark >> UInt32(props.category(c))) & 1 == 0 }
        case .bert(let clean, let chinese, let strip, let lower):
            return TokNormalizer.bertNormalize(s, clean, chinese, strip, lower)
        case .byteLevel:
            var out: [UInt32] = []
            out.reserveCapacity(s.count)
            var bytes: [UInt8] = []
            for c in s {
                bytes.removeAll(keepingCapacity: true)
                TokUTF8.appendUTF8(c, to: &bytes)
                for b in bytes { out.append(TokByteLevel.byteToChar[Int(b)]) }
            }
            return out
        }
    }

    static func bertNormalize(_ s: [UInt32], _ clean: Bool, _ chinese: Bool, _ strip: Bool, _ lower: Bool) -> [UInt32] {
        let props = TokUnicodeProps.shared
        var x = s
        if clean {
            var out: [UInt32] = []
            out.reserveCapacity(x.count)
            for c in x {
                if c == 0 || c == 0xFFFD { continue }
                if c != 0x09 && c != 0x0A && c != 0x0D {
                    let cat = props.category(c)
                    if cat == TokCat.Cc || cat == TokCat.Cf || cat == TokCat.Cs || cat == TokCat.Co || cat == TokCat.Cn { continue }
                }
                if c == 0x09 || c == 0x0A || c == 0x0D || TokChar.isWhitespace(c) { out.append(0x20) } else { out.append(c) }
            }
            x = out
        }
        if chinese {
            var out: [UInt32] = []
            out.reserveCapacity(x.count)
            for c in x {
                let isCJK = (0x4E00...0x9FFF).contains(c) || (0x3400...0x4DBF).contains(c) || (0x20000...0x2A6DF).contains(c)
                    || (0x2A700...0x2B73F).contains(c) || (0x2B740...0x2B81F).contains(c) || (0x2B920...0x2CEAF).contains(c)
                    || (0xF900...0xFAFF).contains(c) || (0x2F800...0x2FA1F).contains(c)
                if isCJK { out.append(0x20); out.append(c); out.append(0x20) } else { out.append(c) }
            }
            x = out
        }
        if strip {
            x = TokUnicodeNormalization.apply(x, .nfd)
            x = x.filter { c in c < 0x300 || props.category(c) != TokCat.Mn }
        }
        if lower {
            var out: [UInt32] = []
            out.reserveCapacity(x.count)
            for c in x { TokChar.appendLowercase(c, to: &out) }
            x = out
        }
        return x
    }
}

enum TokUnicodeNormalization {
    enum Form { case nfc, nfd, nfkc, nfkd }

    /// Normalizes only the non-ASCII runs that can change (each with the ASCII scalar before it,
    /// which may be the base of a combining sequence). ASCII scalars never interact with what
    /// precedes them, so the result equals normalizing the whole string.
    static func apply(_ s: [UInt32], _ form: Form) -> [UInt32] {
        let threshold: UInt32
        switch form {
        case .nfc: threshold = 0x300
        case .nfd: threshold = 0xC0
        case .nfkc, .nfkd: threshold = 0xA0
        }
        let n = s.count
        var out: [UInt32] = []
        var i = 0
        var changed = false
        while i < n {
            var j = i
            while j < n && s[j] < 0x80 { j += 1 }
            if j == n { break }
            let runStart = j > i ? j - 1 : j
            var e = j
            var needs = false
            while e < n && s[e] >= 0x80 {
                if s[e] >= threshold { needs = true }
                e += 1
            }
            if needs {
                if !changed { out.reserveCapacity(n + 16); out.append(contentsOf: s[0..<i]); changed = true }
                out.append(contentsOf: s[i..<runStart])
                out.append(contentsOf: normalizeChunk(s[runStart..<e], form))
            } else if changed {
                out.append(contentsOf: s[i..<e])
            }
            i = e
        }
        if !changed { return s }
        if i < n { out.append(contentsOf: s[i..<n]) }
        return out
    }

    static func normalizeChunk(_ chunk: ArraySlice<UInt32>, _ form: Form) -> [UInt32] {
        let str = TokUTF8.string(chunk)
        let r: String
        switch form {
        case .nfc: r = str.precomposedStringWithCanonicalMapping
        case .nfd: r = str.decomposedStringWithCanonicalMapping
        case .nfkc: r = str.precomposedStringWithCompatibilityMapping
        case .nfkd: r = str.decomposedStringWithCompatibilityMapping
        }
        return TokUTF8.scalars(r)
    }
}

// MARK: - Byte-level alphabet

enum TokByteLevel {
    /// GPT-2's byte-to-unicode table: printable bytes map to themselves, the rest to U+0100...
    static let byteToChar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = 256 + n
                n += 1
            }
        }
        return table
    }()

    /// The inverse: scalar -> byte, or -1.
    static let charToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 512)
        for (b, c) in byteToChar.enumerated() { table[Int(c)] = Int16(b) }
        return table
    }()

    /// The GPT-2 pre-tokenization pattern.
    static let gpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

    static let gpt2Regex: TokRegex? = try? TokRegex(gpt2Pattern)
}

// MARK: - Pre-tokenizers

indirect enum TokPreTokenizer {
    case sequence([TokPreTokenizer])
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(TokPattern, TokSplitBehavior, invert: Bool)
    case metaspace(replacement: UInt32, prepend: TokPrependScheme, split: Bool)
    case whitespace
    case whitespaceSplit
    case digits(individual: Bool)
    case punctuation(TokSplitBehavior)
    case bert
    case charDelimiter(UInt32)

    func apply(_ p: inout TokPieces) {
        switch self {
        case .sequence(let ps):
            for x in ps { x.apply(&p) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            TokPreTokenizer.byteLevel(&p, addPrefixSpace, useRegex ? TokByteLevel.gpt2Regex : nil)
        case .split(let pattern, let behavior, let invert):
            if case .regex(let re) = pattern, behavior == .isolated {
                TokPreTokenizer.splitIsolated(&p, re)
            } else {
                TokPreTokenizer.resplit(&p) { s in
                    var spans = tokSpans(pattern.matches(s), s.count)
                    if invert { for k in spans.indices { spans[k].2.toggle() } }
                    return behavior.apply(spans)
                }
            }
        case .metaspace(let replacement, let prepend, let split):
            TokPreTokenizer.metaspace(&p, replacement, prepend, split)
        case .whitespace:
            TokPreTokenizer.resplit(&p) { s in
                var out: [(Int, Int)] = []
                var i = 0
                let n = s.count
                while i < n {
                    let c = s[i]
                    if TokChar.isRustRegexWord(c) {
                        var j = i + 1
                        while j < n && TokChar.isRustRegexWord(s[j]) { j += 1 }
                        out.append((i, j)); i = j
                    } else if !TokChar.isWhitespace(c) {
                        var j = i + 1
                        while j < n && !TokChar.isRustRegexWord(s[j]) && !TokChar.isWhitespace(s[j]) { j += 1 }
                        out.append((i, j)); i = j
                    } else {
                        i += 1
                    }
                }
                return out
            }
        case .whitespaceSplit:
            TokPreTokenizer.resplit(&p) { s in TokSplitBehavior.removed.apply(tokCharSpans(s, TokChar.isWhitespace)) }
        case .digits(let individual):
            TokPreTokenizer.resplit(&p) { s in
                (individual ? TokSplitBehavior.isolated : .contiguous).apply(tokCharSpans(s, TokChar.isNumeric))
            }
        case .punctuation(let behavior):
            TokPreTokenizer.resplit(&p) { s in behavior.apply(tokCharSpans(s, TokChar.isPunctuation)) }
        case .bert:
            TokPreTokenizer.resplit(&p) { s in TokSplitBehavior.removed.apply(tokCharSpans(s, TokChar.isWhitespace)) }
            TokPreTokenizer.resplit(&p) { s in TokSplitBehavior.isolated.apply(tokCharSpans(s, TokChar.isPunctuation)) }
        case .charDelimiter(let d):
            TokPreTokenizer.resplit(&p) { s in TokSplitBehavior.removed.apply(tokCharSpans(s, { $0 == d })) }
        }
    }

    /// Splits every piece that is not an added token into the spans `f` returns (relative to
    /// the piece); empty spans are dropped, as `PreTokenizedString::split` does.
    static func resplit(_ p: inout TokPieces, _ f: (UnsafeBufferPointer<UInt32>) -> [(Int, Int)]) {
        var out: [TokPiece] = []
        out.reserveCapacity(p.pieces.count)
        p.text.withUnsafeBufferPointer { tb in
            for piece in p.pieces {
                if piece.added >= 0 { out.append(piece); continue }
                let s = UnsafeBufferPointer(rebasing: tb[piece.start..<piece.end])
                for (a, b) in f(s) where b > a {
                    out.append(TokPiece(start: piece.start + a, end: piece.start + b, added: -1,
                                        first: piece.first && a == 0))
                }
            }
        }
        p.pieces = out
    }

    /// Regex split keeping both matches and the text between them (the common case).
    static func splitIsolated(_ p: inout TokPieces, _ re: TokRegex) {
        var out: [TokPiece] = []
        out.reserveCapacity(p.pieces.count + p.text.count / 3)
        p.text.withUnsafeBufferPointer { tb in
            for piece in p.pieces {
                if piece.added >= 0 { out.append(piece); continue }
                let base = piece.start
                let s = UnsafeBufferPointer(rebasing: tb[piece.start..<piece.end])
                var prev = 0
                re.findAll(s) { a, b in
                    if prev < a {
                        out.append(TokPiece(start: base + prev, end: base + a, added: -1, first: piece.first && prev == 0))
                    }
                    if b > a {
                        out.append(TokPiece(start: base + a, end: base + b, added: -1, first: piece.first && a == 0))
                    }
                    prev = b
                }
                if prev < s.count {
                    out.append(TokPiece(start: base + prev, end: piece.end, added: -1, first: piece.first && prev == 0))
                }
            }
        }
        p.pieces = out
    }

    static func byteLevel(_ p: inout TokPieces, _ addPrefixSpace: Bool, _ re: TokRegex?) {
        // 1. Prefix space, then the regex split, on the original characters.
        if addPrefixSpace {
            var text: [UInt32] = []
            text.reserveCapacity(p.text.count + p.pieces.count)
            var pieces: [TokPiece] = []
            pieces.reserveCapacity(p.pieces.count)
            for piece in p.pieces {
                let start = text.count
                let needs = piece.added < 0 && p.text[piece.start] != 0x20
                if needs { text.append(0x20) }
                text.append(contentsOf: p.text[piece.start..<piece.end])
                pieces.append(TokPiece(start: start, end: text.count, added: piece.added, first: piece.first))
            }
            p = TokPieces(text: text, pieces: pieces)
        }
        if let re { splitIsolated(&p, re) }
        // 2. Map every byte of every piece to the byte-level alphabet.
        let table = TokByteLevel.byteToChar
        var text: [UInt32] = []
        text.reserveCapacity(p.text.count + p.text.count / 4)
        var pieces: [TokPiece] = []
        pieces.reserveCapacity(p.pieces.count)
        table.withUnsafeBufferPointer { tab in
            p.text.withUnsafeBufferPointer { tb in
                for piece in p.pieces {
                    let start = text.count
                    if piece.added >= 0 {
                        text.append(contentsOf: tb[piece.start..<piece.end])
                    } else {
                        for k in piece.start..<piece.end {
                            let c = tb[k]
                            if c < 0x80 {
                                text.append(tab[Int(c)])
                            } else if c < 0x800 {
                                text.append(tab[Int(0xC0 | (c >> 6))])
                                text.append(tab[Int(0x80 | (c & 0x3F))])
                            } else if c < 0x10000 {
                                text.append(tab[Int(0xE0 | (c >> 12))])
                                text.append(tab[Int(0x80 | ((c >> 6) & 0x3F))])
                                text.append(tab[Int(0x80 | (c & 0x3F))])
                            } else {
                                text.append(tab[Int(0xF0 | (c >> 18))])
                                text.append(tab[Int(0x80 | ((c >> 12) & 0x3F))])
                                text.append(tab[Int(0x80 | ((c >> 6) & 0x3F))])
                                text.append(tab[Int(0x80 | (c & 0x3F))])
                            }
                        }
                    }
                    pieces.append(TokPiece(start: start, end: text.count, added: piece.added, first: piece.first))
                }
            }
        }
        p = TokPieces(text: text, pieces: pieces)
    }

    static func metaspace(_ p: inout TokPieces, _ replacement: UInt32, _ scheme: TokPrependScheme, _ split: Bool) {
        var text: [UInt32] = []
        text.reserveCapacity(p.text.count + p.pieces.count)
        var pieces: [TokPiece] = []
        pieces.reserveCapacity(p.pieces.count)
        for piece in p.pieces {
            let start = text.count
            if piece.added >= 0 {
                text.append(contentsOf: p.text[piece.start..<piece.end])
                pieces.append(TokPiece(start: start, end: text.count, added: piece.added, first: piece.first))
                continue
            }
            let firstScalar = p.text[piece.start]
            let startsWithReplacement = firstScalar == replacement || (firstScalar == 0x20)
            var prepend = false
            switch scheme {
            case .always: prepend = !startsWithReplacement
            case .first: prepend = !startsWithReplacement && piece.first
            case .never: prepend = false
            }
            if prepend { text.append(replacement) }
            for k in piece.start..<piece.end {
                let c = p.text[k]
                text.append(c == 0x20 ? replacement : c)
            }
            pieces.append(TokPiece(start: start, end: text.count, added: -1, first: piece.first))
        }
        p = TokPieces(text: text, pieces: pieces)
        if split {
            resplit(&p) { s in TokSplitBehavior.mergedWithNext.apply(tokCharSpans(s, { $0 == replacement })) }
        }
    }
}

enum TokPrependScheme: String {
    case always, first, never
}
