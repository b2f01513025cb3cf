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
    public let store: AnalysisStore?
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

    /// What the threads share, guarded by `condition`.
    private let condition = NSCondition()
    private var latest: AnalysisSnapshot
    private var parts: Parts
    private var requested = Ablation()
    private var requestNumber = 0
    private var focusedConcept: Int?
    private var neuronRequests: [NeuronID] = []
    private var blockRequests: [Int] = []
    private var evaluatorReady = false
    private var stopping = false
    private var threads: [Thread] = []
    private var running = 0
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
        return try AnalysisEngine(inputs: inputs, options: options, store: storePath.map { try AnalysisStore(path: $0) })
    }

    public init(inputs: AnalysisInputs, options: AnalysisOptions, store: AnalysisStore?) throws {
        self.inputs = inputs
        self.options = options
        self.store = store
        let fingerprint = try AnalysisFingerprint(inputs: inputs, options: options)
        self.fingerprint = fingerprint
        card = ModelCard(checkpoint: inputs.checkpoint)
        // The domains' sums live beside the store between steps, so that a killed run resumes.
        patterns = try ActivationPatterns(model: inputs.model, tokenizer: inputs.tokenizer, corpus: inputs.corpus, options: options.patterns,
                                          sumsPath: store.flatMap { $0.isReadOnly ? nil : "\($0.path).\(fingerprint.id).sums" })
        evaluator = try Evaluator(model: inputs.model, tokenizer: inputs.tokenizer, probes: inputs.probes)
        candidates = options.metric == .open ? .answers : .all
        var ledger = Ledger()
        ledger.pooledBatches = (inputs.probes.questions.count + Self.promptBatch - 1) / Self.promptBatch
        // At most: the concepts left out are known once the unmasked evaluation is.
        ledger.entriesTotal = inputs.probes.concepts.count * options.ratios.count
        ledger.stepsTotal = patterns.stepCount
        parts = Parts(progress: EngineProgress(state: .working, doing: "starting", done: 0, total: ledger.total, kinds: ledger.kinds), ledger: ledger)
        if let store, store.isReadOnly {
            parts.progress.notSaving = "\(store.path) is read-only: its finished results are shown, nothing new is saved"
        }
        latest = AnalysisSnapshot(generation: 0, card: card, probes: inputs.probes, progress: parts.progress, pooled: nil,
                                  specialization: nil, specializations: nil,
                                  score: SpecializationScore(metric: options.metric, ratios: options.ratios, entries: []),
                                  conceptCount: inputs.probes.concepts.count, patterns: nil, baseline: nil, live: nil,
                                  requestedAblation: Ablation(), details: [:])
        persist { try $0.register(fingerprint) }
    }

    /// Writes to the store unless it is read-only or a write has failed before. A failed write
    /// (disk full, permissions) is reported once, in the progress; the analysis goes on with what
    /// it has, in memory.
    private func persist(_ write: (AnalysisStore) throws -> Void) {
        guard let store, condition.withLock({ () -> Bool in
            guard parts.progress.notSaving == nil else { return false }
            writing += 1
            return true
        }) else { return }
        defer {
            condition.withLock {
                writing -= 1
                condition.broadcast()
            }
        }
        do {
            try write(store)
        } catch {
            condition.withLock { parts.progress.notSaving = "not saving any more: \(error)" }
        }
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
    public func setAblation(_ ablation: Ablation) {
        condition.withLock {
            requested = ablation
            requestNumber += 1
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
    /// each unit and whenever what it is doing changes; returns the final snapshot. Errors are
    /// thrown, not published.
    public func runToEnd(progress: (EngineProgress) -> Void) throws -> AnalysisSnapshot {
        var last: EngineProgress?
        try work(headless: true) { [self] in
            let now = snapshot.progress
            if now.done != last?.done || now.doing != last?.doing {
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
    private func work(headless: Bool = false, observe: () -> Void = {}) throws {
        let probes = inputs.probes, model = inputs.model
        let neurons = model.blockCount * model.mlpWidth
        // Headless, no toggle reads an estimate: it is not made.
        let estimate = headless ? nil : AblationEstimate(evaluator: evaluator, candidates: candidates)
        let storedEstimate = (estimate == nil ? [:] : try store?.estimateChunks(fingerprint) ?? [:]).filter { first, chunk in
            guard let estimate, first % Self.estimateBatch == 0, first < probes.questions.count else { return false }
            let range = first..<min(first + Self.estimateBatch, probes.questions.count)
            return chunk.questions == range.count && chunk.values.count == estimate.targets(questions: range)
                && chunk.attributions.count == chunk.values.count * neurons
        }
        // Stored chunks are filled before the evaluator is ready, so that a reopened analysis
        // answers its first toggle with the estimate, not with a slow exact pass.
        let estimateChunks = (probes.questions.count + Self.estimateBatch - 1) / Self.estimateBatch
        for (first, chunk) in storedEstimate {
            estimate?.fill(questions: first..<min(first + Self.estimateBatch, probes.questions.count),
                           values: chunk.values, attributions: chunk.attributions)
        }
        // What the store already has for this fingerprint counts as done from the start.
        let storedPooled = (try store?.pooledBatches(fingerprint) ?? [:]).filter { first, values in
            first % Self.promptBatch == 0 && values.count == min(Self.promptBatch, probes.questions.count - first) * neurons
        }
        var storedEntries = Dictionary((try store?.entries(fingerprint) ?? []).map { (EntryKey($0.concept, $0.ratio), $0) },
                                       uniquingKeysWith: { a, _ in a })
        let storedBaseline = try store?.baseline(fingerprint, questions: probes.questions.count).map { ProbeAccuracy(probes: probes, results: $0) }
        var pending: [EntryKey] = []
        var entries: [SpecializationScore.Entry] = []
        /// The concept × ratio runs the plan measures, less those the store has.
        func makePlan(_ baseline: ProbeAccuracy) -> SpecializationScore.Plan {
            let plan = SpecializationScore.Plan(probes: probes, baseline: baseline, metric: options.metric,
                                                controlSet: options.controlSet, questions: options.pssQuestions)
            pending = plan.measuredConcepts.flatMap { c in options.ratios.map { EntryKey(c, $0) } }
            pending.removeAll { key in
                guard let entry = storedEntries.removeValue(forKey: key) else { return false }
                entries.append(entry)
                return true
            }
            return plan
        }
        let storedPlan = storedBaseline.map(makePlan)
        let restored = try store?.patterns(fingerprint).flatMap { try patterns.restore($0) ? patterns.results() : nil }
        update {
            $0.ledger.pooledDone = storedPooled.count
            if estimate != nil {
                $0.ledger.estimateChunks = estimateChunks
                $0.ledger.estimateDone = storedEstimate.count
                if storedEstimate.count == estimateChunks { $0.estimate = estimate }
            }
            $0.ledger.stepsDone = patterns.stepsDone
            if let storedPlan {
                $0.baseline = storedBaseline
                $0.plan = storedPlan
                $0.ledger.entriesTotal = storedPlan.measuredConcepts.count * options.ratios.count
                $0.ledger.entriesDone = entries.count
                $0.entries = entries
            }
            if patterns.stepsDone > 0 { $0.patterns = restored }
            $0.progress.doing = "resuming from the store (activation patterns from step \(patterns.stepsDone) of \(patterns.stepCount))"
        }
        observe()

        // Method 1, first half: p for every question, batch by batch, and the specialization.
        // When the store has every batch, before the unmasked evaluation: a reopened analysis
        // shows its figures at once, and caches the unmasked state for toggles after.
        func poolAndPublish() throws -> Specialization {
            var pooled = [Float](repeating: 0, count: probes.questions.count * neurons)
            for first in stride(from: 0, to: probes.questions.count, by: Self.promptBatch) {
                try checkStopping()
                let count = min(Self.promptBatch, probes.questions.count - first)
                let values: [Float]
                if let stored = storedPooled[first] {
                    values = stored
                } else {
                    update { $0.progress.doing = "pooling coefficients: questions \(first + 1)–\(first + count) of \(probes.questions.count)" }
                    observe()
                    values = try timed("pooled") {
                        try PooledCoefficients.pool(model: model, tokenizer: inputs.tokenizer,
                                                    prompts: probes.questions[first..<(first + count)].map(\.prompt), pooling: options.pooling)
                    }
                    persist { try $0.savePooled(fingerprint, first: first, questions: count, neurons: neurons, values: values[...]) }
                }
                pooled.replaceSubrange((first * neurons)..<((first + count) * neurons), with: values)
                update { if storedPooled[first] == nil { $0.ledger.pooledDone += 1 } }
                observe()
            }
            let coefficients = PooledCoefficients(questions: probes.questions.count, neurons: neurons, values: pooled)
            let specialization = Specialization(pooled: coefficients, probes: probes, blocks: model.blockCount, width: model.mlpWidth,
                                                association: options.association)
            let specializations = specialization.specializations
            update { parts in
                parts.pooled = coefficients
                parts.specialization = specialization
                parts.specializations = specializations
                for (neuron, detail) in parts.details {
                    parts.details[neuron] = NeuronDetail(neuron: neuron, promoted: detail.promoted, suppressed: detail.suppressed,
                                                         topQuestions: coefficients.topQuestions(neuron, width: model.mlpWidth, count: 5))
                }
            }
            return specialization
        }
        let poolBatches = (probes.questions.count + Self.promptBatch - 1) / Self.promptBatch
        let early = storedPooled.count == poolBatches ? try poolAndPublish() : nil

        // The unablated evaluation, with every block's state kept for the masked ones (and for
        // live ablations when a front end is attached).
        let plan: SpecializationScore.Plan
        if let storedPlan, pending.isEmpty, headless {
            plan = storedPlan
            update {
                $0.ledger.baselineTotal = 0
                $0.progress.doing = "unmasked evaluation from the store"
            }
        } else {
            try checkStopping()
            update { $0.progress.doing = storedBaseline == nil ? "unmasked evaluation" : "caching the unmasked state" }
            observe()
            let baseline = try timed("baseline") { () -> ProbeAccuracy in
                try evaluator.cacheResiduals(candidates)
                if let storedBaseline { return storedBaseline }
                let baseline = try evaluator.evaluate(candidates: candidates)
                persist { try $0.save(fingerprint, baseline: baseline.results) }
                return baseline
            }
            plan = storedPlan ?? makePlan(baseline)
            // Ready together with the baseline a toggle's estimate is read against.
            update {
                evaluatorReady = true
                condition.broadcast()
                $0.ledger.baselineDone = 1
                $0.baseline = baseline
                $0.plan = plan
                $0.ledger.entriesTotal = plan.measuredConcepts.count * options.ratios.count
                $0.ledger.entriesDone = entries.count
                $0.entries = entries
                $0.progress.doing = "unmasked evaluation: PSS on \(plan.summary)"
            }
        }
        observe()

        let specialization = try early ?? poolAndPublish()

        // The ablation estimate's attributions, chunk by chunk; published when complete. After the
        // pooled coefficients, so that a reopened analysis shows its stored figures at once.
        if let estimate {
            for first in stride(from: 0, to: probes.questions.count, by: Self.estimateBatch) {
                try checkStopping()
                let range = first..<min(first + Self.estimateBatch, probes.questions.count)
                if storedEstimate[first] != nil { continue }
                update { $0.progress.doing = "ablation estimate: questions \(range.lowerBound + 1)–\(range.upperBound) of \(probes.questions.count)" }
                observe()
                let (values, attributions) = try timed("estimate") { try evaluator.attributions(questions: range, candidates: candidates) }
                persist { try $0.saveEstimateChunk(fingerprint, first: first, questions: range.count, neurons: neurons, values: values, attributions: attributions) }
                estimate.fill(questions: range, values: values, attributions: attributions)
                // Published with the last chunk's count: a toggle that sees the estimate done has it.
                update {
                    $0.ledger.estimateDone += 1
                    if $0.ledger.estimateDone == estimateChunks { $0.estimate = estimate }
                }
                observe()
            }
        }

        // Method 1, second half, and method 2, interleaved.
        while !pending.isEmpty || patterns.stepsDone < patterns.stepCount {
            try checkStopping()
            let entriesShare = Double(entries.count) / Double(max(entries.count + pending.count, 1))
            let stepsShare = Double(patterns.stepsDone) / Double(max(patterns.stepCount, 1))
            let focused = condition.withLock { focusedConcept }
            let focusedIndex = focused.flatMap { c in pending.firstIndex { $0.concept == c } }
            if !pending.isEmpty, focusedIndex != nil || patterns.stepsDone == patterns.stepCount || entriesShare <= stepsShare {
                let key = pending.remove(at: focusedIndex ?? 0)
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
                persist { try $0.save(fingerprint, entries: [entry]) }
                entries.append(entry)
                update {
                    $0.ledger.entriesDone += 1
                    $0.entries = entries
                }
            } else {
                update { $0.progress.doing = "activation patterns: step \(patterns.stepsDone + 1) of \(patterns.stepCount)" }
                observe()
                let results = try timed("step") { () -> PatternResults in
                    try patterns.step()
                    return patterns.results()
                }
                persist { try $0.save(fingerprint, patternStep: patterns.lastStep()) }
                if patterns.stepsDone == patterns.stepCount { patterns.discardSums() }
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
                let (ablation, number) = (requested, requestNumber)
                condition.unlock()
                served = number
                evaluateLive(ablation, number)
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

    /// Answers a toggle: the estimate at once when there is one, then the exact results, the
    /// focused concept's questions first, then those the estimate says change most, then the
    /// rest, each slice published as it comes; without an estimate, all questions in one pass.
    private func evaluateLive(_ ablation: Ablation, _ number: Int) {
        guard !ablation.isEmpty else { return }
        let probes = inputs.probes
        func cancelled() -> Bool { condition.withLock { stopping || requestNumber != number } }
        do {
            try inputs.model.validate(ablation)
            let start = DispatchTime.now().uptimeNanoseconds
            func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
            let (estimate, focused, baseline) = condition.withLock { (parts.estimate, focusedConcept, parts.baseline) }
            guard let guess = estimate?.estimate(ablation), let baseline else {
                let accuracy = try evaluator.evaluate(ablation: ablation, candidates: candidates, isCancelled: cancelled)
                let milliseconds = elapsed()
                update { $0.live = LiveAccuracy(ablation: ablation, accuracy: accuracy, milliseconds: milliseconds) }
                return
            }
            var results = guess.results, exact = Array(repeating: false, count: results.count)
            let estimateMilliseconds = elapsed()
            update { $0.live = LiveAccuracy(ablation: ablation, accuracy: ProbeAccuracy(probes: probes, results: results), exact: exact,
                                            milliseconds: estimateMilliseconds, estimateMilliseconds: estimateMilliseconds) }
            let first = focused.flatMap { probes.questionIndices[probes.concepts[$0]] } ?? []
            let slices = AblationEstimate.exactOrder(guess, baseline: baseline.results, first: first, slice: Self.exactSlice)
            for slice in slices {
                if cancelled() { return }
                for (q, result) in zip(slice, try evaluator.evaluate(questions: slice, ablation: ablation, candidates: candidates)) {
                    results[q] = result
                    exact[q] = true
                }
                let milliseconds = elapsed()
                update { $0.live = LiveAccuracy(ablation: ablation, accuracy: ProbeAccuracy(probes: probes, results: results), exact: exact,
                                                milliseconds: milliseconds, estimateMilliseconds: estimateMilliseconds) }
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
