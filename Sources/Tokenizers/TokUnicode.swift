import Foundation

/// Per-scalar Unicode properties packed in one byte, filled lazily in blocks of 256 scalars:
/// bits 0-4 the general category (see `TokCat`), bit 5 White_Space, bit 6 Alphabetic.
/// Reads are lock-free once a block is filled; filling takes a lock.
///
/// The data is pinned to Unicode 16.0, the version of the Oniguruma tables in the tokenizers
/// library: scalars assigned later (Swift 6.3 knows Unicode 17) count as unassigned, and U+0295
/// keeps its 16.0 category (Ll; Lo since 17.0).
final class TokUnicodeProps: @unchecked Sendable {
    static let shared = TokUnicodeProps()

    static let unicodeMajor = 16
    static let whiteSpaceBit: UInt8 = 0x20
    static let alphabeticBit: UInt8 = 0x40

    let table: UnsafeMutablePointer<UInt8>
    let ready: UnsafeMutablePointer<UInt8>
    private let lock = NSLock()

    private init() {
        table = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x110000)
        table.initialize(repeating: 0, count: 0x110000)
        ready = UnsafeMutablePointer<UInt8>.allocate(capacity: 0x1100)
        ready.initialize(repeating: 0, count: 0x1100)
        // ASCII and Latin-1 up front: nearly every text touches them.
        fill(0)
    }

    @inline(__always) func props(_ c: UInt32) -> UInt8 {
        let v = c < 0x110000 ? c : 0xFFFF  // out-of-range never happens for real scalars
        let b = Int(v >> 8)
        if ready[b] == 0 { fill(b) }
        return table[Int(v)]
    }

    @inline(__always) func category(_ c: UInt32) -> UInt8 { props(c) & 31 }
    @inline(__always) func isWhiteSpace(_ c: UInt32) -> Bool { props(c) & Self.whiteSpaceBit != 0 }
    @inline(__always) func isAlphabetic(_ c: UInt32) -> Bool { props(c) & Self.alphabeticBit != 0 }

    private func fill(_ block: Int) {
        lock.lock()
        defer { lock.unlock() }
        if ready[block] != 0 { return }
        let base = block << 8
        for k in 0..<256 {
            let v = UInt32(base + k)
            var b: UInt8
            if let s = Unicode.Scalar(v) {
                let p = s.properties
                if let age = p.age, age.major > Self.unicodeMajor {
                    b = TokCat.Cn
                } else {
                    b = TokCat.index(p.generalCategory)
                    if p.isWhitespace { b |= Self.whiteSpaceBit }
                    if p.isAlphabetic { b |= Self.alphabeticBit }
                    if v == 0x0295 { b = TokCat.Ll | Self.alphabeticBit }
                }
            } else {
                b = TokCat.Cs
            }
            table[base + k] = b
        }
        ready[block] = 1
    }
}

/// General category indices (bit positions in category masks).
enum TokCat {
    static let Lu: UInt8 = 0, Ll: UInt8 = 1, Lt: UInt8 = 2, Lm: UInt8 = 3, Lo: UInt8 = 4
    static let Mn: UInt8 = 5, Mc: UInt8 = 6, Me: UInt8 = 7
    static let Nd: UInt8 = 8, Nl: UInt8 = 9, No: UInt8 = 10
    static let Pc: UInt8 = 11, Pd: UInt8 = 12, Ps: UInt8 = 13, Pe: UInt8 = 14, Pi: UInt8 = 15, Pf: UInt8 = 16, Po: UInt8 = 17
    static let Sm: UInt8 = 18, Sc: UInt8 = 19, Sk: UInt8 = 20, So: UInt8 = 21
    static let Zs: UInt8 = 22, Zl: UInt8 = 23, Zp: UInt8 = 24
    static let Cc: UInt8 = 25, Cf: UInt8 = 26, Cs: UInt8 = 27, Co: UInt8 = 28, Cn: UInt8 = 29

