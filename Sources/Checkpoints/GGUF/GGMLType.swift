import Tensors
/// ggml's tensor element types, with the ids GGUF files store. Every type is known by name so
/// that a file holding one neurotop does not dequantize is refused by that name.
public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_XXS = 16, iq2_XS = 17, iq3_XXS = 18, iq1_S = 19, iq4_NL = 20, iq3_S = 21, iq2_S = 22, iq4_XS = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_M = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f64: return "F64"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        default: return "\(self)".uppercased()
        }
    }

    /// Values per block, and bytes per block (ggml's `blck_size` and `type_size`).
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_NL, .mxfp4: return 32
        case .nvfp4: return 64
        case .q1_0: return 128
        default: return 256
        }
    }

    public var blockBytes: Int {
        switch self {
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .f64, .i64: return 8
        case .i8: return 1
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 40
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        case .iq2_XXS: return 66
        case .iq2_XS: return 74
        case .iq3_XXS: return 98
        case .iq1_S: return 50
        case .iq4_NL: return 18
        case .iq3_S: return 110
        case .iq2_S: return 82
        case .iq4_XS: return 136
        case .iq1_M: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        case .mxfp4: return 17
        case .nvfp4: return 36
        case .q1_0: return 18
        }
    }

    public static let dequantizable: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    public var isDequantizable: Bool { Self.dequantizable.contains(self) }
}

/// Dequantization to float32 as the `gguf` Python package's `gguf.quants.dequantize` computes it,
/// operation for operation (products and sums in float32, in the same order), so that the values
/// are bit-identical. Written from the block layouts of ggml-quants.
enum GGMLDequantize {
    /// Converts `count` values (a whole number of blocks) of `type` at `source` into `destination`.
    static func values(_ type: GGMLType, from source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let blocks = count / type.blockSize
        let size = type.blockBytes
        switch type {
        case .f32: Widen.toFloat32(.f32, from: source, count: count, into: destination)
        case .f16: Widen.toFloat32(.f16, from: source, count: count, into: destination)
        case .bf16: Widen.toFloat32(.bf16, from: source, count: count, into: destination)
        case .q8_0: for b in 0..<blocks { q8_0(source + b * size, destination + b * 32) }
        case .q4_0: for b in 0..<blocks { q4(source + b * size, destination + b * 32, hasMin: false) }
        case .q4_1: for b in 0..<blocks { q4(source + b * size, destination + b * 32, hasMin: true) }
        case .q5_0: for b in 0..<blocks { q5(source + b * size, destination + b * 32, hasMin: false) }
        case .q5_1: for b in 0..<blocks { q5(source + b * size, destination + b * 32, hasMin: true) }
        case .q2_K: for b in 0..<blocks { q2_K(source + b * size, destination + b * 256) }
        case .q3_K: for b in 0..<blocks { q3_K(source + b * size, destination + b * 256) }
        case .q4_K: for b in 0..<blocks { q45_K(source + b * size, destination + b * 256, highBits: false) }
        case .q5_K: for b in 0..<blocks { q45_K(source + b * size, destination + b * 256, highBits: true) }
        case .q6_K: for b in 0..<blocks { q6_K(source + b * size, destination + b * 256) }
        default: preconditionFailure("GGMLDequantize called with \(type.name); callers check isDequantizable")
        }
    }

