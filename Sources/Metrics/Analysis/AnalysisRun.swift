import Foundation

/// Both analyses of one model on one probe set and one set of domain corpora, computed to the end:
/// what `analyze` prints and `export` writes.
public struct AnalysisRun {
    public struct Options: Sendable {
        public var metric = AccuracyMetric.open
        public var pooling = Pooling.mean
        public var ratios = SpecializationScore.defaultRatios
        public var patterns = ActivationPatterns.Options()

        public init() {}

        /// The settings in force, as every export records them.
        public var description: [(String, String)] {
            let threshold: String
            switch patterns.threshold {
            case .quantile(let share): threshold = "quantile: the top \(share * 100) % of each domain's weights"
            case .absolute(let gamma): threshold = "absolute gamma \(gamma)"
            }
            return [("pss_accuracy", metric.rawValue), ("pooling", pooling.rawValue),
                    ("unrelated_questions", "all other concepts"), ("ratios", ratios.map { "\($0)" }.joined(separator: " ")),
                    ("samples_per_domain", "\(patterns.samples)"), ("activation_threshold", threshold),
                    ("active_neuron_share", "\(patterns.activeNeuronShare)"),
                    ("pruning", "target \(patterns.pruningTarget), alpha \(patterns.pruningAlpha), beta \(patterns.pruningBeta)")]
        }
    }

    public let options: Options
    public let probes: ProbeSet
    public let specialization: Specialization
    public let score: SpecializationScore
    public let patterns: ActivationPatterns

    /// Runs method 1 (every concept at every ratio) then method 2 (every sample), calling
    /// `progress(done, total, what)` after each unit of work.
    public init(model: Transformer, tokenizer: Tokenizer, probes: ProbeSet, corpus: DomainCorpus, options: Options,
                progress: (Int, Int, String) -> Void) throws {
        self.options = options
        self.probes = probes
        let patterns = try ActivationPatterns(model: model, tokenizer: tokenizer, corpus: corpus, options: options.patterns)
        let pooled = try PooledCoefficients.compute(model: model, tokenizer: tokenizer, probes: probes, pooling: options.pooling)
        let specialization = Specialization(pooled: pooled, probes: probes, blocks: model.blockCount, width: model.mlpWidth)
        let evaluator = try Evaluator(model: model, tokenizer: tokenizer, probes: probes)
        let candidates: Evaluator.Candidates = options.metric == .open ? .answers : .all
        try evaluator.cacheResiduals(candidates)
        let baseline = try evaluator.evaluate(candidates: candidates)
        let total = specialization.concepts.count * options.ratios.count + patterns.stepCount
        var entries: [SpecializationScore.Entry] = []
        for c in specialization.concepts.indices {
            for ratio in options.ratios {
                entries.append(try SpecializationScore.entry(concept: c, ratio: ratio, specialization: specialization,
                                                             evaluator: evaluator, metric: options.metric, baseline: baseline))
                progress(entries.count, total, "specialization: \(specialization.concepts[c])")
            }
        }
        for step in 0..<patterns.stepCount {
            try patterns.step()
            progress(entries.count + step + 1, total, "activation patterns: samples \(step + 1) of \(patterns.stepCount)")
        }
        self.specialization = specialization
        score = SpecializationScore(metric: options.metric, ratios: options.ratios, entries: entries)
        self.patterns = patterns
    }
}
