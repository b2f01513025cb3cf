import Foundation
import Model

/// What the overview's model card shows, as plain values (no file handles).
public struct ModelCard: Sendable, Equatable {
    public let name: String
    public let family: String
    /// The config's `model_type`: what tells families apart where they share an architecture
    /// (Qwen2 and SmolLM2 both run as llama).
    public let modelType: String
    public let blocks: Int
    public let hidden: Int
    public let mlpWidth: Int
    public let heads: Int
    public let vocab: Int
    public let parameters: Int
    public let dtype: String

    public init(name: String, family: String, modelType: String? = nil, blocks: Int, hidden: Int, mlpWidth: Int, heads: Int, vocab: Int,
                parameters: Int, dtype: String) {
        self.name = name
        self.family = family
        self.modelType = modelType ?? family
        self.blocks = blocks
        self.hidden = hidden
        self.mlpWidth = mlpWidth
        self.heads = heads
        self.vocab = vocab
        self.parameters = parameters
        self.dtype = dtype
    }

    public init(checkpoint: Checkpoint) {
        let c = checkpoint.config
        self.init(name: (checkpoint.folder as NSString).lastPathComponent, family: c.familyName, modelType: c.modelType, blocks: c.layerCount,
                  hidden: c.hiddenSize, mlpWidth: c.intermediateSize, heads: c.headCount, vocab: c.vocabSize,
                  parameters: checkpoint.parameterCount,
                  dtype: checkpoint.bytesByDType.sorted { $0.value > $1.value }.map(\.key).joined(separator: ", "))
    }
}

/// Where the engine is: what it works on, units done of the total, and an estimate of time left.
public struct EngineProgress: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case working
        case finished
        case failed(String)
    }

    /// One kind of unit: how many are done of how many, and whether one has been timed yet.
    public struct Kind: Sendable, Equatable {
        public let name: String
        public let done: Int
        public let total: Int
        public let timed: Bool
        /// The time the units done in this run took, in all.
        public let seconds: Double
        /// Their useful arithmetic, in all (README, "Efficiency").
        public let flops: Double

        public init(name: String, done: Int, total: Int, timed: Bool, seconds: Double = 0, flops: Double = 0) {
            self.name = name
            self.done = done
            self.total = total
            self.timed = timed
            self.seconds = seconds
            self.flops = flops
        }

        /// GFLOP/s of useful arithmetic, nil before a unit of the kind was timed.
        public var gflops: Double? { seconds > 0 ? flops / seconds / 1e9 : nil }
    }

    public var state: State
    public var doing: String
    public var done: Int
    public var total: Int
    /// nil until every kind of unit with work left has been timed once.
    public var secondsLeft: Double?
    /// The units per kind (their sums are `done` and `total`).
    public var kinds: [Kind]
    /// Why results are not being saved to the store (it is read-only, or a write failed), nil
    /// while they are (or when there is no store, by choice).
    public var notSaving: String?
    /// Other processes computing units of this analysis (their claims on the store live) when
    /// the claims were last read: 0 when the engine works alone.
    public var otherWorkers = 0
    /// The sgemm speed (GFLOP/s) measured when the engine started, with the threads its units
    /// use: what each kind's efficiency is taken against. nil before it is measured.
    public var sgemmPeak: Double?

    public init(state: State, doing: String, done: Int, total: Int, secondsLeft: Double? = nil, kinds: [Kind] = []) {
        self.state = state
        self.doing = doing
        self.done = done
        self.total = total
        self.secondsLeft = secondsLeft
        self.kinds = kinds
    }
}

extension EngineProgress {
    /// Per kind of unit timed in this run: its useful GFLOP/s and their share of the sgemm peak
    /// (nil before the peak is measured). README, "Efficiency".
    public var efficiency: [(name: String, gflops: Double, ofPeak: Double?)] {
        kinds.compactMap { kind in kind.gflops.map { speed in (kind.name, speed, sgemmPeak.map { speed / $0 }) } }
    }

