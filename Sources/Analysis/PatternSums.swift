import Tensors
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The domains' running sums Σ_s a(s, w) over every block weight: `[domains, weights]` float32.
///
/// When they fit the memory budget they are one slot of anonymous memory, updated in place: a
/// step then costs no file traffic (every page of the sums changes each step, and a file written
/// back at the disk's speed set a step's time: 7.2 GB a step on a 0.5B model). They do not outlive
/// the process; a run continued elsewhere runs its steps again (`ActivationPatterns.restore`).
///
/// Otherwise they are kept in a file mapped into memory rather than in anonymous memory: a real
/// model's sums are gigabytes, which the kernel may write out and drop as it needs the memory. The
/// file has two slots: the sums after an even number of steps are in slot 0, after an odd number in
/// slot 1. A step reads one slot and writes the other, so a process killed in the middle of a step
/// leaves the previous step's sums as they were. Nothing is synced to disk: a killed process's
/// writes stay in the page cache; a machine that crashes may lose them, which the checksums the
/// store keeps for each step detect.
final class PatternSums {
    /// The file, or nil for a temporary one (removed at once, gone with the process) or memory.
    let path: String?
    let domains: Int
    let weights: Int
    /// Whether the sums are in anonymous memory (one slot) rather than a file (two).
    let inMemory: Bool
    private let base: UnsafeMutablePointer<Float>
    private let bytes: Int
    private let descriptor: Int32

    /// The sums in anonymous memory, every one 0.
    init(inMemoryDomains domains: Int, weights: Int) {
        self.domains = domains
        self.weights = weights
        inMemory = true
        path = nil
        bytes = domains * weights * MemoryLayout<Float>.stride
        descriptor = -1
        base = .allocate(capacity: max(domains * weights, 1))
        base.initialize(repeating: 0, count: domains * weights)
    }

    /// Opens the sums file at `path` (nil: a new temporary file). `fresh` empties it (every sum 0);
    /// otherwise it must already have the size `domains` and `weights` imply, else nil. A file
    /// another process holds is not shared: nil as well, and the caller uses a temporary one.
    init?(path: String?, domains: Int, weights: Int, fresh: Bool) throws {
        self.domains = domains
        self.weights = weights
        bytes = 2 * domains * weights * MemoryLayout<Float>.stride
        let name = path ?? (NSTemporaryDirectory() as NSString).appendingPathComponent("neurotop-sums-XXXXXX")
        var fd: Int32
        if path == nil {
            var template = Array(name.utf8CString)
            fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if fd >= 0 { unlink(String(cString: template)) }
        } else {
            fd = open(name, O_RDWR | O_CREAT, 0o644)
        }
        guard fd >= 0 else { throw InputError(name, "cannot create the activation-pattern sums: \(String(cString: strerror(errno)))") }
        if path != nil, flock(fd, LOCK_EX | LOCK_NB) != 0 {
            close(fd)
            return nil
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            close(fd)
            throw InputError(name, "cannot read the activation-pattern sums: \(String(cString: strerror(errno)))")
        }
        if !fresh, Int(status.st_size) != bytes {
            close(fd)
            return nil
        }
        if fresh {
            // Emptied, then its blocks reserved: a full disk is an error here, not a SIGBUS in
            // the middle of a step. Reserved blocks read as zeros.
            guard ftruncate(fd, 0) == 0, ftruncate(fd, off_t(bytes)) == 0 else {
                close(fd)
                throw InputError(name, "cannot size the activation-pattern sums (\(bytes) bytes): \(String(cString: strerror(errno)))")
            }
            let reserved = posix_fallocate(fd, 0, off_t(bytes))
            if reserved != 0 {
                let problem = String(cString: strerror(reserved))
                close(fd)
                if path != nil { unlink(name) }
                throw InputError(name, "cannot reserve \(bytes >> 20) MiB for the activation-pattern sums: \(problem)")
            }
        }
        guard let mapped = mmap(nil, max(bytes, 1), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            close(fd)
            throw InputError(name, "cannot map the activation-pattern sums into memory: \(String(cString: strerror(errno)))")
        }
        self.path = path
        inMemory = false
        descriptor = fd
        base = mapped.assumingMemoryBound(to: Float.self)
    }

    deinit {
        if inMemory {
            base.deallocate()
        } else {
            munmap(base, max(bytes, 1))
            close(descriptor)
        }
    }

    /// Bytes of anonymous memory the sums of `domains` × `weights` take in memory.
    static func memoryBytes(domains: Int, weights: Int) -> Int { domains * weights * MemoryLayout<Float>.stride }

    /// Domain `domain`'s sums in the slot of a step count (in memory, the one slot: a step reads
    /// and writes each sum in place).
    func sums(afterSteps steps: Int, domain: Int) -> UnsafeMutablePointer<Float> {
        base + ((inMemory ? 0 : steps % 2) * domains + domain) * weights
    }

    /// Removes the file (its mapping stays valid until this object goes).
    func remove() {
        if let path { unlink(path) }
    }

    /// A checksum of one domain's sums: the sum of their bit patterns (any order gives the same,
    /// so a step adds it up panel by panel as it writes them).
    static func checksum(_ values: UnsafePointer<Float>, count: Int) -> UInt64 {
        var total: UInt64 = 0
        for i in 0..<count { total = total &+ UInt64(values[i].bitPattern) }
        return total
    }
}
