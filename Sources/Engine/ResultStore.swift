import Foundation
import Analysis

/// Where analyses' results are kept, unit by unit, and how processes sharing them split the work
/// (`SQLStore`: a SQLite file, the default, or a PostgreSQL database, with the same tables and the
/// same results). Every write of a claimed unit lands only while the claim is the writer's.
public protocol ResultStore: AnyObject, Sendable {
    /// The store as the user named it: a path, or a URL without its password.
    var location: String { get }
    /// Finished results are read, nothing is written.
    var isReadOnly: Bool { get }
    /// The file an unfinished run of the activation patterns keeps its sums in between steps.
    func sumsPath(_ fingerprint: AnalysisFingerprint) -> String

    func register(_ fingerprint: AnalysisFingerprint) throws
    /// The first questions of the pooled batches stored; each is read alone (`pooledBatch`), as
    /// all of them together are the size of the model times the probe set.
    func pooledBatchFirsts(_ fingerprint: AnalysisFingerprint) throws -> [Int]
    func pooledBatch(_ fingerprint: AnalysisFingerprint, first: Int) throws -> [Float]?
    func savePooled(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int, values: ArraySlice<Float>,
                    claim: UnitClaim?) throws
    func entries(_ fingerprint: AnalysisFingerprint) throws -> [SpecializationScore.Entry]
    func save(_ fingerprint: AnalysisFingerprint, entries: [SpecializationScore.Entry], claim: UnitClaim?) throws
    func estimateChunks(_ fingerprint: AnalysisFingerprint) throws -> [Int: (questions: Int, values: [Float], attributions: [Float16])]
    func saveEstimateChunk(_ fingerprint: AnalysisFingerprint, first: Int, questions: Int, neurons: Int,
                           values: [Float], attributions: [Float16], claim: UnitClaim?) throws
    func baseline(_ fingerprint: AnalysisFingerprint, questions: Int) throws -> [QuestionResult]?
    /// The unmasked evaluation, with `pooled`'s batches of `batch` questions when given.
    func save(_ fingerprint: AnalysisFingerprint, baseline results: [QuestionResult], pooled: PooledCoefficients?, batch: Int,
              claim: UnitClaim?) throws
    func patterns(_ fingerprint: AnalysisFingerprint) throws -> ActivationPatterns.Stored?
    func save(_ fingerprint: AnalysisFingerprint, patternStep record: ActivationPatterns.StepRecord, claim: UnitClaim?) throws
    func analyses() throws -> [StoredAnalysis]

    func claims(_ fingerprint: AnalysisFingerprint) throws -> [String: ClaimState]
    func claim(_ fingerprint: AnalysisFingerprint, unit: String, worker: String, lease: Double) throws -> Bool
    func renew(_ fingerprint: AnalysisFingerprint, units: [String], worker: String, lease: Double) throws -> [String]
    func release(_ fingerprint: AnalysisFingerprint, units: [String], worker: String) throws
}

/// A unit this worker holds, passed with the unit's result: the write lands only while the
/// claim is still this worker's, and marks the unit done when it `completes` it.
public struct UnitClaim: Sendable {
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
    /// Seconds since 1970, on this machine's clock.
    public let expires: Double
    public let done: Bool

    /// Whether another worker may take the unit over: not done, and its lease ran out or its
    /// worker is gone.
    public func isFree(at now: Double) -> Bool { !done && (expires < now || WorkerID.isGone(worker)) }
}

/// One analysis a store holds: what it was made from and how much of each kind of unit is stored.
public struct StoredAnalysis: Sendable {
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

/// Whether `location` names a PostgreSQL database (a `postgresql://` or `postgres://` URL) rather than a file.
public func isDatabaseURL(_ location: String) -> Bool {
    location.hasPrefix("postgresql://") || location.hasPrefix("postgres://")
}

/// Opens the store `location` names: a PostgreSQL URL, else a SQLite file.
public func openResultStore(_ location: String) throws -> ResultStore {
    if isDatabaseURL(location) { return try SQLStore(url: location) }
    return try SQLStore(path: location)
}

extension EngineProgress {
    /// The processes other than `worker` that hold a live claim among `claims`: not done, with a
    /// lease not run out, and a process not known to be gone.
    public static func otherWorkers(_ claims: [String: ClaimState], besides worker: String, at now: Double) -> Int {
        Set(claims.values.filter { !$0.done && $0.worker != worker && !$0.isFree(at: now) }.map(\.worker)).count
    }
}
