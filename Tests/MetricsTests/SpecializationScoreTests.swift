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

    /// Multiple choice, the default: a question without choices has no such accuracy, so it is
    /// used neither as known nor among all questions; open accuracy uses it.
    @Test func underMultipleChoiceQuestionsWithoutChoicesAreNotUsed() {
        // Six concepts of 4 questions: question 0 without choices, 1 to 3 with; all answered
        // right open, 1 and 2 right by multiple choice.
        let questions = ["a", "b", "c", "d", "e", "f"].flatMap { concept in
            (0..<4).map { ProbeQuestion(concept: concept, category: "letter", prompt: "\(concept) \($0)", answer: " x",
                                        choices: $0 == 0 ? nil : [" x", " y"]) }
        }
        let probes = ProbeSet(name: "letters", questions: questions)
        let baseline = ProbeAccuracy(probes: probes, results: questions.indices.map { q in
            let n = q % 4
            return QuestionResult(logProbabilities: [0], multipleChoiceCorrect: n == 0 ? nil : n < 3, openCorrect: true)
        })
        let known = SpecializationScore.Plan(probes: probes, baseline: baseline, metric: .mcq, controlSet: .five, questions: .known)
        #expect(known.own == (0..<6).map { [4 * $0 + 1, 4 * $0 + 2] })
        #expect(known.measuredConcepts == Array(0..<6) && known.baseline == 1)
        #expect(known.control.allSatisfy { $0.count == 10 && $0.allSatisfy { $0 % 4 == 1 || $0 % 4 == 2 } })
        let all = SpecializationScore.Plan(probes: probes, baseline: baseline, metric: .mcq, controlSet: .five, questions: .all)
        #expect(all.own == (0..<6).map { [4 * $0 + 1, 4 * $0 + 2, 4 * $0 + 3] })
        #expect(abs(all.baseline - 2.0 / 3) < 1e-12)
        let open = SpecializationScore.Plan(probes: probes, baseline: baseline, metric: .open, controlSet: .five, questions: .known)
        #expect(open.own == (0..<6).map { Array((4 * $0)..<(4 * $0 + 4)) })
    }
}

/// PSS's sign (METHODS.md, method 1, step 5): positive when the concept lost more than its controls.
@Suite struct PSSSign {
    @Test func theSignedFormKeepsTheDirectionTheAbsoluteValueHides() throws {
        // SmolLM2's France at 1 %: its own known questions keep 0.88, its controls fall to 0.46.
        let against = SpecializationScore.Entry(concept: 0, ratio: 0.01, conceptAccuracy: 0.88, otherAccuracy: 0.46, baseline: 1)
        #expect(abs(against.signedScore + 0.42) < 1e-12 && abs(against.score - 0.42) < 1e-12)
        let towards = SpecializationScore.Entry(concept: 1, ratio: 0.01, conceptAccuracy: 0.25, otherAccuracy: 0.75, baseline: 0.5)
        #expect(towards.signedScore == 1 && towards.score == 1)
        let even = SpecializationScore.Entry(concept: 2, ratio: 0.01, conceptAccuracy: 0.5, otherAccuracy: 0.5, baseline: 1)
        let later = SpecializationScore.Entry(concept: 0, ratio: 0.05, conceptAccuracy: 0, otherAccuracy: 0.9, baseline: 1)
        let score = SpecializationScore(metric: .mcq, ratios: [0.01, 0.05, 0.1], entries: [against, towards, even, later])
        let signed: [Double?] = score.modelSignedScores.map(\.score)
        let atFirst: Double = try #require(signed[0]), atSecond: Double = try #require(signed[1])
        #expect(abs(atFirst - 0.58 / 3) < 1e-12)
        #expect(abs(atSecond - 0.9) < 1e-12 && signed[2] == nil)
        let absolute: Double = try #require(score.modelScores[0].score)
        #expect(abs(absolute - 1.42 / 3) < 1e-12)
        #expect(score.signCounts.map(\.counts) == [SpecializationScore.SignCounts(positive: 1, negative: 1, zero: 1),
                                                   SpecializationScore.SignCounts(positive: 1), SpecializationScore.SignCounts()])
    }
}
