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

    /// The largest PSS(r) over the sweep.
    public var peak: (ratio: Double, score: Double)? {
        pss.compactMap { item in item.score.map { (item.ratio, $0) } }.max { $0.1 < $1.1 }
    }

    /// The tier's PSS at `ratio` (the model's peak ratio, in the comparison); nil where none is measured.
    public func pss(at ratio: Double?) -> Double? {
        pss.first { $0.ratio == ratio }?.score
    }

    /// Per tier, as `analyze --json` and `export --format json` write it (null: not computed yet).
    public var json: [String: Any] {
        var object: [String: Any] = ["tier": tier.rawValue, "concepts": concepts, "questions": questions,
                                     "open_accuracy": accuracy.map { $0.open as Any } ?? NSNull(),
                                     "mcq_accuracy": accuracy?.multipleChoice.map { $0 as Any } ?? NSNull(),
                                     "pss_measured_concepts": measured.map { $0 as Any } ?? NSNull()]
        object["pss"] = pss.map { ["ratio": $0.ratio, "pss": $0.score.map { $0 as Any } ?? NSNull()] }
        object["peak_pss"] = peak.map { ["ratio": $0.ratio, "pss": $0.score] as Any } ?? NSNull()
        return object
    }
}

extension AnalysisSnapshot {
    /// Accuracy and PSS per tier, high to low; empty for a probe set without tiers.
    public var tierFigures: [TierFigures] {
        let conceptIndex = Dictionary(uniqueKeysWithValues: probes.concepts.enumerated().map { ($1, $0) })
        return probes.tiers.map { tier in
            let names = probes.concepts(inTier: tier)
            let members = Set(names.compactMap { conceptIndex[$0] })
            let pss = score.ratios.map { ratio -> (ratio: Double, score: Double?) in
                let scores = score.entries.filter { $0.ratio == ratio && members.contains($0.concept) }.map(\.score)
                return (ratio, scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count))
            }
            return TierFigures(tier: tier, concepts: names.count, questions: names.map { probes.questions(of: $0).count }.reduce(0, +),
                               accuracy: baseline?.tier(tier), measured: score.plan.map { plan in members.filter(plan.measured).count },
                               pss: pss)
        }
    }

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
