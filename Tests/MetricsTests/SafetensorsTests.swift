import Foundation
import Checkpoints
import Tensors
import Testing

@Suite struct SafetensorsValidation {
    /// Opening `bytes` as a safetensors file fails with a message naming the file and containing `expected`.
    func expectRejected(_ bytes: Data, _ expected: String) {
        let folder = TemporaryFolder()
        let path = folder.write("model.safetensors", bytes)
        do {
            _ = try SafetensorsFile(path: path)
            Issue.record("accepted a malformed file; expected '\(expected)'")
        } catch let error as InputError {
            #expect(error.path == path)
            #expect(error.description.contains(expected), "message was: \(error)")
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    let f32Pair = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    @Test func truncatedFile() {
        expectRejected(Data([1, 2, 3]), "truncated")
    }

    @Test func emptyFile() {
        expectRejected(Data(), "empty")
    }

    @Test func headerLengthPastTheEnd() {
        expectRejected(safetensorsBytes(header: f32Pair, data: Array(repeating: 0, count: 8), declaredHeaderLength: 10_000), "past the end of the file")
    }

    @Test func headerNotJSON() {
        expectRejected(safetensorsBytes(header: "{not json", data: []), "not a JSON object")
    }

    @Test func headerIsJSONButNotAnObject() {
        expectRejected(safetensorsBytes(header: "[1,2]", data: []), "not a JSON object")
    }

    @Test func offsetsPastTheEnd() {
        expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: Array(repeating: 0, count: 8)), "run past the end")
    }

    @Test func offsetsOverlapping() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        expectRejected(safetensorsBytes(header: header, data: Array(repeating: 0, count: 12)), "overlap")
    }

    @Test func offsetsOutOfOrder() {
        expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: Array(repeating: 0, count: 8)), "out of order")
    }

    @Test func shapeNotMatchingOffsets() {
        expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F16","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "needs 6 bytes but data_offsets give 8")
    }

    @Test func hugeShapeDoesNotOverflow() {
        let header = #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}"#
        expectRejected(safetensorsBytes(header: header, data: Array(repeating: 0, count: 8)), "too large")
    }

    @Test func negativeDimension() {
        expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "invalid shape")
    }

    @Test func unknownDType() {
        expectRejected(safetensorsBytes(header: #"{"a":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "unknown dtype 'Q4_K'")
    }

    @Test func metadataMustBeStrings() {
        expectRejected(safetensorsBytes(header: #"{"__metadata__":{"format":3}}"#, data: []), "not a string")
    }

    @Test func knownButUnreadableDTypeIsRefusedByName() throws {
        let folder = TemporaryFolder()
        let path = folder.write("ids.safetensors", safetensorsBytes(header: #"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)))
        let file = try SafetensorsFile(path: path)
        let tensor = try #require(file.tensors["ids"])
        #expect(throws: InputError(path, "tensor 'ids' is I64; neurotop reads F32, F16 and BF16 tensors")) { try file.floats(tensor) }
    }

    @Test func readsAllThreeFloatTypesExactly() throws {
        // 1.5, -2.0 as F32; 1.5, -2.0 as F16 (0x3E00, 0xC000); 1.5, -2.0 as BF16 (0x3FC0, 0xC000).
        var data: [UInt8] = []
        for value: Float in [1.5, -2] { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 } }
        data += [0x00, 0x3E, 0x00, 0xC0]
        data += [0xC0, 0x3F, 0x00, 0xC0]
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1,2],"data_offsets":[8,12]},"c":{"dtype":"BF16","shape":[2],"data_offsets":[12,16]}}"#
        let folder = TemporaryFolder()
        let file = try SafetensorsFile(path: folder.write("x.safetensors", safetensorsBytes(header: header, data: data)))
        #expect(file.metadata == ["format": "pt"])
        #expect(file.names == ["a", "b", "c"])
        for name in ["a", "b", "c"] {
            #expect(try file.floats(#require(file.tensors[name])) == [1.5, -2])
        }
        #expect(file.tensors["b"]?.shape == [1, 2])
    }
}
