import Foundation
import Analysis

/// What is left of an analysis and which unit to compute next, as a value: told what is finished
/// (computed here or read from the store), asked for the next unit given the claims of the
/// processes sharing the store.
///
/// The order one process computes units in: the unmasked evaluation (it decides which questions
/// and concepts PSS is measured on), the pooling batches, the ablation estimate's chunks (after
/// the pooled coefficients, so that a reopened analysis shows its stored figures at once), then
/// PSS runs and pattern steps interleaved so that both fill in together, a focused concept's runs
/// first. A unit another process holds is passed over; the pattern steps wait for nothing else.
struct WorkPlan {
    let questions: Int
    let stepCount: Int
    /// Whether the unmasked evaluation is computed: not when a finished analysis is reopened
    /// headless.
    var needsBaseline = true
    private(set) var hasBaseline = false
    /// The first questions of the pooling batches finished.
    private(set) var pooled: Set<Int> = []
    /// The first questions of the estimate's chunks finished; nil when no estimate is made
    /// (headless, no toggle reads it).
    private(set) var estimated: Set<Int>?
    /// The PSS runs left, in the order they are computed; nil until the unmasked evaluation is
    /// known (it decides which concepts are measured).
    private(set) var pssLeft: [PSSRun]?
    private(set) var pssDone = 0
    /// The pattern steps done: the chain as far as this process has it.
    var stepsDone = 0
    /// Whether this process holds the chain of pattern steps (alone, it always does).
    var holdsChain: Bool
    /// Another process took the chain over from this one: its steps are left to it.
    var lostChain = false
    /// The finished units this process knows of: their results are here (computed or read), or
    /// they are not needed here.
    private(set) var known: Set<UnitID> = []

    /// One concept's masked evaluation at one ratio.
    struct PSSRun: Hashable {
        let concept: Int
        let ratio: Double
        var unit: UnitID { .pss(concept: concept, ratio: ratio) }
    }

    init(questions: Int, stepCount: Int, estimates: Bool, holdsChain: Bool) {
        self.questions = questions
        self.stepCount = stepCount
        estimated = estimates ? [] : nil
        self.holdsChain = holdsChain
    }

    var pooledBatches: Int { (questions + AnalysisEngine.promptBatch - 1) / AnalysisEngine.promptBatch }
    var estimateChunks: Int { (questions + AnalysisEngine.estimateBatch - 1) / AnalysisEngine.estimateBatch }
    /// Every batch of pooled coefficients is in: method 1's specialization can be made.
    var hasPooled: Bool { pooled.count == pooledBatches }
    var hasEstimate: Bool { estimated.map { $0.count == estimateChunks } ?? false }

    /// The seed of the order PSS's concepts are computed in: fixed, so that every run and every
    /// process sharing a store takes them in the same order.
    static let pssOrderSeed: UInt64 = 23

    /// Plans PSS: every measured concept at every ratio, in the order the runs are computed, a
    /// concept's ratios together (so that the first k concepts are each measured at every ratio).
    /// The one place that order is decided. `strata` gives each concept of `concepts` its group
    /// (its tier and category).
    mutating func planPSS(concepts: [Int], strata: [String], ratios: [Double]) {
        pssLeft = Self.fairOrder(concepts, strata: strata, seed: Self.pssOrderSeed)
            .flatMap { concept in ratios.map { PSSRun(concept: concept, ratio: $0) } }
    }

    /// Each concept's stratum for the fair order: its tier and category.
    static func strata(of concepts: [Int], in probes: ProbeSet) -> [String] {
        concepts.map { c in
            let concept = probes.concepts[c]
            return "\(probes.tier(of: concept)?.rawValue ?? "no tier") \(probes.category(of: concept))"
        }
    }

    /// The measured concepts of `plan` in the order their PSS runs are computed: the first k of
    /// them are what a partial result rests on.
    static func pssConceptOrder(_ plan: SpecializationScore.Plan, probes: ProbeSet) -> [Int] {
        let measured = plan.measuredConcepts
        return fairOrder(measured, strata: strata(of: measured, in: probes), seed: pssOrderSeed)
    }

