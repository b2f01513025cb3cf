#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Floats in a file-backed map: an unlinked file in neurotop's cache folder (or the temporary
/// folder), mapped shared. Its pages are page cache the kernel can write out and drop, not
/// anonymous memory: what lets a model's large intermediate results (float32 weight copies, the
/// pooled coefficients of every question) stay out of a process's memory budget.
public final class FileBackedFloats: @unchecked Sendable {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    /// The open file: written with `pwrite` where that keeps the page cache's folios large.
    public let descriptor: Int32

    /// nil when no file can be made, or its space reserved (a full disk), or it cannot be mapped.
    public init?(count: Int) {
        let bytes = count * MemoryLayout<Float>.stride
        guard bytes > 0 else { return nil }
        let folder = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { $0 + "/neurotop" }
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/neurotop")
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var fd: Int32 = -1
        for directory in [folder, NSTemporaryDirectory()] where fd < 0 {
            var template = Array(((directory as NSString).appendingPathComponent("neurotop-floats-XXXXXX")).utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if fd >= 0 { unlink(String(cString: template)) }
        }
        guard fd >= 0 else { return nil }
        // Reserved now: a full disk is known here, not as a SIGBUS in the middle of a pass.
        guard ftruncate(fd, off_t(bytes)) == 0, posix_fallocate(fd, 0, off_t(bytes)) == 0,
              let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            close(fd)
            return nil
        }
        descriptor = fd
        pointer = mapped.assumingMemoryBound(to: Float.self)
        self.count = count
    }

    deinit {
        munmap(pointer, count * MemoryLayout<Float>.stride)
        close(descriptor)
    }
}
