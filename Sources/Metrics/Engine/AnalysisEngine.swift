import Foundation

/// Computes both analyses in small units of work, publishing an immutable `AnalysisSnapshot`
/// after each, writing each result to the store as it is computed, and answering ablation
/// requests and neuron inspections on a second thread while the analyses run.
///
/// Units, in order: the unablated evaluation that the masked ones compare with (it decides which
/// questions and concepts PSS is measured on); with a front end attached, the ablation estimate's
/// attributions, a chunk of questions at a time (a backward per scored quantity: what lets a
/// toggle show estimated accuracies at once); the pooled coefficients of one batch of prompts
/// (method 1 needs them all before Δ exists); then, interleaved so that both fill in together,
/// one concept's masked evaluation at one ratio (PSS) and one step of the activation patterns (a
/// backward per domain for two samples). A concept the front end focuses on is evaluated first.
/// The engine knows nothing about who reads its snapshots.
public final class AnalysisEngine: @unchecked Sendable {
    public let inputs: AnalysisInputs
    public let options: AnalysisOptions
    public let fingerprint: AnalysisFingerprint
    public let store: ResultStore?
    let card: ModelCard
    let patterns: ActivationPatterns
    let evaluator: Evaluator
    let candidates: Evaluator.Candidates
    /// Prompts per pooled-coefficient unit.
    public static let promptBatch = 64
    /// Questions per ablation-estimate unit.
    public static let estimateBatch = 16
    /// Questions per exact re-evaluation a toggle publishes, after the focused concept's.
    public static let exactSlice = 64

    /// Called after each published snapshot, on the engine's thread: a front end wakes its loop.
    public var onPublish: (@Sendable () -> Void)?

    /// What happened to a unit this process worked on: named as `pooled 0`, `pss 3 0.01` (concept,
    /// ratio), `pattern step 2`, `baseline`, `estimate 16`.
    public enum UnitEvent: Sendable, Equatable {
        case started(String)
        case finished(String, seconds: Double)
        /// Computed, but another process had taken it over meanwhile: not written.
        case lost(String)
    }

    /// Called on the analysis thread as units start and end.
    public var onUnit: (@Sendable (UnitEvent) -> Void)?

    /// This process among those sharing the store.
    public let worker = WorkerID.current
    /// How long a claimed unit stays this process's without a renewal (renewed every third of it
    /// while the unit runs); another process takes over a unit whose lease ran out.
    public var leaseSeconds = 60.0
    /// How often a process with nothing to claim looks for what others finished.
    static let pollSeconds = 0.25
    /// The time spent claiming units and writing their results in the store, and the units
    /// written: the cost of sharing the work, per unit.
    public var coordination: (seconds: Double, units: Int) { condition.withLock { coordinationTime } }
    private var coordinationTime = (seconds: 0.0, units: 0)

    /// What the threads share, guarded by `condition`.
    private let condition = NSCondition()
    private var latest: AnalysisSnapshot
    private var parts: Parts
    private var requested = Ablation()
    /// The estimate `setAblation` published for `requested`, and the milliseconds it took.
    private var requestedEstimate: (scores: EstimatedScores, milliseconds: Double)?
    private var requestNumber = 0
    private var focusedConcept: Int?
    private var neuronRequests: [NeuronID] = []
    private var blockRequests: [Int] = []
    private var evaluatorReady = false
    private var stopping = false
    private var threads: [Thread] = []
    private var running = 0
    /// The units this process has claimed and not finished.
    private var held = Set<String>()
    /// Writes to the store under way (`stop` with patience waits for them).
    private var writing = 0

    /// The pieces a snapshot is made of.
    private struct Parts {
        var progress: EngineProgress
        var pooled: PooledCoefficients?
        var specialization: Specialization?
        var specializations: [Double]?
        var entries: [SpecializationScore.Entry] = []
        var patterns: PatternResults?
        var baseline: ProbeAccuracy?
        var plan: SpecializationScore.Plan?
        var live: LiveAccuracy?
        var estimate: AblationEstimate?
        var details: [NeuronID: NeuronDetail] = [:]
        var ledger = Ledger()
    }

    /// Work done and left, per kind, with the time each kind took: progress and time left.
    private struct Ledger {
        var pooledBatches = 0, pooledDone = 0
        var baselineTotal = 1, baselineDone = 0
        var estimateChunks = 0, estimateDone = 0
        var entriesTotal = 0, entriesDone = 0
        var stepsTotal = 0, stepsDone = 0
        var seconds: [String: (total: Double, count: Int)] = [:]

        var done: Int { pooledDone + baselineDone + estimateDone + entriesDone + stepsDone }
        var total: Int { pooledBatches + baselineTotal + estimateChunks + entriesTotal + stepsTotal }

        var kinds: [EngineProgress.Kind] {
            func kind(_ name: String, _ key: String, _ done: Int, _ total: Int) -> EngineProgress.Kind {
                EngineProgress.Kind(name: name, done: done, total: total, timed: seconds[key] != nil, seconds: seconds[key]?.total ?? 0)
            }
            return [kind("unmasked evaluation", "baseline", baselineDone, baselineTotal)]
                + (estimateChunks > 0 ? [kind("ablation estimate chunks", "estimate", estimateDone, estimateChunks)] : [])
                + [kind("pooling batches", "pooled", pooledDone, pooledBatches),
                    kind("PSS evaluations", "pss", entriesDone, entriesTotal), kind("pattern steps", "step", stepsDone, stepsTotal)]
        }

