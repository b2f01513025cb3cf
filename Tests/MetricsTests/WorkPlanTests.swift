@testable import Analysis
@testable import Engine
import Testing

/// A unit's text is what the store keeps: stored claims must read back as the same unit.
@Suite struct UnitText {
    @Test func unitsAreWrittenAsTheStoreKeepsThem() {
        #expect(UnitID.baseline.description == "baseline")
        #expect(UnitID.pooled(first: 64).description == "pooled 64")
        #expect(UnitID.estimate(first: 16).description == "estimate 16")
        #expect(UnitID.pss(concept: 3, ratio: 0.01).description == "pss 3 0.01")
        #expect(UnitID.pss(concept: 12, ratio: 0.1).description == "pss 12 0.1")
        #expect(UnitID.patterns.description == "patterns")
    }

    @Test func storedTextsReadBackAsTheirUnits() {
        #expect(UnitID("baseline") == .baseline)
        #expect(UnitID("pooled 0") == .pooled(first: 0))
        #expect(UnitID("estimate 96") == .estimate(first: 96))
        #expect(UnitID("pss 3 0.0025") == .pss(concept: 3, ratio: 0.0025))
        #expect(UnitID("patterns") == .patterns)
        for ratio in SpecializationScore.defaultRatios {
            let text = UnitID.pss(concept: 7, ratio: ratio).description
            #expect(UnitID(text) == .pss(concept: 7, ratio: ratio) && UnitID(text)?.description == text, "\(text)")
        }
    }

    /// Only the texts the units make: anything else is no unit of this engine (its claim is left alone).
    @Test func otherTextsAreNoUnits() {
        for text in ["", "elsewhere", "pooled", "pooled x", "pooled 064", "pooled  64", "baseline 1", "pss 3", "pss 3 1e-2",
                     "pss 3 0.010", "estimate -0", "pattern step 2", "Patterns"] {
            #expect(UnitID(text) == nil, "\(text)")
        }
    }
}

/// The order units are computed in, and how claims of other processes change it: a `WorkPlan`
/// asked for its next unit, with no threads, store or model.
@Suite struct WorkPlanOrder {
    static let worker = "this-host 10 a"
    /// On another host: only its lease frees its claims.
    static let other = "other-host 20 b"
    static let now = 1_000_000.0

    static func held(by worker: String = other, expires: Double = now + 60) -> ClaimState {
        ClaimState(worker: worker, expires: expires, done: false)
    }

    static let finished = ClaimState(worker: other, expires: now - 60, done: true)

    /// 100 questions (pooling batches from 0 and 64, estimate chunks every 16) and 2 pattern steps.
    static func plan(estimates: Bool = true) -> WorkPlan {
        WorkPlan(questions: 100, stepCount: 2, estimates: estimates, holdsChain: false)
    }

    /// The units one process computes until the plan gives none, each finished as it is given:
    /// PSS is planned (concepts 0 and 2 of one stratum at two ratios, which the seeded order keeps
    /// as 0 then 2) once the unmasked evaluation is in.
    static func run(_ plan: inout WorkPlan, claims: [UnitID: ClaimState] = [:], focusedConcept: Int? = nil) -> [String] {
        var order: [String] = []
        while let unit = plan.next(claims: claims, worker: worker, now: now, focusedConcept: focusedConcept) {
            order.append(unit.description)
            if unit == .patterns {
                plan.holdsChain = true
                plan.stepsDone += 1
                if plan.stepsDone < plan.stepCount { continue }
            }
            plan.finish(unit)
            if unit == .baseline { plan.planPSS(concepts: [0, 2], strata: ["high country", "high country"], ratios: [0.01, 0.05]) }
        }
        return order
    }

