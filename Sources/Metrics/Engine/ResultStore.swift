import Foundation

/// Where analyses' results are kept, unit by unit, and how processes sharing them split the work:
/// a SQLite file (`AnalysisStore`, the default) or a PostgreSQL database (`PostgresStore`), with
/// the same tables and the same results. Every write of a claimed unit lands only while the claim
/// is the writer's.
public protocol ResultStore: AnyObject, Sendable {
    /// The store as the user named it: a path, or a URL without its password.
    var location: String { get }
    /// Finished results are read, nothing is written.
    var isReadOnly: Bool { get }
    /// The file an unfinished run of the activation patterns keeps its sums in between steps.
    func sumsPath(_ fingerprint: AnalysisFingerprint) -> String

    func register(_ fingerprint: AnalysisFingerprint) throws
    func pooledBatches(_ fingerprint: AnalysisFingerprint) throws -> [Int: [Float]]
    func savePooled(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int, values: ArraySlice<Float>,
                    claim: AnalysisStore.Claim?) throws
    func entries(_ fingerprint: AnalysisFingerprint) throws -> [SpecializationScore.Entry]
    func save(_ fingerprint: AnalysisFingerprint, entries: [SpecializationScore.Entry], claim: AnalysisStore.Claim?) throws
    func estimateChunks(_ fingerprint: AnalysisFingerprint) throws -> [Int: (questions: Int, values: [Float], attributions: [Float16])]
    func saveEstimateChunk(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int,
                           values: [Float], attributions: [Float16], claim: AnalysisStore.Claim?) throws
    func baseline(_ fingerprint: AnalysisFingerprint, questions: Int) throws -> [QuestionResult]?
    func save(_ fingerprint: AnalysisFingerprint, baseline results: [QuestionResult], claim: AnalysisStore.Claim?) throws
    func patterns(_ fingerprint: AnalysisFingerprint) throws -> ActivationPatterns.Stored?
    func save(_ fingerprint: AnalysisFingerprint, patternStep record: ActivationPatterns.StepRecord, claim: AnalysisStore.Claim?) throws
    func analyses() throws -> [AnalysisStore.Stored]

    func claims(_ fingerprint: AnalysisFingerprint) throws -> [String: AnalysisStore.ClaimState]
    func claim(_ fingerprint: AnalysisFingerprint, unit: String, worker: String, lease: Double) throws -> Bool
    func renew(_ fingerprint: AnalysisFingerprint, units: [String], worker: String, lease: Double) throws -> [String]
    func release(_ fingerprint: AnalysisFingerprint, units: [String], worker: String) throws
}

/// Whether `location` names a PostgreSQL database (a `postgresql://` or `postgres://` URL) rather than a file.
public func isDatabaseURL(_ location: String) -> Bool {
    location.hasPrefix("postgresql://") || location.hasPrefix("postgres://")
}

/// Opens the store `location` names: a PostgreSQL URL, else a SQLite file.
public func openResultStore(_ location: String) throws -> ResultStore {
    if isDatabaseURL(location) { return try PostgresStore(url: location) }
    return try AnalysisStore(path: location)
}