    /// `concepts` in a random order fixed by `seed`, each stratum spread evenly over it, so that
    /// any first k of them are a fair sample (METHODS.md, "Uncertainty, partial results and
    /// comparisons"): every stratum holds about its share of them. Each stratum is shuffled
    /// (Fisher–Yates with SplitMix64), its i-th concept of n placed at (i + u) / n with u a random
    /// offset in [0, 1) of the stratum, and all concepts sorted by that place (systematic
    /// stratified sampling); ties go to the concept listed first.
    static func fairOrder(_ concepts: [Int], strata: [String], seed: UInt64) -> [Int] {
        precondition(concepts.count == strata.count, "one stratum a concept")
        var random = SplitMix64(seed: seed)
        func uniform() -> Double { Double(random.next() >> 11) / Double(1 << 53) }
        // The strata in order of first appearance, each with the positions of its concepts.
        var groups: [[Int]] = [], groupOf: [String: Int] = [:]
        for (position, stratum) in strata.enumerated() {
            if let group = groupOf[stratum] {
                groups[group].append(position)
            } else {
                groupOf[stratum] = groups.count
                groups.append([position])
            }
        }
        var placed: [(place: Double, position: Int)] = []
        for var list in groups {
            for i in list.indices.dropLast() {
                list.swapAt(i, i + Int(random.next() % UInt64(list.count - i)))
            }
            let offset = uniform()
            for (i, position) in list.enumerated() { placed.append(((Double(i) + offset) / Double(list.count), position)) }
        }
        return placed.sorted { ($0.place, $0.position) < ($1.place, $1.position) }.map { concepts[$0.position] }
    }

    /// Notes `unit` finished, its result here. The pattern chain is finished with its last step.
    mutating func finish(_ unit: UnitID) {
        switch unit {
        case .baseline: hasBaseline = true
        case .pooled(let first): pooled.insert(first)
        case .estimate(let first): estimated?.insert(first)
        case .pss(let concept, let ratio):
            if let index = pssLeft?.firstIndex(of: PSSRun(concept: concept, ratio: ratio)) {
                pssLeft?.remove(at: index)
                pssDone += 1
            }
        case .patterns: break
        }
        known.insert(unit)
    }

    /// The kinds of units other processes finished since this process last looked: their results
    /// are to be read.
    func unread(_ claims: [UnitID: ClaimState]) -> Set<UnitID.Kind> {
        Set(claims.filter { $0.value.done && !known.contains($0.key) }.keys.map(\.kind))
    }

    /// Notes every unit `claims` says is finished as known, read or not needed here (a run the
    /// plan leaves out): it is not read again.
    mutating func noteFinished(_ claims: [UnitID: ClaimState]) {
        for (unit, claim) in claims where claim.done { known.insert(unit) }
    }

    var isFinished: Bool {
        (!needsBaseline || hasBaseline) && (estimated == nil || hasEstimate) && hasPooled && pssLeft?.isEmpty == true
            && stepsDone == stepCount
    }

    /// The next unit for `worker` to compute at `now` (seconds since 1970), given `claims`; nil
    /// while everything left is held by others. A unit is free when nobody holds it, `worker`
    /// does, or its holder's lease ran out or its holder is gone.
    func next(claims: [UnitID: ClaimState], worker: String, now: Double, focusedConcept: Int?) -> UnitID? {
        func isFree(_ unit: UnitID) -> Bool {
            guard let claim = claims[unit] else { return true }
            return !claim.done && (claim.worker == worker || claim.isFree(at: now))
        }
        if needsBaseline, !hasBaseline, isFree(.baseline) { return .baseline }
        // The unmasked evaluation pools every question in its pass: a pooling batch of its own is
        // left only where it did not (a store made before it did).
        if !needsBaseline || hasBaseline, let first = stride(from: 0, to: questions, by: AnalysisEngine.promptBatch)
            .first(where: { !pooled.contains($0) && isFree(.pooled(first: $0)) }) { return .pooled(first: first) }
        if let estimated, let first = stride(from: 0, to: questions, by: AnalysisEngine.estimateBatch)
            .first(where: { !estimated.contains($0) && isFree(.estimate(first: $0)) }) { return .estimate(first: first) }
        let stepFree = stepsDone < stepCount && !lostChain && (holdsChain || isFree(.patterns))
        if hasPooled, let pssLeft {
            let focused = focusedConcept.flatMap { c in pssLeft.first { $0.concept == c && isFree($0.unit) } }
            let pssShare = Double(pssDone) / Double(max(pssDone + pssLeft.count, 1))
            let stepsShare = Double(stepsDone) / Double(max(stepCount, 1))
            if let run = focused ?? pssLeft.first(where: { isFree($0.unit) }), focused != nil || !stepFree || pssShare <= stepsShare {
                return run.unit
            }
        }
        return stepFree ? .patterns : nil
    }
}
