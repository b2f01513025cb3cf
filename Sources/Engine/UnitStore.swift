import Foundation
import Analysis

/// The engine's side of its store: every unit is claimed before it is computed, so that processes
/// sharing the store split the work (a unit another process holds is left to it, and taken over
/// once its lease runs out), and its result is written under its claim. Writes nothing to a
/// read-only store. A write that fails (disk full, permissions) is reported once, in `notSaving`;
/// the analysis then goes on with what it has, in memory, alone. Without a store, every claim is
/// granted and nothing is read or written.
final class UnitStore: @unchecked Sendable {
    let store: ResultStore?
    let fingerprint: AnalysisFingerprint
    /// This process among those sharing the store.
    let worker: String
    /// How long a claimed unit stays this process's without a renewal (renewed every third of it
    /// while the unit runs); another process takes over a unit whose lease ran out.
    var leaseSeconds = 60.0

    private let lock = NSLock()
    /// The units this process has claimed and not finished.
    private var held = Set<UnitID>()
    private var failure: String?
    private var coordinationTime = (seconds: 0.0, units: 0)

    init(store: ResultStore?, fingerprint: AnalysisFingerprint, worker: String) {
        self.store = store
        self.fingerprint = fingerprint
        self.worker = worker
        if let store, store.isReadOnly {
            failure = "\(store.location) is read-only: its finished results are shown, nothing new is saved"
        }
    }

    /// Why results are not being saved (the store is read-only, or a write failed); nil while they
    /// are, or without a store.
    var notSaving: String? { lock.withLock { failure } }

    /// The time spent claiming units and writing their results, and the units written.
    var coordination: (seconds: Double, units: Int) { lock.withLock { coordinationTime } }

    /// Whether units are claimed before they are computed: with a store that is written to (not
    /// read-only, no write failed).
    var coordinating: Bool {
        guard let store, !store.isReadOnly else { return false }
        return notSaving == nil
    }

    // MARK: Claims

