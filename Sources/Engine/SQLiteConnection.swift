import CSQLite
import Foundation
import Tensors

/// A store in one SQLite file: the default, on this machine. Processes sharing it take turns
/// writing (a transaction locks the whole file), waiting for each other up to `busyTimeoutMilliseconds`.
final class SQLiteConnection: SQLConnection {
    /// How long a statement waits for another process's write before giving up.
    static let busyTimeoutMilliseconds = 10_000

    let path: String
    var location: String { path }
    let isReadOnly: Bool
    let dialect = SQLDialect(name: "SQLite", integer: "INTEGER", real: "REAL", blob: "BLOB", sharesDatabase: false,
                             now: "((julianday('now') - 2440587.5) * 86400.0)", lockingRows: "",
                             tables: "SELECT name FROM sqlite_master WHERE type = 'table'")
    private var db: OpaquePointer
    /// The result code of the last failure, kept before a rollback replaces SQLite's own.
    private var lastFailure = SQLITE_OK

    /// Opens (or creates) the file, and the folder it is in. A file that must not be written is
    /// opened read-only.
    init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw InputError(folder, "cannot create the folder for the analysis store")
            }
        }
        isReadOnly = Self.isReadOnly(path)
        db = try Self.open(path, readOnly: isReadOnly, immutable: false)
        if isReadOnly, (try? execute(dialect.tables, [])) == nil {
            // WAL needs its shared-memory file beside the store; in a read-only folder that may be
            // impossible to make, and the store is then read as a file nobody changes.
            let immutable = try Self.open(path, readOnly: true, immutable: true)
            sqlite3_close(db)
            db = immutable
        }
    }

    deinit { sqlite3_close(db) }

    /// Whether `path` exists and must not be written: write permission refused, or every write bit
    /// of the file off (respected even for root, who is refused nothing).
    private static func isReadOnly(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let folder = (path as NSString).deletingLastPathComponent
        return access(path, W_OK) != 0 || access(folder.isEmpty ? "." : folder, W_OK) != 0 || st.st_mode & 0o222 == 0
    }

    private static func open(_ path: String, readOnly: Bool, immutable: Bool) throws -> OpaquePointer {
        var handle: OpaquePointer?
        let status: Int32
        if readOnly {
            let escaped = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "?#%"))) ?? path
            status = sqlite3_open_v2("file:\(escaped)?\(immutable ? "immutable=1" : "mode=ro")", &handle,
                                     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nil)
        } else {
            status = sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        }
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(handle)
            throw InputError(path, "cannot open the analysis store (\(message))")
        }
        sqlite3_busy_timeout(handle, Int32(busyTimeoutMilliseconds))
        return handle
    }

    /// Beside the store file.
    func sumsPath(_ fingerprint: AnalysisFingerprint) -> String { "\(path).\(fingerprint.id).sums" }

    /// `BEGIN IMMEDIATE`: the write lock is taken at once, so that no other writer comes between
    /// the transaction's reads and its writes.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try exec("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try exec("COMMIT")
            return result
        } catch {
            if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// The file in WAL mode (readers never wait for a writer), then `body` in a transaction.
    /// SQLite answers a change of journal mode with SQLITE_BUSY at once, without its busy
    /// timeout, while another connection holds a write lock on the file (as one creating the
    /// same new store does): that is tried again for as long as the timeout.
    func changingSchema(_ body: () throws -> Void) throws {
        let deadline = Date().addingTimeInterval(Double(Self.busyTimeoutMilliseconds) / 1000)
        while true {
            do {
                try exec("PRAGMA journal_mode = WAL")
                return try transaction(body)
            } catch is InputError where lastFailure & 0xff == SQLITE_BUSY && Date() < deadline {
                usleep(2_000)
            }
        }
    }

    /// A statement without values or rows.
    private func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure("cannot write the analysis store") }
    }

    private func failure(_ what: String) -> InputError {
        lastFailure = sqlite3_errcode(db)
        return InputError(path, "\(what): \(String(cString: sqlite3_errmsg(db)))")
    }

    func execute(_ sql: String, _ values: [SQLValue]) throws -> SQLResult {
        var prepared: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &prepared, nil) == SQLITE_OK, let statement = prepared else {
            throw failure("cannot read the analysis store")
        }
        defer { sqlite3_finalize(statement) }
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let status: Int32
            switch value {
            case .integer(let n): status = sqlite3_bind_int64(statement, position, Int64(n))
            case .null: status = sqlite3_bind_null(statement, position)
            case .real(let x): status = sqlite3_bind_double(statement, position, x)
            case .text(let text): status = sqlite3_bind_text(statement, position, text, -1, neurotop_sqlite_transient())
            case .blob(let data):
                // An empty Data has no base address, which SQLite would bind as NULL.
                status = data.isEmpty ? sqlite3_bind_zeroblob(statement, position, 0)
                    : data.withUnsafeBytes { sqlite3_bind_blob64(statement, position, $0.baseAddress, sqlite3_uint64($0.count), neurotop_sqlite_transient()) }
            }
            guard status == SQLITE_OK else { throw failure("cannot bind value \(position) of a statement") }
        }
        var rows: [SQLRow] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else {
                throw failure(sqlite3_stmt_readonly(statement) != 0 ? "cannot read the analysis store" : "cannot write the analysis store")
            }
            rows.append(SQLRow(columns: (0..<sqlite3_column_count(statement)).map { column in
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: .integer(Int(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: .real(sqlite3_column_double(statement, column))
                case SQLITE_TEXT: .text(String(cString: sqlite3_column_text(statement, column)))
                case SQLITE_BLOB:
                    .blob(sqlite3_column_blob(statement, column).map { Data(bytes: $0, count: Int(sqlite3_column_bytes(statement, column))) } ?? Data())
                default: .null
                }
            }))
        }
        return SQLResult(rows: rows, changed: Int(sqlite3_changes(db)))
    }
}
