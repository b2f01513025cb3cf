import Foundation

/// What a partial analysis would have shown: PSS(r) over the first concepts in the order the
/// engine measures them, beside the final value over all of them, and whether the partial
/// interval holds it (METHODS.md, "Uncertainty, partial results and comparisons").
public struct PartialResults: Sendable {
    public struct Row: Sendable {
        /// The share of PSS's units done: the first `concepts` of the order, each at every ratio.
        public let fraction: Double
        public let concepts: Int
        /// The mean over those concepts at the ratio, with its bootstrap interval (nil without concepts).
        public let pss: Double?
        public let interval: Interval?
        /// Whether `interval` holds the final value.
        public var holdsFinal: Bool
    }

    public let ratio: Double
    /// PSS(r) over every measured concept, and its interval.
    public let final: Double?
    public let finalInterval: Interval?
    public let rows: [Row]

    /// `order`: the measured concepts in the engine's order; the score's entries at `ratio` are
    /// taken for the first ⌈fraction × count⌉ of them.
    public init(score: SpecializationScore, order: [Int], ratio: Double, fractions: [Double]) {
        self.ratio = ratio
        var byConcept: [Int: Double] = [:]
        for entry in score.entries where entry.ratio == ratio { byConcept[entry.concept] = entry.score }
        func values(_ concepts: ArraySlice<Int>) -> [Double] { concepts.compactMap { byConcept[$0] } }
        // The final figure as `analyze` gives it (its interval resamples the entries in their order).
        let final = score.modelScores.first { $0.ratio == ratio }?.score ?? nil
        self.final = final
        finalInterval = score.modelIntervals.first { $0.ratio == ratio }?.interval ?? nil
        rows = fractions.map { fraction in
            let count = min(Int((fraction * Double(order.count)).rounded(.up)), order.count)
            let taken = values(order.prefix(count))
            let mean = taken.isEmpty ? nil : taken.reduce(0, +) / Double(taken.count)
            let interval = Intervals.bootstrapMeanInterval(values: taken)
            let holds = final.map { f in interval.map { $0.low <= f && f <= $0.high } ?? false } ?? false
            return Row(fraction: fraction, concepts: count, pss: mean, interval: interval, holdsFinal: holds)
        }
    }
}