    /// Claims `unit` for this process: true when it may compute it (always, when not coordinating).
    /// A store that cannot be written any more ends the coordination: the process goes on alone.
    func claim(_ unit: UnitID) -> Bool {
        guard coordinating, let store else { return true }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lock.withLock { coordinationTime.seconds += elapsed }
        }
        do {
            guard try store.claim(fingerprint, unit: unit.description, worker: worker, lease: leaseSeconds) else { return false }
            lock.withLock { _ = held.insert(unit) }
            return true
        } catch {
            lock.withLock { failure = "not saving any more: \(error)" }
            return true
        }
    }

    /// The claims on the analysis's units (a claim whose text names no unit is not this engine's),
    /// and the number of other processes that hold a live claim.
    func claims() throws -> (units: [UnitID: ClaimState], otherWorkers: Int) {
        guard let store else { return ([:], 0) }
        let claims = try store.claims(fingerprint)
        let units = claims.compactMap { text, claim in UnitID(text).map { ($0, claim) } }
        return (Dictionary(units, uniquingKeysWith: { a, _ in a }),
                EngineProgress.otherWorkers(claims, besides: worker, at: Date().timeIntervalSince1970))
    }

    /// Runs `body` with this process's leases renewed on a thread of their own, however long a unit
    /// takes; then gives up the units it holds and has not finished, so that others need not wait
    /// for their leases (a process killed gives up nothing: its leases run out).
    func holdingClaims<T>(_ body: () throws -> T) rethrows -> T {
        let renewal = LeaseRenewal()
        // Weakly: the renewal thread ends a little after its owner stops, and must not keep the
        // store connection alive past it.
        if coordinating { renewal.start(every: leaseSeconds / 3) { [weak self] in self?.renewLeases() } }
        defer {
            renewal.stop()
            releaseClaims()
        }
        return try body()
    }

    /// Extends the leases of the units this process holds (a failed renewal is tried again next
    /// time; a unit lost meanwhile is found out when its result is written).
    private func renewLeases() {
        guard let store else { return }
        let units = lock.withLock { held.map(\.description) }
        if !units.isEmpty { _ = try? store.renew(fingerprint, units: units, worker: worker, lease: leaseSeconds) }
    }

    private func releaseClaims() {
        guard let store else { return }
        let units = lock.withLock { held.map(\.description) }
        if !units.isEmpty { try? store.release(fingerprint, units: units, worker: worker) }
        lock.withLock { held.removeAll() }
    }

    // MARK: Reading what is stored

    func pooledBatchFirsts() throws -> [Int] { try store?.pooledBatchFirsts(fingerprint) ?? [] }
    func pooledBatch(first: Int) throws -> [Float]? { try store?.pooledBatch(fingerprint, first: first) }

    func estimateChunks() throws -> [Int: (questions: Int, values: [Float], attributions: [Float16])] {
        try store?.estimateChunks(fingerprint) ?? [:]
    }

    func entries() throws -> [SpecializationScore.Entry] { try store?.entries(fingerprint) ?? [] }

    func baseline(questions: Int) throws -> [QuestionResult]? { try store?.baseline(fingerprint, questions: questions) }

    func patterns() throws -> ActivationPatterns.Stored? { try store?.patterns(fingerprint) }

    // MARK: Writing results

    func register() {
        write(nil) { store, _ in try store.register(fingerprint) }
    }

    /// Each save below writes a unit's result and ends its claim: false when another process took
    /// the unit over meanwhile, and nothing was written.
    /// The unmasked evaluation with every question's pooled coefficients, made in one pass: their
    /// batches are written in the same transaction, done with it.
    func saveBaseline(_ results: [QuestionResult], pooled: PooledCoefficients) -> Bool {
        write(.baseline) { try $0.save(fingerprint, baseline: results, pooled: pooled, batch: AnalysisEngine.promptBatch, claim: $1) }
    }

    func savePooled(first: Int, questions: Int, neurons: Int, values: [Float]) -> Bool {
        write(.pooled(first: first)) { try $0.savePooled(fingerprint, first: first, questions: questions, neurons: neurons, values: values[...], claim: $1) }
    }

    func saveEstimateChunk(first: Int, questions: Int, neurons: Int, values: [Float], attributions: [Float16]) -> Bool {
        write(.estimate(first: first)) {
            try $0.saveEstimateChunk(fingerprint, first: first, questions: questions, neurons: neurons, values: values,
                                     attributions: attributions, claim: $1)
        }
    }

    func save(_ entry: SpecializationScore.Entry) -> Bool {
        write(.pss(concept: entry.concept, ratio: entry.ratio)) { try $0.save(fingerprint, entries: [entry], claim: $1) }
    }

    /// A step of the pattern chain; the chain's claim goes on until its last step `completes` it.
    func savePatternStep(_ record: ActivationPatterns.StepRecord, completes: Bool) -> Bool {
        write(.patterns, completes: completes) { try $0.save(fingerprint, patternStep: record, claim: $1) }
    }

    /// Writes unless the store is read-only or a write has failed before. The result of a claimed
    /// `unit` lands only while the claim is this process's (and ends it when it `completes` the
    /// unit): false when another process took the unit over, and nothing was written.
    @discardableResult
    private func write(_ unit: UnitID?, completes: Bool = true, _ body: (ResultStore, UnitClaim?) throws -> Void) -> Bool {
        guard let store, notSaving == nil else { return true }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            lock.withLock {
                coordinationTime.seconds += elapsed
                if unit != nil { coordinationTime.units += 1 }
            }
        }
        let claim = unit.flatMap { unit in
            lock.withLock { held.contains(unit) }
                ? UnitClaim(unit: unit.description, worker: worker, lease: leaseSeconds, completes: completes) : nil
        }
        do {
            try body(store, claim)
            if completes, let unit { lock.withLock { _ = held.remove(unit) } }
            return true
        } catch is ClaimLost {
            // The claim `body` wrote under, `unit`'s, was taken over.
            if let unit { lock.withLock { _ = held.remove(unit) } }
            return false
        } catch {
            lock.withLock { failure = "not saving any more: \(error)" }
            return true
        }
    }
}

/// Renews a process's leases on a thread of its own while its units run, however long one takes.
private final class LeaseRenewal: @unchecked Sendable {
    private let condition = NSCondition()
    private var stopped = false

    func start(every seconds: Double, _ renew: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in
            condition.lock()
            while !stopped {
                _ = condition.wait(until: Date().addingTimeInterval(seconds))
                if stopped { break }
                condition.unlock()
                renew()
                condition.lock()
            }
            condition.unlock()
        }
        thread.name = "neurotop leases"
        thread.start()
    }

    func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }
}