    @inline(__always) private static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always) private static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// d (f16), 32 signed bytes: x · d.
    private static func q8_0(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        for i in 0..<32 { out[i] = Float(p.load(fromByteOffset: 2 + i, as: Int8.self)) * d }
    }

    /// d (f16), [m (f16)], 16 bytes of nibbles: value i is the low nibble of byte i, value i + 16
    /// its high nibble; without a minimum the nibble is offset by -8.
    private static func q4(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, hasMin: Bool) {
        let d = half(p, 0)
        let m = hasMin ? half(p, 2) : 0
        let qs = hasMin ? 4 : 2
        for i in 0..<16 {
            let b = byte(p, qs + i)
            let low = Int(b & 0x0F), high = Int(b >> 4)
            if hasMin {
                out[i] = d * Float(low) + m
                out[i + 16] = d * Float(high) + m
            } else {
                out[i] = d * Float(low - 8)
                out[i + 16] = d * Float(high - 8)
            }
        }
    }

    /// As q4, with a fifth bit of value i in bit i of a 32-bit word after the scales; without a
    /// minimum the value is offset by -16.
    private static func q5(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, hasMin: Bool) {
        let d = half(p, 0)
        let m = hasMin ? half(p, 2) : 0
        let qhOffset = hasMin ? 4 : 2
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: qhOffset, as: UInt32.self))
        for i in 0..<16 {
            let b = byte(p, qhOffset + 4 + i)
            let low = Int(b & 0x0F) | Int((qh >> UInt32(i)) & 1) << 4
            let high = Int(b >> 4) | Int((qh >> UInt32(i + 16)) & 1) << 4
            if hasMin {
                out[i] = d * Float(low) + m
                out[i + 16] = d * Float(high) + m
            } else {
                out[i] = d * Float(low - 16)
                out[i + 16] = d * Float(high - 16)
            }
        }
    }

    /// 2 bits in 4 planes: value e of a 256-block is in byte (e / 128) · 32 + e % 32, at bit
    /// 2 · ((e % 128) / 32).
    @inline(__always) private static func twoBits(_ p: UnsafeRawPointer, _ offset: Int, _ e: Int) -> Int {
        Int((byte(p, offset + (e / 128) * 32 + e % 32) >> UInt8(2 * ((e % 128) / 32))) & 3)
    }

    /// scales[16] (4-bit scale, 4-bit min per 16 values), qs[64], d, dmin: (d · sc) · q − dmin · m.
    private static func q2_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(p, 80), dmin = half(p, 82)
        for group in 0..<16 {
            let s = byte(p, group)
            let scale = d * Float(s & 0x0F), minimum = dmin * Float(s >> 4)
            for e in (group * 16)..<(group * 16 + 16) { out[e] = scale * Float(twoBits(p, 16, e)) - minimum }
        }
    }

    /// hmask[32], qs[64], 16 packed 6-bit scales in 12 bytes, d: (d · (sc − 32)) · (q − 4 · !hbit).
    private static func q3_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(p, 108)
        for group in 0..<16 {
            let low = group < 8 ? byte(p, 96 + group) & 0x0F : byte(p, 96 + group - 8) >> 4
            let high = (byte(p, 104 + group % 4) >> UInt8(2 * (group / 4))) & 3
            let scale = d * Float(Int(low | high << 4) - 32)
            for e in (group * 16)..<(group * 16 + 16) {
                let highBit = Int((byte(p, e % 32) >> UInt8(e / 32)) & 1)
                out[e] = scale * Float(twoBits(p, 32, e) - ((highBit ^ 1) << 2))
            }
        }
    }

    /// The 8 six-bit scales and minimums of Q4_K and Q5_K, packed in 12 bytes at `offset`.
    @inline(__always) private static func scaleMin(_ p: UnsafeRawPointer, _ offset: Int, _ j: Int) -> (UInt8, UInt8) {
        if j < 4 { return (byte(p, offset + j) & 0x3F, byte(p, offset + 4 + j) & 0x3F) }
        let packed = byte(p, offset + 8 + j - 4)
        return ((packed & 0x0F) | ((byte(p, offset + j - 4) >> 2) & 0x30),
                (packed >> 4) | ((byte(p, offset + j) >> 2) & 0x30))
    }

    /// d, dmin, 12 bytes of scales, [qh[32] for Q5_K], qs[128]: 8 sub-blocks of 32, value l of
    /// sub-block s the nibble (s odd: high) of byte (s / 2) · 32 + l, plus bit s of qh[l] as a
    /// fifth bit: (d · sc) · q − dmin · m.
    private static func q45_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>, highBits: Bool) {
        let d = half(p, 0), dmin = half(p, 2)
        let qs = highBits ? 48 : 16
        for s in 0..<8 {
            let (sc, m) = scaleMin(p, 4, s)
            let scale = d * Float(sc), minimum = dmin * Float(m)
            let shift = UInt8(4 * (s % 2))
            for l in 0..<32 {
                var q = Int((byte(p, qs + (s / 2) * 32 + l) >> shift) & 0x0F)
                if highBits { q |= Int((byte(p, 16 + l) >> UInt8(s)) & 1) << 4 }
                out[s * 32 + l] = scale * Float(q) - minimum
            }
        }
    }

    /// ql[128], qh[64], 16 signed scales, d: (d · sc) · (q − 32), q six bits from a nibble of ql
    /// and two bits of qh.
    private static func q6_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = half(p, 208)
        for s in 0..<8 {
            let half = s / 4
            let nibbleShift = UInt8(4 * ((s / 2) % 2))
            let highShift = UInt8(2 * (s % 4))
            for l in 0..<32 {
                let e = s * 32 + l
                let scale = d * Float(p.load(fromByteOffset: 192 + e / 16, as: Int8.self))
                let low = Int((byte(p, half * 64 + (s % 2) * 32 + l) >> nibbleShift) & 0x0F)
                let high = Int((byte(p, 128 + half * 32 + l) >> highShift) & 3)
                out[e] = scale * Float((low | high << 4) - 32)
            }
        }
    }
}
