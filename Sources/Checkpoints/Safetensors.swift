import Foundation
import Tensors

/// One tensor stored in a safetensors file: where its bytes are and what they mean.
public struct StoredTensor: Sendable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Byte range inside the file (absolute, header included).
    public let byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file, validated completely before any tensor is read:
/// the header length, the JSON, every dtype, every shape and offset against the file's size.
public final class SafetensorsFile {
    public let path: String
    public let tensors: [String: StoredTensor]
    /// Tensor names in file order (sorted by offset).
    public let names: [String]
    public let metadata: [String: String]
    private let file: MappedFile

    /// Headers beyond this are not plausible and would only be a way to exhaust memory.
    static let maxHeaderBytes = 100_000_000

    /// Why the file on disk is no longer the one mapped, or nil.
    public func changedSinceOpened() -> String? { file.changedSinceOpened() }

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        let bytes = file.bytes
        guard file.size >= 8 else {
            throw InputError(path, "truncated: \(file.size) bytes, too short for a safetensors header")
        }
        let headerLength = bytes.loadUnaligned(as: UInt64.self)
        guard headerLength <= UInt64(file.size - 8) else {
            throw InputError(path, "header length \(headerLength) runs past the end of the file (\(file.size) bytes)")
        }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw InputError(path, "header length \(headerLength) is implausibly large")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerData = Data(bytes[8..<headerEnd])
        guard let json = try? JSONSerialization.jsonObject(with: headerData, options: []),
              let header = json as? [String: Any] else {
            throw InputError(path, "header is not a JSON object (not a safetensors file?)")
        }
        let dataSize = file.size - headerEnd
        var tensors: [String: StoredTensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else {
                    throw InputError(path, "__metadata__ is not an object")
                }
                for (key, entry) in entries {
                    guard let text = entry as? String else {
                        throw InputError(path, "__metadata__ value for '\(key)' is not a string")
                    }
                    metadata[key] = text
                }
                continue
            }
            tensors[name] = try Self.parseEntry(name, value, dataSize: dataSize, dataStart: headerEnd, path: path)
        }
        let ordered = tensors.values.sorted { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        for (a, b) in zip(ordered, ordered.dropFirst()) where b.byteRange.lowerBound < a.byteRange.upperBound {
            throw InputError(path, "tensors '\(a.name)' and '\(b.name)' overlap")
        }
        self.tensors = tensors
        self.names = ordered.map(\.name)
        self.metadata = metadata
    }

    private static func parseEntry(_ name: String, _ value: Any, dataSize: Int, dataStart: Int, path: String) throws -> StoredTensor {
        guard let entry = value as? [String: Any] else {
            throw InputError(path, "header entry for '\(name)' is not an object")
        }
        guard let dtypeName = entry["dtype"] as? String else {
            throw InputError(path, "tensor '\(name)' has no dtype")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw InputError(path, "tensor '\(name)' has unknown dtype '\(dtypeName)'")
        }
        guard let shapeValues = entry["shape"] as? [Any] else {
            throw InputError(path, "tensor '\(name)' has no shape")
        }
        var shape: [Int] = []
        var elements = 1
        for dimension in shapeValues {
            guard let size = (dimension as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }), size >= 0 else {
                throw InputError(path, "tensor '\(name)' has an invalid shape \(shapeValues)")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow else { throw InputError(path, "tensor '\(name)' shape \(shapeValues) is too large") }
            shape.append(size)
            elements = product
        }
        guard let offsets = entry["data_offsets"] as? [Any], offsets.count == 2,
              let begin = (offsets[0] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
              let end = (offsets[1] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }) else {
            throw InputError(path, "tensor '\(name)' has invalid data_offsets")
        }
        guard begin >= 0, begin <= end else {
            throw InputError(path, "tensor '\(name)' has data_offsets [\(begin), \(end)] out of order")
        }
        guard end <= dataSize else {
            throw InputError(path, "tensor '\(name)' data_offsets [\(begin), \(end)] run past the end of the data (\(dataSize) bytes): file truncated?")
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow, bytes == end - begin else {
            throw InputError(path, "tensor '\(name)': shape \(shape) of \(dtype.rawValue) needs \(overflow ? "too many" : String(bytes)) bytes but data_offsets give \(end - begin)")
        }
        return StoredTensor(name: name, dtype: dtype, shape: shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }

    /// The stored bytes of a tensor, valid while this file is alive.
    public func rawBytes(_ tensor: StoredTensor) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[tensor.byteRange])
    }

    /// Widens a float tensor to float32 into `destination` (room for `elementCount` values).
    public func read(_ tensor: StoredTensor, into destination: UnsafeMutablePointer<Float>) throws {
        guard tensor.dtype.isReadable else {
            throw InputError(path, "tensor '\(tensor.name)' is \(tensor.dtype.rawValue); neurotop reads F32, F16 and BF16 tensors")
        }
        let raw = rawBytes(tensor)
        guard let base = raw.baseAddress else { return }
        Widen.toFloat32(tensor.dtype, from: base, count: tensor.elementCount, into: destination)
    }

    public func floats(_ tensor: StoredTensor) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: tensor.elementCount) { buffer, count in
            if let base = buffer.baseAddress { try read(tensor, into: base) }
            count = tensor.elementCount
        }
    }
}
