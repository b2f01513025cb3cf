import Foundation

/// A 95 % interval around an estimate, with the number of things (concepts or questions) it rests on.
public struct Interval: Sendable, Equatable {
    public let low: Double
    public let high: Double
    /// Concepts for a mean over concepts, questions for an accuracy.
    public let n: Int

    public init(low: Double, high: Double, n: Int) {
        self.low = low
        self.high = high
        self.n = n
    }

    /// "[0.17, 0.25]", as the text output and the figures print it.
    public func text(_ format: String = "%.3f") -> String {
        "[" + String(format: format, low) + ", " + String(format: format, high) + "]"
    }

    public var json: [String: Any] { ["low": low, "high": high, "n": n] }

    /// `low`, `high` and `n` as JSON fields, to merge into a figure's object: null and 0 without an interval.
    public static func fields(_ interval: Interval?) -> [String: Any] {
        interval?.json ?? ["low": NSNull(), "high": NSNull(), "n": 0]
    }
}

/// The uncertainty of the study's figures (METHODS.md, "Uncertainty, partial results and
/// comparisons"): a bootstrap over concepts for every mean over concepts, Wilson for every accuracy.
public enum Intervals {
    /// Resamples of the bootstrap, and its seed, fixed so that a rerun prints the same interval.
    public static let resamples = 1000, seed: UInt64 = 23
    /// A mean over fewer concepts than this is said to be one wherever it is shown.
    public static let fewestConcepts = 5
    /// The normal quantile of a two-sided 95 % interval.
    static let z = 1.959963984540054

    /// The Wilson score interval of a proportion: unlike the normal approximation it stays in
    /// [0, 1] and is honest at 0 or n successes and for few trials. Nil without trials.
    public static func wilsonInterval(successes: Int, trials: Int) -> Interval? {
        guard trials > 0 else { return nil }
        let n = Double(trials), p = Double(successes) / n, z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z / (1 + z2 / n) * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
        return Interval(low: max(centre - half, 0), high: min(centre + half, 1), n: trials)
    }

    /// The percentile bootstrap interval of the mean of `values`: the 2.5 % and 97.5 % quantiles
    /// of the means of `resamples` resamples drawn with replacement by SplitMix64 seeded with
    /// `seed`. Nil without values.
    public static func bootstrapMeanInterval(values: [Double], resamples: Int = resamples, seed: UInt64 = seed) -> Interval? {
        guard !values.isEmpty else { return nil }
        var random = SplitMix64(seed: seed)
        let count = UInt64(values.count)
        let means = (0..<resamples).map { _ in
            (0..<values.count).reduce(0.0) { sum, _ in sum + values[Int(random.next() % count)] } / Double(values.count)
        }.sorted()
        return Interval(low: quantile(means, 0.025), high: quantile(means, 0.975), n: values.count)
    }

    /// How often each column's mean is the largest over `resamples` resamples of the rows (ties
    /// to the first column): `rows` are concepts, columns the ratios of the sweep, every row
    /// complete. The counts sum to `resamples`; all zero without rows.
    public static func bootstrapArgMaxWins(rows: [[Double]], resamples: Int = resamples, seed: UInt64 = seed) -> [Int] {
        let columns = rows.first?.count ?? 0
        var wins = [Int](repeating: 0, count: columns)
        guard !rows.isEmpty, columns > 0 else { return wins }
        var random = SplitMix64(seed: seed)
        let count = UInt64(rows.count)
        for _ in 0..<resamples {
            var sums = [Double](repeating: 0, count: columns)
            for _ in 0..<rows.count {
                let row = rows[Int(random.next() % count)]
                for c in 0..<columns { sums[c] += row[c] }
            }
            var best = 0
            for c in 1..<max(columns, 1) where sums[c] > sums[best] { best = c }
            wins[best] += 1
        }
        return wins
    }

    /// The linearly interpolated quantile `q` of sorted values.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let below = Int(position.rounded(.down)), above = min(below + 1, sorted.count - 1)
        return sorted[below] + (sorted[above] - sorted[below]) * (position - Double(below))
    }

    /// "n = 3, fewer than 5 concepts" where a mean rests on too few concepts, "n = 40" otherwise.
    public static func conceptCount(_ n: Int) -> String {
        n < fewestConcepts ? "n = \(n), fewer than \(fewestConcepts) concepts" : "n = \(n)"
    }
}

extension SpecializationScore {
    /// Per ratio of the sweep: the bootstrap interval of PSS(r) over the concepts measured at that
    /// ratio (nil where none is).
    static func intervals(ratios: [Double], entries: [Entry]) -> [(ratio: Double, interval: Interval?)] {
        ratios.map { ratio in (ratio, Intervals.bootstrapMeanInterval(values: entries.filter { $0.ratio == ratio }.map(\.score))) }
    }

    /// How often each ratio is the peak over the bootstrap's resamples of the concepts measured at
    /// every ratio (empty until one concept is).
    static func ratioWins(ratios: [Double], entries: [Entry]) -> [(ratio: Double, wins: Int)] {
        var byConcept: [Int: [Double: Double]] = [:]
        for entry in entries { byConcept[entry.concept, default: [:]][entry.ratio] = entry.score }
        let rows = byConcept.keys.sorted().compactMap { c -> [Double]? in
            let scores = ratios.compactMap { byConcept[c]?[$0] }
            return scores.count == ratios.count ? scores : nil
        }
        guard !rows.isEmpty else { return [] }
        return Array(zip(ratios, Intervals.bootstrapArgMaxWins(rows: rows))).map { (ratio: $0.0, wins: $0.1) }
    }

    /// The peak's interval: the bootstrap interval of the mean at the peak's ratio.
    public var peakInterval: Interval? {
        guard let peak else { return nil }
        return modelIntervals.first { $0.ratio == peak.ratio }?.interval
    }
}

extension ProbeAccuracy.Score {
    /// The Wilson interval of the open accuracy over `questions`.
    public var openInterval: Interval? {
        Intervals.wilsonInterval(successes: Int((open * Double(questions)).rounded()), trials: questions)
    }

    /// The Wilson interval of the multiple-choice accuracy over the questions with choices.
    public var multipleChoiceInterval: Interval? {
        multipleChoice.flatMap { Intervals.wilsonInterval(successes: Int(($0 * Double(choiceQuestions)).rounded()), trials: choiceQuestions) }
    }

    /// As JSON: accuracy, interval and questions for open and multiple choice.
    public var intervalsJSON: [String: Any] {
        ["open": openInterval.map { $0.json as Any } ?? NSNull(), "mcq": multipleChoiceInterval.map { $0.json as Any } ?? NSNull()]
    }
}