        mutating func record(_ kind: String, _ elapsed: Double) {
            let old = seconds[kind] ?? (0, 0)
            seconds[kind] = (old.total + elapsed, old.count + 1)
        }

        /// Σ over kinds of units left × mean time of that kind; nil while a kind with work left
        /// has not been timed yet.
        var secondsLeft: Double? {
            var left = 0.0
            for (kind, remaining) in [("pooled", pooledBatches - pooledDone), ("baseline", baselineTotal - baselineDone),
                                      ("estimate", estimateChunks - estimateDone),
                                      ("pss", entriesTotal - entriesDone), ("step", stepsTotal - stepsDone)] where remaining > 0 {
                guard let timing = seconds[kind], timing.count > 0 else { return nil }
                left += Double(remaining) * timing.total / Double(timing.count)
            }
            return left
        }
    }

    /// Loads inputs the way the commands name them (nil model: the built-in demo) and opens the
    /// store at `storePath` (nil: no store).
    public static func load(model: String?, probes: String, domains: String, options: AnalysisOptions,
                            storePath: String?) throws -> AnalysisEngine {
        let inputs = try AnalysisInputs.load(model: model, probes: probes, domains: domains)
        return try AnalysisEngine(inputs: inputs, options: options, store: storePath.map { try openResultStore($0) })
    }

    public init(inputs: AnalysisInputs, options: AnalysisOptions, store: ResultStore?) throws {
        self.inputs = inputs
        self.options = options
        self.store = store
        let fingerprint = try AnalysisFingerprint(inputs: inputs, options: options)
        self.fingerprint = fingerprint
        card = ModelCard(checkpoint: inputs.checkpoint)
        // The domains' sums live beside the store between steps, so that a killed run resumes.
        patterns = try ActivationPatterns(model: inputs.model, tokenizer: inputs.tokenizer, corpus: inputs.corpus, options: options.patterns,
                                          sumsPath: store.flatMap { $0.isReadOnly ? nil : $0.sumsPath(fingerprint) })
        evaluator = try Evaluator(model: inputs.model, tokenizer: inputs.tokenizer, probes: inputs.probes)
        candidates = options.metric == .open ? .answers : .all
        var ledger = Ledger()
        ledger.pooledBatches = (inputs.probes.questions.count + Self.promptBatch - 1) / Self.promptBatch
        // At most: the concepts left out are known once the unmasked evaluation is.
        ledger.entriesTotal = inputs.probes.concepts.count * options.ratios.count
        ledger.stepsTotal = patterns.stepCount
        parts = Parts(progress: EngineProgress(state: .working, doing: "starting", done: 0, total: ledger.total, kinds: ledger.kinds), ledger: ledger)
        if let store, store.isReadOnly {
            parts.progress.notSaving = "\(store.location) is read-only: its finished results are shown, nothing new is saved"
        }
        latest = AnalysisSnapshot(generation: 0, card: card, probes: inputs.probes, progress: parts.progress, pooled: nil,
                                  specialization: nil, specializations: nil,
                                  score: SpecializationScore(metric: options.metric, ratios: options.ratios, entries: []),
                                  conceptCount: inputs.probes.concepts.count, patterns: nil, baseline: nil, live: nil,
                                  requestedAblation: Ablation(), details: [:])
        persist { store, _ in try store.register(fingerprint) }
    }

