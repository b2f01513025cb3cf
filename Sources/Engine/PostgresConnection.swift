import CPostgres
import Foundation
import Tensors

/// A store in a PostgreSQL database that many machines share, its blobs as bytea. A unit is
/// claimed with `SELECT … FOR UPDATE SKIP LOCKED`, and leases run on the server's clock. A lost
/// connection (the server restarted, the network went away) is retried until the server is back,
/// for up to `patienceSeconds`: the transaction cut off is run again, and its claim check tells a
/// write that had landed from one that had not.
final class PostgresConnection: SQLConnection {
    /// The URL without its password.
    let location: String
    let isReadOnly = false
    let dialect = SQLDialect(name: "PostgreSQL", integer: "BIGINT", real: "DOUBLE PRECISION", blob: "BYTEA", sharesDatabase: true,
                             now: "extract(epoch from clock_timestamp())::float8", lockingRows: " FOR UPDATE SKIP LOCKED",
                             tables: "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()")
    private let connection: OpaquePointer
    /// Inside `transaction`, which runs again as a whole after a lost connection.
    private var inTransaction = false
    /// How long a lost server is waited for before the store gives up.
    static let patienceSeconds = 600.0

    /// Connects: credentials from the URL, PGPASSWORD or ~/.pgpass; TLS when the server offers it
    /// (libpq's `sslmode=prefer`).
    init(url: String) throws {
        location = Self.withoutPassword(url)
        guard let connection = PQconnectdb(url) else { throw InputError(location, "cannot connect to the analysis store") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.firstLine(PQerrorMessage(connection))
            PQfinish(connection)
            throw InputError(location, "cannot connect to the analysis store (\(message))")
        }
        self.connection = connection
    }

    deinit { PQfinish(connection) }

    private static func withoutPassword(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.password != nil else { return url }
        parts.password = nil
        return parts.string ?? url
    }

    private static func firstLine(_ text: UnsafePointer<CChar>?) -> String {
        text.map { String(cString: $0) }?.split(separator: "\n").first.map(String.init) ?? "unknown error"
    }

    /// The sums of an unfinished pattern run stay on this machine, in its cache folder (a worker
    /// that takes a chain over on another machine starts it again from its first step, unless the
    /// cache folder is shared).
    func sumsPath(_ fingerprint: AnalysisFingerprint) -> String {
        let folder = (SQLStore.defaultPath() as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let name = location.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return (folder as NSString).appendingPathComponent("\(String(name)).\(fingerprint.id).sums")
    }

    /// Run again from the start after a lost connection.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try retried {
            inTransaction = true
            defer { inTransaction = false }
            _ = try send("BEGIN", [])
            do {
                let result = try body()
                _ = try send("COMMIT", [])
                return result
            } catch {
                if !(error is ConnectionLost) { _ = try? send("ROLLBACK", []) }
                throw error
            }
        }
    }

    /// Two processes making the tables of a new database at once would collide on the catalog.
    func changingSchema(_ body: () throws -> Void) throws {
        try transaction {
            _ = try send("SELECT pg_advisory_xact_lock(7461626)", [])
            try body()
        }
    }

    /// Alone, a statement is run again after a lost connection; in a transaction, the transaction is.
    func execute(_ sql: String, _ values: [SQLValue]) throws -> SQLResult {
        inTransaction ? try send(sql, values) : try retried { try send(sql, values) }
    }

    /// The connection broke (the server went away).
    private struct ConnectionLost: Error {}

    /// `body`, run again each time the connection breaks once the server is back (tried every
    /// second for `patienceSeconds`).
    private func retried<T>(_ body: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(Self.patienceSeconds)
        while true {
            do {
                return try body()
            } catch is ConnectionLost {
                while true {
                    PQreset(connection)
                    if PQstatus(connection) == CONNECTION_OK { break }
                    guard Date() < deadline else {
                        throw InputError(location, "the server has been gone for \(Int(Self.patienceSeconds)) s: \(Self.firstLine(PQerrorMessage(connection)))")
                    }
                    Thread.sleep(forTimeInterval: 1)
                }
            }
        }
    }

    /// One statement, its `?`s numbered `$1`, `$2`, … as PostgreSQL writes them, its parameters and
    /// results in binary form.
    private func send(_ sql: String, _ values: [SQLValue]) throws -> SQLResult {
        var numbered = "", count = 0
        for character in sql {
            if character == "?" {
                count += 1
                numbered += "$\(count)"
            } else {
                numbered.append(character)
            }
        }
        var types: [Oid] = [], formats: [Int32] = [], lengths: [Int32] = [], buffers: [Data?] = []
        for value in values {
            switch value {
            case .integer(let n): types.append(20); buffers.append(withUnsafeBytes(of: Int64(n).bigEndian) { Data($0) })
            case .real(let x): types.append(701); buffers.append(withUnsafeBytes(of: x.bitPattern.bigEndian) { Data($0) })
            case .text(let text): types.append(25); buffers.append(Data(text.utf8))
            case .blob(let data): types.append(17); buffers.append(data)
            case .null: types.append(0); buffers.append(nil)
            }
            formats.append(1)
            lengths.append(Int32(buffers.last??.count ?? 0))
        }
        // Each parameter's bytes, copied so that their addresses stay valid for the call.
        let pointers: [UnsafeMutablePointer<CChar>?] = buffers.map { data in
            guard let data else { return nil }
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(data.count, 1))
            data.withUnsafeBytes { raw in
                if let base = raw.baseAddress { UnsafeMutableRawPointer(pointer).copyMemory(from: base, byteCount: data.count) }
            }
            return pointer
        }
        defer { pointers.forEach { $0?.deallocate() } }
        let result = pointers.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { values in
            PQexecParams(connection, numbered, Int32(types.count), types, values.baseAddress, lengths, formats, 1)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            if PQstatus(connection) != CONNECTION_OK { throw ConnectionLost() }
            throw InputError(location, "the analysis store refused a statement: \(Self.firstLine(PQresultErrorMessage(result)))")
        }
        let rows = (0..<PQntuples(result)).map { row in
            SQLRow(columns: (0..<PQnfields(result)).map { column in
                if PQgetisnull(result, row, column) != 0 { return .null }
                let length = Int(PQgetlength(result, row, column))
                let bytes = length > 0 ? PQgetvalue(result, row, column).map { Data(bytes: $0, count: length) } ?? Data() : Data()
                return Self.value(bytes, type: PQftype(result, column))
            })
        }
        return SQLResult(rows: rows, changed: Int(String(cString: PQcmdTuples(result))) ?? 0)
    }

    /// A column's value from its binary form: int8, int4, float8, bytea; anything else as text.
    private static func value(_ bytes: Data, type: Oid) -> SQLValue {
        let bigEndian = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        switch type {
        case 20: return .integer(Int(Int64(bitPattern: bigEndian)))
        case 23: return .integer(Int(Int32(truncatingIfNeeded: bigEndian)))
        case 701: return .real(Double(bitPattern: bigEndian))
        case 17: return .blob(bytes)
        default: return .text(String(decoding: bytes, as: UTF8.self))
        }
    }
}
