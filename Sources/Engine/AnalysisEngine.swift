import Foundation
import Analysis
import Model
import Tensors

/// Computes both analyses in small units of work, publishing an immutable `AnalysisSnapshot`
/// after each, writing each result to the store as it is computed, and answering ablation
/// requests and neuron inspections on a second thread while the analyses run.
///
/// Units (`UnitID`), in the order `WorkPlan` gives them: the unablated evaluation that the masked
/// ones compare with (it decides which questions and concepts PSS is measured on); the pooled
/// coefficients of one batch of prompts (method 1 needs them all before Δ exists); with a front
/// end attached, the ablation estimate's attributions, a chunk of questions at a time (a backward
/// per scored quantity: what lets a toggle show estimated accuracies at once); then, interleaved
/// so that both fill in together, one concept's masked evaluation at one ratio (PSS) and one step
/// of the activation patterns (a backward per domain for two samples). A concept the front end
/// focuses on is evaluated first.
///
/// The engine coordinates: `WorkPlan` says which unit is next, `AnalysisComputation` computes it
/// and keeps the results, `UnitStore` claims it and writes it, `LiveRequests` answers the front
/// end. The engine knows nothing about who reads its snapshots.
public final class AnalysisEngine: @unchecked Sendable {
    public let inputs: AnalysisInputs
    public let options: AnalysisOptions
    public let fingerprint: AnalysisFingerprint
    public let store: ResultStore?
    let card: ModelCard
    let patterns: ActivationPatterns
    let evaluator: Evaluator
    let candidates: Evaluator.Candidates
    private let unitStore: UnitStore
    private let requests: LiveRequests
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
    public var leaseSeconds: Double {
        get { unitStore.leaseSeconds }
        set { unitStore.leaseSeconds = newValue }
    }
    /// How often a process with nothing to claim looks for what others finished.
    static let pollSeconds = 0.25
    /// The time spent claiming units and writing their results in the store, and the units
    /// written: the cost of sharing the work, per unit.
    public var coordination: (seconds: Double, units: Int) { unitStore.coordination }

    /// What the threads share, guarded by `condition`.
    private let condition = NSCondition()
    private var latest: AnalysisSnapshot
    private var parts: Parts
    private var stopping = false
    private var threads: [Thread] = []
    private var running = 0
    /// Writes to the store under way (`stop` with patience waits for them).
    private var writing = 0

    /// The pieces of a snapshot the analysis thread makes (the requests' are `requests.shown`).
    private struct Parts {
        var progress: EngineProgress
        var pooled: PooledCoefficients?
        var specialization: Specialization?
        var specializations: [Double]?
        var entries: [SpecializationScore.Entry] = []
        var patterns: PatternResults?
        var baseline: ProbeAccuracy?
        var plan: SpecializationScore.Plan?
        var ledger = Ledger()
    }

    /// Work done and left, per kind, with the time each kind took: progress and time left.
    private struct Ledger {
        var pooledBatches = 0, pooledDone = 0
        var baselineTotal = 1, baselineDone = 0
        var estimateChunks = 0, estimateDone = 0
        var entriesTotal = 0, entriesDone = 0
        var stepsTotal = 0, stepsDone = 0
        var seconds: [UnitID.Kind: (total: Double, count: Int)] = [:]
        /// The useful arithmetic of the units timed, per kind.
        var flops: [UnitID.Kind: Double] = [:]

        var done: Int { pooledDone + baselineDone + estimateDone + entriesDone + stepsDone }
        var total: Int { pooledBatches + baselineTotal + estimateChunks + entriesTotal + stepsTotal }

        var kinds: [EngineProgress.Kind] {
            func kind(_ name: String, _ key: UnitID.Kind, _ done: Int, _ total: Int) -> EngineProgress.Kind {
                EngineProgress.Kind(name: name, done: done, total: total, timed: seconds[key] != nil, seconds: seconds[key]?.total ?? 0,
                                    flops: flops[key] ?? 0)
            }
            return [kind("unmasked evaluation", .baseline, baselineDone, baselineTotal)]
                + (estimateChunks > 0 ? [kind("ablation estimate chunks", .estimate, estimateDone, estimateChunks)] : [])
                + [kind("pooling batches", .pooled, pooledDone, pooledBatches),
                    kind("PSS evaluations", .pss, entriesDone, entriesTotal), kind("pattern steps", .patterns, stepsDone, stepsTotal)]
        }

