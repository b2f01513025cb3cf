import Foundation
import Tensors

/// A stored `[rows, width]` weight matrix, read as float32 rows on demand. `widen` is the one
/// place where a stored element type becomes float32 rows: a type that stores rows some other
/// way (quantized blocks) plugs in there, and every GEMM, gather and unembedding chunk follows.
public struct StoredMatrix: @unchecked Sendable {
    public let rows: Int
    public let width: Int
    public let dtype: DType
    /// The first row's bytes, in a mapped file that `owner` keeps alive.
    public let bytes: UnsafeRawPointer
    public let owner: AnyObject
    /// Rows that are not plain elements (a GGUF tensor: quantized blocks, rows reordered for
    /// llama.cpp's rope, norms offset) come as float32 from their own reader.
    var dequantize: ((Range<Int>, UnsafeMutablePointer<Float>) -> Void)? = nil

    /// Whether the stored bytes are float32 rows that can be used in place.
    public var isPlainFloat32: Bool { dequantize == nil && dtype == .f32 }

    var rowBytes: Int { width * dtype.byteSize }

    /// Rows `range` into `destination` (`[range.count, width]`), on two threads when large.
    public func widen(_ range: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        if let dequantize {
            dequantize(range, destination)
            return
        }
        guard range.count >= 2, range.count * width >= 1 << 16 else {
            Widen.toFloat32(dtype, from: bytes + range.lowerBound * rowBytes, count: range.count * width, into: destination)
            return
        }
        let halves = 2
        DispatchQueue.concurrentPerform(iterations: halves) { half in
            let first = range.lowerBound + range.count * half / halves, last = range.lowerBound + range.count * (half + 1) / halves
            Widen.toFloat32(dtype, from: bytes + first * rowBytes, count: (last - first) * width,
                            into: destination + (first - range.lowerBound) * width)
        }
    }

    /// Asks the kernel to start reading the matrix from the file now, in the background: from a
    /// cold page cache, faulting a matrix in page by page as the GEMMs touch it is many times slower.
    public func prefetch() {
        guard dequantize == nil else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: bytes) / page * page
        let end = Int(bitPattern: bytes) + rows * rowBytes
        madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_WILLNEED)
    }
}
