import Foundation
import Analysis
import Model

/// The analyses on the analysis thread: computes each kind of unit, and keeps the results as they
/// fill in, computed here or read from the store, with the plan of what is left (`plan`).
final class AnalysisComputation {
    let inputs: AnalysisInputs
    let options: AnalysisOptions
    let evaluator: Evaluator
    let candidates: Evaluator.Candidates
    let patterns: ActivationPatterns
    let store: UnitStore
    /// Nothing serves live ablations: the unmasked state is cached only for the masked evaluations,
    /// and no ablation estimate is made.
    let headless: Bool
    /// The ablation estimate, filled chunk by chunk; nil headless, where no toggle reads it.
    let estimate: AblationEstimate?
    var plan: WorkPlan
    /// MLP neurons of all blocks.
    let neurons: Int
    /// Every question's pooled coefficients, filled batch by batch (made at the first).
    private var pooledStorage: PooledCoefficients.Storage?
    /// Method 1's first half, made once every batch of pooled coefficients is in.
    private(set) var specialization: Specialization?
    /// PSS's plan, made from the unmasked evaluation.
    private(set) var pssPlan: SpecializationScore.Plan?
    private(set) var entries: [SpecializationScore.Entry] = []
    private(set) var residualsCached = false
    /// The unmasked state of the concept whose PSS runs are under way, kept for its next ratio
    /// (the plan takes a concept's ratios one after another).
    private var conceptStates: (concept: Int, states: Evaluator.QuestionStates)?

    init(inputs: AnalysisInputs, options: AnalysisOptions, evaluator: Evaluator, candidates: Evaluator.Candidates,
         patterns: ActivationPatterns, store: UnitStore, headless: Bool) {
        self.inputs = inputs
        self.options = options
        self.evaluator = evaluator
        self.candidates = candidates
        self.patterns = patterns
        self.store = store
        self.headless = headless
        estimate = headless ? nil : AblationEstimate(evaluator: evaluator, candidates: candidates)
        // Alone (no store to share), the chain of pattern steps is this process's.
        plan = WorkPlan(questions: inputs.probes.questions.count, stepCount: patterns.stepCount, estimates: estimate != nil,
                        holdsChain: !store.coordinating)
        neurons = inputs.model.blockCount * inputs.model.mlpWidth
    }

    var questions: Int { inputs.probes.questions.count }

    func estimateRange(first: Int) -> Range<Int> { first..<min(first + AnalysisEngine.estimateBatch, questions) }

    // MARK: What the store has

    /// Fills the stored chunks of the estimate not filled yet (a chunk that does not fit is left out).
    func readEstimate() throws {
        guard let estimate else { return }
        for (first, chunk) in try store.estimateChunks() where plan.estimated?.contains(first) == false {
            guard first % AnalysisEngine.estimateBatch == 0, first < questions else { continue }
            let range = estimateRange(first: first)
            guard chunk.questions == range.count, chunk.values.count == estimate.targets(questions: range),
                  chunk.attributions.count == chunk.values.count * neurons else { continue }
            estimate.fill(questions: range, values: chunk.values, attributions: chunk.attributions)
            plan.finish(.estimate(first: first))
        }
    }

    /// Takes the stored batches of pooled coefficients not in yet, one at a time (a batch that
    /// does not fit is left out).
    func readPooled() throws {
        for first in try store.pooledBatchFirsts() where !plan.pooled.contains(first) {
            guard first % AnalysisEngine.promptBatch == 0, first < questions, let values = try store.pooledBatch(first: first),
                  values.count == min(AnalysisEngine.promptBatch, questions - first) * neurons else { continue }
            keepPooled(values, first: first)
        }
    }

    /// A batch of pooled coefficients into the storage of every question's.
    private func keepPooled(_ values: [Float], first: Int) {
        values.withUnsafeBufferPointer { (pooled().pointer + first * neurons).update(from: $0.baseAddress!, count: $0.count) }
        plan.finish(.pooled(first: first))
    }

    /// The storage of every question's pooled coefficients, made the first time it is needed.
    private func pooled() -> PooledCoefficients.Storage {
        if let pooledStorage { return pooledStorage }
        let made = PooledCoefficients.Storage(count: questions * neurons)
        pooledStorage = made
        return made
    }

