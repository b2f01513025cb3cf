import Tensors
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A read-only memory map of a whole file. Pages are read by the kernel as they are touched,
/// so opening a large checkpoint costs nothing until its tensors are used.
///
/// A mapped file that is truncated or replaced while it is read raises SIGBUS on the next page
/// touched. `MappedFile` turns that into one line naming the file and exit status 1, after the
/// cleanup registered with `onFatalSignal` (the front end gives the terminal back there), instead
/// of a crash. `changedSinceOpened()` finds most such changes earlier, at the cost of one `stat`.
public final class MappedFile {
    public let path: String
    public let size: Int
    public let bytes: UnsafeRawBufferPointer
    /// What the file was when it was mapped.
    private let identity: FileIdentity

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw InputError(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw InputError(path, "cannot stat: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw InputError(path, "not a regular file") }
        size = Int(st.st_size)
        guard size > 0 else { throw InputError(path, "file is empty") }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw InputError(path, "cannot map into memory: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
        identity = FileIdentity(st)
        MappedRanges.shared.add(base, size: size, path: path)
    }

    deinit {
        MappedRanges.shared.remove(bytes.baseAddress!)
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), size)
    }

    /// A description of the change when the file at `path` is no longer the file that was mapped
    /// (removed, replaced, truncated, rewritten), nil while it is the same.
    public func changedSinceOpened() -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return "it was removed" }
        let now = FileIdentity(st)
        if now.device != identity.device || now.inode != identity.inode { return "it was replaced" }
        if now.size != identity.size { return "its size changed from \(identity.size) to \(now.size) bytes" }
        if now.modified != identity.modified { return "it was rewritten" }
        return nil
    }

    /// Ends the process as a fault in a mapped file does: the registered cleanup, one line, status 1.
    public static func end(_ path: String, _ problem: String) -> Never {
        fatalCleanup?()
        FileHandle.standardError.write(Data("neurotop: \(path): \(problem)\n".utf8))
        exit(1)
    }

    /// A function to call before the process ends on a fatal signal from a mapped file. It runs in
    /// a signal handler: only async-signal-safe calls (write, tcsetattr) belong in it.
    public static func onFatalSignal(_ cleanup: @escaping @convention(c) () -> Void) {
        MappedRanges.shared.installHandler()
        fatalCleanup = cleanup
    }
}

private struct FileIdentity {
    let device: UInt64
    let inode: UInt64
    let size: Int64
    let modified: Int64

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }
}

nonisolated(unsafe) private var fatalCleanup: (@convention(c) () -> Void)?

/// The mapped ranges with their paths, in plain C memory, so that the SIGBUS handler can find the
/// file behind a faulting address without allocating or taking a lock.
private final class MappedRanges: @unchecked Sendable {
    static let shared = MappedRanges()

    private struct Record {
        var start: UInt = 0
        var end: UInt = 0
        var path: UnsafeMutablePointer<CChar>?
    }

    private static let capacity = 1024
    private let records = UnsafeMutablePointer<Record>.allocate(capacity: MappedRanges.capacity)
    private let lock = NSLock()
    private var installed = false

    private init() {
        records.initialize(repeating: Record(), count: Self.capacity)
        installHandler()
    }

    func add(_ base: UnsafeMutableRawPointer, size: Int, path: String) {
        lock.withLock {
            guard let slot = (0..<Self.capacity).first(where: { records[$0].path == nil }) else { return }
            // The path first, the range last: the handler reads a record only once its end is set.
            records[slot].path = strdup(path)
            records[slot].start = UInt(bitPattern: base)
            records[slot].end = UInt(bitPattern: base) + UInt(size)
        }
    }

    func remove(_ base: UnsafeRawPointer) {
        lock.withLock {
            for slot in 0..<Self.capacity where records[slot].start == UInt(bitPattern: base) && records[slot].path != nil {
                let path = records[slot].path
                records[slot] = Record()
                free(path)
            }
        }
    }

    func installHandler() {
        lock.withLock {
            guard !installed else { return }
            installed = true
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { _, info, _ in
                MappedRanges.shared.fault(at: UInt(bitPattern: info?.pointee._sifields._sigfault.si_addr))
            }
            action.sa_flags = SA_SIGINFO
            sigemptyset(&action.sa_mask)
            sigaction(SIGBUS, &action, nil)
        }
    }

    /// In the signal handler: the cleanup, one line naming the file, exit status 1. A SIGBUS that
    /// is not from a mapped file keeps its default meaning.
    private func fault(at address: UInt) {
        for slot in 0..<Self.capacity {
            let record = records[slot]
            guard let path = record.path, record.start <= address, address < record.end else { continue }
            fatalCleanup?()
            func say(_ text: UnsafePointer<CChar>) { _ = write(STDERR_FILENO, text, strlen(text)) }
            say("neurotop: ")
            say(path)
            say(": the file changed while neurotop was reading it (truncated or replaced); open the model again\n")
            _exit(1)
        }
        signal(SIGBUS, SIG_DFL)
        raise(SIGBUS)
    }
}
