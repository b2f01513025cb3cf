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

/// Widening of stored elements to float32. Half floats go through a 64K-entry table: exact,
/// and faster than converting each value without F16C.
public enum Widen {
    static let halfTable: [Float] = (0...0xFFFF).map { Float(Float16(bitPattern: UInt16($0))) }

    /// Converts `count` elements of `dtype` at `source` (any alignment) into `destination`.
    public static func toFloat32(_ dtype: DType, from source: UnsafeRawPointer, count: Int,
                                 into destination: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            for i in 0..<count {
                let bits = UInt32(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                destination[i] = Float(bitPattern: bits)
            }
        case .f16:
            halfTable.withUnsafeBufferPointer { table in
                for i in 0..<count {
                    destination[i] = table[Int(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))]
                }
            }
        default:
            preconditionFailure("Widen.toFloat32 called with \(dtype.rawValue); callers check isReadable")
        }
    }
}