    /// Writes to the store unless it is read-only or a write has failed before. A failed write
    /// (disk full, permissions) is reported once, in the progress; the analysis goes on with what
    /// it has, in memory. The result of a claimed `unit` lands only while the claim is this
    /// process's (and ends it when it `completes` the unit): false when another process took the
    /// unit over, and nothing was written.
    @discardableResult
    private func persist(_ unit: String? = nil, completes: Bool = true,
                         _ write: (ResultStore, UnitClaim?) throws -> Void) -> Bool {
        guard let store, condition.withLock({ () -> Bool in
            guard parts.progress.notSaving == nil else { return false }
            writing += 1
            return true
        }) else { return true }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            condition.withLock {
                writing -= 1
                condition.broadcast()
                coordinationTime.seconds += elapsed
                if unit != nil { coordinationTime.units += 1 }
            }
        }
        let claim = unit.flatMap { unit in
            condition.withLock { held.contains(unit) } ? UnitClaim(unit: unit, worker: worker, lease: leaseSeconds, completes: completes) : nil
        }
        do {
            try write(store, claim)
            if completes, let unit { condition.withLock { _ = held.remove(unit) } }
            return true
        } catch let lost as ClaimLost {
            condition.withLock { _ = held.remove(lost.unit) }
            return false
        } catch {
            condition.withLock { parts.progress.notSaving = "not saving any more: \(error)" }
            return true
        }
    }

    // MARK: Sharing the work with other processes on the same store

    /// Whether units are claimed in the store before they are computed: with a store that is
    /// written to (not read-only, no write failed).
    private var coordinating: Bool {
        guard let store, !store.isReadOnly else { return false }
        return condition.withLock { parts.progress.notSaving == nil }
    }

    /// Claims `unit` for this process: true when it may compute it (always, when not coordinating).
    /// A store that cannot be written any more ends the coordination: the process goes on alone.
    private func claim(_ unit: String) -> Bool {
        guard coordinating, let store else { return true }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            condition.withLock { coordinationTime.seconds += elapsed }
        }
        do {
            guard try store.claim(fingerprint, unit: unit, worker: worker, lease: leaseSeconds) else { return false }
            condition.withLock { _ = held.insert(unit) }
            return true
        } catch {
            condition.withLock { parts.progress.notSaving = "not saving any more: \(error)" }
            return true
        }
    }

    /// Extends the leases of the units this process holds (a failed renewal is tried again next
    /// time; a unit lost meanwhile is found out when its result is written).
    private func renewLeases() {
        guard let store else { return }
        let units = condition.withLock { Array(held) }
        if !units.isEmpty { _ = try? store.renew(fingerprint, units: units, worker: worker, lease: leaseSeconds) }
    }

    /// Gives up the units this process holds and has not finished, so that others need not wait
    /// for their leases (a process killed gives up nothing: its leases run out).
    private func releaseClaims() {
        guard let store else { return }
        let units = condition.withLock { Array(held) }
        if !units.isEmpty { try? store.release(fingerprint, units: units, worker: worker) }
        condition.withLock { held.removeAll() }
    }

    private func report(_ unit: String, _ seconds: Double, written: Bool) {
        onUnit?(written ? .finished(unit, seconds: seconds) : .lost(unit))
    }

    static let baselineUnit = "baseline"
    static let patternsUnit = "patterns"
    static func estimateUnit(_ first: Int) -> String { "estimate \(first)" }
    static func pooledUnit(_ first: Int) -> String { "pooled \(first)" }
    private static func entryUnit(_ key: EntryKey) -> String { "pss \(key.concept) \(key.ratio)" }

    // MARK: What a front end calls (any thread)

    public var snapshot: AnalysisSnapshot { condition.withLock { latest } }

    /// Threads an evaluation (a toggle's exact answer, a PSS run) scores its chunks on, side by
    /// side. Set before `start`.
    public var evaluationThreads: Int {
        get { evaluator.threads }
        set { evaluator.threads = newValue }
    }

    /// The model's parameter count.
    public var parameters: Int { card.parameters }

    /// Starts the analyses and the ablation server, each on its own thread.
    public func start() {
        let analysis = Thread { [self] in
            do {
                try work()
            } catch is Stopped {
            } catch {
                update { $0.progress.state = .failed("\(error)") }
            }
            finishThread()
        }
        let live = Thread { [self] in
            serveRequests()
            finishThread()
        }
        analysis.name = "neurotop analysis"
        live.name = "neurotop ablation"
        condition.withLock {
            threads = [analysis, live]
            running = 2
        }
        analysis.start()
        live.start()
    }

    /// Asks for accuracy with `ablation`; a newer request supersedes (and cancels) an older one.
    /// With the ablation estimate in, its figures are published here, on the caller's thread: on
    /// the request thread they would wait for an older request's exact slice still running there
    /// (seconds on a real model beside the analysis).
    public func setAblation(_ ablation: Ablation) {
        let start = DispatchTime.now().uptimeNanoseconds
        let (estimate, hasBaseline) = condition.withLock { (parts.estimate, parts.baseline != nil) }
        var guess: EstimatedScores?
        if !ablation.isEmpty, hasBaseline, (try? inputs.model.validate(ablation)) != nil { guess = estimate?.estimate(ablation) }
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let probes = inputs.probes
        condition.withLock {
            requested = ablation
            requestNumber += 1
            requestedEstimate = guess.map { ($0, milliseconds) }
            if let guess {
                parts.live = LiveAccuracy(ablation: ablation, accuracy: ProbeAccuracy(probes: probes, results: guess.results),
                                          exact: Array(repeating: false, count: guess.results.count),
                                          milliseconds: milliseconds, estimateMilliseconds: milliseconds)
            }
            condition.broadcast()
        }
        publish()
    }

    /// Puts what the front end is looking at first: a concept's PSS, a neuron's or a block's
    /// promoted tokens.
    public func focus(_ focus: EngineFocus) {
        condition.withLock {
            switch focus {
            case .concept(let name): focusedConcept = inputs.probes.concepts.firstIndex(of: name)
            case .neuron(let neuron):
                if latest.details[neuron] == nil, !neuronRequests.contains(neuron) { neuronRequests.append(neuron) }
            case .block(let block):
                if block >= 0, block < inputs.model.blockCount, !blockRequests.contains(block) { blockRequests.append(block) }
            }
            condition.broadcast()
        }
    }

    /// Cancels the work under way and waits for the threads to end: for the unit under way to
    /// finish, or with `patience`, at most that many seconds and never while a result is being
    /// written. A process that exits then loses only the unit it cut short, computed again next
    /// time: the store writes a unit in one transaction, and the pattern sums keep the last
    /// step's copy whole (the same guarantees that make a killed run resume).
    /// Returns whether the threads have ended.
    @discardableResult
    public func stop(patience: Double? = nil) -> Bool {
        // No distantFuture: Foundation's wait(until:) traps on it here.
        let deadline = patience.map { Date(timeIntervalSinceNow: $0) }
        condition.lock()
        stopping = true
        condition.broadcast()
        while running > 0 {
            if let deadline, writing == 0 {
                if !condition.wait(until: deadline) { break }
            } else {
                condition.wait()
            }
        }
        let ended = running == 0
        condition.unlock()
        return ended
    }

    private func finishThread() {
        condition.withLock {
            running -= 1
            condition.broadcast()
        }
    }

    /// Runs the analyses to the end on the calling thread (headless), calling `progress` after
    /// each unit and whenever what it is doing or the count of other workers changes; returns the
    /// final snapshot. Errors are thrown, not published.
    public func runToEnd(progress: (EngineProgress) -> Void) throws -> AnalysisSnapshot {
        var last: EngineProgress?
        try work(headless: true) { [self] in
            let now = snapshot.progress
            if now.done != last?.done || now.doing != last?.doing || now.otherWorkers != last?.otherWorkers {
                last = now
                progress(now)
            }
        }
        return snapshot
    }

    // MARK: The analysis thread

    private struct Stopped: Error {}

    private func checkStopping() throws {
        if condition.withLock({ stopping }) { throw Stopped() }
        inputs.checkpoint.endIfChanged()
    }

    /// Headless, nothing serves live ablations: a finished analysis reopened needs no cached state.
    ///
    /// Every unit is claimed in the store before it is computed, so that processes sharing the
    /// store split the work: a unit another process holds is left to it (and taken over once its
    /// lease runs out), a unit another process finished is read from the store. The activation
    /// patterns' steps follow one another through one sums file: their chain is one claim, held by
    /// one process from the step it starts with to the last.
    private func work(headless: Bool = false, observe: () -> Void = {}) throws {
        let probes = inputs.probes, model = inputs.model
        let neurons = model.blockCount * model.mlpWidth
        let renewal = LeaseRenewal()
        // Weakly: the renewal thread ends a little after `stop`, and must not keep the engine (and
        // its store connection) alive past its owner.
        if coordinating { renewal.start(every: leaseSeconds / 3) { [weak self] in self?.renewLeases() } }
        defer {
            renewal.stop()
            releaseClaims()
        }
        // Headless, no toggle reads an estimate: it is not made.
        let estimate = headless ? nil : AblationEstimate(evaluator: evaluator, candidates: candidates)
        let estimateChunks = (probes.questions.count + Self.estimateBatch - 1) / Self.estimateBatch
        let pooledBatches = (probes.questions.count + Self.promptBatch - 1) / Self.promptBatch
        /// Units this process has the results of, computed or read.
        var known = Set<String>()
        var estimateFilled = Set<Int>()
        /// Fills the stored chunks not filled yet. Stored chunks are filled before the evaluator is
        /// ready, so that a reopened analysis answers its first toggle with the estimate, not with a
        /// slow exact pass.
        func readEstimate() throws {
            guard let estimate, let store else { return }
            for (first, chunk) in try store.estimateChunks(fingerprint) where !estimateFilled.contains(first) {
                guard first % Self.estimateBatch == 0, first < probes.questions.count else { continue }
                let range = first..<min(first + Self.estimateBatch, probes.questions.count)
                guard chunk.questions == range.count, chunk.values.count == estimate.targets(questions: range),
                      chunk.attributions.count == chunk.values.count * neurons else { continue }
                estimate.fill(questions: range, values: chunk.values, attributions: chunk.attributions)
                estimateFilled.insert(first)
                known.insert(Self.estimateUnit(first))
            }
        }
        var pooledValues: [Int: [Float]] = [:]
        func readPooled() throws {
            guard let store else { return }
            for (first, values) in try store.pooledBatches(fingerprint) where pooledValues[first] == nil {
                guard first % Self.promptBatch == 0, values.count == min(Self.promptBatch, probes.questions.count - first) * neurons else { continue }
                pooledValues[first] = values
                known.insert(Self.pooledUnit(first))
            }
        }
        func storedEntries() throws -> [EntryKey: SpecializationScore.Entry] {
            Dictionary((try store?.entries(fingerprint) ?? []).map { (EntryKey($0.concept, $0.ratio), $0) }, uniquingKeysWith: { a, _ in a })
        }
        var pending: [EntryKey] = []
        var entries: [SpecializationScore.Entry] = []
        /// Moves the pending runs the store has into `entries`.
        func takeStored(_ stored: [EntryKey: SpecializationScore.Entry]) {
            pending.removeAll { key in
                guard let entry = stored[key] else { return false }
                entries.append(entry)
                known.insert(Self.entryUnit(key))
                return true
            }
        }
        /// The concept × ratio runs the plan measures, less those the store has.
        func makePlan(_ baseline: ProbeAccuracy) throws -> SpecializationScore.Plan {
            let plan = SpecializationScore.Plan(probes: probes, baseline: baseline, metric: options.metric,
                                                controlSet: options.controlSet, questions: options.pssQuestions)
            pending = plan.measuredConcepts.flatMap { c in options.ratios.map { EntryKey(c, $0) } }
            try takeStored(storedEntries())
            return plan
        }
        try readEstimate()
        try readPooled()
        let storedBaseline = try store?.baseline(fingerprint, questions: probes.questions.count).map { ProbeAccuracy(probes: probes, results: $0) }
        var plan = try storedBaseline.map(makePlan)
        var baseline: ProbeAccuracy?
        // A finished analysis reopened headless needs no unmasked evaluation.
        let skipsBaseline = plan != nil && pending.isEmpty && headless
        var residualsCached = false
        func cacheResiduals() throws {
            if residualsCached { return }
            try evaluator.cacheResiduals(candidates)
            residualsCached = true
        }
        /// The unmasked evaluation, computed here or read: PSS's plan, and live toggles' baseline.
        func adopt(_ accuracy: ProbeAccuracy) throws {
            if !headless { try cacheResiduals() }
            baseline = accuracy
            let made = try plan ?? makePlan(accuracy)
            plan = made
            known.insert(Self.baselineUnit)
            // Ready together with the baseline a toggle's estimate is read against.
            update {
                evaluatorReady = residualsCached
                condition.broadcast()
                $0.ledger.baselineDone = 1
                $0.baseline = accuracy
                $0.plan = made
                $0.ledger.entriesTotal = made.measuredConcepts.count * options.ratios.count
                $0.ledger.entriesDone = entries.count
                $0.entries = entries
                $0.progress.doing = "unmasked evaluation: PSS on \(made.summary)"
            }
        }
        // The patterns as far as stored: a finished chain is read at once; an unfinished one is
        // continued by whoever claims it (its sums file is opened by one process only).
        // Alone (no store to share), the chain is this process's.
        var holdsChain = !coordinating, lostChain = false
        /// Continues (or shows, when finished) the stored chain; false when it cannot be continued here.
        func restorePatterns() throws -> PatternResults? {
            guard let saved = try store?.patterns(fingerprint), try patterns.restore(saved) else { return nil }
            if patterns.stepsDone == patterns.stepCount { known.insert(Self.patternsUnit) }
            return patterns.results()
        }
        var restored: PatternResults?
        if let stepsStored = try store?.patterns(fingerprint)?.stepsDone {
            if stepsStored < patterns.stepCount, coordinating, claim(Self.patternsUnit) { holdsChain = true }
            if stepsStored == patterns.stepCount || holdsChain { restored = try restorePatterns() }
        }
        update {
            $0.ledger.pooledDone = pooledValues.count
            if estimate != nil {
                $0.ledger.estimateChunks = estimateChunks
                $0.ledger.estimateDone = estimateFilled.count
                if estimateFilled.count == estimateChunks { $0.estimate = estimate }
            }
            $0.ledger.stepsDone = patterns.stepsDone
            if let plan {
                $0.baseline = storedBaseline
                $0.plan = plan
                $0.ledger.entriesTotal = plan.measuredConcepts.count * options.ratios.count
                $0.ledger.entriesDone = entries.count
                $0.entries = entries
            }
            if patterns.stepsDone > 0 { $0.patterns = restored }
            $0.progress.doing = "resuming from the store (activation patterns from step \(patterns.stepsDone) of \(patterns.stepCount))"
        }
        observe()

        var specialization: Specialization?
        /// Method 1, first half done (p for every question, computed or read): the specialization,
        /// published once. With every batch in the store, before the unmasked state is cached: a
        /// reopened analysis shows its figures at once.
        func publishSpecialization() {
            guard specialization == nil, pooledValues.count == pooledBatches else { return }
            var pooled = [Float](repeating: 0, count: probes.questions.count * neurons)
            for (first, values) in pooledValues { pooled.replaceSubrange((first * neurons)..<(first * neurons + values.count), with: values) }
            let coefficients = PooledCoefficients(questions: probes.questions.count, neurons: neurons, values: pooled)
            let made = Specialization(pooled: coefficients, probes: probes, blocks: model.blockCount, width: model.mlpWidth,
                                      association: options.association)
            specialization = made
            let specializations = made.specializations
            update { parts in
                parts.pooled = coefficients
                parts.specialization = made
                parts.specializations = specializations
                for (neuron, detail) in parts.details {
                    parts.details[neuron] = NeuronDetail(neuron: neuron, promoted: detail.promoted, suppressed: detail.suppressed,
                                                         topQuestions: coefficients.topQuestions(neuron, width: model.mlpWidth, count: 5))
                }
            }
        }
        publishSpecialization()

        // The unablated evaluation keeps every block's state for the masked ones (and for live
        // ablations when a front end is attached).
        if skipsBaseline {
            update {
                $0.ledger.baselineTotal = 0
                $0.progress.doing = "unmasked evaluation from the store"
            }
        } else if let storedBaseline {
            if !headless {
                try checkStopping()
                update { $0.progress.doing = "caching the unmasked state" }
                observe()
                try timed("baseline") { try cacheResiduals() }
            }
            try adopt(storedBaseline)
            observe()
        }

        /// Reads what other processes finished since the last look (their claims say which).
        func readFinished(_ claims: [String: ClaimState]) throws {
            let kinds = Set(claims.filter { $0.value.done && !known.contains($0.key) }.keys.map { $0.prefix { $0 != " " } })
            if kinds.isEmpty { return }
            if kinds.contains(Substring(Self.baselineUnit)), baseline == nil, !skipsBaseline,
               let results = try store?.baseline(fingerprint, questions: probes.questions.count) {
                try adopt(ProbeAccuracy(probes: probes, results: results))
            }
            if kinds.contains("estimate") { try readEstimate() }
            if kinds.contains("pooled") { try readPooled() }
            if kinds.contains("pss") { try takeStored(storedEntries()) }
            if kinds.contains(Substring(Self.patternsUnit)), !holdsChain, patterns.stepsDone < patterns.stepCount {
                let results = try restorePatterns()
                update {
                    $0.ledger.stepsDone = patterns.stepsDone
                    $0.patterns = results
                }
            }
            // What was finished and is not needed here (a run the plan leaves out) is not read again.
            for (unit, claim) in claims where claim.done { known.insert(unit) }
            update {
                $0.ledger.pooledDone = pooledValues.count
                $0.ledger.estimateDone = estimateFilled.count
                $0.ledger.entriesDone = entries.count
                $0.entries = entries
            }
        }

        var claims: [String: ClaimState] = [:]
        /// Whether this process may claim `unit`: nobody has it, it has it, or its holder is gone.
        func isFree(_ unit: String) -> Bool {
            guard let claim = claims[unit] else { return true }
            return !claim.done && (claim.worker == worker || claim.isFree(at: Date().timeIntervalSince1970))
        }
        enum Unit {
            case baseline, estimate(Int), pooled(Int), entry(Int), step
            var isStep: Bool { if case .step = self { true } else { false } }
        }
        /// The next unit in the order one process computes them: the unmasked evaluation, the
        /// pooling batches, the estimate's chunks (after the pooled coefficients, so that a
        /// reopened analysis shows its stored figures at once), then PSS runs and pattern steps interleaved so
        /// that both fill in together (a focused concept's runs first). A unit another process
        /// holds is passed over; the pattern steps wait for nothing else.
        func nextUnit() -> Unit? {
            if !skipsBaseline, baseline == nil, isFree(Self.baselineUnit) { return .baseline }
            if let first = stride(from: 0, to: probes.questions.count, by: Self.promptBatch)
                .first(where: { pooledValues[$0] == nil && isFree(Self.pooledUnit($0)) }) { return .pooled(first) }
            if estimate != nil, let first = stride(from: 0, to: probes.questions.count, by: Self.estimateBatch)
                .first(where: { !estimateFilled.contains($0) && isFree(Self.estimateUnit($0)) }) { return .estimate(first) }
            let stepFree = patterns.stepsDone < patterns.stepCount && !lostChain && (holdsChain || isFree(Self.patternsUnit))
            if specialization != nil, plan != nil {
                let focused = condition.withLock { focusedConcept }
                let focusedIndex = focused.flatMap { c in pending.firstIndex { $0.concept == c && isFree(Self.entryUnit($0)) } }
                let entriesShare = Double(entries.count) / Double(max(entries.count + pending.count, 1))
                let stepsShare = Double(patterns.stepsDone) / Double(max(patterns.stepCount, 1))
                if let index = focusedIndex ?? pending.firstIndex(where: { isFree(Self.entryUnit($0)) }),
                   focusedIndex != nil || !stepFree || entriesShare <= stepsShare {
                    return .entry(index)
                }
            }
            return stepFree ? .step : nil
        }
        var finished: Bool {
            (skipsBaseline || baseline != nil) && (estimate == nil || estimateFilled.count == estimateChunks) && pooledValues.count == pooledBatches
                && plan != nil && pending.isEmpty && patterns.stepsDone == patterns.stepCount
        }

        while true {
            try checkStopping()
            if coordinating, let store {
                claims = try store.claims(fingerprint)
                try readFinished(claims)
                let others = EngineProgress.otherWorkers(claims, besides: worker, at: Date().timeIntervalSince1970)
                if condition.withLock({ parts.progress.otherWorkers }) != others {
                    update { $0.progress.otherWorkers = others }
                    observe()
                }
            }
            publishSpecialization()
            if finished { break }
            guard let unit = nextUnit() else {
                let waiting = "waiting for the units other processes are computing"
                if condition.withLock({ parts.progress.doing }) != waiting {
                    update { $0.progress.doing = waiting }
                    observe()
                }
                Thread.sleep(forTimeInterval: Self.pollSeconds)
                continue
            }
            let name: String
            switch unit {
            case .baseline: name = Self.baselineUnit
            case .estimate(let first): name = Self.estimateUnit(first)
            case .pooled(let first): name = Self.pooledUnit(first)
            case .entry(let index): name = Self.entryUnit(pending[index])
            case .step: name = Self.patternsUnit
            }
            // Another process may have claimed it since the claims were read: look again.
            if !(unit.isStep && holdsChain), !claim(name) { continue }
            let start = DispatchTime.now().uptimeNanoseconds
            func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

            switch unit {
            case .baseline:
                onUnit?(.started(name))
                update { $0.progress.doing = "unmasked evaluation" }
                observe()
                let accuracy = try timed("baseline") { () -> ProbeAccuracy in
                    try cacheResiduals()
                    return try evaluator.evaluate(candidates: candidates)
                }
                report(name, seconds(), written: persist(name) { try $0.save(fingerprint, baseline: accuracy.results, claim: $1) })
                try adopt(accuracy)

            case .estimate(let first):
                // The ablation estimate's attributions, chunk by chunk; published when complete.
                guard let estimate else { continue }
                let range = first..<min(first + Self.estimateBatch, probes.questions.count)
                onUnit?(.started(name))
                update { $0.progress.doing = "ablation estimate: questions \(range.lowerBound + 1)–\(range.upperBound) of \(probes.questions.count)" }
                observe()
                let (values, attributions) = try timed("estimate") { try evaluator.attributions(questions: range, candidates: candidates) }
                report(name, seconds(), written: persist(name) {
                    try $0.saveEstimateChunk(fingerprint, first: first, questions: range.count, neurons: neurons, values: values,
                                             attributions: attributions, claim: $1)
                })
                estimate.fill(questions: range, values: values, attributions: attributions)
                estimateFilled.insert(first)
                known.insert(name)
                update {
                    $0.ledger.estimateDone = estimateFilled.count
                    if estimateFilled.count == estimateChunks { $0.estimate = estimate }
                }

            case .pooled(let first):
                // Method 1, first half: p for every question, batch by batch.
                let count = min(Self.promptBatch, probes.questions.count - first)
                onUnit?(.started(name))
                update { $0.progress.doing = "pooling coefficients: questions \(first + 1)–\(first + count) of \(probes.questions.count)" }
                observe()
                let values = try timed("pooled") {
                    try PooledCoefficients.pool(model: model, tokenizer: inputs.tokenizer,
                                                prompts: probes.questions[first..<(first + count)].map(\.prompt), pooling: options.pooling)
                }
                report(name, seconds(), written: persist(name) {
                    try $0.savePooled(fingerprint, first: first, questions: count, neurons: neurons, values: values[...], claim: $1)
                })
                pooledValues[first] = values
                known.insert(name)
                update { $0.ledger.pooledDone = pooledValues.count }

            case .entry(let index):
                // Method 1, second half: one concept's masked evaluation at one ratio.
                guard let specialization, let plan else { continue }
                let key = pending.remove(at: index)
                if !residualsCached {
                    update { $0.progress.doing = "caching the unmasked state" }
                    observe()
                    try cacheResiduals()
                }
                onUnit?(.started(name))
                // Said before the unit, so that progress shows what is running now.
                update {
                    $0.progress.doing = "specialization: \(probes.concepts[key.concept]) at \(key.ratio * 100) %"
                        + " (\(plan.own[key.concept].count + plan.control[key.concept].count) questions)"
                }
                observe()
                let entry = try timed("pss") {
                    try SpecializationScore.entry(concept: key.concept, ratio: key.ratio, specialization: specialization,
                                                  evaluator: evaluator, metric: options.metric, plan: plan)
                }
                report(name, seconds(), written: persist(name) { try $0.save(fingerprint, entries: [entry], claim: $1) })
                entries.append(entry)
                known.insert(name)
                update {
                    $0.ledger.entriesDone = entries.count
                    $0.entries = entries
                }

            case .step:
                // Method 2, one step. A chain another process left (it is gone) continues from its
                // last stored step when its sums file can be opened here, else from the start.
                if !holdsChain {
                    holdsChain = true
                    let results = try restorePatterns()
                    update {
                        $0.ledger.stepsDone = patterns.stepsDone
                        if patterns.stepsDone > 0 { $0.patterns = results }
                    }
                }
                let stepName = "pattern step \(patterns.stepsDone + 1)"
                onUnit?(.started(stepName))
                update { $0.progress.doing = "activation patterns: step \(patterns.stepsDone + 1) of \(patterns.stepCount)" }
                observe()
                let results = try timed("step") { () -> PatternResults in
                    try patterns.step()
                    return patterns.results()
                }
                let last = patterns.stepsDone == patterns.stepCount
                let written = persist(name, completes: last) { try $0.save(fingerprint, patternStep: patterns.lastStep(), claim: $1) }
                report(stepName, seconds(), written: written)
                if !written {
                    // Taken over: the other process carries the chain on from what it stored.
                    holdsChain = false
                    lostChain = true
                }
                if last {
                    patterns.discardSums()
                    known.insert(name)
                }
                update {
                    $0.ledger.stepsDone = patterns.stepsDone
                    $0.patterns = results
                    $0.progress.doing = "activation patterns: \(results.samplesDone) of \(options.patterns.samples) samples per domain"
                }
            }
            observe()
        }
        update {
            $0.progress.state = .finished
            $0.progress.doing = "finished"
        }
        observe()
    }

    private struct EntryKey: Hashable {
        let concept: Int
        let ratio: Double
        init(_ concept: Int, _ ratio: Double) {
            self.concept = concept
            self.ratio = ratio
        }
    }

    private func timed<T>(_ kind: String, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        condition.withLock { parts.ledger.record(kind, elapsed) }
        return result
    }

    // MARK: The request thread: ablations and neuron inspections

    private func serveRequests() {
        var served = 0
        while true {
            condition.lock()
            while !stopping, neuronRequests.isEmpty, blockRequests.isEmpty, !(evaluatorReady && requestNumber != served) {
                condition.wait()
            }
            if stopping {
                condition.unlock()
                return
            }
            if !neuronRequests.isEmpty {
                let neuron = neuronRequests.removeFirst()
                condition.unlock()
                inspect([neuron])
                continue
            }
            if evaluatorReady, requestNumber != served {
                let (ablation, number, published) = (requested, requestNumber, requestedEstimate)
                condition.unlock()
                served = number
                evaluateLive(ablation, number, published: published)
                continue
            }
            let block = blockRequests.removeFirst()
            condition.unlock()
            let width = inputs.model.mlpWidth
            let known = snapshot.details
            // A block's neurons in slices, so an ablation request waits for one slice at most.
            for first in stride(from: 0, to: width, by: 64) {
                let slice = (first..<min(first + 64, width)).map { NeuronID(block: block, neuron: $0) }.filter { known[$0] == nil }
                if !slice.isEmpty { inspect(slice) }
                if condition.withLock({ stopping || requestNumber != served || !neuronRequests.isEmpty }) {
                    condition.withLock { if !blockRequests.contains(block) { blockRequests.append(block) } }
                    break
                }
            }
        }
    }

    /// Answers a toggle: the estimate at once when there is one (`published` by `setAblation`, or
    /// made here when the estimate came in since), then the exact results, the focused concept's
    /// questions first, then those the estimate says change most, then the rest, each slice
    /// published as it comes; without an estimate, all questions in one pass. Nothing is
    /// published once a newer request came: its estimate may already be on screen.
    private func evaluateLive(_ ablation: Ablation, _ number: Int, published: (scores: EstimatedScores, milliseconds: Double)?) {
        guard !ablation.isEmpty else { return }
        let probes = inputs.probes
        func cancelled() -> Bool { condition.withLock { stopping || requestNumber != number } }
        func show(_ live: LiveAccuracy) { update { if requestNumber == number { $0.live = live } } }
        do {
            try inputs.model.validate(ablation)
            let start = DispatchTime.now().uptimeNanoseconds
            func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
            let (estimate, focused, baseline) = condition.withLock { (parts.estimate, focusedConcept, parts.baseline) }
            guard let guess = published?.scores ?? estimate?.estimate(ablation), let baseline else {
                let accuracy = try evaluator.evaluate(ablation: ablation, candidates: candidates, isCancelled: cancelled)
                show(LiveAccuracy(ablation: ablation, accuracy: accuracy, milliseconds: elapsed()))
                return
            }
            var results = guess.results, exact = Array(repeating: false, count: results.count)
            let estimateMilliseconds: Double
            if let published {
                estimateMilliseconds = published.milliseconds
            } else {
                estimateMilliseconds = elapsed()
                show(LiveAccuracy(ablation: ablation, accuracy: ProbeAccuracy(probes: probes, results: results), exact: exact,
                                  milliseconds: estimateMilliseconds, estimateMilliseconds: estimateMilliseconds))
            }
            let first = focused.flatMap { probes.questionIndices[probes.concepts[$0]] } ?? []
            let slices = AblationEstimate.exactOrder(guess, baseline: baseline.results, first: first, slice: Self.exactSlice)
            for slice in slices {
                if cancelled() { return }
                for (q, result) in zip(slice, try evaluator.evaluate(questions: slice, ablation: ablation, candidates: candidates)) {
                    results[q] = result
                    exact[q] = true
                }
                show(LiveAccuracy(ablation: ablation, accuracy: ProbeAccuracy(probes: probes, results: results), exact: exact,
                                  milliseconds: elapsed(), estimateMilliseconds: estimateMilliseconds))
            }
        } catch {
            // Cancelled by a newer request, or neurons the model does not have: nothing to show.
        }
    }

    /// Promoted and suppressed tokens (W_U · v_i) and top questions of some neurons.
    private func inspect(_ neurons: [NeuronID]) {
        let model = inputs.model, vocab = model.vocabSize
        let vectors = neurons.flatMap { model.valueVector($0) }
        let scores = model.unembed(vectors, count: neurons.count)
        let pooled = snapshot.pooled
        var details: [NeuronID: NeuronDetail] = [:]
        for (row, neuron) in neurons.enumerated() {
            let values = scores[(row * vocab)..<((row + 1) * vocab)]
            func tokens(_ ids: [Int]) -> [NeuronDetail.TokenScore] {
                ids.map { NeuronDetail.TokenScore(token: inputs.tokenizer.displayString($0), value: values[values.startIndex + $0]) }
            }
            details[neuron] = NeuronDetail(neuron: neuron, promoted: tokens(Self.extremes(values, count: 10, largest: true)),
                                           suppressed: tokens(Self.extremes(values, count: 10, largest: false)),
                                           topQuestions: pooled?.topQuestions(neuron, width: model.mlpWidth, count: 5) ?? [])
        }
        update { $0.details.merge(details) { _, new in new } }
    }

    /// Indices of the `count` largest (or smallest) values, in that order; ties by index.
    static func extremes(_ values: ArraySlice<Float>, count: Int, largest: Bool) -> [Int] {
        var chosen: [(index: Int, value: Float)] = []
        func before(_ a: (index: Int, value: Float), _ b: (index: Int, value: Float)) -> Bool {
            a.value == b.value ? a.index < b.index : (largest ? a.value > b.value : a.value < b.value)
        }
        for (offset, value) in values.enumerated() {
            let item = (index: offset, value: value)
            if chosen.count == count, let last = chosen.last, !before(item, last) { continue }
            let position = chosen.firstIndex { before(item, $0) } ?? chosen.count
            chosen.insert(item, at: position)
            if chosen.count > count { chosen.removeLast() }
        }
        return chosen.map(\.index)
    }

    // MARK: Publishing

    /// Changes the shared parts and publishes a new snapshot.
    private func update(_ change: (inout Parts) -> Void) {
        condition.withLock { change(&parts) }
        publish()
    }

    private func publish() {
        condition.withLock {
            parts.progress.done = parts.ledger.done
            parts.progress.total = parts.ledger.total
            parts.progress.kinds = parts.ledger.kinds
            parts.progress.secondsLeft = parts.progress.state == .working ? parts.ledger.secondsLeft : 0
            let entries = parts.entries.sorted { ($0.concept, $0.ratio) < ($1.concept, $1.ratio) }
            latest = AnalysisSnapshot(generation: latest.generation + 1, card: card, probes: inputs.probes, progress: parts.progress,
                                      pooled: parts.pooled, specialization: parts.specialization,
                                      specializations: parts.specializations,
                                      score: SpecializationScore(metric: options.metric, ratios: options.ratios, entries: entries, plan: parts.plan),
                                      conceptCount: inputs.probes.concepts.count, patterns: parts.patterns, baseline: parts.baseline,
                                      live: parts.live, requestedAblation: requested, details: parts.details)
        }
        onPublish?()
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