    /// Takes the PSS runs left that the store has.
    func readEntries() throws {
        let stored = Dictionary(try store.entries().map { (WorkPlan.PSSRun(concept: $0.concept, ratio: $0.ratio), $0) },
                                uniquingKeysWith: { a, _ in a })
        for run in plan.pssLeft ?? [] {
            guard let entry = stored[run] else { continue }
            entries.append(entry)
            plan.finish(run.unit)
        }
    }

    /// The unmasked evaluation the store has.
    func readBaseline() throws -> ProbeAccuracy? {
        try store.baseline(questions: questions).map { ProbeAccuracy(probes: inputs.probes, results: $0) }
    }

    /// Continues (or shows, when finished) the chain of pattern steps the store has; nil when it
    /// cannot be continued here.
    func restorePatterns() throws -> PatternResults? {
        guard let saved = try store.patterns(), try patterns.restore(saved) else { return nil }
        plan.stepsDone = patterns.stepsDone
        if patterns.stepsDone == patterns.stepCount { plan.finish(.patterns) }
        return patterns.results()
    }

    /// The patterns as far as stored: a finished chain is read at once; an unfinished one is
    /// continued by whoever claims it (its sums file is opened by one process only).
    func resumePatterns() throws -> PatternResults? {
        guard let stepsStored = try store.patterns()?.stepsDone else { return nil }
        if stepsStored < patterns.stepCount, store.coordinating, store.claim(.patterns) { plan.holdsChain = true }
        guard stepsStored == patterns.stepCount || plan.holdsChain else { return nil }
        return try restorePatterns()
    }

    // MARK: Taking results in

    /// Plans PSS from the unmasked evaluation: the concept × ratio runs it measures, less those the
    /// store has.
    @discardableResult
    func planPSS(_ baseline: ProbeAccuracy) throws -> SpecializationScore.Plan {
        let made = SpecializationScore.Plan(probes: inputs.probes, baseline: baseline, metric: options.metric,
                                            controlSet: options.controlSet, questions: options.pssQuestions)
        pssPlan = made
        let measured = made.measuredConcepts
        plan.planPSS(concepts: measured, strata: WorkPlan.strata(of: measured, in: inputs.probes), ratios: options.ratios)
        try readEntries()
        return made
    }

    /// Takes the unmasked evaluation, computed here or read: PSS's plan, and live toggles'
    /// baseline (with the unmasked state cached for them).
    func adopt(_ baseline: ProbeAccuracy) throws -> SpecializationScore.Plan {
        if !headless { try cacheResiduals() }
        let made = try pssPlan ?? planPSS(baseline)
        plan.finish(.baseline)
        return made
    }

    /// Method 1, first half done (p for every question, computed or read): the pooled coefficients
    /// and the specialization, made once; nil before every batch is in, and after.
    func makeSpecialization() -> (pooled: PooledCoefficients, specialization: Specialization)? {
        guard specialization == nil, plan.hasPooled else { return nil }
        let model = inputs.model
        let coefficients = PooledCoefficients(questions: questions, neurons: neurons, storage: pooled())
        let made = Specialization(pooled: coefficients, probes: inputs.probes, blocks: model.blockCount, width: model.mlpWidth,
                                  association: options.association)
        specialization = made
        return (coefficients, made)
    }

    // MARK: Computing units

    /// Every block's unmasked state, kept for live ablations (a front end is attached), and the
    /// pass's useful arithmetic: a forward without logits.
    @discardableResult
    func cacheResiduals() throws -> Double {
        if residualsCached { return 0 }
        try evaluator.cacheResiduals(candidates)
        residualsCached = true
        return evaluator.usefulFLOPs(candidates: candidates, logits: false)
    }