        mutating func record(_ kind: UnitID.Kind, _ elapsed: Double, flops work: Double) {
            let old = seconds[kind] ?? (0, 0)
            seconds[kind] = (old.total + elapsed, old.count + 1)
            flops[kind, default: 0] += work
        }

        /// Σ over kinds of units left × mean time of that kind; nil while a kind with work left
        /// has not been timed yet.
        var secondsLeft: Double? {
            var left = 0.0
            for (kind, remaining) in [(UnitID.Kind.pooled, pooledBatches - pooledDone), (.baseline, baselineTotal - baselineDone),
                                      (.estimate, estimateChunks - estimateDone),
                                      (.pss, entriesTotal - entriesDone), (.patterns, stepsTotal - stepsDone)] where remaining > 0 {
                guard let timing = seconds[kind], timing.count > 0 else { return nil }
                left += Double(remaining) * timing.total / Double(timing.count)
            }
            return left
        }
    }

    /// The measured concepts of `plan` in the order the engine computes their PSS runs (a fair
    /// sample at every length: METHODS.md, "Uncertainty, partial results and comparisons").
    public static func pssConceptOrder(_ plan: SpecializationScore.Plan, probes: ProbeSet) -> [Int] {
        WorkPlan.pssConceptOrder(plan, probes: probes)
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
        unitStore = UnitStore(store: store, fingerprint: fingerprint, worker: worker)
        requests = LiveRequests(inputs: inputs, evaluator: evaluator, candidates: candidates)
        var ledger = Ledger()
        ledger.pooledBatches = (inputs.probes.questions.count + Self.promptBatch - 1) / Self.promptBatch
        // At most: the concepts left out are known once the unmasked evaluation is.
        ledger.entriesTotal = inputs.probes.concepts.count * options.ratios.count
        ledger.stepsTotal = patterns.stepCount
        parts = Parts(progress: EngineProgress(state: .working, doing: "starting", done: 0, total: ledger.total, kinds: ledger.kinds), ledger: ledger)
        parts.progress.notSaving = unitStore.notSaving
        latest = AnalysisSnapshot(generation: 0, card: card, probes: inputs.probes, progress: parts.progress, pooled: nil,
                                  specialization: nil, specializations: nil,
                                  score: SpecializationScore(metric: options.metric, ratios: options.ratios, entries: []),
                                  conceptCount: inputs.probes.concepts.count, patterns: nil, baseline: nil, live: nil,
                                  requestedAblation: Ablation(), details: [:])
        unitStore.register()
    }

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
            requests.serve { publish() }
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
    /// With the ablation estimate in, its figures are published here, on the caller's thread.
    public func setAblation(_ ablation: Ablation) {
        requests.request(ablation)
        publish()
    }

