import Foundation
import Analysis

/// What `neurotop list` says of one stored analysis: its inputs, its settings, and how complete
/// each kind of unit is. Totals come from the probe set named in the store (when it can still be
/// read) and the settings the fingerprint records.
public struct StoreListing: Sendable {
    public struct Kind: Sendable {
        public let name: String
        public let done: Int
        /// nil when it cannot be known from what is at hand (the probe set is gone, or the
        /// unmasked evaluation that decides the concepts measured is not stored yet).
        public let total: Int?
    }

    public let stored: StoredAnalysis
    /// The settings, in the order the fingerprint records them.
    public let settings: [(String, String)]
    public let kinds: [Kind]
    /// Why a total is unknown, if one is.
    public let note: String?
    /// Processes computing units of it now (their claims on the store live).
    public let workers: Int

    public init(_ stored: StoredAnalysis, store: ResultStore) {
        self.stored = stored
        settings = stored.options.components(separatedBy: "; ").compactMap { item in
            item.firstIndex(of: "=").map { (String(item[..<$0]), String(item[item.index(after: $0)...])) }
        }
        let setting = Dictionary(settings, uniquingKeysWith: { a, _ in a })
        let ratios = (setting["ratios"] ?? "").split(separator: " ").count
        let samples = Int(setting["samples_per_domain"] ?? "")
        let probes = try? ProbeSet.load(path: stored.probes)
        var note: String? = probes == nil ? "the probe set \(stored.probes) cannot be read: totals that depend on it are unknown" : nil
        let questions = probes?.questions.count
        var pssTotal: Int?
        if let probes, let results = try? store.baseline(AnalysisFingerprint(stored: stored), questions: probes.questions.count) {
            let plan = SpecializationScore.Plan(
                probes: probes, baseline: ProbeAccuracy(probes: probes, results: results),
                metric: AccuracyMetric(rawValue: setting["pss_accuracy"] ?? "") ?? .open,
                controlSet: (setting["pss_control_set"] ?? "").hasPrefix("all") ? .all : .five,
                questions: (setting["pss_questions"] ?? "").hasPrefix("known") ? .known : .all)
            pssTotal = plan.measuredConcepts.count * ratios
        } else if probes != nil {
            note = "PSS evaluations: the total is known once the unmasked evaluation is stored"
        }
        kinds = [
            Kind(name: "unmasked evaluation", done: questions.map { stored.baselineQuestions == $0 ? 1 : 0 } ?? (stored.baselineQuestions > 0 ? 1 : 0), total: 1),
            Kind(name: "pooling batches", done: stored.pooledBatches,
                 total: questions.map { ($0 + AnalysisEngine.promptBatch - 1) / AnalysisEngine.promptBatch }),
            Kind(name: "PSS evaluations", done: stored.pssEntries, total: pssTotal),
            Kind(name: "pattern steps", done: stored.patternSteps, total: samples.map { ($0 + 1) / 2 }),
        ]
        self.note = note
        let claims = (try? store.claims(AnalysisFingerprint(stored: stored))) ?? [:]
        workers = EngineProgress.otherWorkers(claims, besides: "", at: Date().timeIntervalSince1970)
    }

    /// Every kind's units all stored.
    public var isComplete: Bool { kinds.allSatisfy { kind in kind.total.map { kind.done >= $0 } ?? false } }

}

extension AnalysisFingerprint {
    /// The key of an analysis listed from the store (its inputs are not loaded).
    public init(stored: StoredAnalysis) {
        id = stored.fingerprint
        model = stored.model
        probes = stored.probes
        domains = stored.domains
        options = stored.options
    }
}
