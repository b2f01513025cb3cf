import Foundation
import Analysis
import Testing

/// Which questions and concepts PSS is measured on (METHODS.md, method 1, step 5).
@Suite struct PSSPlan {
    /// Six concepts: "a" with 1 question, the others with 2 to 4; question 0 of each is wrong.
    static let probes: ProbeSet = {
        let counts = [("a", 1), ("b", 2), ("c", 3), ("d", 3), ("e", 4), ("f", 3)]
        let questions = counts.flatMap { concept, count in
            (0..<count).map { ProbeQuestion(concept: concept, category: "letter", prompt: "\(concept) \($0)", answer: " x") }
        }
        return ProbeSet(name: "letters", questions: questions)
    }()

    static func baseline(right: (Int) -> Bool) -> ProbeAccuracy {
        ProbeAccuracy(probes: probes, results: probes.questions.indices.map {
            QuestionResult(logProbabilities: [0], multipleChoiceCorrect: nil, openCorrect: right($0))
        })
    }

    /// The control concepts are drawn by SplitMix64 seeded with the concept's index: the same on
    /// every run and platform, 5 distinct other concepts (the pinned values are those of an
    /// independent Python SplitMix64).
    @Test func theControlSetDrawIsFixed() {
        #expect(SpecializationScore.Plan.draw(concept: 0, of: 48, count: 5) == [1, 22, 36, 40, 44])
        #expect(SpecializationScore.Plan.draw(concept: 7, of: 48, count: 5) == [15, 21, 30, 39, 42])
        for c in 0..<48 {
            let drawn = SpecializationScore.Plan.draw(concept: c, of: 48, count: 5)
            #expect(drawn.count == 5 && Set(drawn).count == 5 && !drawn.contains(c) && drawn.allSatisfy { (0..<48).contains($0) })
        }
        #expect(SpecializationScore.Plan.draw(concept: 2, of: 4, count: 5) == [0, 1, 3], "fewer others than 5: all of them")
    }

    /// Known questions: those right with nothing masked. A concept with fewer than 2, or whose
    /// control set has fewer than 5, is left out and counted.
    @Test func knownQuestionsAndConceptsLeftOut() {
        let first = Set(Self.probes.concepts.map { Self.probes.questionIndices[$0]![0] })
        let plan = SpecializationScore.Plan(probes: Self.probes, baseline: Self.baseline { !first.contains($0) }, metric: .open,
                                            controlSet: .five, questions: .known)
        // Known per concept: a 0, b 1, c 2, d 2, e 3, f 2.
        #expect(plan.own.map(\.count) == [0, 1, 2, 2, 3, 2])
        #expect(plan.baseline == 1)
        #expect(plan.measuredConcepts == [2, 3, 4, 5])
        #expect(plan.leftOut.fewOwn == 2 && plan.leftOut.fewControl == 0)
        #expect(plan.summary == "4 of 6 concepts, 2 left out: fewer than 2 known questions")
        for c in plan.measuredConcepts { #expect(plan.control[c].count == 10 - plan.own[c].count) }
        // All questions, every concept's control set: the formula as the summaries state it.
        let all = SpecializationScore.Plan(probes: Self.probes, baseline: Self.baseline { !first.contains($0) }, metric: .open,
                                           controlSet: .all, questions: .all)
        #expect(all.own.map(\.count) == [1, 2, 3, 3, 4, 3])
        #expect(abs(all.baseline - 10.0 / 16) < 1e-12)
        #expect(all.summary == "5 of 6 concepts, 1 left out: fewer than 2 questions")
        // A model that knows nothing: nothing to measure.
        let none = SpecializationScore.Plan(probes: Self.probes, baseline: Self.baseline { _ in false }, metric: .open, controlSet: .five, questions: .known)
        #expect(none.measuredConcepts.isEmpty && none.baseline == 0)
        #expect(none.summary == "0 of 6 concepts, 6 left out: fewer than 2 known questions")
    }
}
