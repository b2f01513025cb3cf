/// Which accuracy a Parameter Specialization Score is computed from.
public enum AccuracyMetric: String, Sendable {
    /// Greedy decoding reproduces the answer (the default: it needs no choices).
    case open
    /// The answer has the highest summed log-probability among the choices.
    case mcq
}

/// PSS(c, r) = |Acc(U_c with K_c(r) masked) − Acc(Q_c with K_c(r) masked)| / Acc(all, nothing masked)
/// (METHODS.md, method 1, step 5) for each concept and ratio of the sweep.
public struct SpecializationScore: Sendable {
    public static let defaultRatios: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.10]

    public struct Entry: Sendable, Equatable {
        public let concept: Int
        public let ratio: Double
        /// Accuracy on the concept's own questions with its knowledge neurons masked.
        public let conceptAccuracy: Double
        /// Accuracy on every other concept's questions with the same mask.
        public let otherAccuracy: Double
        /// Accuracy on every question with nothing masked.
        public let baseline: Double

        public var score: Double { baseline > 0 ? abs(otherAccuracy - conceptAccuracy) / baseline : 0 }
    }

    public let metric: AccuracyMetric
    public let ratios: [Double]
    public let entries: [Entry]

    /// The model's PSS(r): the mean over the measured concepts at each ratio.
    public var modelScores: [(ratio: Double, score: Double)] {
        ratios.map { ratio in
            let scores = entries.filter { $0.ratio == ratio }.map(\.score)
            return (ratio, scores.isEmpty ? 0 : scores.reduce(0, +) / Double(scores.count))
        }
    }

    /// The headline: the largest PSS(r) over the sweep.
    public var peak: (ratio: Double, score: Double)? { modelScores.max { $0.score < $1.score } }

    /// One masked evaluation of concept `c` at ratio `r`, against the unmasked `baseline`.
    public static func entry(concept c: Int, ratio: Double, specialization: Specialization, evaluator: Evaluator,
                             metric: AccuracyMetric, baseline: ProbeAccuracy) throws -> Entry {
        let neurons = specialization.knowledgeNeurons(concept: c, ratio: ratio)
        let masked = try evaluator.evaluate(ablation: Ablation(zeroing: neurons), candidates: metric == .open ? .answers : .all)
        let name = specialization.concepts[c]
        let own = Set(evaluator.probes.questionIndices[name] ?? [])
        func accuracy(_ result: ProbeAccuracy, _ keep: (Int) -> Bool) -> Double {
            let chosen = result.results.indices.filter(keep)
            let right = chosen.filter { metric == .open ? result.results[$0].openCorrect : result.results[$0].multipleChoiceCorrect == true }
            return Double(right.count) / Double(max(chosen.count, 1))
        }
        return Entry(concept: c, ratio: ratio,
                     conceptAccuracy: accuracy(masked) { own.contains($0) },
                     otherAccuracy: accuracy(masked) { !own.contains($0) },
                     baseline: accuracy(baseline) { _ in true })
    }

    public init(metric: AccuracyMetric, ratios: [Double], entries: [Entry]) {
        self.metric = metric
        self.ratios = ratios
        self.entries = entries
    }
}