    static func mask(_ cats: UInt8...) -> UInt32 { cats.reduce(0) { $0 | (1 << UInt32($1)) } }
    static let letter: UInt32 = 0b11111
    static let mark: UInt32 = 0b111 << 5
    static let number: UInt32 = 0b111 << 8
    static let punctuation: UInt32 = 0b1111111 << 11
    static let symbol: UInt32 = 0b1111 << 18
    static let separator: UInt32 = 0b111 << 22
    static let other: UInt32 = 0b11111 << 25
    static let all: UInt32 = (1 << 30) - 1

    static func index(_ c: Unicode.GeneralCategory) -> UInt8 {
        switch c {
        case .uppercaseLetter: return Lu
        case .lowercaseLetter: return Ll
        case .titlecaseLetter: return Lt
        case .modifierLetter: return Lm
        case .otherLetter: return Lo
        case .nonspacingMark: return Mn
        case .spacingMark: return Mc
        case .enclosingMark: return Me
        case .decimalNumber: return Nd
        case .letterNumber: return Nl
        case .otherNumber: return No
        case .connectorPunctuation: return Pc
        case .dashPunctuation: return Pd
        case .openPunctuation: return Ps
        case .closePunctuation: return Pe
        case .initialPunctuation: return Pi
        case .finalPunctuation: return Pf
        case .otherPunctuation: return Po
        case .mathSymbol: return Sm
        case .currencySymbol: return Sc
        case .modifierSymbol: return Sk
        case .otherSymbol: return So
        case .spaceSeparator: return Zs
        case .lineSeparator: return Zl
        case .paragraphSeparator: return Zp
        case .control: return Cc
        case .format: return Cf
        case .surrogate: return Cs
        case .privateUse: return Co
        case .unassigned: return Cn
        @unknown default: return Cn
        }
    }
}

/// Character predicates with the exact meaning the Rust `tokenizers` crate gives them.
enum TokChar {
    static let props = TokUnicodeProps.shared

    /// Rust `char::is_whitespace`: the White_Space property.
    @inline(__always) static func isWhitespace(_ c: UInt32) -> Bool {
        if c < 0x80 { return c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        return props.isWhiteSpace(c)
    }
    /// Rust `char::is_numeric`: general category Nd, Nl or No.
    @inline(__always) static func isNumeric(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x30 && c <= 0x39 }
        return (TokCat.number >> UInt32(props.category(c))) & 1 != 0
    }
    /// Rust `char::is_alphanumeric`.
    static func isAlphanumeric(_ c: UInt32) -> Bool { props.isAlphabetic(c) || isNumeric(c) }
    /// `char::is_ascii_punctuation() || char::is_punctuation()` (the tokenizers `is_punc`).
    @inline(__always) static func isPunctuation(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E)
        }
        return (TokCat.punctuation >> UInt32(props.category(c))) & 1 != 0
    }
    /// `\w` of the Rust `regex` crate: Alphabetic, M, Nd, Pc, Join_Control.
    @inline(__always) static func isRustRegexWord(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
        }
        if c == 0x200C || c == 0x200D { return true }
        let p = props.props(c)
        if p & TokUnicodeProps.alphabeticBit != 0 { return true }
        let cat = p & 31
        return cat == TokCat.Mn || cat == TokCat.Mc || cat == TokCat.Me || cat == TokCat.Nd || cat == TokCat.Pc
    }

    /// Full lowercase mapping of one scalar (Rust `char::to_lowercase`, no context rules).
    static func appendLowercase(_ c: UInt32, to out: inout [UInt32]) {
        if c < 0x80 {
            out.append(c >= 0x41 && c <= 0x5A ? c + 32 : c)
            return
        }
        guard let s = Unicode.Scalar(c) else { out.append(c); return }
        let mapped = s.properties.lowercaseMapping
        for u in mapped.unicodeScalars { out.append(u.value) }
    }

    /// Case variants of a scalar for case-insensitive regex literals (simple case folding).
    static func caseVariants(_ c: UInt32) -> [UInt32] {
        var set: [UInt32] = [c]
        func add(_ v: UInt32) { if !set.contains(v) { set.append(v) } }
        var frontier = [c]
        var rounds = 0
        while let x = frontier.popLast(), rounds < 16 {
            rounds += 1
            var next: [UInt32] = []
            if let s = Unicode.Scalar(x) {
                let p = s.properties
                for m in [p.lowercaseMapping, p.uppercaseMapping, p.titlecaseMapping] {
                    let us = Array(m.unicodeScalars)
                    if us.count == 1 { next.append(us[0].value) }
                }
            }
            if let f = extraFolds[x] { next.append(f) }
            for (k, v) in extraFolds where v == x { next.append(k) }
            for v in next where !set.contains(v) { add(v); frontier.append(v) }
        }
        return set
    }

    /// Simple case foldings that lower/upper mappings alone do not connect.
    static let extraFolds: [UInt32: UInt32] = [
        0x17F: 0x73, 0x212A: 0x6B, 0x212B: 0xE5, 0x3C2: 0x3C3, 0x3D0: 0x3B2, 0x3D1: 0x3B8,
        0x3D5: 0x3C6, 0x3D6: 0x3C0, 0x3F0: 0x3BA, 0x3F1: 0x3C1, 0x3F5: 0x3B5, 0x1E9B: 0x1E61,
        0x1FBE: 0x3B9, 0x345: 0x3B9, 0xB5: 0x3BC, 0x2126: 0x3C9, 0x1E9E: 0xDF,
    ]
}