    /// "sgemm peak 85.2 GFLOP/s; PSS evaluations 61.0 GFLOP/s (72 %), …", nil before a unit was timed.
    public var efficiencyText: String? {
        let kinds = efficiency
        if kinds.isEmpty { return nil }
        let peak = sgemmPeak.map { String(format: "sgemm peak %.1f GFLOP/s; ", $0) } ?? ""
        return peak + kinds.map { kind in
            String(format: "%@ %.1f GFLOP/s", kind.name, kind.gflops) + (kind.ofPeak.map { String(format: " (%.0f %%)", 100 * $0) } ?? "")
        }.joined(separator: ", ")
    }
}

/// Method 2's figures from the samples seen so far (`samplesSeen` of `samplesWanted` per domain).
public struct PatternResults: Sendable {
    public let domains: [String]
    public let samplesSeen: [Int]
    public let samplesWanted: Int
    public let density: ActivationPatterns.Density
    /// cos_l spread per block and domain pair, `[block][pair]`.
    public let similarity: [[ActivationPatterns.DomainPair: ActivationPatterns.Spread]]
    public let pairs: [ActivationPatterns.DomainPair]
    public let deepBlocks: Range<Int>
    /// Mean cos_l over the deep blocks, `[a][b]`.
    public let domainMatrix: [[Double]]
    /// u_d per neuron, `[domain][block · F + i]`.
    public let activity: [[Double]]
    /// Whether each neuron is active in each domain, `[domain][block · F + i]`.
    public let active: [[Bool]]
    /// Jaccard overlap of the active neurons per block and pair.
    public let jaccard: [[ActivationPatterns.DomainPair: Double]]
    public let pruning: [Double]

    public init(domains: [String], samplesSeen: [Int], samplesWanted: Int, density: ActivationPatterns.Density,
                similarity: [[ActivationPatterns.DomainPair: ActivationPatterns.Spread]], pairs: [ActivationPatterns.DomainPair],
                deepBlocks: Range<Int>, domainMatrix: [[Double]], activity: [[Double]], active: [[Bool]],
                jaccard: [[ActivationPatterns.DomainPair: Double]], pruning: [Double]) {
        self.domains = domains
        self.samplesSeen = samplesSeen
        self.samplesWanted = samplesWanted
        self.density = density
        self.similarity = similarity
        self.pairs = pairs
        self.deepBlocks = deepBlocks
        self.domainMatrix = domainMatrix
        self.activity = activity
        self.active = active
        self.jaccard = jaccard
        self.pruning = pruning
    }

    /// The fewest samples any domain's figures rest on.
    public var samplesDone: Int { samplesSeen.min() ?? 0 }
}

/// Accuracy on the probe set with one ablation applied, as far as the engine has got: each
/// question's exact result once it is re-evaluated, the first-order estimate's until then.
public struct LiveAccuracy: Sendable {
    public let ablation: Ablation
    /// Per question, its exact result where `exact` says so, else its estimated one.
    public let accuracy: ProbeAccuracy
    /// Per question, whether its result is exact.
    public let exact: [Bool]
    public let exactCount: Int
    /// Time from the request to the exact results so far (to all of them once `isExact`).
    public let milliseconds: Double
    /// Time from the request to the estimate on screen, when there was one.
    public let estimateMilliseconds: Double?

    /// Every question exact.
    public init(ablation: Ablation, accuracy: ProbeAccuracy, milliseconds: Double) {
        self.init(ablation: ablation, accuracy: accuracy, exact: Array(repeating: true, count: accuracy.results.count),
                  milliseconds: milliseconds, estimateMilliseconds: nil)
    }

    public init(ablation: Ablation, accuracy: ProbeAccuracy, exact: [Bool], milliseconds: Double, estimateMilliseconds: Double?) {
        self.ablation = ablation
        self.accuracy = accuracy
        self.exact = exact
        exactCount = exact.filter { $0 }.count
        self.milliseconds = milliseconds
        self.estimateMilliseconds = estimateMilliseconds
    }

    public var isExact: Bool { exactCount == exact.count }

