import CSQLite
import Foundation

/// Results of analyses, kept in one SQLite file so that a run that stops (or is killed) resumes
/// where it stopped and a model opened again shows what was finished at once. Every analysis is
/// keyed by a fingerprint of its inputs (`AnalysisFingerprint`); each unit of work is written in
/// its own transaction as soon as it is computed.
public final class AnalysisStore: ResultStore, @unchecked Sendable {
    /// The layout of the tables. A file written with another format is refused, never changed.
    public static let format = 2
    static let formatName = "neurotop analysis store"
    /// How long a statement waits for another process's write before giving up.
    static let busyTimeoutMilliseconds = 10_000

    public let path: String
    public var location: String { path }
    /// A store that cannot be written (its file or its folder read-only, or a file whose write
    /// bits are all off): its finished results are read, nothing is written to it.
    public let isReadOnly: Bool
    private var db: OpaquePointer
    /// One connection, used from the engine's thread and (for reads) from whoever opened it.
    private let lock = NSLock()
    /// The result code of the last `execute`, kept before a rollback replaces SQLite's own.
    private var lastFailure = SQLITE_OK

    /// `$XDG_CACHE_HOME/neurotop/analyses.sqlite`, or `~/.cache/neurotop/analyses.sqlite`.
    public static func defaultPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let cache = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cache")
        return (cache as NSString).appendingPathComponent("neurotop/analyses.sqlite")
    }

    /// Opens (or creates) a store. A file that is not a SQLite database, a database that is not a
    /// neurotop store, or a store of another format is refused with an error naming the file, and
    /// left exactly as it was.
    public init(path: String) throws {
        self.path = path
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !FileManager.default.fileExists(atPath: folder) {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw InputError(folder, "cannot create the folder for the analysis store")
            }
        }
        isReadOnly = Self.isReadOnly(path)
        db = try Self.open(path, readOnly: isReadOnly, immutable: false)
        do {
            try checkFormat()
        } catch is InputError where isReadOnly {
            // WAL needs its shared-memory file beside the store; in a read-only folder that may be
            // impossible to make, and the store is then read as a file nobody changes.
            sqlite3_close(db)
            db = try Self.open(path, readOnly: true, immutable: true)
            do { try checkFormat() } catch {
                sqlite3_close(db)
                throw error
            }
        } catch {
            sqlite3_close(db)
            throw error
        }
    }

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

    deinit { sqlite3_close(db) }

    private func checkFormat() throws {
        var tables: [String]
        do {
            tables = try query("SELECT name FROM sqlite_master WHERE type = 'table'") { String(cString: sqlite3_column_text($0, 0)) }
        } catch let error as InputError {
            throw InputError(path, "not an analysis store: \(error.problem); choose another file with --store (this one was not changed)")
        }
        if tables.isEmpty && isReadOnly {
            throw InputError(path, "read-only, and not an analysis store; choose another file with --store (this one was not changed)")
        }
        if tables.isEmpty {
            // A new file. Another process may be creating the same store at this moment: the
            // statements are idempotent and run in one write transaction, so either order works.
            try waitingWhileBusy { try execute("""
                PRAGMA journal_mode = WAL;
                BEGIN IMMEDIATE;
                CREATE TABLE IF NOT EXISTS neurotop (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                INSERT OR IGNORE INTO neurotop VALUES ('format', '\(Self.formatName)'), ('version', '\(Self.format)');
                CREATE TABLE IF NOT EXISTS analyses (fingerprint TEXT PRIMARY KEY, model TEXT, probes TEXT, domains TEXT, options TEXT, created TEXT);
                CREATE TABLE IF NOT EXISTS pooled (fingerprint TEXT, first INTEGER, questions INTEGER, neurons INTEGER, data BLOB,
                                                   PRIMARY KEY (fingerprint, first));
                CREATE TABLE IF NOT EXISTS pss (fingerprint TEXT, concept INTEGER, ratio REAL, concept_accuracy REAL, other_accuracy REAL,
                                                baseline REAL, PRIMARY KEY (fingerprint, concept, ratio));
                CREATE TABLE IF NOT EXISTS pattern_steps (fingerprint TEXT, step INTEGER, samples_seen TEXT, sums_file TEXT,
                                                          checksums TEXT, PRIMARY KEY (fingerprint, step));
                CREATE TABLE IF NOT EXISTS pattern_cosines (fingerprint TEXT, step INTEGER, block INTEGER, data BLOB,
                                                            PRIMARY KEY (fingerprint, step, block));
                CREATE TABLE IF NOT EXISTS pattern_summary (fingerprint TEXT, block INTEGER, step INTEGER, activated BLOB, activity BLOB,
                                                            PRIMARY KEY (fingerprint, block));
                CREATE TABLE IF NOT EXISTS baseline (fingerprint TEXT, question INTEGER, open_correct INTEGER, mcq_correct INTEGER,
                                                     log_probabilities BLOB, PRIMARY KEY (fingerprint, question));
                \(Self.writtenTable);
                COMMIT;
                """) }
            tables = try query("SELECT name FROM sqlite_master WHERE type = 'table'") { String(cString: sqlite3_column_text($0, 0)) }
        }
        guard tables.contains("neurotop") else {
            throw InputError(path, "a SQLite database, but not a neurotop analysis store (tables: \(tables.sorted().joined(separator: ", "))); choose another file with --store (this one was not changed)")
        }
        let values = try query("SELECT key, value FROM neurotop") { (String(cString: sqlite3_column_text($0, 0)), String(cString: sqlite3_column_text($0, 1))) }
        let meta = Dictionary(values, uniquingKeysWith: { a, _ in a })
        guard meta["format"] == Self.formatName else {
            throw InputError(path, "not a neurotop analysis store; choose another file with --store (this one was not changed)")
        }
        guard meta["version"] == String(Self.format) else {
            throw InputError(path, "an analysis store of format \(meta["version"] ?? "?"), this neurotop reads format \(Self.format); choose another file with --store (this one was not changed)")
        }
        if !isReadOnly {
            try waitingWhileBusy { try execute("PRAGMA journal_mode = WAL") }
            // A store made before the write times or the ablation estimate existed gains their
            // tables; nothing else changes.
            try waitingWhileBusy { try execute("\(Self.writtenTable); \(Self.estimateTable); \(Self.claimsTable)") }
            tables.append("estimate")
        }
        hasEstimateTable = tables.contains("estimate")
    }

    /// When each analysis was last written to. Added to format 2 without changing it: a store made
    /// before it gets the table when next opened for writing, and reads without it say "not recorded".
    static let writtenTable = "CREATE TABLE IF NOT EXISTS written (fingerprint TEXT PRIMARY KEY, at TEXT NOT NULL)"

    /// The ablation estimate's attributions, a chunk of questions a row: their targets' values
    /// (float32) and attributions `[targets, neurons]` (float16).
    static let estimateTable = """
        CREATE TABLE IF NOT EXISTS estimate (fingerprint TEXT, first INTEGER, questions INTEGER, targets INTEGER, neurons INTEGER,
                                             vals BLOB, data BLOB, PRIMARY KEY (fingerprint, first))
        """
    private var hasEstimateTable = false

    /// Who works on which unit of an analysis, when processes share the store: a row per unit
    /// claimed, the worker holding it and until when (seconds since 1970), and whether its result is
    /// stored. Added to format 2 like `written`: a store without it gains it when opened for writing.
    static let claimsTable = """
        CREATE TABLE IF NOT EXISTS claims (fingerprint TEXT, unit TEXT, worker TEXT NOT NULL, expires REAL NOT NULL,
                                           done INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (fingerprint, unit))
        """

    /// SQLite answers a change of journal mode with SQLITE_BUSY at once, without its busy
    /// timeout, while another connection holds a write lock on the file (as one creating the
    /// same new store does). Such a statement is retried here for as long as the timeout.
    private func waitingWhileBusy(_ body: () throws -> Void) throws {
        let deadline = Date().addingTimeInterval(Double(Self.busyTimeoutMilliseconds) / 1000)
        while true {
            do {
                return try body()
            } catch is InputError where lastFailure & 0xff == SQLITE_BUSY && Date() < deadline {
                usleep(2_000)
            }
        }
    }

    // MARK: What is stored for one analysis

    /// Beside the store file.
    public func sumsPath(_ fingerprint: AnalysisFingerprint) -> String { "\(path).\(fingerprint.id).sums" }

    public func register(_ fingerprint: AnalysisFingerprint) throws {
        // Opening an analysis is not writing a result: `written` stays as it was.
        try transaction(writing: nil) {
            try run("INSERT OR IGNORE INTO analyses VALUES (?, ?, ?, ?, ?, ?)",
                    [.text(fingerprint.id), .text(fingerprint.model), .text(fingerprint.probes), .text(fingerprint.domains),
                     .text(fingerprint.options), .text(Self.timestamp())])
        }
    }

    /// Pooled coefficients per batch of questions: first question → values `[questions, neurons]`.
    public func pooledBatches(_ fingerprint: AnalysisFingerprint) throws -> [Int: [Float]] {
        let rows = try query("SELECT first, data FROM pooled WHERE fingerprint = ?", [.text(fingerprint.id)]) { statement in
            (Int(sqlite3_column_int64(statement, 0)), Self.floats(statement, 1))
        }
        return Dictionary(rows, uniquingKeysWith: { a, _ in a })
    }

    public func savePooled(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int, values: ArraySlice<Float>,
                           claim: Claim? = nil) throws {
        try transaction(writing: fingerprint, claim: claim) {
            try run("INSERT OR REPLACE INTO pooled VALUES (?, ?, ?, ?, ?)",
                    [.text(fingerprint.id), .integer(first), .integer(questions), .integer(neurons), .blob(Self.bytes(Array(values)))])
        }
    }

    public func entries(_ fingerprint: AnalysisFingerprint) throws -> [SpecializationScore.Entry] {
        try query("SELECT concept, ratio, concept_accuracy, other_accuracy, baseline FROM pss WHERE fingerprint = ?", [.text(fingerprint.id)]) { s in
            SpecializationScore.Entry(concept: Int(sqlite3_column_int64(s, 0)), ratio: sqlite3_column_double(s, 1),
                                      conceptAccuracy: sqlite3_column_double(s, 2), otherAccuracy: sqlite3_column_double(s, 3),
                                      baseline: sqlite3_column_double(s, 4))
        }
    }

    public func save(_ fingerprint: AnalysisFingerprint, entries: [SpecializationScore.Entry], claim: Claim? = nil) throws {
        try transaction(writing: fingerprint, claim: claim) {
            for entry in entries {
                try run("INSERT OR REPLACE INTO pss VALUES (?, ?, ?, ?, ?, ?)",
                        [.text(fingerprint.id), .integer(entry.concept), .real(entry.ratio), .real(entry.conceptAccuracy),
                         .real(entry.otherAccuracy), .real(entry.baseline)])
            }
        }
    }

    /// The ablation estimate's stored chunks: first question → (questions, values, attributions).
    public func estimateChunks(_ fingerprint: AnalysisFingerprint) throws -> [Int: (questions: Int, values: [Float], attributions: [Float16])] {
        guard hasEstimateTable else { return [:] }
        let rows = try query("SELECT first, questions, vals, data FROM estimate WHERE fingerprint = ?", [.text(fingerprint.id)]) { s in
            (Int(sqlite3_column_int64(s, 0)), (Int(sqlite3_column_int64(s, 1)), Self.floats(s, 2), Self.numbers(Self.data(s, 3), Float16.self)))
        }
        return Dictionary(rows, uniquingKeysWith: { a, _ in a })
    }

    public func saveEstimateChunk(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int,
                                  values: [Float], attributions: [Float16], claim: Claim? = nil) throws {
        try transaction(writing: fingerprint, claim: claim) {
            try run("INSERT OR REPLACE INTO estimate VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [.text(fingerprint.id), .integer(first), .integer(questions), .integer(values.count), .integer(neurons),
                     .blob(Self.bytes(values)), .blob(Self.bytes(attributions))])
        }
    }

    /// The unmasked evaluation, every question's result; nil unless all `questions` are stored.
    public func baseline(_ fingerprint: AnalysisFingerprint, questions: Int) throws -> [QuestionResult]? {
        let rows = try query("SELECT question, open_correct, mcq_correct, log_probabilities FROM baseline WHERE fingerprint = ? ORDER BY question",
                             [.text(fingerprint.id)]) { s in
            (Int(sqlite3_column_int64(s, 0)),
             QuestionResult(logProbabilities: Self.doubles(s, 3),
                            multipleChoiceCorrect: sqlite3_column_type(s, 2) == SQLITE_NULL ? nil : sqlite3_column_int64(s, 2) != 0,
                            openCorrect: sqlite3_column_int64(s, 1) != 0))
        }
        guard rows.map(\.0) == Array(0..<questions) else { return nil }
        return rows.map(\.1)
    }

    /// Writes the unmasked evaluation, all questions in one transaction.
    public func save(_ fingerprint: AnalysisFingerprint, baseline results: [QuestionResult], claim: Claim? = nil) throws {
        try transaction(writing: fingerprint, claim: claim) {
            for (question, result) in results.enumerated() {
                try run("INSERT OR REPLACE INTO baseline VALUES (?, ?, ?, ?, ?)",
                        [.text(fingerprint.id), .integer(question), .integer(result.openCorrect ? 1 : 0),
                         result.multipleChoiceCorrect.map { .integer($0 ? 1 : 0) } ?? .null,
                         .blob(result.logProbabilities.withUnsafeBytes { Data($0) })])
            }
        }
    }

    /// The activation patterns as far as they were stored: every step's cosines, and the last
    /// step's counts, samples, neuron activity and sums checksums. Nil when no step is stored, or
    /// when what is stored is incomplete (the run then starts over).
    public func patterns(_ fingerprint: AnalysisFingerprint) throws -> ActivationPatterns.Stored? {
        let id = Value.text(fingerprint.id)
        let last = try query("SELECT step, samples_seen, checksums FROM pattern_steps WHERE fingerprint = ? ORDER BY step DESC LIMIT 1", [id]) { s in
            (Int(sqlite3_column_int64(s, 0)), String(cString: sqlite3_column_text(s, 1)), String(cString: sqlite3_column_text(s, 2)))
        }.first
        guard let (steps, seenText, checksumText) = last else { return nil }
        let cosines = try query("SELECT step, block, data FROM pattern_cosines WHERE fingerprint = ? AND step <= ? ORDER BY step, block",
                                [id, .integer(steps)]) { s in
            (Int(sqlite3_column_int64(s, 0)), Int(sqlite3_column_int64(s, 1)), Self.data(s, 2))
        }
        let summary = try query("SELECT block, step, activated, activity FROM pattern_summary WHERE fingerprint = ? ORDER BY block", [id]) { s in
            (Int(sqlite3_column_int64(s, 0)), Int(sqlite3_column_int64(s, 1)), Self.data(s, 2), Self.data(s, 3))
        }
        return Self.patterns(steps: steps, seen: seenText, checksums: checksumText, cosineRows: cosines, summaryRows: summary)
    }

    /// The stored patterns from their rows (shared with the PostgreSQL store): the last step's
    /// samples and checksums (space-separated), the cosine rows `(step, block, data)` in order of
    /// step and block, and the summary rows `(block, step, counts, activity)` in order of block.
    static func patterns(steps: Int, seen seenText: String, checksums checksumText: String, cosineRows: [(Int, Int, Data)],
                         summaryRows summary: [(Int, Int, Data, Data)]) -> ActivationPatterns.Stored? {
        let seen = seenText.split(separator: " ").compactMap { Int($0) }
        let checksums = checksumText.split(separator: " ").compactMap { UInt64($0) }
        // Cosines: the stored steps' values per block, appended step after step.
        var cosines: [[[Double]]] = []
        var stepsPerBlock: [Int] = []
        for (step, block, data) in cosineRows {
            guard let perPair = Self.decodeCosines(data), block <= cosines.count else { return nil }
            if block == cosines.count {
                cosines.append(Array(repeating: [], count: perPair.count))
                stepsPerBlock.append(0)
            }
            guard stepsPerBlock[block] == step - 1, cosines[block].count == perPair.count else { return nil }
            for (pair, values) in perPair.enumerated() { cosines[block][pair] += values }
            stepsPerBlock[block] = step
        }
        guard !cosines.isEmpty, stepsPerBlock.allSatisfy({ $0 == steps }) else { return nil }
        guard summary.count == cosines.count, summary.enumerated().allSatisfy({ $0.offset == $0.element.0 && $0.element.1 == steps }) else { return nil }
        let domains = seen.count
        var activated: [[Int]] = []
        var activity = Array(repeating: [Double](), count: domains)
        for (_, _, counts, values) in summary {
            let counts = Self.numbers(counts, Int64.self).map { Int($0) }
            let values = Self.numbers(values, Double.self)
            guard counts.count == domains, domains > 0, values.count % domains == 0 else { return nil }
            activated.append(counts)
            let width = values.count / domains
            for d in 0..<domains { activity[d] += values[(d * width)..<((d + 1) * width)] }
        }
        return ActivationPatterns.Stored(stepsDone: steps, samplesSeen: seen, cosines: cosines, activated: activated,
                                         activity: activity, checksums: checksums)
    }

    /// Stores one step of the activation patterns in one transaction, as small rows: the step, its
    /// cosines per block, and the counts and neuron activity per block (replacing the previous
    /// step's). Rows of later steps, left by a run that started over, go.
    public func save(_ fingerprint: AnalysisFingerprint, patternStep record: ActivationPatterns.StepRecord, claim: Claim? = nil) throws {
        let id = Value.text(fingerprint.id), step = record.stepsDone
        try transaction(writing: fingerprint, claim: claim) {
            try run("DELETE FROM pattern_steps WHERE fingerprint = ? AND step >= ?", [id, .integer(step)])
            try run("DELETE FROM pattern_cosines WHERE fingerprint = ? AND step >= ?", [id, .integer(step)])
            try run("INSERT INTO pattern_steps VALUES (?, ?, ?, ?, ?)",
                    [id, .integer(step), .text(record.samplesSeen.map(String.init).joined(separator: " ")),
                     record.sumsPath.map(Value.text) ?? .null, .text(record.checksums.map(String.init).joined(separator: " "))])
            for (block, perPair) in record.cosines.enumerated() {
                try run("INSERT INTO pattern_cosines VALUES (?, ?, ?, ?)", [id, .integer(step), .integer(block), .blob(Self.encodeCosines(perPair))])
            }
            let width = record.activity.first.map { $0.count / max(record.activated.count, 1) } ?? 0
            for (block, counts) in record.activated.enumerated() {
                let activity = record.activity.flatMap { $0[(block * width)..<((block + 1) * width)] }
                try run("INSERT OR REPLACE INTO pattern_summary VALUES (?, ?, ?, ?, ?)",
                        [id, .integer(block), .integer(step), .blob(Self.bytes(counts.map { Int64($0) })), .blob(Self.bytes(activity))])
            }
        }
    }

    // MARK: Claims: processes sharing the store split an analysis

    /// A unit this worker holds, passed with the unit's result: the write lands only while the
    /// claim is still this worker's, and marks the unit done when it `completes` it.
    public struct Claim: Sendable {
        public let unit: String
        public let worker: String
        public let lease: Double
        public let completes: Bool

        public init(unit: String, worker: String, lease: Double, completes: Bool = true) {
            self.unit = unit
            self.worker = worker
            self.lease = lease
            self.completes = completes
        }
    }

    /// A unit's claim taken over by another worker (this one's lease ran out): its result is not written.
    public struct ClaimLost: Error, CustomStringConvertible {
        public let unit: String
        public var description: String { "the claim on \(unit) was taken over by another worker" }
    }

    /// A unit's claim as the store holds it.
    public struct ClaimState: Sendable {
        public let worker: String
        /// Seconds since 1970.
        public let expires: Double
        public let done: Bool

        /// Whether another worker may take the unit over: not done, and its lease ran out or its
        /// worker is gone.
        public func isFree(at now: Double) -> Bool { !done && (expires < now || WorkerID.isGone(worker)) }
    }

    /// Every claim on `fingerprint`'s units, by unit (none in a read-only store).
    public func claims(_ fingerprint: AnalysisFingerprint) throws -> [String: ClaimState] {
        guard !isReadOnly else { return [:] }
        let rows = try query("SELECT unit, worker, expires, done FROM claims WHERE fingerprint = ?", [.text(fingerprint.id)]) { s in
            (String(cString: sqlite3_column_text(s, 0)),
             ClaimState(worker: String(cString: sqlite3_column_text(s, 1)), expires: sqlite3_column_double(s, 2), done: sqlite3_column_int64(s, 3) != 0))
        }
        return Dictionary(rows, uniquingKeysWith: { a, _ in a })
    }

    /// Claims `unit` for `worker` for `lease` seconds: true when it is now the worker's (nobody had
    /// it, the worker had it, or its holder's lease ran out or its holder is gone); false when it is
    /// done or another worker holds it.
    public func claim(_ fingerprint: AnalysisFingerprint, unit: String, worker: String, lease: Double) throws -> Bool {
        var claimed = false
        try transaction(writing: nil) {
            let now = Date().timeIntervalSince1970
            let holder = try rows("SELECT worker, expires, done FROM claims WHERE fingerprint = ? AND unit = ?", [.text(fingerprint.id), .text(unit)]) { s in
                ClaimState(worker: String(cString: sqlite3_column_text(s, 0)), expires: sqlite3_column_double(s, 1), done: sqlite3_column_int64(s, 2) != 0)
            }.first
            if let holder, holder.done || (holder.worker != worker && !holder.isFree(at: now)) { return }
            try run("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, 0)", [.text(fingerprint.id), .text(unit), .text(worker), .real(now + lease)])
            claimed = true
        }
        return claimed
    }

    /// Extends the leases of `units` this worker holds; returns those it no longer holds.
    public func renew(_ fingerprint: AnalysisFingerprint, units: [String], worker: String, lease: Double) throws -> [String] {
        var lost: [String] = []
        try transaction(writing: nil) {
            for unit in units {
                try run("UPDATE claims SET expires = ? WHERE fingerprint = ? AND unit = ? AND worker = ? AND done = 0",
                        [.real(Date().timeIntervalSince1970 + lease), .text(fingerprint.id), .text(unit), .text(worker)])
                if sqlite3_changes(db) != 1 { lost.append(unit) }
            }
        }
        return lost
    }

    /// Gives up this worker's unfinished claims on `units`, so that others need not wait for their leases.
    public func release(_ fingerprint: AnalysisFingerprint, units: [String], worker: String) throws {
        try transaction(writing: nil) {
            for unit in units {
                try run("DELETE FROM claims WHERE fingerprint = ? AND unit = ? AND worker = ? AND done = 0",
                        [.text(fingerprint.id), .text(unit), .text(worker)])
            }
        }
    }

    static func timestamp() -> String { ISO8601DateFormatter().string(from: Date()) }

    /// One analysis the store holds: what it was made from and how much of each kind of unit is stored.
    public struct Stored: Sendable {
        public let fingerprint: String
        public let model: String
        public let probes: String
        public let domains: String
        /// The settings as the fingerprint records them (`key=value; ...`).
        public let options: String
        public let created: String
        /// When a unit was last written; nil in a store made before this was recorded.
        public let written: String?
        public let pooledBatches: Int
        public let baselineQuestions: Int
        public let pssEntries: Int
        public let patternSteps: Int
    }

    /// Every analysis in the store, the most recently written first.
    public func analyses() throws -> [Stored] {
        let tables = try query("SELECT name FROM sqlite_master WHERE type = 'table'") { String(cString: sqlite3_column_text($0, 0)) }
        let written = tables.contains("written") ? "(SELECT at FROM written w WHERE w.fingerprint = a.fingerprint)" : "NULL"
        func count(_ table: String, _ what: String = "COUNT(*)") -> String {
            "(SELECT \(what) FROM \(table) t WHERE t.fingerprint = a.fingerprint)"
        }
        let sql = "SELECT fingerprint, model, probes, domains, options, created, \(written), \(count("pooled")), \(count("baseline")), "
            + "\(count("pss")), \(count("pattern_steps", "COALESCE(MAX(step), 0)")) FROM analyses a"
        func text(_ s: OpaquePointer, _ column: Int32) -> String? {
            sqlite3_column_type(s, column) == SQLITE_NULL ? nil : String(cString: sqlite3_column_text(s, column))
        }
        let rows = try query(sql) { s in
            Stored(fingerprint: text(s, 0) ?? "", model: text(s, 1) ?? "", probes: text(s, 2) ?? "", domains: text(s, 3) ?? "",
                   options: text(s, 4) ?? "", created: text(s, 5) ?? "", written: text(s, 6), pooledBatches: Int(sqlite3_column_int64(s, 7)),
                   baselineQuestions: Int(sqlite3_column_int64(s, 8)), pssEntries: Int(sqlite3_column_int64(s, 9)),
                   patternSteps: Int(sqlite3_column_int64(s, 10)))
        }
        return rows.sorted { ($0.written ?? $0.created) > ($1.written ?? $1.created) }
    }

    // MARK: Encoding

    /// One block's cosines of one step: per pair, the count then the values, little-endian.
    static func encodeCosines(_ perPair: [[Double]]) -> Data {
        var data = Data()
        for values in perPair {
            withUnsafeBytes(of: Int64(values.count).littleEndian) { data.append(contentsOf: $0) }
            values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    static func decodeCosines(_ data: Data) -> [[Double]]? {
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

    static func numbers<T>(_ data: Data, _ type: T.Type) -> [T] {
        let count = data.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            data.copyBytes(to: UnsafeMutableRawBufferPointer(buffer), from: data.startIndex..<(data.startIndex + count * MemoryLayout<T>.stride))
            initialized = count
        }
    }

    static func data(_ statement: OpaquePointer, _ column: Int32) -> Data {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return Data() }
        return Data(bytes: bytes, count: count)
    }

    static func bytes<T>(_ values: [T]) -> Data { values.withUnsafeBytes { Data($0) } }

    static func doubles(_ statement: OpaquePointer, _ column: Int32) -> [Double] {
        let count = Int(sqlite3_column_bytes(statement, column)) / MemoryLayout<Double>.stride
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return [Double](UnsafeBufferPointer(start: bytes.assumingMemoryBound(to: Double.self), count: count))
    }

    static func floats(_ statement: OpaquePointer, _ column: Int32) -> [Float] {
        let count = Int(sqlite3_column_bytes(statement, column)) / MemoryLayout<Float>.stride
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return [Float](UnsafeBufferPointer(start: bytes.assumingMemoryBound(to: Float.self), count: count))
    }

    // MARK: SQLite calls

    enum Value {
        case integer(Int)
        case real(Double)
        case text(String)
        case blob(Data)
        case null
    }

    private func failure(_ what: String) -> InputError {
        InputError(path, "\(what): \(String(cString: sqlite3_errmsg(db)))")
    }

    private func execute(_ sql: String) throws {
        try lock.withLock {
            lastFailure = sqlite3_exec(db, sql, nil, nil, nil)
            guard lastFailure == SQLITE_OK else {
                let error = failure("cannot write the analysis store")
                if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
                throw error
            }
        }
    }

    /// Runs `body` in one transaction, noting when `fingerprint`'s analysis was written (unless nil):
    /// everything it writes lands together or not at all. With a claim, only while the claim is
    /// still this worker's (else `ClaimLost`, and nothing is written); a claim that `completes`
    /// is marked done in the same transaction, so a unit's result and its end land together.
    private func transaction(writing fingerprint: AnalysisFingerprint?, claim: Claim? = nil, _ body: () throws -> Void) throws {
        try lock.withLock {
            guard sqlite3_exec(db, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK else { throw failure("cannot write the analysis store") }
            do {
                if let claim, let fingerprint {
                    try run("UPDATE claims SET done = ?, expires = ? WHERE fingerprint = ? AND unit = ? AND worker = ? AND done = 0",
                            [.integer(claim.completes ? 1 : 0), .real(Date().timeIntervalSince1970 + claim.lease), .text(fingerprint.id),
                             .text(claim.unit), .text(claim.worker)])
                    guard sqlite3_changes(db) == 1 else { throw ClaimLost(unit: claim.unit) }
                }
                try body()
                if let fingerprint { try run("INSERT OR REPLACE INTO written VALUES (?, ?)", [.text(fingerprint.id), .text(Self.timestamp())]) }
                guard sqlite3_exec(db, "COMMIT", nil, nil, nil) == SQLITE_OK else { throw failure("cannot write the analysis store") }
            } catch {
                sqlite3_exec(db, "ROLLBACK", nil, nil, nil)
                throw error
            }
        }
    }

    private func prepare(_ sql: String, _ values: [Value]) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw failure("cannot read the analysis store")
        }
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
            guard status == SQLITE_OK else {
                let error = failure("cannot bind value \(position) of a statement")
                sqlite3_finalize(statement)
                throw error
            }
        }
        return statement
    }

    /// One statement that writes (called inside `transaction`, which holds the lock).
    private func run(_ sql: String, _ values: [Value]) throws {
        let statement = try prepare(sql, values)
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_DONE else { throw failure("cannot write the analysis store") }
    }

    private func query<T>(_ sql: String, _ values: [Value] = [], _ row: (OpaquePointer) -> T) throws -> [T] {
        try lock.withLock { try rows(sql, values, row) }
    }

    /// The rows of a statement (called with the lock held).
    private func rows<T>(_ sql: String, _ values: [Value], _ row: (OpaquePointer) -> T) throws -> [T] {
        let statement = try prepare(sql, values)
        defer { sqlite3_finalize(statement) }
        var rows: [T] = []
        while true {
            let status = sqlite3_step(statement)
            if status == SQLITE_DONE { break }
            guard status == SQLITE_ROW else { throw failure("cannot read the analysis store") }
            rows.append(row(statement))
        }
        return rows
    }
}