/// UTF-8 <-> scalar helpers.
enum TokUTF8 {
    /// The scalars of a string, decoded from its UTF-8 (strings are always valid UTF-8).
    static func scalars(_ s: String) -> [UInt32] {
        var str = s
        return str.withUTF8 { buf -> [UInt32] in
            var out = [UInt32]()
            out.reserveCapacity(buf.count)
            var i = 0
            let n = buf.count
            while i < n {
                let b0 = UInt32(buf[i])
                if b0 < 0x80 {
                    out.append(b0); i += 1
                } else if b0 < 0xE0 {
                    out.append((b0 & 0x1F) << 6 | (UInt32(buf[i + 1]) & 0x3F)); i += 2
                } else if b0 < 0xF0 {
                    out.append((b0 & 0x0F) << 12 | (UInt32(buf[i + 1]) & 0x3F) << 6 | (UInt32(buf[i + 2]) & 0x3F)); i += 3
                } else {
                    out.append((b0 & 0x07) << 18 | (UInt32(buf[i + 1]) & 0x3F) << 12 | (UInt32(buf[i + 2]) & 0x3F) << 6 | (UInt32(buf[i + 3]) & 0x3F)); i += 4
                }
            }
            return out
        }
    }

    /// A string from scalars (values that are not scalars become U+FFFD).
    static func string<C: Collection>(_ scalars: C) -> String where C.Element == UInt32 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count + 8)
        for c in scalars { appendUTF8(c, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    @inline(__always) static func appendUTF8(_ c: UInt32, to out: inout [UInt8]) {
        if c < 0x80 {
            out.append(UInt8(c))
        } else if c < 0x800 {
            out.append(UInt8(0xC0 | (c >> 6))); out.append(UInt8(0x80 | (c & 0x3F)))
        } else if c < 0x10000 {
            if c >= 0xD800 && c < 0xE000 { out.append(0xEF); out.append(0xBF); out.append(0xBD); return }
            out.append(UInt8(0xE0 | (c >> 12))); out.append(UInt8(0x80 | ((c >> 6) & 0x3F))); out.append(UInt8(0x80 | (c & 0x3F)))
        } else if c < 0x110000 {
            out.append(UInt8(0xF0 | (c >> 18))); out.append(UInt8(0x80 | ((c >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((c >> 6) & 0x3F))); out.append(UInt8(0x80 | (c & 0x3F)))
        } else {
            out.append(0xEF); out.append(0xBF); out.append(0xBD)
        }
    }

    /// Number of UTF-8 bytes of a scalar.
    @inline(__always) static func length(_ c: UInt32) -> Int {
        c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
    }
}
