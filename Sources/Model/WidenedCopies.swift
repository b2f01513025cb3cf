import Checkpoints
import Tensors
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How a checkpoint's half-precision and quantized matrices become the float32 the GEMMs read.
public enum Widening: Sendable {
    /// Float32 copies kept when the machine has the room for them (see `WidenedCopies`), panels
    /// otherwise.
    case automatic
    /// Always a cache-sized panel right before each GEMM: memory stays at the stored size.
    case panels
}

/// Float32 copies of a checkpoint's matrices that are not stored as float32, made once on first
/// use and then read in place by every pass, exactly as an F32 checkpoint's are: widening a panel
/// before each GEMM costs every pass a conversion and smaller GEMMs, which made BF16 slower than
/// F32. The copies live in a file-backed map (an unlinked file in the cache folder), like the
/// pattern sums: page cache the kernel can write out and drop, not anonymous memory. They are
/// kept only when they take at most half the memory available at open (a 0.5B model's 2 GB here,
/// not a 7B model's 27 GB) and the disk has the room.
final class WidenedCopies: @unchecked Sendable {
    private let file: FileBackedFloats
    private let base: UnsafeMutablePointer<Float>
    let bytes: Int
    /// Each matrix's first element in the map.
    private let offsets: [String: Int]
    private var widened: Set<String> = []
    /// Two engine threads may ask for the same matrix: the first widens it, the other waits.
    private let lock = NSLock()

    /// nil when there is nothing to widen, the copies would take more than half of the memory
    /// available now, or the file cannot be made and reserved.
    init?(matrices: [(name: String, elements: Int)]) {
        var offsets: [String: Int] = [:]
        var total = 0
        for (name, elements) in matrices where offsets[name] == nil {
            offsets[name] = total
            total += elements
        }
        bytes = total * MemoryLayout<Float>.stride
        guard bytes > 0, let available = SystemMemory.available(), bytes <= available / 2,
              let file = FileBackedFloats(count: total) else { return nil }
        self.file = file
        base = file.pointer
        self.offsets = offsets
    }

    func holds(_ name: String) -> Bool { offsets[name] != nil }

    /// The float32 copy of `matrix` (stored as `name`), widened the first time it is asked for.
    func copy(_ name: String, of matrix: StoredMatrix) -> Buffer {
        let start = base + offsets[name]!
        lock.withLock {
            if !widened.contains(name) {
                // Written with pwrite a panel at a time rather than through the mapping: the page
                // cache then holds the copy in large folios, as it holds the F32 checkpoint's pages,
                // and the GEMMs read both alike (through the mapping, BF16 ran 5–8 % behind F32).
                matrix.forEachPanel { rows, panel in
                    let element = offsets[name]! + rows.lowerBound * matrix.width, count = rows.count * matrix.width
                    if !write(panel, count: count, at: element) { (base + element).update(from: panel, count: count) }
                }
                widened.insert(name)
            }
        }
        return Buffer(borrowing: start, count: matrix.rows * matrix.width, owner: self)
    }

    /// `count` floats into the file at element `element`; false if the file refuses them (its
    /// space was reserved at open, so this should not happen: the mapping then takes them).
    private func write(_ values: UnsafePointer<Float>, count: Int, at element: Int) -> Bool {
        var from = UnsafeRawPointer(values), remaining = count * MemoryLayout<Float>.stride
        var offset = off_t(element * MemoryLayout<Float>.stride)
        while remaining > 0 {
            let written = pwrite(file.descriptor, from, remaining, offset)
            guard written > 0 else { return false }
            from += written
            remaining -= written
            offset += off_t(written)
        }
        return true
    }

}