    @Test func aloneTheKindsComeInOrderAndPSSAndStepsInterleave() {
        var plan = Self.plan()
        #expect(!plan.isFinished)
        #expect(Self.run(&plan) == ["baseline", "pooled 0", "pooled 64",
                                    "estimate 0", "estimate 16", "estimate 32", "estimate 48", "estimate 64", "estimate 80", "estimate 96",
                                    "pss 0 0.01", "patterns", "pss 0 0.05", "pss 2 0.01", "patterns", "pss 2 0.05"])
        #expect(plan.isFinished)
        #expect(plan.pssDone == 4 && plan.pssLeft == [])
    }

    @Test func headlessNoEstimateIsMade() {
        var plan = Self.plan(estimates: false)
        #expect(Self.run(&plan) == ["baseline", "pooled 0", "pooled 64", "pss 0 0.01", "patterns", "pss 0 0.05", "pss 2 0.01", "patterns", "pss 2 0.05"])
        #expect(plan.isFinished)
    }

    @Test func aUnitALiveOtherWorkerHoldsIsPassedOver() {
        let plan = Self.plan()
        func next(_ claims: [UnitID: ClaimState]) -> UnitID? {
            plan.next(claims: claims, worker: Self.worker, now: Self.now, focusedConcept: nil)
        }
        #expect(next([:]) == .baseline)
        // The unmasked evaluation pools every question in its pass: while another process runs
        // it, or once it finished it (read from the store, not computed again), no pooling batch
        // is offered.
        #expect(next([.baseline: Self.held()]) == .estimate(first: 0))
        #expect(next([.baseline: Self.finished]) == .estimate(first: 0))
        // A store whose unmasked evaluation came without them (made before): the batches follow it,
        // one another process holds passed over.
        var after = Self.plan()
        after.finish(.baseline)
        #expect(after.next(claims: [.pooled(first: 0): Self.held()], worker: Self.worker, now: Self.now, focusedConcept: nil) == .pooled(first: 64))
    }

    @Test func anExpiredClaimIsTakenOverAndOwnClaimsAreKept() {
        let plan = Self.plan()
        #expect(plan.next(claims: [.baseline: Self.held(expires: Self.now - 1)], worker: Self.worker, now: Self.now, focusedConcept: nil) == .baseline)
        #expect(plan.next(claims: [.baseline: Self.held(by: Self.worker)], worker: Self.worker, now: Self.now, focusedConcept: nil) == .baseline)
    }

    /// With the unmasked evaluation held elsewhere, the pattern steps go on (they wait for nothing),
    /// and PSS waits for it.
    @Test func patternStepsDoNotWaitForTheUnmaskedEvaluation() {
        var plan = Self.plan()
        #expect(Self.run(&plan, claims: [.baseline: Self.held()]) == ["estimate 0", "estimate 16", "estimate 32", "estimate 48", "estimate 64",
                                                                      "estimate 80", "estimate 96", "patterns", "patterns"])
        #expect(!plan.isFinished && plan.pssLeft == nil)
    }

    /// The chain of pattern steps is one claim: held by a live other worker, its steps are left to
    /// it; held here, its steps go on whatever the claims read said; lost to another, it is left.
    @Test func theChainOfPatternStepsIsOneClaim() {
        var plan = Self.plan(estimates: false)
        for unit in [UnitID.baseline, .pooled(first: 0), .pooled(first: 64)] { plan.finish(unit) }
        plan.planPSS(concepts: [0], strata: ["high country"], ratios: [0.01])
        plan.finish(.pss(concept: 0, ratio: 0.01))
        #expect(plan.next(claims: [:], worker: Self.worker, now: Self.now, focusedConcept: nil) == .patterns)
        #expect(plan.next(claims: [.patterns: Self.held()], worker: Self.worker, now: Self.now, focusedConcept: nil) == nil)
        plan.holdsChain = true
        #expect(plan.next(claims: [.patterns: Self.held()], worker: Self.worker, now: Self.now, focusedConcept: nil) == .patterns)
        plan.holdsChain = false
        plan.lostChain = true
        #expect(plan.next(claims: [:], worker: Self.worker, now: Self.now, focusedConcept: nil) == nil)
        #expect(!plan.isFinished)
    }

    @Test func aFocusedConceptsRunsGoFirst() {
        var plan = Self.plan(estimates: false)
        #expect(Self.run(&plan, focusedConcept: 2) == ["baseline", "pooled 0", "pooled 64", "pss 2 0.01", "pss 2 0.05", "patterns", "pss 0 0.01",
                                                       "patterns", "pss 0 0.05"])
    }

    /// A run of the focused concept another worker holds is passed over for the next free one.
    @Test func aFocusedRunHeldElsewhereIsPassedOver() {
        var plan = Self.plan(estimates: false)
        for unit in [UnitID.baseline, .pooled(first: 0), .pooled(first: 64)] { plan.finish(unit) }
        plan.planPSS(concepts: [0, 2], strata: ["high country", "high country"], ratios: [0.01, 0.05])
        let claims = [UnitID.pss(concept: 2, ratio: 0.01): Self.held()]
        #expect(plan.next(claims: claims, worker: Self.worker, now: Self.now, focusedConcept: 2) == .pss(concept: 2, ratio: 0.05))
    }

    /// PSS's concepts come in a seeded random order with each stratum (tier and category) spread
    /// evenly, a concept's ratios together: any first k concepts are a fair sample of all.
    @Test func pssConceptsComeInASeededOrderInterleavingTheStrata() {
        let concepts = Array(10..<22)
        let strata = Array(repeating: "high country", count: 3) + Array(repeating: "high city", count: 3)
            + Array(repeating: "low country", count: 6)
        var plan = Self.plan(estimates: false)
        plan.planPSS(concepts: concepts, strata: strata, ratios: [0.01, 0.05])
        let order = [11, 18, 13, 19, 12, 17, 14, 21, 10, 20, 15, 16]
        #expect(plan.pssLeft == order.flatMap { [WorkPlan.PSSRun(concept: $0, ratio: 0.01), WorkPlan.PSSRun(concept: $0, ratio: 0.05)] })
        // Every first k concepts hold each stratum's share of k, give or take less than one.
        for k in 1...order.count {
            for stratum in Set(strata) {
                let inStratum = Set(zip(concepts, strata).filter { $0.1 == stratum }.map(\.0))
                let share = Double(k * inStratum.count) / Double(concepts.count)
                #expect(abs(Double(order.prefix(k).filter(inStratum.contains).count) - share) < 1, "\(k) \(stratum)")
            }
        }
        // The seed decides the order: the same every time, another with another seed.
        #expect(WorkPlan.fairOrder(concepts, strata: strata, seed: WorkPlan.pssOrderSeed) == order)
        #expect(WorkPlan.fairOrder(concepts, strata: strata, seed: 24) == [10, 16, 15, 17, 12, 19, 14, 20, 11, 18, 13, 21])
    }

    /// A focused concept's runs still come first, whatever the seeded order.
    @Test func aFocusedConceptGoesBeforeTheSeededOrder() throws {
        var plan = Self.plan(estimates: false)
        for unit in [UnitID.baseline, .pooled(first: 0), .pooled(first: 64)] { plan.finish(unit) }
        plan.stepsDone = 2
        plan.planPSS(concepts: [0, 1, 2], strata: ["a", "b", "c"], ratios: [0.01])
        let seeded = WorkPlan.fairOrder([0, 1, 2], strata: ["a", "b", "c"], seed: WorkPlan.pssOrderSeed)
        let focused = try #require(seeded.last)
        #expect(plan.next(claims: [:], worker: Self.worker, now: Self.now, focusedConcept: focused) == .pss(concept: focused, ratio: 0.01))
        #expect(plan.next(claims: [:], worker: Self.worker, now: Self.now, focusedConcept: nil) == .pss(concept: seeded[0], ratio: 0.01))
    }

    /// Units other processes finished are read once: what this process has is not read again.
    @Test func finishedUnitsAreReadOnce() {
        var plan = Self.plan()
        plan.finish(.pooled(first: 0))
        let claims: [UnitID: ClaimState] = [.pooled(first: 0): Self.finished, .pooled(first: 64): Self.finished,
                                                          .pss(concept: 5, ratio: 0.01): Self.finished, .baseline: Self.held()]
        #expect(plan.unread(claims) == [.pooled, .pss])
        plan.noteFinished(claims)
        #expect(plan.unread(claims).isEmpty)
        // Noted, not taken in: the batch is still to be read from the store.
        #expect(!plan.pooled.contains(64))
    }

    /// A finished analysis reopened headless needs no unmasked evaluation.
    @Test func withoutTheUnmaskedEvaluationTheRestFinishes() {
        var plan = Self.plan(estimates: false)
        plan.needsBaseline = false
        plan.planPSS(concepts: [], strata: [], ratios: [0.01])
        for unit in [UnitID.pooled(first: 0), .pooled(first: 64)] { plan.finish(unit) }
        plan.stepsDone = 2
        #expect(plan.isFinished)
        #expect(plan.next(claims: [:], worker: Self.worker, now: Self.now, focusedConcept: nil) == nil)
    }
}
