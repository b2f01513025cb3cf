import Foundation
import Checkpoints

/// The headline figures of one analysis as far as it has got: what `analyze --json` prints, what
/// `compare` prints for each model, and what the Compare page draws. Made from a snapshot alone; a
/// figure not computed yet is nil (null in JSON), never zero.
public struct AnalysisSummary: Sendable {
    public let name: String
    /// The model's family as the study counts them, its `model_type` (Qwen2 and SmolLM2 share
    /// llama's architecture but are two families), and the parameter count, by which `compare`
    /// orders the models of a family.
    public let family: String
    public let parameters: Int
    public let blocks: Int
    /// Accuracy with nothing ablated, over every question of the probe set.
    public let accuracy: ProbeAccuracy.Score?
    /// The accuracy PSS is computed from.
    public let metric: AccuracyMetric
    public let ratios: [Double]
    /// PSS(r) per ratio of the sweep: the mean over the concepts measured so far at that ratio.
    public let pss: [Double?]
    public let peak: (ratio: Double, score: Double)?
    /// PSS(r)'s signed form per ratio: the mean over the concepts measured so far of
    /// (Acc(G_c masked) − Acc(Q_c masked)) / Acc(all, nothing masked).
    public let signedPSS: [Double?]
    /// Per ratio: how many measured concepts lost more than their controls, less, or as much.
    public let pssSigns: [SpecializationScore.SignCounts]
    /// Per ratio, PSS(r)'s bootstrap interval over the concepts measured at that ratio, with their n.
    public let pssIntervals: [Interval?]
    /// The peak's interval (the bootstrap interval of the mean at the peak's ratio), and how often
    /// each ratio is the peak over the resamples.
    public let peakInterval: Interval?
    public let peakRatioWins: [(ratio: Double, wins: Int)]
    /// Concept × ratio runs done, and how many the plan measures (nil before the unmasked evaluation).
    public let pssRuns: (done: Int, wanted: Int?)
    public let plan: SpecializationScore.Plan?
    /// The layer summary of s per block (mean s of the block's 100 neurons with the largest Δ).
    public let layerSpecialization: [Double]?
    public let patterns: PatternResults?
    /// Accuracy and PSS per popularity tier, high to low; empty when the probe set has no tiers.
    public let tiers: [TierFigures]
    /// All concepts' knowledge vectors at `KnowledgeVectorsByBlock.ratio` per block (nil until Δ exists).
    public let knowledgeVectorsByBlock: [Int]?
    /// Per ratio of the sweep, how many of each concept's K_c(r) other concepts hold too (nil until Δ exists).
    public let sharedKnowledgeVectors: [SharedKnowledgeVectors]?

    /// `layerSpecialization`, `sharedKnowledgeVectors`: when already computed (nil: computed here).
    public init(snapshot: AnalysisSnapshot, layerSpecialization: [Double]? = nil, sharedKnowledgeVectors: [SharedKnowledgeVectors]? = nil) {
        name = snapshot.card.name
        family = snapshot.card.modelType
        parameters = snapshot.card.parameters
        blocks = snapshot.card.blocks
        accuracy = snapshot.baseline?.overall
        let score = snapshot.score
        metric = score.metric
        ratios = score.ratios
        pss = score.modelScores.map(\.score)
        peak = score.peak
        signedPSS = score.modelSignedScores.map(\.score)
        pssSigns = score.signCounts.map(\.counts)
        pssIntervals = score.modelIntervals.map(\.interval)
        peakInterval = score.peakInterval
        peakRatioWins = score.peakRatioWins
        plan = score.plan
        pssRuns = (score.entries.count, score.plan.map { $0.measuredConcepts.count * score.ratios.count })
        if let layerSpecialization {
            self.layerSpecialization = layerSpecialization
        } else if let specialization = snapshot.specialization, let s = snapshot.specializations {
            self.layerSpecialization = (0..<specialization.blocks).map { specialization.layerSpecialization(block: $0, specializations: s) }
        } else {
            self.layerSpecialization = nil
        }
        patterns = snapshot.patterns
        tiers = snapshot.tierFigures
        let shared = sharedKnowledgeVectors
            ?? snapshot.specialization.map { SharedKnowledgeVectors.sweep(specialization: $0, ratios: score.ratios) }
        self.sharedKnowledgeVectors = shared
        // Counted with the shared sets when the sweep has the ratio: every concept ranked once.
        knowledgeVectorsByBlock = shared?.first { $0.ratio == KnowledgeVectorsByBlock.ratio }?.byBlock
            ?? snapshot.knowledgeVectorsByBlock(ratio: KnowledgeVectorsByBlock.ratio)
    }

