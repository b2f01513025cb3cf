import Foundation

/// Names a process among those sharing a store: `host pid nonce`. A claim whose worker ran on this
/// host in a process that no longer exists is free at once; elsewhere only its lease frees it.
public enum WorkerID {
    public static let current: String = {
        "\(host) \(getpid()) \(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
    }()

    static let host: String = {
        var name = [CChar](repeating: 0, count: 256)
        return gethostname(&name, name.count) == 0 ? String(cString: name) : "unknown-host"
    }()

    /// Whether `worker` ran on this host in a process that is gone.
    static func isGone(_ worker: String) -> Bool {
        let parts = worker.split(separator: " ")
        guard parts.count == 3, parts[0] == host, let pid = pid_t(parts[1]) else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
