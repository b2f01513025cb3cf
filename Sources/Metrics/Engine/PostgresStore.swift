import CPostgres
import Foundation

/// Results of analyses in a PostgreSQL database that many machines share: the tables of the
/// SQLite store (`AnalysisStore`), its blobs as bytea. A unit is claimed with
/// `SELECT … FOR UPDATE SKIP LOCKED`, and leases run on the server's clock, so that the machines'
/// clocks need not agree. A lost connection (the server restarted, the network went away) is
/// retried until the server is back, for up to `patienceSeconds`: the transaction cut off is run
/// again, and its claim check tells a write that had landed from one that had not.
public final class PostgresStore: ResultStore, @unchecked Sendable {
    /// The URL without its password.
    public let location: String
    public let isReadOnly = false
    private let url: String
    private let connection: OpaquePointer
    /// One connection, used from the engine's threads in turn.
    private let lock = NSLock()
    /// How long a lost server is waited for before the store gives up.
    public static let patienceSeconds = 600.0

    /// Connects (credentials from the URL, PGPASSWORD or ~/.pgpass; TLS when the server offers it,
    /// libpq's `sslmode=prefer`) and makes the tables a new database lacks.
    public init(url: String) throws {
        self.url = url
        location = Self.withoutPassword(url)
        guard let connection = PQconnectdb(url) else { throw InputError(Self.withoutPassword(url), "cannot connect to the analysis store") }
        self.connection = connection
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.firstLine(PQerrorMessage(connection))
            PQfinish(connection)
            throw InputError(location, "cannot connect to the analysis store (\(message))")
        }
        do {
            try createTables()
        } catch {
            PQfinish(connection)
            throw error
        }
    }

    deinit { PQfinish(connection) }

    static func withoutPassword(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.password != nil else { return url }
        parts.password = nil
        return parts.string ?? url
    }

    static func firstLine(_ text: UnsafePointer<CChar>?) -> String {
        text.map { String(cString: $0) }?.split(separator: "\n").first.map(String.init) ?? "unknown error"
    }

    /// The sums of an unfinished pattern run stay on this machine, in its cache folder (a worker
    /// that takes a chain over on another machine starts it again from its first step, unless the
    /// cache folder is shared).
    public func sumsPath(_ fingerprint: AnalysisFingerprint) -> String {
        let folder = (AnalysisStore.defaultPath() as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let name = location.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        return (folder as NSString).appendingPathComponent("\(String(name)).\(fingerprint.id).sums")
    }

    private func createTables() throws {
        try transaction {
            // Two processes making the tables of a new database at once would collide on the catalog.
            try run("SELECT pg_advisory_xact_lock(7461626)")
            try run("CREATE TABLE IF NOT EXISTS neurotop (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            try run("INSERT INTO neurotop VALUES ('format', $1), ('version', $2) ON CONFLICT DO NOTHING",
                    [.text(AnalysisStore.formatName), .text(String(AnalysisStore.format))])
            for table in [
                "analyses (fingerprint TEXT PRIMARY KEY, model TEXT, probes TEXT, domains TEXT, options TEXT, created TEXT)",
                "pooled (fingerprint TEXT, first BIGINT, questions BIGINT, neurons BIGINT, data BYTEA, PRIMARY KEY (fingerprint, first))",
                "pss (fingerprint TEXT, concept BIGINT, ratio DOUBLE PRECISION, concept_accuracy DOUBLE PRECISION, other_accuracy DOUBLE PRECISION, baseline DOUBLE PRECISION, PRIMARY KEY (fingerprint, concept, ratio))",
                "pattern_steps (fingerprint TEXT, step BIGINT, samples_seen TEXT, sums_file TEXT, checksums TEXT, PRIMARY KEY (fingerprint, step))",
                "pattern_cosines (fingerprint TEXT, step BIGINT, block BIGINT, data BYTEA, PRIMARY KEY (fingerprint, step, block))",
                "pattern_summary (fingerprint TEXT, block BIGINT, step BIGINT, activated BYTEA, activity BYTEA, PRIMARY KEY (fingerprint, block))",
                "baseline (fingerprint TEXT, question BIGINT, open_correct BIGINT, mcq_correct BIGINT, log_probabilities BYTEA, PRIMARY KEY (fingerprint, question))",
                "written (fingerprint TEXT PRIMARY KEY, at TEXT NOT NULL)",
                "estimate (fingerprint TEXT, first BIGINT, questions BIGINT, targets BIGINT, neurons BIGINT, vals BYTEA, data BYTEA, PRIMARY KEY (fingerprint, first))",
                "claims (fingerprint TEXT, unit TEXT, worker TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL, done BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (fingerprint, unit))",
            ] {
                try run("CREATE TABLE IF NOT EXISTS \(table)")
            }
            let meta = Dictionary(try run("SELECT key, value FROM neurotop").map { ($0.text(0), $0.text(1)) }, uniquingKeysWith: { a, _ in a })
            guard meta["format"] == AnalysisStore.formatName else {
                throw InputError(location, "a database with a table 'neurotop' that is not a neurotop analysis store; choose another database with --store")
            }
            guard meta["version"] == String(AnalysisStore.format) else {
                throw InputError(location, "an analysis store of format \(meta["version"] ?? "?"), this neurotop reads format \(AnalysisStore.format); choose another database with --store")
            }
        }
    }

    // MARK: What is stored for one analysis

    public func register(_ fingerprint: AnalysisFingerprint) throws {
        try transaction {
            try run("INSERT INTO analyses VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    [.text(fingerprint.id), .text(fingerprint.model), .text(fingerprint.probes), .text(fingerprint.domains),
                     .text(fingerprint.options), .text(AnalysisStore.timestamp())])
        }
    }

    public func pooledBatches(_ fingerprint: AnalysisFingerprint) throws -> [Int: [Float]] {
        let rows = try query("SELECT first, data FROM pooled WHERE fingerprint = $1", [.text(fingerprint.id)])
        return Dictionary(rows.map { ($0.integer(0), AnalysisStore.numbers($0.data(1), Float.self)) }, uniquingKeysWith: { a, _ in a })
    }

    public func savePooled(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int, values: ArraySlice<Float>,
                           claim: AnalysisStore.Claim?) throws {
        try writing(fingerprint, claim) {
            try run("DELETE FROM pooled WHERE fingerprint = $1 AND first = $2", [.text(fingerprint.id), .integer(first)])
            try run("INSERT INTO pooled VALUES ($1, $2, $3, $4, $5)",
                    [.text(fingerprint.id), .integer(first), .integer(questions), .integer(neurons), .blob(AnalysisStore.bytes(Array(values)))])
        }
    }

    public func entries(_ fingerprint: AnalysisFingerprint) throws -> [SpecializationScore.Entry] {
        try query("SELECT concept, ratio, concept_accuracy, other_accuracy, baseline FROM pss WHERE fingerprint = $1", [.text(fingerprint.id)]).map { r in
            SpecializationScore.Entry(concept: r.integer(0), ratio: r.real(1), conceptAccuracy: r.real(2), otherAccuracy: r.real(3), baseline: r.real(4))
        }
    }

    public func save(_ fingerprint: AnalysisFingerprint, entries: [SpecializationScore.Entry], claim: AnalysisStore.Claim?) throws {
        try writing(fingerprint, claim) {
            for entry in entries {
                try run("DELETE FROM pss WHERE fingerprint = $1 AND concept = $2 AND ratio = $3",
                        [.text(fingerprint.id), .integer(entry.concept), .real(entry.ratio)])
                try run("INSERT INTO pss VALUES ($1, $2, $3, $4, $5, $6)",
                        [.text(fingerprint.id), .integer(entry.concept), .real(entry.ratio), .real(entry.conceptAccuracy),
                         .real(entry.otherAccuracy), .real(entry.baseline)])
            }
        }
    }

    public func estimateChunks(_ fingerprint: AnalysisFingerprint) throws -> [Int: (questions: Int, values: [Float], attributions: [Float16])] {
        let rows = try query("SELECT first, questions, vals, data FROM estimate WHERE fingerprint = $1", [.text(fingerprint.id)])
        return Dictionary(rows.map { r in
            (r.integer(0), (r.integer(1), AnalysisStore.numbers(r.data(2), Float.self), AnalysisStore.numbers(r.data(3), Float16.self)))
        }, uniquingKeysWith: { a, _ in a })
    }

    public func saveEstimateChunk(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int,
                                  values: [Float], attributions: [Float16], claim: AnalysisStore.Claim?) throws {
        try writing(fingerprint, claim) {
            try run("DELETE FROM estimate WHERE fingerprint = $1 AND first = $2", [.text(fingerprint.id), .integer(first)])
            try run("INSERT INTO estimate VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    [.text(fingerprint.id), .integer(first), .integer(questions), .integer(values.count), .integer(neurons),
                     .blob(AnalysisStore.bytes(values)), .blob(AnalysisStore.bytes(attributions))])
        }
    }

    public func baseline(_ fingerprint: AnalysisFingerprint, questions: Int) throws -> [QuestionResult]? {
        let rows = try query("SELECT question, open_correct, mcq_correct, log_probabilities FROM baseline WHERE fingerprint = $1 ORDER BY question",
                             [.text(fingerprint.id)])
        guard rows.map({ $0.integer(0) }) == Array(0..<questions) else { return nil }
        return rows.map { r in
            QuestionResult(logProbabilities: AnalysisStore.numbers(r.data(3), Double.self),
                           multipleChoiceCorrect: r.isNull(2) ? nil : r.integer(2) != 0, openCorrect: r.integer(1) != 0)
        }
    }

    public func save(_ fingerprint: AnalysisFingerprint, baseline results: [QuestionResult], claim: AnalysisStore.Claim?) throws {
        try writing(fingerprint, claim) {
            try run("DELETE FROM baseline WHERE fingerprint = $1", [.text(fingerprint.id)])
            for (question, result) in results.enumerated() {
                try run("INSERT INTO baseline VALUES ($1, $2, $3, $4, $5)",
                        [.text(fingerprint.id), .integer(question), .integer(result.openCorrect ? 1 : 0),
                         result.multipleChoiceCorrect.map { .integer($0 ? 1 : 0) } ?? .null, .blob(AnalysisStore.bytes(result.logProbabilities))])
            }
        }
    }

    public func patterns(_ fingerprint: AnalysisFingerprint) throws -> ActivationPatterns.Stored? {
        let id = Value.text(fingerprint.id)
        guard let last = try query("SELECT step, samples_seen, checksums FROM pattern_steps WHERE fingerprint = $1 ORDER BY step DESC LIMIT 1", [id]).first
        else { return nil }
        let steps = last.integer(0)
        let cosines = try query("SELECT step, block, data FROM pattern_cosines WHERE fingerprint = $1 AND step <= $2 ORDER BY step, block",
                                [id, .integer(steps)]).map { ($0.integer(0), $0.integer(1), $0.data(2)) }
        let summary = try query("SELECT block, step, activated, activity FROM pattern_summary WHERE fingerprint = $1 ORDER BY block", [id])
            .map { ($0.integer(0), $0.integer(1), $0.data(2), $0.data(3)) }
        return AnalysisStore.patterns(steps: steps, seen: last.text(1), checksums: last.text(2), cosineRows: cosines, summaryRows: summary)
    }

    public func save(_ fingerprint: AnalysisFingerprint, patternStep record: ActivationPatterns.StepRecord, claim: AnalysisStore.Claim?) throws {
        let id = Value.text(fingerprint.id), step = record.stepsDone
        try writing(fingerprint, claim) {
            try run("DELETE FROM pattern_steps WHERE fingerprint = $1 AND step >= $2", [id, .integer(step)])
            try run("DELETE FROM pattern_cosines WHERE fingerprint = $1 AND step >= $2", [id, .integer(step)])
            try run("INSERT INTO pattern_steps VALUES ($1, $2, $3, $4, $5)",
                    [id, .integer(step), .text(record.samplesSeen.map(String.init).joined(separator: " ")),
                     record.sumsPath.map(Value.text) ?? .null, .text(record.checksums.map(String.init).joined(separator: " "))])
            for (block, perPair) in record.cosines.enumerated() {
                try run("INSERT INTO pattern_cosines VALUES ($1, $2, $3, $4)", [id, .integer(step), .integer(block), .blob(AnalysisStore.encodeCosines(perPair))])
            }
            try run("DELETE FROM pattern_summary WHERE fingerprint = $1", [id])
            let width = record.activity.first.map { $0.count / max(record.activated.count, 1) } ?? 0
            for (block, counts) in record.activated.enumerated() {
                let activity = record.activity.flatMap { $0[(block * width)..<((block + 1) * width)] }
                try run("INSERT INTO pattern_summary VALUES ($1, $2, $3, $4, $5)",
                        [id, .integer(block), .integer(step), .blob(AnalysisStore.bytes(counts.map { Int64($0) })), .blob(AnalysisStore.bytes(activity))])
            }
        }
    }

    public func analyses() throws -> [AnalysisStore.Stored] {
        func count(_ table: String, _ what: String = "COUNT(*)") -> String {
            "(SELECT \(what) FROM \(table) t WHERE t.fingerprint = a.fingerprint)"
        }
        let sql = "SELECT fingerprint, model, probes, domains, options, created, (SELECT at FROM written w WHERE w.fingerprint = a.fingerprint), "
            + "\(count("pooled")), \(count("baseline")), \(count("pss")), \(count("pattern_steps", "COALESCE(MAX(step), 0)")) FROM analyses a"
        let rows = try query(sql).map { r in
            AnalysisStore.Stored(fingerprint: r.text(0), model: r.text(1), probes: r.text(2), domains: r.text(3), options: r.text(4),
                                 created: r.text(5), written: r.isNull(6) ? nil : r.text(6), pooledBatches: r.integer(7),
                                 baselineQuestions: r.integer(8), pssEntries: r.integer(9), patternSteps: r.integer(10))
        }
        return rows.sorted { ($0.written ?? $0.created) > ($1.written ?? $1.created) }
    }

    // MARK: Claims

    /// The server's clock, in seconds since 1970.
    private static let now = "extract(epoch from clock_timestamp())::float8"

    public func claims(_ fingerprint: AnalysisFingerprint) throws -> [String: AnalysisStore.ClaimState] {
        // Expiry on this machine's clock: the time left by the server's, from now here.
        let rows = try query("SELECT unit, worker, expires - \(Self.now), done FROM claims WHERE fingerprint = $1", [.text(fingerprint.id)])
        let here = Date().timeIntervalSince1970
        return Dictionary(rows.map { r in
            (r.text(0), AnalysisStore.ClaimState(worker: r.text(1), expires: here + r.real(2), done: r.integer(3) != 0))
        }, uniquingKeysWith: { a, _ in a })
    }

    public func claim(_ fingerprint: AnalysisFingerprint, unit: String, worker: String, lease: Double) throws -> Bool {
        let key: [Value] = [.text(fingerprint.id), .text(unit)]
        return try transaction {
            if try run("INSERT INTO claims VALUES ($1, $2, $3, \(Self.now) + $4, 0) ON CONFLICT DO NOTHING",
                       key + [.text(worker), .real(lease)], affected: true) == 1 {
                return true
            }
            // A row another transaction is claiming at this moment is skipped: that one wins it.
            guard let holder = try run("SELECT worker, expires - \(Self.now), done FROM claims WHERE fingerprint = $1 AND unit = $2 FOR UPDATE SKIP LOCKED", key).first
            else { return false }
            let state = AnalysisStore.ClaimState(worker: holder.text(0), expires: Date().timeIntervalSince1970 + holder.real(1), done: holder.integer(2) != 0)
            if state.done || (state.worker != worker && !state.isFree(at: Date().timeIntervalSince1970)) { return false }
            try run("UPDATE claims SET worker = $3, expires = \(Self.now) + $4 WHERE fingerprint = $1 AND unit = $2", key + [.text(worker), .real(lease)])
            return true
        }
    }

    public func renew(_ fingerprint: AnalysisFingerprint, units: [String], worker: String, lease: Double) throws -> [String] {
        try transaction {
            try units.filter { unit in
                try run("UPDATE claims SET expires = \(Self.now) + $4 WHERE fingerprint = $1 AND unit = $2 AND worker = $3 AND done = 0",
                        [.text(fingerprint.id), .text(unit), .text(worker), .real(lease)], affected: true) != 1
            }
        }
    }

    public func release(_ fingerprint: AnalysisFingerprint, units: [String], worker: String) throws {
        try transaction {
            for unit in units {
                try run("DELETE FROM claims WHERE fingerprint = $1 AND unit = $2 AND worker = $3 AND done = 0",
                        [.text(fingerprint.id), .text(unit), .text(worker)])
            }
        }
    }

    /// A unit's result in one transaction with its claim's check (see `AnalysisStore.transaction`).
    /// Run again after a lost connection, a claim this worker had already completed means the
    /// first attempt's commit landed: the same rows are written again, nothing is doubled.
    private func writing(_ fingerprint: AnalysisFingerprint, _ claim: AnalysisStore.Claim?, _ body: () throws -> Void) throws {
        try transaction {
            if let claim {
                let key: [Value] = [.text(fingerprint.id), .text(claim.unit), .text(claim.worker)]
                let held = try run("UPDATE claims SET done = $4, expires = \(Self.now) + $5 WHERE fingerprint = $1 AND unit = $2 AND worker = $3 AND done = 0",
                                   key + [.integer(claim.completes ? 1 : 0), .real(claim.lease)], affected: true) == 1
                if !held {
                    let landed = try run("SELECT 1 FROM claims WHERE fingerprint = $1 AND unit = $2 AND worker = $3 AND done = 1", key).count == 1
                    guard landed else { throw AnalysisStore.ClaimLost(unit: claim.unit) }
                }
            }
            try body()
            try run("INSERT INTO written VALUES ($1, $2) ON CONFLICT (fingerprint) DO UPDATE SET at = excluded.at",
                    [.text(fingerprint.id), .text(AnalysisStore.timestamp())])
        }
    }

    // MARK: libpq calls

    enum Value {
        case integer(Int)
        case real(Double)
        case text(String)
        case blob(Data)
        case null
    }

    /// A result row, every column in binary form.
    struct Row {
        let columns: [Data?]
        func isNull(_ column: Int) -> Bool { columns[column] == nil }
        func data(_ column: Int) -> Data { columns[column] ?? Data() }
        func text(_ column: Int) -> String { String(decoding: data(column), as: UTF8.self) }
        /// An int8 (or int4) column.
        func integer(_ column: Int) -> Int {
            let bytes = data(column)
            return bytes.withUnsafeBytes { raw in
                raw.count == 8 ? Int(Int64(bigEndian: raw.loadUnaligned(as: Int64.self)))
                    : raw.count == 4 ? Int(Int32(bigEndian: raw.loadUnaligned(as: Int32.self))) : 0
            }
        }
        func real(_ column: Int) -> Double {
            Double(bitPattern: data(column).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
    }

    /// The connection broke (the server went away); the transaction is run again once it is back.
    private struct ConnectionLost: Error {}

    /// Runs `body` in one transaction, run again from the start after a lost connection.
    @discardableResult
    private func transaction<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock {
            let deadline = Date().addingTimeInterval(Self.patienceSeconds)
            while true {
                do {
                    try run("BEGIN")
                    let result = try body()
                    try run("COMMIT")
                    return result
                } catch is ConnectionLost {
                    try reconnect(until: deadline)
                } catch {
                    _ = try? run("ROLLBACK")
                    throw error
                }
            }
        }
    }

    /// One statement outside a transaction, run again after a lost connection.
    private func query(_ sql: String, _ values: [Value] = []) throws -> [Row] {
        try transaction { try run(sql, values) }
    }

    /// Waits for the server, trying to connect again every second until `deadline`.
    private func reconnect(until deadline: Date) throws {
        while true {
            PQreset(connection)
            if PQstatus(connection) == CONNECTION_OK { return }
            guard Date() < deadline else {
                throw InputError(location, "the server has been gone for \(Int(Self.patienceSeconds)) s: \(Self.firstLine(PQerrorMessage(connection)))")
            }
            Thread.sleep(forTimeInterval: 1)
        }
    }

    /// One statement, its parameters and results in binary form.
    @discardableResult
    private func run(_ sql: String, _ values: [Value] = []) throws -> [Row] {
        try execute(sql, values).rows
    }

    /// One statement; with `affected`, the number of rows it changed.
    private func run(_ sql: String, _ values: [Value], affected: Bool) throws -> Int {
        try execute(sql, values).affected
    }

    private func execute(_ sql: String, _ values: [Value]) throws -> (rows: [Row], affected: Int) {
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
            PQexecParams(connection, sql, Int32(types.count), types, values.baseAddress, lengths, formats, 1)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            if PQstatus(connection) != CONNECTION_OK { throw ConnectionLost() }
            throw InputError(location, "the analysis store refused a statement: \(Self.firstLine(PQresultErrorMessage(result)))")
        }
        var rows: [Row] = []
        for row in 0..<PQntuples(result) {
            rows.append(Row(columns: (0..<PQnfields(result)).map { column in
                if PQgetisnull(result, row, column) != 0 { return nil }
                let length = Int(PQgetlength(result, row, column))
                guard length > 0, let bytes = PQgetvalue(result, row, column) else { return Data() }
                return Data(bytes: bytes, count: length)
            }))
        }
        return (rows, Int(String(cString: PQcmdTuples(result))) ?? 0)
    }
}
