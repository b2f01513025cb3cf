import Foundation

/// A parsed JSON value. Objects keep their keys in file order (the vocab is read in order,
/// and a repeated key resolves to its last value, as serde does for maps).
indirect enum TokJSON {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([TokJSON])
    case object(TokJSONObject)

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    var isNull: Bool { if case .null = self { return true } else { return false } }
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    var arrayValue: [TokJSON]? { if case .array(let a) = self { return a } else { return nil } }
    var objectValue: TokJSONObject? { if case .object(let o) = self { return o } else { return nil } }
    var doubleValue: Double? { if case .number(let d) = self { return d } else { return nil } }
    /// An integer value: a number with no fractional part in Int range.
    var intValue: Int? {
        guard case .number(let d) = self, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }

    subscript(key: String) -> TokJSON? { objectValue?[key] }
}

struct TokJSONObject {
    var keys: [String] = []
    var values: [TokJSON] = []

    /// The value of the last occurrence of `key`.
    subscript(key: String) -> TokJSON? {
        var i = keys.count - 1
        while i >= 0 {
            if keys[i] == key { return values[i] }
            i -= 1
        }
        return nil
    }
}

/// A small, strict JSON parser over UTF-8 bytes (RFC 8259), fast enough for tokenizer.json
/// files with hundreds of thousands of vocab entries and merges.
struct TokJSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var depth = 0

    struct Failure: Error { let message: String }

    static func parse(_ data: Data) throws -> TokJSON {
        try data.withUnsafeBytes { raw -> TokJSON in
            let buf = raw.bindMemory(to: UInt8.self)
            var p = TokJSONParser(bytes: buf)
            return try p.parseDocument()
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func fail(_ what: String) -> Failure {
        // Line number of byte i, for a message a person can act on.
        var line = 1
        var k = 0
        let end = min(i, bytes.count)
        while k < end { if bytes[k] == 0x0A { line += 1 }; k += 1 }
        return Failure(message: "not valid JSON: \(what) at line \(line) (byte \(i))")
    }

    private mutating func skipSpace() {
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { i += 1 } else { break }
        }
    }

    private mutating func parseDocument() throws -> TokJSON {
        // Skip a UTF-8 byte order mark.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }
        skipSpace()
        if i >= bytes.count { throw fail("empty input") }
        let v = try parseValue()
        skipSpace()
        if i < bytes.count { throw fail("unexpected trailing content") }
        return v
    }

    private mutating func parseValue() throws -> TokJSON {
        guard i < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default:
            throw fail("unexpected character \(Self.describe(bytes[i]))")
        }
    }

    private static func describe(_ b: UInt8) -> String {
        if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
        return String(format: "0x%02X", b)
    }

    private mutating func expectWord(_ w: StaticString) throws {
        let n = w.utf8CodeUnitCount
        guard i + n <= bytes.count else { throw fail("unexpected end of input") }
        let p = w.utf8Start
        for k in 0..<n where bytes[i + k] != p[k] { throw fail("unexpected character \(Self.describe(bytes[i + k]))") }
        i += n
    }

    private mutating func parseObject() throws -> TokJSON {
        depth += 1
        if depth > 128 { throw fail("nesting too deep") }
        defer { depth -= 1 }
        i += 1
        var obj = TokJSONObject()
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") { i += 1; return .object(obj) }
        while true {
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input in an object") }
            guard bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string key, found \(Self.describe(bytes[i]))") }
            let key = try parseString()
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                throw fail(i < bytes.count ? "expected ':' after a key" : "unexpected end of input in an object")
            }
            i += 1
            skipSpace()
            let v = try parseValue()
            obj.keys.append(key)
            obj.values.append(v)
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input in an object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(obj) }
            throw fail("expected ',' or '}' in an object, found \(Self.describe(bytes[i]))")
        }
    }

    private mutating func parseArray() throws -> TokJSON {
        depth += 1
        if depth > 128 { throw fail("nesting too deep") }
        defer { depth -= 1 }
        i += 1
        var arr: [TokJSON] = []
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1; return .array(arr) }
        while true {
            skipSpace()
            arr.append(try parseValue())
            skipSpace()
            guard i < bytes.count else { throw fail("unexpected end of input in an array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(arr) }
            throw fail("expected ',' or ']' in an array, found \(Self.describe(bytes[i]))")
        }
    }

    private mutating func parseNumber() throws -> TokJSON {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        var digits = 0
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1; digits += 1 }
        if digits == 0 { throw fail("bad number") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            var frac = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1; frac += 1 }
            if frac == 0 { throw fail("bad number") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            var ex = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1; ex += 1 }
            if ex == 0 { throw fail("bad number") }
        }
        // Fast path for plain integers.
        if i - start <= 15 {
            var neg = false
            var k = start
            if bytes[k] == UInt8(ascii: "-") { neg = true; k += 1 }
            var v = 0
            var plain = true
            while k < i {
                let b = bytes[k]
                if b < 0x30 || b > 0x39 { plain = false; break }
                v = v * 10 + Int(b - 0x30)
                k += 1
            }
            if plain { return .number(Double(neg ? -v : v)) }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let d = Double(text) else { throw fail("bad number") }
        return .number(d)
    }

    private static func hexValue(_ b: UInt8) -> UInt32? {
        switch b {
        case 0x30...0x39: return UInt32(b - 0x30)
        case 0x41...0x46: return UInt32(b - 0x41 + 10)
        case 0x61...0x66: return UInt32(b - 0x61 + 10)
        default: return nil
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("bad \\u escape") }
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let h = Self.hexValue(bytes[i + k]) else { throw fail("bad \\u escape") }
            v = v << 4 | h
        }
        i += 4
        return v
    }

    private mutating func parseString() throws -> String {
        i += 1  // opening quote
        let start = i
        // Fast path: no escapes.
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw fail("control character in a string") }
            i += 1
        }
        guard i < bytes.count else { throw fail("unterminated string") }
        var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b < 0x20 { throw fail("control character in a string") }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw fail("unterminated string") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var cp = try parseHex4()
                if cp >= 0xD800 && cp < 0xDC00 {
                    // A high surrogate must be followed by an escaped low surrogate.
                    if i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let lo = try parseHex4()
                        if lo >= 0xDC00 && lo < 0xE000 {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            i = save
                            cp = 0xFFFD
                        }
                    } else {
                        cp = 0xFFFD
                    }
                } else if cp >= 0xDC00 && cp < 0xE000 {
                    cp = 0xFFFD
                }
                let scalar = Unicode.Scalar(cp) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(scalar).utf8))
            default:
                throw fail("bad escape \\\(Character(Unicode.Scalar(e)))")
            }
        }
        throw fail("unterminated string")
    }
}