    /// The unablated evaluation the masked ones compare with, every question's pooled coefficients
    /// from the same forward (every pooling batch is done with it), and its useful arithmetic.
    /// With a front end, the unmasked state is cached first for its toggles; headless, nothing is
    /// (PSS keeps one concept's state at a time).
    func evaluateBaseline() throws -> (accuracy: ProbeAccuracy, pooled: PooledCoefficients.Storage, flops: Double) {
        if !headless { try cacheResiduals() }
        let storage = pooled()
        let accuracy = try evaluator.evaluateUnmasked(candidates: candidates, pooling: options.pooling, into: storage)
        for first in stride(from: 0, to: questions, by: AnalysisEngine.promptBatch) { plan.finish(.pooled(first: first)) }
        return (accuracy, storage, evaluator.usefulFLOPs(candidates: candidates))
    }

    /// The ablation estimate's attributions of a chunk of questions (a backward per scored
    /// quantity), filled in.
    func attributions(first: Int) throws -> (values: [Float], attributions: [Float16], flops: Double) {
        let range = estimateRange(first: first)
        let chunk = try evaluator.attributions(questions: range, candidates: candidates)
        estimate?.fill(questions: range, values: chunk.values, attributions: chunk.attributions)
        plan.finish(.estimate(first: first))
        return chunk
    }

    /// Method 1, first half: p for a batch of questions, and the pass's useful arithmetic.
    func pool(first: Int) throws -> (values: [Float], flops: Double) {
        let count = min(AnalysisEngine.promptBatch, questions - first)
        let (values, flops) = try PooledCoefficients.pool(model: inputs.model, tokenizer: inputs.tokenizer,
                                                 prompts: inputs.probes.questions[first..<(first + count)].map(\.prompt),
                                                 pooling: options.pooling)
        keepPooled(values, first: first)
        return (values, flops)
    }

    /// Method 1, second half: one concept's masked evaluation at one ratio, and its useful
    /// arithmetic. The plan offers PSS runs only once the specialization and PSS's plan are made.
    /// Unless the cache of every question's state holds the concept's questions, their unmasked
    /// state is computed once for all its ratios (`SpecializationScore.sweepStates`).
    func entry(concept: Int, ratio: Double) throws -> (entry: SpecializationScore.Entry, flops: Double) {
        guard let specialization, let pssPlan else { preconditionFailure("a PSS run before its specialization and plan") }
        let questions = pssPlan.own[concept] + pssPlan.control[concept]
        var states: Evaluator.QuestionStates?
        if !evaluator.isCached(questions, candidates: candidates) {
            if conceptStates?.concept != concept {
                conceptStates = nil
                conceptStates = try SpecializationScore.sweepStates(concept: concept, ratios: options.ratios, specialization: specialization,
                                                                   evaluator: evaluator, metric: options.metric, plan: pssPlan).map { (concept, $0) }
            }
            states = conceptStates?.states
        }
        let ablation = Ablation(zeroing: specialization.knowledgeNeurons(concept: concept, ratio: ratio))
        let entry = try SpecializationScore.entry(concept: concept, ratio: ratio, specialization: specialization,
                                                  evaluator: evaluator, metric: options.metric, plan: pssPlan, states: states)
        entries.append(entry)
        plan.finish(.pss(concept: concept, ratio: ratio))
        if plan.pssLeft?.first?.concept != concept { conceptStates = nil }
        return (entry, evaluator.usefulFLOPs(questions: questions, ablation: ablation, candidates: candidates))
    }

    /// Takes the chain of pattern steps over, continuing it from its last stored step when its
    /// sums file can be opened here, else from the start.
    func takeChain() throws -> PatternResults? {
        plan.holdsChain = true
        return try restorePatterns()
    }

    /// Method 2, one step (a backward per domain for two samples): the figures so far, and the
    /// step's useful arithmetic.
    func step() throws -> (results: PatternResults, flops: Double) {
        let flops = patterns.usefulFLOPs(ofStep: patterns.stepsDone)
        try patterns.step()
        plan.stepsDone = patterns.stepsDone
        return (patterns.results(), flops)
    }

    /// The step just computed, written or (not `written`) taken over by another process, which
    /// carries the chain on from what it stored. After the last step, the sums are let go.
    func stepStored(written: Bool) {
        if !written {
            plan.holdsChain = false
            plan.lostChain = true
        }
        if plan.stepsDone == plan.stepCount {
            patterns.discardSums()
            plan.finish(.patterns)
        }
    }
}