    /// How many of `questions` are exact.
    public func exactCount(of questions: [Int]) -> Int { questions.filter { exact[$0] }.count }
}

/// What a neuron does beyond its Δ: the tokens its value vector promotes and suppresses
/// (largest and smallest entries of W_U · v_i) and the probe questions with the largest p_li.
public struct NeuronDetail: Sendable {
    public struct TokenScore: Sendable, Equatable {
        public let token: String
        public let value: Float
        public init(token: String, value: Float) {
            self.token = token
            self.value = value
        }
    }

    public struct QuestionScore: Sendable, Equatable {
        public let question: Int
        public let pooled: Float
        public init(question: Int, pooled: Float) {
            self.question = question
            self.pooled = pooled
        }
    }

    public let neuron: NeuronID
    public let promoted: [TokenScore]
    public let suppressed: [TokenScore]
    public let topQuestions: [QuestionScore]

    public init(neuron: NeuronID, promoted: [TokenScore], suppressed: [TokenScore], topQuestions: [QuestionScore]) {
        self.neuron = neuron
        self.promoted = promoted
        self.suppressed = suppressed
        self.topQuestions = topQuestions
    }
}

/// Everything the engine has computed so far, as an immutable value: the front end reads the
/// latest one whenever it draws. A figure that is not computed yet is nil (or absent).
public struct AnalysisSnapshot: Sendable {
    /// Grows by one with every published snapshot.
    public let generation: Int
    public let card: ModelCard
    public let probes: ProbeSet
    public let progress: EngineProgress
    /// Method 1: p per question and neuron, once every prompt has run.
    public let pooled: PooledCoefficients?
    public let specialization: Specialization?
    /// s per neuron, `[block · F + i]`, with `specialization`.
    public let specializations: [Double]?
    /// The PSS entries measured so far (all concepts × ratios when finished).
    public let score: SpecializationScore
    public let conceptCount: Int
    /// Method 2, from the samples seen so far.
    public let patterns: PatternResults?
    /// Accuracy with nothing ablated.
    public let baseline: ProbeAccuracy?
    /// Accuracy with the latest ablation the engine has finished evaluating.
    public let live: LiveAccuracy?
    /// The ablation the front end asked for last (may still be being evaluated).
    public let requestedAblation: Ablation
    /// Neurons inspected so far.
    public let details: [NeuronID: NeuronDetail]
    /// Accuracy and PSS per tier, high to low (empty for a probe set without tiers); computed once
    /// per snapshot, as every draw of the Overview reads it.
    public let tierFigures: [TierFigures]

    public init(generation: Int, card: ModelCard, probes: ProbeSet, progress: EngineProgress, pooled: PooledCoefficients?,
                specialization: Specialization?, specializations: [Double]?, score: SpecializationScore, conceptCount: Int,
                patterns: PatternResults?, baseline: ProbeAccuracy?, live: LiveAccuracy?, requestedAblation: Ablation,
                details: [NeuronID: NeuronDetail]) {
        self.generation = generation
        self.card = card
        self.probes = probes
        self.progress = progress
        self.pooled = pooled
        self.specialization = specialization
        self.specializations = specializations
        self.score = score
        self.conceptCount = conceptCount
        self.patterns = patterns
        self.baseline = baseline
        self.live = live
        self.requestedAblation = requestedAblation
        self.details = details
        tierFigures = TierFigures.figures(probes: probes, score: score, baseline: baseline)
    }

    /// The exact live accuracy if it answers the requested ablation, else nil (still computing).
    public var currentAccuracy: ProbeAccuracy? {
        if requestedAblation.isEmpty { return baseline }
        return currentLive.flatMap { $0.isExact ? $0.accuracy : nil }
    }

    /// The live accuracy, estimated or exact or partly both, if it answers the requested ablation.
    public var currentLive: LiveAccuracy? { live?.ablation == requestedAblation ? live : nil }
}

/// What the front end is looking at: the engine computes it first.
public enum EngineFocus: Sendable, Equatable {
    case block(Int)
    case neuron(NeuronID)
    case concept(String)
}
