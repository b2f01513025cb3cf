import Foundation
import Analysis
import Testing

/// The intervals every mean over concepts and every accuracy carries (METHODS.md, "Uncertainty,
/// partial results and comparisons").
@Suite struct IntervalsTests {
    /// Wilson's closed form, (p + z²/2n ± z √(p(1−p)/n + z²/4n²)) / (1 + z²/n) with z = 1.96,
    /// worked out independently for 8 of 10, 0 of 10 and 10 of 10.
    @Test func wilsonMatchesTheClosedForm() throws {
        let eight = try #require(Intervals.wilsonInterval(successes: 8, trials: 10))
        #expect(abs(eight.low - 0.4901624715) < 1e-9 && abs(eight.high - 0.9433178485) < 1e-9 && eight.n == 10)
        let none = try #require(Intervals.wilsonInterval(successes: 0, trials: 10))
        #expect(none.low == 0 && abs(none.high - 0.2775327999) < 1e-9)
        let all = try #require(Intervals.wilsonInterval(successes: 10, trials: 10))
        #expect(abs(all.low - 0.7224672001) < 1e-9 && all.high <= 1)
        #expect(Intervals.wilsonInterval(successes: 0, trials: 0) == nil)
    }

    @Test func accuracyIntervalsCountTheirQuestions() throws {
        let probes = ProbeSet(name: "letters", questions: (0..<10).map {
            ProbeQuestion(concept: "a", category: "letter", prompt: "a \($0)", answer: " x", choices: [" x", " y"])
        })
        let accuracy = ProbeAccuracy(probes: probes, results: (0..<10).map {
            QuestionResult(logProbabilities: [0, -1], multipleChoiceCorrect: $0 < 8, openCorrect: $0 < 3)
        }).overall
        #expect(accuracy.multipleChoiceInterval == Intervals.wilsonInterval(successes: 8, trials: 10))
        #expect(accuracy.openInterval == Intervals.wilsonInterval(successes: 3, trials: 10))
    }

    /// The same seed gives the same interval; it holds the mean and has the width the normal
    /// approximation predicts for 1…100 (mean 50.5, standard error 2.90: about ±5.7).
    @Test func theBootstrapIsFixedByItsSeedAndHoldsTheMean() throws {
        let values = (1...100).map(Double.init)
        let interval = try #require(Intervals.bootstrapMeanInterval(values: values))
        #expect(Intervals.bootstrapMeanInterval(values: values) == interval)
        #expect(Intervals.bootstrapMeanInterval(values: values, seed: 24) != interval)
        #expect(interval.n == 100 && interval.low < 50.5 && interval.high > 50.5)
        #expect((44.5...47.0).contains(interval.low) && (54.0...56.5).contains(interval.high), "\(interval)")
        #expect(Intervals.bootstrapMeanInterval(values: [0.25, 0.25, 0.25]) == Interval(low: 0.25, high: 0.25, n: 3))
        #expect(Intervals.bootstrapMeanInterval(values: []) == nil)
    }

    /// The peak's ratio is the arg max of the mean; its interval the bootstrap interval at that
    /// ratio; the ratio wins counted over the resamples.
    @Test func thePeakCarriesItsIntervalAndHowOftenEachRatioWins() throws {
        let ratios = [0.01, 0.02, 0.05]
        // Concept c scores 0.1 + 0.01 c at 1 %, 0.5 + 0.01 c at 2 %, 0.2 at 5 %: 2 % always wins.
        let entries = (0..<8).flatMap { c in
            zip(ratios, [0.1, 0.5, 0.2]).map { ratio, base in
                SpecializationScore.Entry(concept: c, ratio: ratio, conceptAccuracy: 0, otherAccuracy: base + (ratio == 0.05 ? 0 : 0.01 * Double(c)), baseline: 1)
            }
        }
        let score = SpecializationScore(metric: .open, ratios: ratios, entries: entries)
        #expect(score.peak?.ratio == 0.02)
        let peak = try #require(score.peakInterval)
        #expect(peak == Intervals.bootstrapMeanInterval(values: (0..<8).map { 0.5 + 0.01 * Double($0) }))
        #expect(peak.n == 8 && peak.low <= score.peak!.score && score.peak!.score <= peak.high)
        #expect(score.peakRatioWins.map(\.wins) == [0, Intervals.resamples, 0])
        #expect(score.modelIntervals.map { $0.interval?.n } == [8, 8, 8])
        let flat = try #require(score.modelIntervals[2].interval)
        #expect(abs(flat.low - 0.2) < 1e-12 && abs(flat.high - 0.2) < 1e-12)
    }

    @Test func aMeanOfFewConceptsSaysSo() {
        #expect(Intervals.conceptCount(1) == "n = 1, fewer than 5 concepts")
        #expect(Intervals.conceptCount(5) == "n = 5")
    }

    /// A partial result is the mean over the first concepts of the engine's order at the ratio:
    /// here concepts 3, 1, 0, 2 with PSS 0.4, 0.2, 0.1, 0.3 at 1 % (another ratio's entries are
    /// not taken), so after a quarter of the units it rests on concept 3 alone.
    @Test func partialResultsFollowTheOrder() throws {
        let values = [0.1, 0.2, 0.3, 0.4]
        let entries = values.enumerated().flatMap { c, pss in
            [SpecializationScore.Entry(concept: c, ratio: 0.01, conceptAccuracy: 1 - pss, otherAccuracy: 1, baseline: 1),
             SpecializationScore.Entry(concept: c, ratio: 0.1, conceptAccuracy: 0, otherAccuracy: 1, baseline: 1)]
        }
        let score = SpecializationScore(metric: .mcq, ratios: [0.01, 0.1], entries: entries)
        let partial = PartialResults(score: score, order: [3, 1, 0, 2], ratio: 0.01, fractions: [0.25, 0.5, 1])
        #expect(abs((partial.final ?? 0) - 0.25) < 1e-12 && partial.finalInterval?.n == 4)
        #expect(partial.rows.map(\.concepts) == [1, 2, 4])
        #expect(abs((partial.rows[0].pss ?? 0) - 0.4) < 1e-12 && !partial.rows[0].holdsFinal, "one concept: an interval of width 0 at 0.4")
        #expect(abs((partial.rows[1].pss ?? 0) - 0.3) < 1e-12 && partial.rows[1].interval?.n == 2)
        #expect(partial.rows[1].interval.map { abs($0.low - 0.2) < 1e-12 && abs($0.high - 0.4) < 1e-12 } == true && partial.rows[1].holdsFinal)
        #expect(partial.rows[2].interval?.n == 4 && partial.rows[2].holdsFinal)
        #expect(partial.finalInterval == score.modelIntervals[0].interval, "the final interval as analyze gives it")
    }
}
