import Foundation
import Analysis
import Tensors

/// Results of analyses in a SQL database, so that a run that stops (or is killed) resumes where it
/// stopped and a model opened again shows what was finished at once: a SQLite file
/// (`SQLiteConnection`, the default) or a PostgreSQL database that many machines share
/// (`PostgresConnection`), with the same tables. Every analysis is keyed by a fingerprint of its
/// inputs (`AnalysisFingerprint`); each unit of work is written in its own transaction as soon as
/// it is computed.
public final class SQLStore: ResultStore, @unchecked Sendable {
    /// The layout of the tables. A store written with another format is refused, never changed.
    public static let format = 2
    static let formatName = "neurotop analysis store"

    private let connection: SQLConnection
    /// One connection, used from the engine's threads in turn and (for reads) from whoever opened it.
    private let lock = NSLock()
    public var location: String { connection.location }
    /// A store that cannot be written (for a file: it or its folder read-only, or its write bits
    /// all off): its finished results are read, nothing is written to it.
    public var isReadOnly: Bool { connection.isReadOnly }
    private var hasEstimateTable = false

    /// `$XDG_CACHE_HOME/neurotop/analyses.sqlite`, or `~/.cache/neurotop/analyses.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cache")
        return (cache as NSString).appendingPathComponent("neurotop/analyses.sqlite")
    }

    /// Opens (or creates) the store in the SQLite file `path`.
    public convenience init(path: String) throws {
        try self.init(connection: SQLiteConnection(path: path))
    }

    /// Connects to the store in the PostgreSQL database `url` (making its tables if it has none).
    public convenience init(url: String) throws {
        try self.init(connection: PostgresConnection(url: url))
    }

    /// A database that is not a neurotop store, or a store of another format, is refused with an
    /// error naming it, and left exactly as it was.
    init(connection: SQLConnection) throws {
        self.connection = connection
        try checkFormat()
    }

    private func checkFormat() throws {
        let dialect = connection.dialect
        let chooseAnother = dialect.sharesDatabase ? "choose another database with --store"
            : "choose another file with --store (this one was not changed)"
        var tables: [String]
        do {
            tables = try tableNames()
        } catch let error as InputError {
            throw InputError(location, "not an analysis store: \(error.problem); \(chooseAnother)")
        }
        if !tables.contains("neurotop") {
            if tables.isEmpty && isReadOnly {
                throw InputError(location, "read-only, and not an analysis store; \(chooseAnother)")
            }
            guard tables.isEmpty || dialect.sharesDatabase else {
                throw InputError(location, "a \(dialect.name) database, but not a neurotop analysis store (tables: \(tables.sorted().joined(separator: ", "))); \(chooseAnother)")
            }
            // Another process may be creating the same store at this moment: the statements are
            // idempotent and run in one transaction, so either order works.
            try createTables()
            tables = try tableNames()
        }
        let values = try connection.execute("SELECT key, value FROM neurotop", []).rows.map { ($0.text(0), $0.text(1)) }
        let meta = Dictionary(values, uniquingKeysWith: { a, _ in a })
        guard meta["format"] == Self.formatName else {
            let what = dialect.sharesDatabase ? "a database with a table 'neurotop' that is not a neurotop analysis store" : "not a neurotop analysis store"
            throw InputError(location, "\(what); \(chooseAnother)")
        }
        guard meta["version"] == String(Self.format) else {
            throw InputError(location, "an analysis store of format \(meta["version"] ?? "?"), this neurotop reads format \(Self.format); \(chooseAnother)")
        }
        if !isReadOnly && !Self.tables(dialect).allSatisfy({ tables.contains($0.name) }) {
            // A store made before the write times, the ablation estimate or the claims existed
            // gains their tables; nothing else changes.
            try createTables()
            tables = try tableNames()
        }
        hasEstimateTable = tables.contains("estimate")
    }

    private func tableNames() throws -> [String] {
        try connection.execute(connection.dialect.tables, []).rows.map { $0.text(0) }
    }

    /// The tables of format 2, and their columns.
    private static func tables(_ d: SQLDialect) -> [(name: String, columns: String)] {
        [
            ("neurotop", "key TEXT PRIMARY KEY, value TEXT NOT NULL"),
            ("analyses", "fingerprint TEXT PRIMARY KEY, model TEXT, probes TEXT, domains TEXT, options TEXT, created TEXT"),
            ("pooled", "fingerprint TEXT, first \(d.integer), questions \(d.integer), neurons \(d.integer), data \(d.blob), PRIMARY KEY (fingerprint, first)"),
            ("pss", "fingerprint TEXT, concept \(d.integer), ratio \(d.real), concept_accuracy \(d.real), other_accuracy \(d.real), baseline \(d.real), "
                + "PRIMARY KEY (fingerprint, concept, ratio)"),
            ("pattern_steps", "fingerprint TEXT, step \(d.integer), samples_seen TEXT, sums_file TEXT, checksums TEXT, PRIMARY KEY (fingerprint, step)"),
            ("pattern_cosines", "fingerprint TEXT, step \(d.integer), block \(d.integer), data \(d.blob), PRIMARY KEY (fingerprint, step, block)"),
            ("pattern_summary", "fingerprint TEXT, block \(d.integer), step \(d.integer), activated \(d.blob), activity \(d.blob), PRIMARY KEY (fingerprint, block)"),
            ("baseline", "fingerprint TEXT, question \(d.integer), open_correct \(d.integer), mcq_correct \(d.integer), log_probabilities \(d.blob), "
                + "PRIMARY KEY (fingerprint, question)"),
            // When each analysis was last written to. Added to format 2 without changing it, like
            // the two below: reads of a store without it say "not recorded".
            ("written", "fingerprint TEXT PRIMARY KEY, at TEXT NOT NULL"),
            // The ablation estimate's attributions, a chunk of questions a row: their targets'
            // values (float32) and attributions `[targets, neurons]` (float16).
            ("estimate", "fingerprint TEXT, first \(d.integer), questions \(d.integer), targets \(d.integer), neurons \(d.integer), "
                + "vals \(d.blob), data \(d.blob), PRIMARY KEY (fingerprint, first)"),
            // Who works on which unit of an analysis, when processes share the store: a row per
            // unit claimed, the worker holding it and until when (seconds since 1970, the store's
            // clock), and whether its result is stored.
            ("claims", "fingerprint TEXT, unit TEXT, worker TEXT NOT NULL, expires \(d.real) NOT NULL, done \(d.integer) NOT NULL DEFAULT 0, "
                + "PRIMARY KEY (fingerprint, unit)"),
        ]
    }

    private func createTables() throws {
        try connection.changingSchema {
            for table in Self.tables(connection.dialect) {
                _ = try connection.execute("CREATE TABLE IF NOT EXISTS \(table.name) (\(table.columns))", [])
            }
            _ = try connection.execute("INSERT INTO neurotop VALUES (?, ?), (?, ?) ON CONFLICT DO NOTHING",
                                       [.text("format"), .text(Self.formatName), .text("version"), .text(String(Self.format))])
        }
    }

    // MARK: What is stored for one analysis

    public func sumsPath(_ fingerprint: AnalysisFingerprint) -> String { connection.sumsPath(fingerprint) }

    public func register(_ fingerprint: AnalysisFingerprint) throws {
        // Opening an analysis is not writing a result: `written` stays as it was.
        try transaction {
            try run("INSERT INTO analyses VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [.text(fingerprint.id), .text(fingerprint.model), .text(fingerprint.probes), .text(fingerprint.domains),
                     .text(fingerprint.options), .text(Self.timestamp())])
        }
    }

    /// Pooled coefficients per batch of questions: first question → values `[questions, neurons]`.
    public func pooledBatchFirsts(_ fingerprint: AnalysisFingerprint) throws -> [Int] {
        try query("SELECT first FROM pooled WHERE fingerprint = ? ORDER BY first", [.text(fingerprint.id)]).map { $0.integer(0) }
    }

    public func pooledBatch(_ fingerprint: AnalysisFingerprint, first: Int) throws -> [Float]? {
        try query("SELECT data FROM pooled WHERE fingerprint = ? AND first = ?", [.text(fingerprint.id), .integer(first)])
            .first.map { numbers($0.data(0), Float.self) }
    }

    public func savePooled(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int, values: ArraySlice<Float>,
                           claim: UnitClaim? = nil) throws {
        try writing(fingerprint, claim) {
            try run("DELETE FROM pooled WHERE fingerprint = ? AND first = ?", [.text(fingerprint.id), .integer(first)])
            try run("INSERT INTO pooled VALUES (?, ?, ?, ?, ?)",
                    [.text(fingerprint.id), .integer(first), .integer(questions), .integer(neurons), .blob(bytes(Array(values)))])
        }
    }

    public func entries(_ fingerprint: AnalysisFingerprint) throws -> [SpecializationScore.Entry] {
        try query("SELECT concept, ratio, concept_accuracy, other_accuracy, baseline FROM pss WHERE fingerprint = ?", [.text(fingerprint.id)]).map { r in
            SpecializationScore.Entry(concept: r.integer(0), ratio: r.real(1), conceptAccuracy: r.real(2), otherAccuracy: r.real(3), baseline: r.real(4))
        }
    }

    public func save(_ fingerprint: AnalysisFingerprint, entries: [SpecializationScore.Entry], claim: UnitClaim? = nil) throws {
        try writing(fingerprint, claim) {
            for entry in entries {
                try run("DELETE FROM pss WHERE fingerprint = ? AND concept = ? AND ratio = ?",
                        [.text(fingerprint.id), .integer(entry.concept), .real(entry.ratio)])
                try run("INSERT INTO pss VALUES (?, ?, ?, ?, ?, ?)",
                        [.text(fingerprint.id), .integer(entry.concept), .real(entry.ratio), .real(entry.conceptAccuracy),
                         .real(entry.otherAccuracy), .real(entry.baseline)])
            }
        }
    }

    /// The ablation estimate's stored chunks: first question → (questions, values, attributions).
    public func estimateChunks(_ fingerprint: AnalysisFingerprint) throws -> [Int: (questions: Int, values: [Float], attributions: [Float16])] {
        guard hasEstimateTable else { return [:] }
        let rows = try query("SELECT first, questions, vals, data FROM estimate WHERE fingerprint = ?", [.text(fingerprint.id)])
        return Dictionary(rows.map { r in
            (r.integer(0), (r.integer(1), numbers(r.data(2), Float.self), numbers(r.data(3), Float16.self)))
        }, uniquingKeysWith: { a, _ in a })
    }

    public func saveEstimateChunk(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int,
                                  values: [Float], attributions: [Float16], claim: UnitClaim? = nil) throws {
        try writing(fingerprint, claim) {
            try run("DELETE FROM estimate WHERE fingerprint = ? AND first = ?", [.text(fingerprint.id), .integer(first)])
            try run("INSERT INTO estimate VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(fingerprint.id), .integer(first), .integer(questions), .integer(values.count), .integer(neurons),
                     .blob(bytes(values)), .blob(bytes(attributions))])
        }
    }

    /// The unmasked evaluation, every question's result; nil unless all `questions` are stored.
    public func baseline(_ fingerprint: AnalysisFingerprint, questions: Int) throws -> [QuestionResult]? {
        let rows = try query("SELECT question, open_correct, mcq_correct, log_probabilities FROM baseline WHERE fingerprint = ? ORDER BY question",
                             [.text(fingerprint.id)])
        guard rows.map({ $0.integer(0) }) == Array(0..<questions) else { return nil }
        return rows.map { r in
            QuestionResult(logProbabilities: numbers(r.data(3), Double.self),
                           multipleChoiceCorrect: r.isNull(2) ? nil : r.integer(2) != 0, openCorrect: r.integer(1) != 0)
        }
    }

    /// Writes the unmasked evaluation, all questions in one transaction, in place of what was stored.
    public func save(_ fingerprint: AnalysisFingerprint, baseline results: [QuestionResult], pooled: PooledCoefficients? = nil,
                     batch: Int = 64, claim: UnitClaim? = nil) throws {
        try writing(fingerprint, claim) {
            try run("DELETE FROM baseline WHERE fingerprint = ?", [.text(fingerprint.id)])
            for (question, result) in results.enumerated() {
                try run("INSERT INTO baseline VALUES (?, ?, ?, ?, ?)",
                        [.text(fingerprint.id), .integer(question), .integer(result.openCorrect ? 1 : 0),
                         result.multipleChoiceCorrect.map { .integer($0 ? 1 : 0) } ?? .null, .blob(bytes(result.logProbabilities))])
            }
            guard let pooled else { return }
            try run("DELETE FROM pooled WHERE fingerprint = ?", [.text(fingerprint.id)])
            for first in stride(from: 0, to: pooled.questions, by: batch) {
                let count = min(batch, pooled.questions - first)
                let values = pooled.values[(first * pooled.neurons)..<((first + count) * pooled.neurons)]
                try run("INSERT INTO pooled VALUES (?, ?, ?, ?, ?)",
                        [.text(fingerprint.id), .integer(first), .integer(count), .integer(pooled.neurons), .blob(bytes(Array(values)))])
            }
        }
    }

    /// The activation patterns as far as they were stored: every step's cosines, and the last
    /// step's counts, samples, neuron activity and sums checksums. Nil when no step is stored, or
    /// when what is stored is incomplete (the run then starts over).
    public func patterns(_ fingerprint: AnalysisFingerprint) throws -> ActivationPatterns.Stored? {
        let id = SQLValue.text(fingerprint.id)
        guard let last = try query("SELECT step, samples_seen, checksums FROM pattern_steps WHERE fingerprint = ? ORDER BY step DESC LIMIT 1", [id]).first
        else { return nil }
        let steps = last.integer(0)
        let seen = last.text(1).split(separator: " ").compactMap { Int($0) }
        let checksums = last.text(2).split(separator: " ").compactMap { UInt64($0) }
        // Cosines: the stored steps' values per block, appended step after step.
        var cosines: [[[Double]]] = []
        var stepsPerBlock: [Int] = []
        for row in try query("SELECT step, block, data FROM pattern_cosines WHERE fingerprint = ? AND step <= ? ORDER BY step, block", [id, .integer(steps)]) {
            let step = row.integer(0), block = row.integer(1)
            guard let perPair = decodeCosines(row.data(2)), block <= cosines.count else { return nil }
            if block == cosines.count {
                cosines.append(Array(repeating: [], count: perPair.count))
                stepsPerBlock.append(0)
            }
            guard stepsPerBlock[block] == step - 1, cosines[block].count == perPair.count else { return nil }
            for (pair, values) in perPair.enumerated() { cosines[block][pair] += values }
            stepsPerBlock[block] = step
        }
        guard !cosines.isEmpty, stepsPerBlock.allSatisfy({ $0 == steps }) else { return nil }
        let summary = try query("SELECT block, step, activated, activity FROM pattern_summary WHERE fingerprint = ? ORDER BY block", [id])
        guard summary.count == cosines.count,
              summary.enumerated().allSatisfy({ $0.offset == $0.element.integer(0) && $0.element.integer(1) == steps }) else { return nil }
        let domains = seen.count
        var activated: [[Int]] = []
        var activity = Array(repeating: [Double](), count: domains)
        for row in summary {
            let counts = numbers(row.data(2), Int64.self).map { Int($0) }
            let values = numbers(row.data(3), Double.self)
            guard counts.count == domains, domains > 0, values.count % domains == 0 else { return nil }
            activated.append(counts)
            let width = values.count / domains
            for d in 0..<domains { activity[d] += values[(d * width)..<((d + 1) * width)] }
        }
        return ActivationPatterns.Stored(stepsDone: steps, samplesSeen: seen, cosines: cosines, activated: activated,
                                         activity: activity, checksums: checksums)
    }

    /// Stores one step of the activation patterns in one transaction, as small rows: the step, its
    /// cosines per block, and the counts and neuron activity per block (in place of the previous
    /// step's). Rows of later steps, left by a run that started over, go.
    public func save(_ fingerprint: AnalysisFingerprint, patternStep record: ActivationPatterns.StepRecord, claim: UnitClaim? = nil) throws {
        let id = SQLValue.text(fingerprint.id), step = record.stepsDone
        try writing(fingerprint, claim) {
            try run("DELETE FROM pattern_steps WHERE fingerprint = ? AND step >= ?", [id, .integer(step)])
            try run("DELETE FROM pattern_cosines WHERE fingerprint = ? AND step >= ?", [id, .integer(step)])
            try run("INSERT INTO pattern_steps VALUES (?, ?, ?, ?, ?)",
                    [id, .integer(step), .text(record.samplesSeen.map(String.init).joined(separator: " ")),
                     record.sumsPath.map(SQLValue.text) ?? .null, .text(record.checksums.map(String.init).joined(separator: " "))])
            for (block, perPair) in record.cosines.enumerated() {
                try run("INSERT INTO pattern_cosines VALUES (?, ?, ?, ?)", [id, .integer(step), .integer(block), .blob(encodeCosines(perPair))])
            }
            try run("DELETE FROM pattern_summary WHERE fingerprint = ?", [id])
            let width = record.activity.first.map { $0.count / max(record.activated.count, 1) } ?? 0
            for (block, counts) in record.activated.enumerated() {
                let activity = record.activity.flatMap { $0[(block * width)..<((block + 1) * width)] }
                try run("INSERT INTO pattern_summary VALUES (?, ?, ?, ?, ?)",
                        [id, .integer(block), .integer(step), .blob(bytes(counts.map { Int64($0) })), .blob(bytes(activity))])
            }
        }
    }

    /// Every analysis in the store, the most recently written first.
    public func analyses() throws -> [StoredAnalysis] {
        let tables = try lock.withLock { try tableNames() }
        let written = tables.contains("written") ? "(SELECT at FROM written w WHERE w.fingerprint = a.fingerprint)" : "NULL"
        func count(_ table: String, _ what: String = "COUNT(*)") -> String {
            "(SELECT \(what) FROM \(table) t WHERE t.fingerprint = a.fingerprint)"
        }
        let sql = "SELECT fingerprint, model, probes, domains, options, created, \(written), \(count("pooled")), \(count("baseline")), "
            + "\(count("pss")), \(count("pattern_steps", "COALESCE(MAX(step), 0)")) FROM analyses a"
        let rows = try query(sql).map { r in
            StoredAnalysis(fingerprint: r.text(0), model: r.text(1), probes: r.text(2), domains: r.text(3), options: r.text(4),
                           created: r.text(5), written: r.isNull(6) ? nil : r.text(6), pooledBatches: r.integer(7),
                           baselineQuestions: r.integer(8), pssEntries: r.integer(9), patternSteps: r.integer(10))
        }
        return rows.sorted { ($0.written ?? $0.created) > ($1.written ?? $1.created) }
    }

    // MARK: Claims: processes sharing the store split an analysis

    /// Every claim on `fingerprint`'s units, by unit (none in a read-only store).
    public func claims(_ fingerprint: AnalysisFingerprint) throws -> [String: ClaimState] {
        guard !isReadOnly else { return [:] }
        // Expiry on this machine's clock: the time left by the store's, from now here.
        let rows = try query("SELECT unit, worker, expires - \(connection.dialect.now), done FROM claims WHERE fingerprint = ?", [.text(fingerprint.id)])
        let here = Date().timeIntervalSince1970
        return Dictionary(rows.map { r in
            (r.text(0), ClaimState(worker: r.text(1), expires: here + r.real(2), done: r.integer(3) != 0))
        }, uniquingKeysWith: { a, _ in a })
    }

    /// Claims `unit` for `worker` for `lease` seconds: true when it is now the worker's (nobody had
    /// it, the worker had it, or its holder's lease ran out or its holder is gone); false when it is
    /// done or another worker holds it.
    public func claim(_ fingerprint: AnalysisFingerprint, unit: String, worker: String, lease: Double) throws -> Bool {
        let now = connection.dialect.now, key: [SQLValue] = [.text(fingerprint.id), .text(unit)]
        return try transaction {
            if try run("INSERT INTO claims VALUES (?, ?, ?, \(now) + ?, 0) ON CONFLICT DO NOTHING", key + [.text(worker), .real(lease)]) == 1 {
                return true
            }
            // A row another transaction is claiming at this moment is skipped: that one wins it.
            let sql = "SELECT worker, expires - \(now), done FROM claims WHERE fingerprint = ? AND unit = ?\(connection.dialect.lockingRows)"
            guard let holder = try connection.execute(sql, key).rows.first else { return false }
            let here = Date().timeIntervalSince1970
            let state = ClaimState(worker: holder.text(0), expires: here + holder.real(1), done: holder.integer(2) != 0)
            if state.done || (state.worker != worker && !state.isFree(at: here)) { return false }
            try run("UPDATE claims SET worker = ?, expires = \(now) + ? WHERE fingerprint = ? AND unit = ?", [.text(worker), .real(lease)] + key)
            return true
        }
    }

    /// Extends the leases of `units` this worker holds; returns those it no longer holds.
    public func renew(_ fingerprint: AnalysisFingerprint, units: [String], worker: String, lease: Double) throws -> [String] {
        try transaction {
            try units.filter { unit in
                try run("UPDATE claims SET expires = \(connection.dialect.now) + ? WHERE fingerprint = ? AND unit = ? AND worker = ? AND done = 0",
                        [.real(lease), .text(fingerprint.id), .text(unit), .text(worker)]) != 1
            }
        }
    }

    /// Gives up this worker's unfinished claims on `units`, so that others need not wait for their leases.
    public func release(_ fingerprint: AnalysisFingerprint, units: [String], worker: String) throws {
        try transaction {
            for unit in units {
                try run("DELETE FROM claims WHERE fingerprint = ? AND unit = ? AND worker = ? AND done = 0",
                        [.text(fingerprint.id), .text(unit), .text(worker)])
            }
        }
    }

    // MARK: Statements

    private static func timestamp() -> String { ISO8601DateFormatter().string(from: Date()) }

    /// A unit's result in one transaction, noting when `fingerprint`'s analysis was written. With a
    /// claim, only while the claim is still this worker's (else `ClaimLost`, and nothing is
    /// written); a claim that `completes` is marked done in the same transaction, so a unit's
    /// result and its end land together. Run again after a lost connection, a claim this worker
    /// had already completed means the first attempt's commit landed: the same rows are written
    /// again, nothing is doubled.
    private func writing(_ fingerprint: AnalysisFingerprint, _ claim: UnitClaim?, _ body: () throws -> Void) throws {
        try transaction {
            if let claim {
                let key: [SQLValue] = [.text(fingerprint.id), .text(claim.unit), .text(claim.worker)]
                let held = try run("UPDATE claims SET done = ?, expires = \(connection.dialect.now) + ? WHERE fingerprint = ? AND unit = ? AND worker = ? AND done = 0",
                                   [.integer(claim.completes ? 1 : 0), .real(claim.lease)] + key) == 1
                if !held {
                    let landed = try connection.execute("SELECT 1 FROM claims WHERE fingerprint = ? AND unit = ? AND worker = ? AND done = 1", key).rows.count == 1
                    guard landed else { throw ClaimLost(unit: claim.unit) }
                }
            }
            try body()
            try run("INSERT INTO written VALUES (?, ?) ON CONFLICT (fingerprint) DO UPDATE SET at = excluded.at",
                    [.text(fingerprint.id), .text(Self.timestamp())])
        }
    }

    @discardableResult
    private func transaction<T>(_ body: () throws -> T) throws -> T {
        try lock.withLock { try connection.transaction(body) }
    }

    /// One statement that writes (inside `transaction`): the number of rows it changed.
    @discardableResult
    private func run(_ sql: String, _ values: [SQLValue]) throws -> Int {
        try connection.execute(sql, values).changed
    }

    /// The rows of one statement that reads.
    private func query(_ sql: String, _ values: [SQLValue] = []) throws -> [SQLRow] {
        try lock.withLock { try connection.execute(sql, values).rows }
    }

    // MARK: Encoding

    /// One block's cosines of one step: per pair, the count then the values, little-endian.
    private func encodeCosines(_ perPair: [[Double]]) -> Data {
        var data = Data()
        for values in perPair {
            withUnsafeBytes(of: Int64(values.count).littleEndian) { data.append(contentsOf: $0) }
            values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    private func decodeCosines(_ data: Data) -> [[Double]]? {
        var perPair: [[Double]] = []
        var offset = data.startIndex
        while offset < data.endIndex {
            guard offset + 8 <= data.endIndex else { return nil }
            let count = Int(Int64(littleEndian: data[offset..<(offset + 8)].withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }))
            offset += 8
            guard count >= 0, offset + count * 8 <= data.endIndex else { return nil }
            perPair.append(numbers(data[offset..<(offset + count * 8)], Double.self))
            offset += count * 8
        }
        return perPair
    }

    /// Numbers as they lie in memory (little-endian on every machine neurotop runs on).
    private func numbers<T>(_ data: Data, _ type: T.Type) -> [T] {
        let count = data.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            data.copyBytes(to: UnsafeMutableRawBufferPointer(buffer), from: data.startIndex..<(data.startIndex + count * MemoryLayout<T>.stride))
            initialized = count
        }
    }

    private func bytes<T>(_ values: [T]) -> Data { values.withUnsafeBytes { Data($0) } }
}