    /// The name a comparison's column shows: "step 500" for a checkpoint of a training run
    /// (a folder named `step-500` or `checkpoint-500`), else the model's name.
    public var label: String {
        CheckpointRun.step(folderName: name).map { "step \($0)" } ?? name
    }

    /// The accuracy under `metric` with nothing ablated, and its Wilson interval (nil before the
    /// unmasked evaluation, or for multiple choice without choices).
    public func accuracy(_ metric: AccuracyMetric) -> Double? {
        metric == .open ? accuracy?.open : accuracy?.multipleChoice
    }

    public func accuracyInterval(_ metric: AccuracyMetric) -> Interval? {
        metric == .open ? accuracy?.openInterval : accuracy?.multipleChoiceInterval
    }

    /// Every figure is in: every PSS run the plan measures, and every sample of every domain.
    public var isComplete: Bool {
        guard let wanted = pssRuns.wanted, pssRuns.done == wanted, layerSpecialization != nil, let patterns else { return false }
        return patterns.samplesDone == patterns.samplesWanted
    }

    /// The figures as JSON values, with `about` (the model, inputs and settings) merged in.
    public func json(about: [String: Any]) -> [String: Any] {
        func value(_ x: Double?) -> Any { x.map { $0 as Any } ?? NSNull() }
        var concepts: Any = NSNull()
        if let plan {
            let (fewOwn, fewControl) = plan.leftOut
            concepts = ["concepts": plan.own.count, "measured": plan.measuredConcepts.count, "left_out": fewOwn + fewControl,
                        "left_out_too_few_own_questions": fewOwn, "left_out_too_few_control_questions": fewControl,
                        "summary": plan.summary] as [String: Any]
        }
        var object = about
        object["blocks"] = blocks
        object["accuracy"] = accuracy.map { ["open": $0.open, "mcq": value($0.multipleChoice), "questions": $0.questions,
                                             "intervals": $0.intervalsJSON] as [String: Any] } ?? NSNull()
        object["pss"] = zip(zip(ratios, pss), pssIntervals).map { item, interval in
            (["ratio": item.0, "pss": value(item.1)] as [String: Any]).merging(Interval.fields(interval)) { a, _ in a }
        }
        object["peak_pss"] = peak.map { peak -> Any in
            var fields: [String: Any] = ["ratio": peak.ratio, "pss": peak.score,
                                         "ratio_wins": peakRatioWins.map { ["ratio": $0.ratio, "wins": $0.wins] as [String: Any] },
                                         "resamples": Intervals.resamples]
            fields.merge(Interval.fields(peakInterval)) { a, _ in a }
            return fields
        } ?? NSNull()
        object["pss_sign"] = zip(ratios, zip(signedPSS, pssSigns)).map { ratio, item in
            ["ratio": ratio, "signed_pss": value(item.0), "positive": item.1.positive, "negative": item.1.negative, "zero": item.1.zero] as [String: Any]
        }
        object["pss_runs"] = ["done": pssRuns.done, "wanted": pssRuns.wanted.map { $0 as Any } ?? NSNull()] as [String: Any]
        object["pss_concepts"] = concepts
        object["s_by_block"] = layerSpecialization ?? NSNull()
        object["tiers"] = tiers.map(\.json)
        object["knowledge_vectors_by_block"] = knowledgeVectorsByBlock.map { counts -> Any in
            let deepest = KnowledgeVectorsByBlock.deepestBlocks(counts.count)
            return ["ratio": KnowledgeVectorsByBlock.ratio, "counts": counts, "deepest_blocks": deepest,
                    "deepest_share": KnowledgeVectorsByBlock.deepestShare(counts)] as [String: Any]
        } ?? NSNull()
        object["shared_knowledge_vectors"] = sharedKnowledgeVectors.map { sweep -> Any in
            sweep.map { shared -> [String: Any] in
                let top = shared.genericNeurons.first.map { ["layer": $0.neuron.block, "neuron": $0.neuron.neuron, "concepts": $0.concepts] as [String: Any] }
                return ["ratio": shared.ratio, "concepts": shared.concepts.count, "median_shared_fraction": value(shared.medianSharedFraction),
                        "most_shared": top ?? NSNull()]
            }
        } ?? NSNull()
        if let patterns {
            object["domains"] = patterns.domains
            object["samples"] = ["done": patterns.samplesDone, "wanted": patterns.samplesWanted]
            object["density"] = patterns.density.density.enumerated().map { block, row in
                ["block": block, "domains": Dictionary(uniqueKeysWithValues: zip(patterns.domains, row).map { ($0, $1) })] as [String: Any]
            }
            let matrix = patterns.domainMatrix
            object["domain_matrix"] = Dictionary(uniqueKeysWithValues: patterns.domains.enumerated().map { a, name in
                (name, Dictionary(uniqueKeysWithValues: patterns.domains.enumerated().map { ($1, matrix[a][$0]) }))
            })
            let similarity = patterns.deepBlockSimilarity
            object["deep_block_similarity"] = ["blocks": [patterns.deepBlocks.lowerBound, patterns.deepBlocks.upperBound - 1],
                                               "same_domain": value(similarity.same), "different_domains": value(similarity.different)] as [String: Any]
        } else {
            for key in ["samples", "density", "domain_matrix", "deep_block_similarity"] { object[key] = NSNull() }
        }
        object["complete"] = isComplete
        return object
    }
}

