/// Element types of safetensors files. neurotop computes in float32 and reads the three float
/// types; the others are known so that a file holding them is described, not misread.
public enum DType: String, CaseIterable, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"
    case f64 = "F64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .f8e4m3, .f8e5m2, .i8, .u8, .bool: return 1
        }
    }

    public var isReadable: Bool { self == .f32 || self == .f16 || self == .bf16 }
}

/// Widening of stored elements to float32, eight at a time with SIMD (the baseline x86-64
/// target has no F16C, and a per-element loop is what made half precision slower than F32).
public enum Widen {
    /// Converts `count` elements of `dtype` at `source` (any alignment) into `destination`.
    public static func toFloat32(_ dtype: DType, from source: UnsafeRawPointer, count: Int,
                                 into destination: UnsafeMutablePointer<Float>) {
        let target = UnsafeMutableRawPointer(destination)
        switch dtype {
        case .f32:
            target.copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            var i = 0
            while i + 8 <= count {
                let half = source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self)
                target.storeBytes(of: SIMD8<UInt32>(truncatingIfNeeded: half) &<< 16, toByteOffset: 4 * i, as: SIMD8<UInt32>.self)
                i += 8
            }
            while i < count {
                destination[i] = Float(bitPattern: UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
                i += 1
            }
        case .f16:
            var i = 0
            while i + 8 <= count {
                let half = SIMD8<UInt32>(truncatingIfNeeded: source.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self))
                target.storeBytes(of: halfToFloat(half), toByteOffset: 4 * i, as: SIMD8<UInt32>.self)
                i += 8
            }
            while i < count {
                let half = SIMD8<UInt32>(repeating: UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                destination[i] = Float(bitPattern: halfToFloat(half)[0])
                i += 1
            }
        default:
            preconditionFailure("Widen.toFloat32 called with \(dtype.rawValue); callers check isReadable")
        }
    }

    /// IEEE half bits (in the low 16 bits of each lane) to float32 bits, exactly: the exponent and
    /// mantissa shifted into place and scaled by 2^112 (which also normalises subnormals), then
    /// infinities and NaNs given the float32 all-ones exponent, then the sign.
    @inline(__always)
    static func halfToFloat(_ half: SIMD8<UInt32>) -> SIMD8<UInt32> {
        let scaled = unsafeBitCast((half & 0x7FFF) &<< 13, to: SIMD8<Float>.self) * 0x1p112
        var bits = unsafeBitCast(scaled, to: SIMD8<UInt32>.self)
        bits.replace(with: bits | 0x7F80_0000, where: scaled .>= 65536)
        return bits | ((half & 0x8000) &<< 16)
    }
}
