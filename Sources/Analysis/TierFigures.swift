import Foundation

/// Accuracy and PSS over the concepts of one popularity tier (METHODS.md, method 1, "Data": the
/// study finds popular concepts both better known and more specialized).
public struct TierFigures: Sendable {
    public let tier: ProbeTier
    public let concepts: Int
    public let questions: Int
    /// Unmasked accuracy over the tier's questions; nil until the unmasked evaluation exists.
    public let accuracy: ProbeAccuracy.Score?
    /// The tier's concepts PSS is measured on; nil until the unmasked evaluation decides them.
    public let measured: Int?
    /// The tier's PSS(r): the mean over its measured concepts at each ratio (nil where none is yet).
    public let pss: [(ratio: Double, score: Double?)]
    /// Per ratio, the bootstrap interval of the tier's PSS(r) over its concepts measured at that ratio.
    public let pssIntervals: [Interval?]

    /// The largest PSS(r) over the sweep.
    public var peak: (ratio: Double, score: Double)? {
        pss.compactMap { item in item.score.map { (item.ratio, $0) } }.max { $0.1 < $1.1 }
    }

    /// The tier's PSS at `ratio` (the model's peak ratio, in the comparison); nil where none is measured.
    public func pss(at ratio: Double?) -> Double? {
        pss.first { $0.ratio == ratio }?.score
    }

    /// The bootstrap interval of the tier's PSS at `ratio`, with its n; nil where none is measured.
    public func pssInterval(at ratio: Double?) -> Interval? {
        pss.firstIndex { $0.ratio == ratio }.flatMap { pssIntervals[$0] }
    }

    /// Per tier, as `analyze --json` and `export --format json` write it (null: not computed yet).
    public var json: [String: Any] {
        var object: [String: Any] = ["tier": tier.rawValue, "concepts": concepts, "questions": questions,
                                     "open_accuracy": accuracy.map { $0.open as Any } ?? NSNull(),
                                     "mcq_accuracy": accuracy?.multipleChoice.map { $0 as Any } ?? NSNull(),
                                     "pss_measured_concepts": measured.map { $0 as Any } ?? NSNull()]
        object["pss"] = zip(pss, pssIntervals).map { item, interval in
            (["ratio": item.ratio, "pss": item.score.map { $0 as Any } ?? NSNull()] as [String: Any]).merging(Interval.fields(interval)) { a, _ in a }
        }
        object["peak_pss"] = peak.map { peak -> Any in
            (["ratio": peak.ratio, "pss": peak.score] as [String: Any]).merging(Interval.fields(pssInterval(at: peak.ratio))) { a, _ in a }
        } ?? NSNull()
        object["accuracy_intervals"] = accuracy.map { $0.intervalsJSON as Any } ?? NSNull()
        return object
    }
}

extension TierFigures {
    /// Accuracy and PSS per tier of `probes`, high to low; empty for a probe set without tiers.
    static func figures(probes: ProbeSet, score: SpecializationScore, baseline: ProbeAccuracy?) -> [TierFigures] {
        let conceptIndex = Dictionary(uniqueKeysWithValues: probes.concepts.enumerated().map { ($1, $0) })
        return probes.tiers.map { tier in
            let names = probes.concepts(inTier: tier)
            let members = Set(names.compactMap { conceptIndex[$0] })
            let scoresByRatio = score.ratios.map { ratio in
                score.entries.filter { $0.ratio == ratio && members.contains($0.concept) }.map(\.score)
            }
            let pss = zip(score.ratios, scoresByRatio).map { ratio, scores -> (ratio: Double, score: Double?) in
                (ratio, scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count))
            }
            return TierFigures(tier: tier, concepts: names.count, questions: names.map { probes.questions(of: $0).count }.reduce(0, +),
                               accuracy: baseline?.tier(tier), measured: score.plan.map { plan in members.filter(plan.measured).count },
                               pss: pss, pssIntervals: scoresByRatio.map { Intervals.bootstrapMeanInterval(values: $0) })
        }
    }
}

extension AnalysisSnapshot {

    /// How many knowledge vectors K_c(r) of all concepts together sit in each block (nil until Δ exists).
    public func knowledgeVectorsByBlock(ratio: Double) -> [Int]? {
        guard let specialization else { return nil }
        var counts = [Int](repeating: 0, count: specialization.blocks)
        for c in specialization.concepts.indices {
            for (block, count) in specialization.knowledgeNeuronsByBlock(concept: c, ratio: ratio).enumerated() { counts[block] += count }
        }
        return counts
    }
}