    /// Puts what the front end is looking at first: a concept's PSS, a neuron's or a block's
    /// promoted tokens.
    public func focus(_ focus: EngineFocus) {
        requests.focus(focus)
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
        requests.stop()
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

    /// What the store holds of this analysis, computing nothing: a partial analysis as far as its
    /// workers have got (`bench partial` reads one while they go on). A pattern chain it finds free
    /// is claimed for the reading and released.
    public func readStored() throws -> AnalysisSnapshot {
        try unitStore.holdingClaims {
            let analysis = AnalysisComputation(inputs: inputs, options: options, evaluator: evaluator, candidates: candidates,
                                               patterns: patterns, store: unitStore, headless: true)
            try resume(analysis, observe: {})
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
        try unitStore.holdingClaims {
            let analysis = AnalysisComputation(inputs: inputs, options: options, evaluator: evaluator, candidates: candidates,
                                               patterns: patterns, store: unitStore, headless: headless)
            try resume(analysis, observe: observe)
            // What each kind's efficiency is taken against: the product at the heart of every unit,
            // on the threads the units run on.
            let peak = BLAS.measuredPeak(size: 1024, runs: 3, sideBySide: evaluator.threads)
            update { $0.progress.sgemmPeak = peak }
            var claims: [UnitID: ClaimState] = [:]
            while true {
                try checkStopping()
                if unitStore.coordinating {
                    let read = try unitStore.claims()
                    claims = read.units
                    try readFinished(claims, analysis)
                    if condition.withLock({ parts.progress.otherWorkers }) != read.otherWorkers {
                        update { $0.progress.otherWorkers = read.otherWorkers }
                        observe()
                    }
                }
                publishSpecialization(analysis)
                if analysis.plan.isFinished { break }
                guard let unit = analysis.plan.next(claims: claims, worker: worker, now: Date().timeIntervalSince1970,
                                                    focusedConcept: requests.focusedConcept) else {
                    let waiting = "waiting for the units other processes are computing"
                    if condition.withLock({ parts.progress.doing }) != waiting {
                        update { $0.progress.doing = waiting }
                        observe()
                    }
                    Thread.sleep(forTimeInterval: Self.pollSeconds)
                    continue
                }
                // Another process may have claimed it since the claims were read: look again.
                if !(unit == .patterns && analysis.plan.holdsChain), !unitStore.claim(unit) { continue }
                try compute(unit, analysis, observe: observe)
                observe()
            }
            update {
                $0.progress.state = .finished
                $0.progress.doing = "finished"
            }
            observe()
        }
    }

    /// Takes in what the store has, and publishes it. A stored unmasked evaluation is adopted
    /// (with the unmasked state cached first, for live ablations); a finished analysis reopened
    /// headless needs no unmasked evaluation at all.
    private func resume(_ analysis: AnalysisComputation, observe: () -> Void) throws {
        try analysis.readEstimate()
        try analysis.readPooled()
        let storedBaseline = try analysis.readBaseline()
        let pssPlan = try storedBaseline.map { try analysis.planPSS($0) }
        if pssPlan != nil, analysis.plan.pssLeft?.isEmpty == true, analysis.headless { analysis.plan.needsBaseline = false }
        let restored = try analysis.resumePatterns()
        let plan = analysis.plan, stepsDone = analysis.patterns.stepsDone, stepCount = analysis.patterns.stepCount
        if let estimate = analysis.estimate, plan.hasEstimate { requests.setEstimate(estimate) }
        if let storedBaseline { requests.setBaseline(storedBaseline, evaluatorReady: false) }
        update {
            $0.ledger.pooledDone = plan.pooled.count
            if let estimated = plan.estimated {
                $0.ledger.estimateChunks = plan.estimateChunks
                $0.ledger.estimateDone = estimated.count
            }
            $0.ledger.stepsDone = stepsDone
            if let pssPlan {
                $0.baseline = storedBaseline
                $0.plan = pssPlan
                $0.ledger.entriesTotal = pssPlan.measuredConcepts.count * options.ratios.count
                $0.ledger.entriesDone = analysis.entries.count
                $0.entries = analysis.entries
            }
            if stepsDone > 0 { $0.patterns = restored }
            $0.progress.doing = "resuming from the store (activation patterns from step \(stepsDone) of \(stepCount))"
        }
        observe()
        publishSpecialization(analysis)

        if !analysis.plan.needsBaseline {
            update {
                $0.ledger.baselineTotal = 0
                $0.progress.doing = "unmasked evaluation from the store"
            }
        } else if let storedBaseline {
            if !analysis.headless {
                try checkStopping()
                update { $0.progress.doing = "caching the unmasked state" }
                observe()
                _ = try timed(.baseline, flops: { $0 }) { try analysis.cacheResiduals() }
            }
            try adopt(storedBaseline, analysis)
            observe()
        }
    }

    /// Reads what other processes finished since the last look (their claims say which).
    private func readFinished(_ claims: [UnitID: ClaimState], _ analysis: AnalysisComputation) throws {
        let kinds = analysis.plan.unread(claims)
        if kinds.isEmpty { return }
        if kinds.contains(.baseline), !analysis.plan.hasBaseline, analysis.plan.needsBaseline, let baseline = try analysis.readBaseline() {
            try adopt(baseline, analysis)
        }
        if kinds.contains(.estimate) { try analysis.readEstimate() }
        // The unmasked evaluation's pass pools every question too: its batches come with it.
        if kinds.contains(.pooled) || kinds.contains(.baseline) { try analysis.readPooled() }
        if kinds.contains(.pss) { try analysis.readEntries() }
        if kinds.contains(.patterns), !analysis.plan.holdsChain, analysis.patterns.stepsDone < analysis.patterns.stepCount {
            let results = try analysis.restorePatterns()
            let stepsDone = analysis.patterns.stepsDone
            update {
                $0.ledger.stepsDone = stepsDone
                $0.patterns = results
            }
        }
        analysis.plan.noteFinished(claims)
        let plan = analysis.plan, entries = analysis.entries
        update {
            $0.ledger.pooledDone = plan.pooled.count
            $0.ledger.estimateDone = plan.estimated?.count ?? 0
            $0.ledger.entriesDone = entries.count
            $0.entries = entries
        }
    }

    /// The unmasked evaluation, computed here or read: PSS's plan, and live toggles' baseline.
    private func adopt(_ accuracy: ProbeAccuracy, _ analysis: AnalysisComputation) throws {
        let made = try analysis.adopt(accuracy)
        let entries = analysis.entries
        // Ready together with the baseline a toggle's estimate is read against.
        requests.setBaseline(accuracy, evaluatorReady: analysis.residualsCached)
        update {
            $0.ledger.baselineDone = 1
            $0.baseline = accuracy
            $0.plan = made
            $0.ledger.entriesTotal = made.measuredConcepts.count * options.ratios.count
            $0.ledger.entriesDone = entries.count
            $0.entries = entries
            $0.progress.doing = "unmasked evaluation: PSS on \(made.summary)"
        }
    }

    /// Method 1, first half done: the specialization, published once. With every batch in the
    /// store, before the unmasked state is cached: a reopened analysis shows its figures at once.
    private func publishSpecialization(_ analysis: AnalysisComputation) {
        guard let made = analysis.makeSpecialization() else { return }
        let specializations = made.specialization.specializations
        requests.setPooled(made.pooled)
        update { parts in
            parts.pooled = made.pooled
            parts.specialization = made.specialization
            parts.specializations = specializations
        }
    }

    /// Computes the claimed `unit`, writes it to the store and publishes it, telling `onUnit`.
    private func compute(_ unit: UnitID, _ analysis: AnalysisComputation, observe: () -> Void) throws {
        let probes = inputs.probes, questions = probes.questions.count
        let start = DispatchTime.now().uptimeNanoseconds
        func seconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        /// Said before the unit, so that progress shows what is running now.
        func begin(_ name: String, _ doing: String) {
            onUnit?(.started(name))
            update { $0.progress.doing = doing }
            observe()
        }
        func report(_ name: String, _ seconds: Double, written: Bool) {
            onUnit?(written ? .finished(name, seconds: seconds) : .lost(name))
        }
        let name = unit.description

        switch unit {
        case .baseline:
            begin(name, "unmasked evaluation and pooling")
            let unmasked = try timed(.baseline, flops: { $0.flops }) { try analysis.evaluateBaseline() }
            let pooled = PooledCoefficients(questions: questions, neurons: analysis.neurons, storage: unmasked.pooled)
            report(name, seconds(), written: write { unitStore.saveBaseline(unmasked.accuracy.results, pooled: pooled) })
            let pooledDone = analysis.plan.pooled.count
            update { $0.ledger.pooledDone = pooledDone }
            try adopt(unmasked.accuracy, analysis)

        case .estimate(let first):
            // The ablation estimate's attributions, chunk by chunk; published when complete.
            let range = analysis.estimateRange(first: first)
            begin(name, "ablation estimate: questions \(range.lowerBound + 1)–\(range.upperBound) of \(questions)")
            let chunk = try timed(.estimate, flops: { $0.flops }) { try analysis.attributions(first: first) }
            report(name, seconds(), written: write {
                unitStore.saveEstimateChunk(first: first, questions: range.count, neurons: analysis.neurons, values: chunk.values,
                                        attributions: chunk.attributions)
            })
            let plan = analysis.plan
            if let estimate = analysis.estimate, plan.hasEstimate { requests.setEstimate(estimate) }
            update { $0.ledger.estimateDone = plan.estimated?.count ?? 0 }

        case .pooled(let first):
            // Method 1, first half: p for every question, batch by batch.
            let count = min(Self.promptBatch, questions - first)
            begin(name, "pooling coefficients: questions \(first + 1)–\(first + count) of \(questions)")
            let values = try timed(.pooled, flops: { $0.flops }) { try analysis.pool(first: first) }.values
            report(name, seconds(), written: write { unitStore.savePooled(first: first, questions: count, neurons: analysis.neurons, values: values) })
            let pooledDone = analysis.plan.pooled.count
            update { $0.ledger.pooledDone = pooledDone }

        case .pss(let concept, let ratio):
            // Method 1, second half: one concept's masked evaluation at one ratio.
            let asked = analysis.pssPlan.map { $0.own[concept].count + $0.control[concept].count } ?? 0
            begin(name, "specialization: \(probes.concepts[concept]) at \(ratio * 100) % (\(asked) questions)")
            let entry = try timed(.pss, flops: { $0.flops }) { try analysis.entry(concept: concept, ratio: ratio) }.entry
            report(name, seconds(), written: write { unitStore.save(entry) })
            let entries = analysis.entries
            update {
                $0.ledger.entriesDone = entries.count
                $0.entries = entries
            }

        case .patterns:
            // Method 2, one step. A chain another process left (it is gone) continues from its
            // last stored step when its sums file can be opened here, else from the start.
            if !analysis.plan.holdsChain {
                let results = try analysis.takeChain()
                let stepsDone = analysis.patterns.stepsDone
                update {
                    $0.ledger.stepsDone = stepsDone
                    if stepsDone > 0 { $0.patterns = results }
                }
            }
            let patterns = analysis.patterns, step = patterns.stepsDone + 1
            begin("pattern step \(step)", "activation patterns: step \(step) of \(patterns.stepCount)")
            let results = try timed(.patterns, flops: { $0.flops }) { try analysis.step() }.results
            let last = patterns.stepsDone == patterns.stepCount
            let written = write { unitStore.savePatternStep(patterns.lastStep(), completes: last) }
            report("pattern step \(step)", seconds(), written: written)
            analysis.stepStored(written: written)
            update {
                $0.ledger.stepsDone = patterns.stepsDone
                $0.patterns = results
                $0.progress.doing = "activation patterns: \(results.samplesDone) of \(options.patterns.samples) samples per domain"
            }
        }
    }

    /// A write to the store, counted while under way: `stop` with patience does not cut it short.
    private func write(_ body: () -> Bool) -> Bool {
        condition.withLock { writing += 1 }
        defer {
            condition.withLock {
                writing -= 1
                condition.broadcast()
            }
        }
        return body()
    }

    /// Runs a unit's computation, recording its time and its useful arithmetic (`flops`).
    private func timed<T>(_ kind: UnitID.Kind, flops: (T) -> Double, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let result = try body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let work = flops(result)
        condition.withLock { parts.ledger.record(kind, elapsed, flops: work) }
        return result
    }

    // MARK: Publishing

    /// Changes the shared parts and publishes a new snapshot.
    private func update(_ change: (inout Parts) -> Void) {
        condition.withLock { change(&parts) }
        publish()
    }

    private func publish() {
        condition.withLock {
            let shown = requests.shown
            parts.progress.notSaving = unitStore.notSaving
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
                                      live: shown.live, requestedAblation: shown.ablation, details: shown.details)
        }
        onPublish?()
    }
}