/// Where all concepts' knowledge vectors sit, as `analyze` reports it: at the front end's default
/// ratio, with the share in the deepest quarter of the blocks.
public enum KnowledgeVectorsByBlock {
    public static let ratio = 0.01

    public static func deepestBlocks(_ blocks: Int) -> Int { max(blocks / 4, 1) }

    public static func deepestShare(_ counts: [Int]) -> Double {
        Double(counts.suffix(deepestBlocks(counts.count)).reduce(0, +)) / Double(max(counts.reduce(0, +), 1))
    }
}

extension PatternResults {
    /// The domain × domain matrix's mean on its diagonal (a domain's samples against each other)
    /// and off it (different domains); nil where there is no such pair.
    public var deepBlockSimilarity: (same: Double?, different: Double?) {
        var same: [Double] = [], different: [Double] = []
        for a in domainMatrix.indices {
            for b in a..<domainMatrix.count { if a == b { same.append(domainMatrix[a][b]) } else { different.append(domainMatrix[a][b]) } }
        }
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        return (mean(same), mean(different))
    }
}

/// Blocks placed on a relative depth from 0 (the first block) to 1 (the last), so that models of
/// different depths line up: block l of L sits at l / (L − 1).
public enum RelativeDepth {
    public static let bins = 10

    public static func position(block: Int, of blocks: Int) -> Double { blocks > 1 ? Double(block) / Double(blocks - 1) : 0 }

    /// The bin a block falls in: [b/bins, (b+1)/bins), the last bin closed.
    public static func bin(block: Int, of blocks: Int, bins: Int = bins) -> Int {
        min(Int(position(block: block, of: blocks) * Double(bins)), bins - 1)
    }

    /// The mean of the per-block values falling in each bin; nil for a bin no block falls in (a
    /// model with fewer blocks than bins leaves some empty).
    public static func binned(_ values: [Double], bins: Int = bins) -> [Double?] {
        var sums = [Double](repeating: 0, count: bins), counts = [Int](repeating: 0, count: bins)
        for (block, value) in values.enumerated() {
            let b = bin(block: block, of: values.count, bins: bins)
            sums[b] += value
            counts[b] += 1
        }
        return zip(sums, counts).map { $1 > 0 ? $0 / Double($1) : nil }
    }
}
