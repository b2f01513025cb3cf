import Foundation
import Tensors

/// A metadata value of a GGUF file. Integers keep their sign; arrays keep their element type.
public indirect enum GGUFValue: Sendable, Equatable {
    case unsigned(UInt64)
    case signed(Int64)
    case float(Double)
    case bool(Bool)
    case string(String)
    case array([GGUFValue])

    public var int: Int? {
        switch self {
        case .unsigned(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .signed(let v): return Int(v)
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case .float(let v): return v
        case .unsigned, .signed: return int.map(Double.init)
        default: return nil
        }
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var array: [GGUFValue]? { if case .array(let a) = self { return a } else { return nil } }

    /// Short, for `neurotop info`: arrays by their length.
    public var summary: String {
        switch self {
        case .unsigned(let v): return String(v)
        case .signed(let v): return String(v)
        case .float(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let s): return s.count > 60 ? String(s.prefix(57)).debugDescription + "…" : s.debugDescription
        case .array(let a): return "[\(a.count) values]"
        }
    }
}

/// One tensor's entry in a GGUF file: its type, its shape as PyTorch writes it (GGUF lists the
/// fastest-varying dimension first; `shape` is reversed) and where its bytes are.
public struct GGUFTensorInfo: Sendable {
    public let name: String
    public let type: GGMLType
    public let shape: [Int]
    /// Absolute byte range in the file.
    public let byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
    /// Elements per row: the last PyTorch dimension (GGUF's first).
    public var rowWidth: Int { shape.last ?? 1 }
    public var rowCount: Int { elementCount / max(rowWidth, 1) }
    public var rowBytes: Int { rowWidth / type.blockSize * type.blockBytes }
}

/// A memory-mapped GGUF file (llama.cpp's format, versions 2 and 3), validated completely before
/// any tensor is read: magic, version, counts, every key, value, string and array length against
/// the file's size, every tensor's type, shape, alignment and byte range.
public final class GGUFFile {
    public let path: String
    public let version: Int
    /// Keys in file order, and their values.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    public let tensorsByName: [String: GGUFTensorInfo]
    public let alignment: Int
    /// Where the tensor data starts: everything before it is the header.
    public let dataStart: Int
    let file: MappedFile

    /// llama.cpp's own limit on dimensions.
    static let maxDimensions = 4

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        var reader = Reader(bytes: file.bytes, path: path)
        guard file.size >= 24 else { throw InputError(path, "truncated: \(file.size) bytes, too short for a GGUF header") }
        let magic = try reader.read(UInt32.self)
        guard magic == 0x4655_4747 else {
            throw InputError(path, "wrong magic \(String(format: "0x%08x", magic)): not a GGUF file (they start with 'GGUF')")
        }
        let rawVersion = try reader.read(UInt32.self)
        if rawVersion & 0xFFFF == 0 && rawVersion != 0 {
            throw InputError(path, "big-endian GGUF (version \(rawVersion.byteSwapped)); neurotop reads little-endian files")
        }
        guard rawVersion == 2 || rawVersion == 3 else {
            throw InputError(path, "GGUF version \(rawVersion) is not supported (2 and 3 are)")
        }
        version = Int(rawVersion)
        let tensorCount = try reader.read(UInt64.self)
        let keyCount = try reader.read(UInt64.self)
        // Each tensor entry takes at least 24 bytes, each key/value at least 13: counts beyond
        // what the file could hold are corrupt, and would only be a way to exhaust memory.
        guard tensorCount <= UInt64(file.size / 24) else {
            throw InputError(path, "absurd tensor count \(tensorCount) for a file of \(file.size) bytes")
        }
        guard keyCount <= UInt64(file.size / 13) else {
            throw InputError(path, "absurd metadata count \(keyCount) for a file of \(file.size) bytes")
        }

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<keyCount {
            let key = try reader.string("metadata key")
            let type = try reader.read(UInt32.self)
            let value = try reader.value(type: type, key: key)
            if metadata[key] != nil { throw InputError(path, "metadata key '\(key)' appears twice") }
            keys.append(key)
            metadata[key] = value
        }
        let alignment = metadata["general.alignment"]?.int ?? 32
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw InputError(path, "general.alignment \(alignment) is not a power of two")
        }

        var entries: [(name: String, type: GGMLType, shape: [Int], offset: UInt64)] = []
        var names: Set<String> = []
        for _ in 0..<tensorCount {
            let name = try reader.string("tensor name")
            let dimensionCount = try reader.read(UInt32.self)
            guard dimensionCount >= 1, dimensionCount <= UInt32(Self.maxDimensions) else {
                throw InputError(path, "tensor '\(name)' has \(dimensionCount) dimensions (1 to \(Self.maxDimensions) allowed)")
            }
            var dimensions: [Int] = []
            var elements = 1
            for _ in 0..<dimensionCount {
                let size = try reader.read(UInt64.self)
                guard size >= 1, size <= UInt64(Int.max) else { throw InputError(path, "tensor '\(name)' has a dimension of \(size)") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: Int(size))
                guard !overflow, product <= file.size * 8 else { throw InputError(path, "tensor '\(name)' is absurdly large") }
                elements = product
                dimensions.append(Int(size))
            }
            let typeID = try reader.read(UInt32.self)
            guard let type = GGMLType(rawValue: typeID) else {
                throw InputError(path, "tensor '\(name)' has unknown ggml type \(typeID)")
            }
            let offset = try reader.read(UInt64.self)
            guard names.insert(name).inserted else { throw InputError(path, "tensor '\(name)' appears twice") }
            guard dimensions[0] % type.blockSize == 0 else {
                throw InputError(path, "tensor '\(name)': rows of \(dimensions[0]) values do not divide into \(type.name) blocks of \(type.blockSize)")
            }
            entries.append((name, type, dimensions.reversed(), offset))
        }
        // The data starts at the next multiple of the alignment (a file of metadata only may end before).
        dataStart = min((reader.offset + alignment - 1) / alignment * alignment, file.size)
        let dataSize = file.size - dataStart

        var tensors: [GGUFTensorInfo] = []
        for entry in entries {
            guard entry.offset % UInt64(alignment) == 0 else {
                throw InputError(path, "tensor '\(entry.name)' offset \(entry.offset) is not aligned to \(alignment) bytes")
            }
            let elements = entry.shape.reduce(1, *)
            let bytes = elements / entry.type.blockSize * entry.type.blockBytes
            guard entry.offset <= UInt64(dataSize), bytes <= dataSize - Int(entry.offset) else {
                throw InputError(path, "tensor '\(entry.name)' (\(bytes) bytes at offset \(entry.offset)) runs past the end of the data (\(dataSize) bytes): file truncated?")
            }
            let start = dataStart + Int(entry.offset)
            tensors.append(GGUFTensorInfo(name: entry.name, type: entry.type, shape: entry.shape, byteRange: start..<(start + bytes)))
        }
        let ordered = tensors.sorted { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        for (a, b) in zip(ordered, ordered.dropFirst()) where b.byteRange.lowerBound < a.byteRange.upperBound {
            throw InputError(path, "tensors '\(a.name)' and '\(b.name)' overlap")
        }
        self.keys = keys
        self.metadata = metadata
        self.alignment = alignment
        self.tensors = tensors
        tensorsByName = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0) })
    }

    /// The stored bytes of a tensor, valid while this file is alive.
    public func rawBytes(_ tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.byteRange])
    }

    /// The header (magic to the start of the tensor data): metadata and tensor entries.
    public var headerBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: file.bytes[0..<dataStart]) }

    /// Rows `rows` of a tensor, dequantized to float32 into `destination` (room for
    /// `rows.count * rowWidth` values).
    public func readRows(_ tensor: GGUFTensorInfo, _ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        guard tensor.type.isDequantizable else { throw unsupported(tensor) }
        dequantizeRows(tensor, rows, into: destination)
    }

    /// `readRows` for a tensor whose type is known to be dequantizable.
    func dequantizeRows(_ tensor: GGUFTensorInfo, _ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        precondition(rows.lowerBound >= 0 && rows.upperBound <= tensor.rowCount, "rows \(rows) of \(tensor.rowCount)")
        let source = file.bytes.baseAddress! + tensor.byteRange.lowerBound + rows.lowerBound * tensor.rowBytes
        GGMLDequantize.values(tensor.type, from: source, count: rows.count * tensor.rowWidth, into: destination)
    }

    public func unsupported(_ tensor: GGUFTensorInfo) -> InputError {
        InputError(path, "tensor '\(tensor.name)' is \(tensor.type.name), which neurotop does not dequantize (it reads \(GGMLType.dequantizable.map(\.name).joined(separator: ", ")))")
    }

    /// Little-endian reads with every length checked against the end of the file.
    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var offset = 0

        mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let size = MemoryLayout<T>.size
            guard offset + size <= bytes.count else { throw truncated() }
            defer { offset += size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }

        func truncated() -> InputError {
            InputError(path, "truncated: the header runs past the end of the file (\(bytes.count) bytes)")
        }

        mutating func string(_ what: String) throws -> String {
            let length = try read(UInt64.self)
            guard length <= UInt64(bytes.count - offset) else {
                throw InputError(path, "truncated: \(what) of \(length) bytes at offset \(offset - 8) runs past the end of the file (\(bytes.count) bytes)")
            }
            defer { offset += Int(length) }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))]), as: UTF8.self)
        }

        /// Bytes of one element of a fixed-size value type, nil for strings and arrays.
        static func fixedSize(_ type: UInt32) -> Int? {
            switch type {
            case 0, 1, 7: return 1
            case 2, 3: return 2
            case 4, 5, 6: return 4
            case 10, 11, 12: return 8
            default: return nil
            }
        }

        mutating func value(type: UInt32, key: String, inArray: Bool = false) throws -> GGUFValue {
            switch type {
            case 0: return .unsigned(UInt64(try read(UInt8.self)))
            case 1: return .signed(Int64(try read(Int8.self)))
            case 2: return .unsigned(UInt64(try read(UInt16.self)))
            case 3: return .signed(Int64(try read(Int16.self)))
            case 4: return .unsigned(UInt64(try read(UInt32.self)))
            case 5: return .signed(Int64(try read(Int32.self)))
            case 6: return .float(Double(Float(bitPattern: try read(UInt32.self))))
            case 7:
                let byte = try read(UInt8.self)
                guard byte <= 1 else { throw InputError(path, "metadata '\(key)': boolean byte \(byte)") }
                return .bool(byte == 1)
            case 8: return .string(try string("metadata '\(key)' string"))
            case 9:
                guard !inArray else { throw InputError(path, "metadata '\(key)': arrays of arrays are not supported") }
                let elementType = try read(UInt32.self)
                let count = try read(UInt64.self)
                let minimum = Self.fixedSize(elementType) ?? 8
                guard count <= UInt64((bytes.count - offset) / minimum) else {
                    throw InputError(path, "metadata '\(key)': absurd array length \(count) for a file of \(bytes.count) bytes")
                }
                var values: [GGUFValue] = []
                values.reserveCapacity(Int(count))
                for _ in 0..<count { values.append(try value(type: elementType, key: key, inArray: true)) }
                return .array(values)
            case 10: return .unsigned(try read(UInt64.self))
            case 11: return .signed(try read(Int64.self))
            case 12: return .float(Double(bitPattern: try read(UInt64.self)))
            default: throw InputError(path, "metadata '\(key)' has unknown value type \(type)")
            }
        }
    }
}
