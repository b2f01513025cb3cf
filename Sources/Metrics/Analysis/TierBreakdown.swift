import Foundation

/// Accuracy and PSS per popularity tier (METHODS.md: a probe question's optional `tier`), for the
/// figures: the study finds popular concepts both better known and more specialized. Empty when
/// the probe set has no tiers.
public struct TierBreakdown: Sendable {
    public struct Tier: Sendable, Equatable {
        public let name: String
        public let concepts: Int
        public let questions: Int
        /// Accuracy with nothing ablated over the tier's questions; nil before the unmasked evaluation.
        public let open: Double?
        public let multipleChoice: Double?
        /// PSS at the model's peak ratio, the mean over the tier's measured concepts; nil where none is.
        public let pssAtPeak: Double?
        public let measured: Int
    }

    /// The ratio `pssAtPeak` is taken at.
    public let peakRatio: Double?
    /// In the order high, medium, low, then any other tier names in order of first appearance.
    public let tiers: [Tier]

    /// Each concept's tier as the probe set's file gives it (the first `tier` of its questions).
    public static func conceptTiers(path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var tiers: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let concept = object["concept"] as? String, let tier = object["tier"] as? String, tiers[concept] == nil else { continue }
            tiers[concept] = tier
        }
        return tiers
    }

    public init(snapshot: AnalysisSnapshot, conceptTiers: [String: String]) {
        let probes = snapshot.probes, score = snapshot.score
        var names: [String] = ["high", "medium", "low"].filter { Set(conceptTiers.values).contains($0) }
        for concept in probes.concepts { if let tier = conceptTiers[concept], !names.contains(tier) { names.append(tier) } }
        peakRatio = score.peak?.ratio
        tiers = names.map { name in
            let concepts = probes.concepts.indices.filter { conceptTiers[probes.concepts[$0]] == name }
            let questions = concepts.flatMap { probes.questionIndices[probes.concepts[$0]] ?? [] }
            let results = snapshot.baseline.map { baseline in questions.map { baseline.results[$0] } }
            let withChoices = results?.compactMap(\.multipleChoiceCorrect) ?? []
            let atPeak = score.entries.filter { $0.ratio == score.peak?.ratio && concepts.contains($0.concept) }.map(\.score)
            return Tier(name: name, concepts: concepts.count, questions: questions.count,
                        open: results.map { r in Double(r.filter(\.openCorrect).count) / Double(max(r.count, 1)) },
                        multipleChoice: withChoices.isEmpty ? nil : Double(withChoices.filter { $0 }.count) / Double(withChoices.count),
                        pssAtPeak: atPeak.isEmpty ? nil : atPeak.reduce(0, +) / Double(atPeak.count), measured: atPeak.count)
        }
    }
}
