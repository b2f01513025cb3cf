import Foundation
import Tensors

/// Writes float32 tensors as a safetensors file (for `--dump` and exports), tensors sorted by
/// name and the header padded so that the data starts 8-byte aligned.
public struct SafetensorsWriter {
    private var tensors: [(name: String, shape: [Int], values: [Float])] = []
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        tensors.append((name, shape, values))
    }

    public func write(to path: String) throws {
        let ordered = tensors.sorted { $0.name < $1.name }
        var header: [String: Any] = [:]
        var offset = 0
        for tensor in ordered {
            let size = tensor.values.count * 4
            header[tensor.name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for tensor in ordered {
            tensor.values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw InputError(path, "cannot write: \(error.localizedDescription)")
        }
    }
}
