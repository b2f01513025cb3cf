import Foundation

/// One connection to a SQL database holding a store: what `SQLStore` needs of a backend. The
/// store writes every statement once, with `?` for each bound value, and calls the connection
/// from one thread at a time.
protocol SQLConnection: AnyObject {
    /// The store as the user named it, for messages: a path, or a URL without its password.
    var location: String { get }
    /// Finished results are read, nothing is written.
    var isReadOnly: Bool { get }
    var dialect: SQLDialect { get }
    /// The file an unfinished run of the activation patterns keeps its sums in between steps.
    func sumsPath(_ fingerprint: AnalysisFingerprint) -> String
    /// One statement: the rows it returns, and how many rows it changed (an INSERT, UPDATE or
    /// DELETE). Alone, or inside `transaction`.
    func execute(_ sql: String, _ values: [SQLValue]) throws -> SQLResult
    /// `body`'s statements in one transaction that writes: everything lands together or not at all.
    /// It locks the rows it writes, and those it reads with `SQLDialect.lockingRows` (a SQLite
    /// transaction locks the whole file).
    func transaction<T>(_ body: () throws -> T) throws -> T
    /// A transaction that makes tables: safe while other processes make the same tables at once.
    func changingSchema(_ body: () throws -> Void) throws
}

/// What the SQL of a backend spells its own way, and what its databases hold besides a store.
struct SQLDialect {
    /// For messages, e.g. "SQLite".
    let name: String
    /// Column types: 64-bit integers, 64-bit floating point numbers, bytes.
    let integer: String
    let real: String
    let blob: String
    /// A database that may hold other tables beside the store's (a server's), rather than a file
    /// that is a store or nothing.
    let sharesDatabase: Bool
    /// The store's clock, in seconds since 1970: on a server, the server's, so that the clocks of
    /// the machines sharing it need not agree.
    let now: String
    /// Ends a SELECT inside a transaction that will update the rows it reads: locks them, and
    /// skips rows another transaction locked ("" where a transaction holds the whole store).
    let lockingRows: String
    /// Lists the names of the store's tables (one text column).
    let tables: String
}

enum SQLValue {
    case integer(Int)
    case real(Double)
    case text(String)
    case blob(Data)
    case null
}

/// A statement's result.
struct SQLResult {
    let rows: [SQLRow]
    let changed: Int
}

/// A result row; a column read as another type than its own is converted as SQLite converts it.
struct SQLRow {
    let columns: [SQLValue]

    func isNull(_ column: Int) -> Bool {
        if case .null = columns[column] { return true }
        return false
    }

    func integer(_ column: Int) -> Int {
        switch columns[column] {
        case .integer(let n): n
        case .real(let x): Int(x)
        case .text(let text): Int(text) ?? 0
        case .blob, .null: 0
        }
    }

    func real(_ column: Int) -> Double {
        switch columns[column] {
        case .integer(let n): Double(n)
        case .real(let x): x
        case .text(let text): Double(text) ?? 0
        case .blob, .null: 0
        }
    }

    func text(_ column: Int) -> String {
        switch columns[column] {
        case .integer(let n): String(n)
        case .real(let x): String(x)
        case .text(let text): text
        case .blob(let data): String(decoding: data, as: UTF8.self)
        case .null: ""
        }
    }

    func data(_ column: Int) -> Data {
        switch columns[column] {
        case .text(let text): Data(text.utf8)
        case .blob(let data): data
        case .integer, .real, .null: Data()
        }
    }
}
