import Foundation
import Analysis
import Checkpoints
import Model
import Tensors
import Tokenizers

/// The settings of both analyses (METHODS.md's defaults), recorded in every export and part of
/// the store's fingerprint.
public struct AnalysisOptions: Sendable {
    public var metric = AccuracyMetric.mcq
    public var pooling = Pooling.mean
    public var controlSet = ControlSet.five
    public var pssQuestions = PSSQuestions.known
    public var association = Association.raw
    public var ratios = SpecializationScore.defaultRatios
    public var patterns = ActivationPatterns.Options()

    public init() {}

    /// The settings the store's fingerprint hashes: all of them, except the raw association, the
    /// only one before the option existed, so that analyses stored before it stay valid (a
    /// standardized analysis is hashed with it, and never mixes with a raw one).
    var fingerprintDescription: [(String, String)] {
        association == .raw ? description.filter { $0.0 != "association" } : description
    }

    /// The settings in force, as every export records them.
    public var description: [(String, String)] {
        let threshold: String
        switch patterns.threshold {
        case .quantile(let share): threshold = "quantile: the top \(share * 100) % of each domain's weights"
        case .absolute(let gamma): threshold = "absolute gamma \(gamma)"
        }
        return [("pss_accuracy", metric.rawValue), ("pooling", pooling.rawValue),
                ("association", association == .raw ? "raw: delta" : "standardized: delta / sigma, sigma the standard deviation of p over all questions"),
                ("delta_unrelated_questions", "all other concepts"),
                ("pss_control_set", controlSet == .five
                    ? "\(SpecializationScore.controlConcepts) other concepts per concept, drawn by SplitMix64 seeded with the concept's index"
                    : "all other concepts"),
                ("pss_questions", pssQuestions == .known ? "known: answered correctly with nothing masked" : "all"),
                ("pss_left_out", "fewer than \(SpecializationScore.fewestOwnQuestions) questions in use, or a control set with fewer than \(SpecializationScore.fewestControlQuestions)"),
                ("ratios", ratios.map { "\($0)" }.joined(separator: " ")),
                ("samples_per_domain", "\(patterns.samples)"), ("activation_threshold", threshold),
                ("active_neuron_share", "\(patterns.activeNeuronShare)"),
                ("pruning", "target \(patterns.pruningTarget), alpha \(patterns.pruningAlpha), beta \(patterns.pruningBeta)")]
    }
}

/// What both analyses run on: a checkpoint with its tokenizer, a probe set, domain corpora.
public struct AnalysisInputs {
    public let checkpoint: Checkpoint
    public let model: Transformer
    public let tokenizer: Tokenizer
    public let probes: ProbeSet
    public let corpus: DomainCorpus

    public init(checkpoint: Checkpoint, model: Transformer, tokenizer: Tokenizer, probes: ProbeSet, corpus: DomainCorpus) {
        self.checkpoint = checkpoint
        self.model = model
        self.tokenizer = tokenizer
        self.probes = probes
        self.corpus = corpus
    }

    /// Loads a model folder or id (nil: the built-in demo), a shipped probe set name or file, and
    /// a shipped corpus name or folder.
    public static func load(model: String?, probes: String, domains: String) throws -> AnalysisInputs {
        let dataRoot = try ShippedData.root()
        let checkpoint = try Checkpoint(location: model ?? ShippedData.defaultModel())
        let probeSet = try ProbeSet.load(named: probes, dataRoot: dataRoot)
        let corpus = try DomainCorpus.load(named: domains, dataRoot: dataRoot)
        guard checkpoint.hasTokenizer else {
            throw InputError(checkpoint.folder, "no tokenizer (tokenizer.json or GGUF metadata): the analyses need the model's tokenizer")
        }
        return AnalysisInputs(checkpoint: checkpoint, model: try Transformer(checkpoint: checkpoint),
                              tokenizer: try checkpoint.loadTokenizer(),
                              probes: probeSet, corpus: corpus)
    }
}

/// What identifies one analysis in the store: a hash of everything its results depend on (the
/// checkpoint's config, tokenizer and tensors, the probe questions, the domain samples used, the
/// options and the engine's version), with readable descriptions of each.
public struct AnalysisFingerprint: Sendable, Equatable {
    /// Changes whenever a computation changes its results: older stored results are then not reused.
    public static let engineVersion = "2"

    public let id: String
    public let model: String
    public let probes: String
    public let domains: String
    public let options: String

    public init(inputs: AnalysisInputs, options: AnalysisOptions) throws {
        var hash = FNV1a()
        hash.add("neurotop engine \(Self.engineVersion)")
        let checkpoint = inputs.checkpoint
        try checkpoint.source.fingerprint { hash.add($0) }
        for question in inputs.probes.questions {
            hash.add([question.concept, question.category, question.prompt, question.answer, (question.choices ?? []).joined(separator: "\u{1}")].joined(separator: "\u{2}"))
        }
        for domain in inputs.corpus.domains {
            hash.add(domain.name)
            for sample in domain.samples.prefix(options.patterns.samples) { hash.add(sample) }
        }
        hash.add(options.fingerprintDescription.map { "\($0.0)=\($0.1)" }.joined(separator: "; "))
        let described = options.description.map { "\($0.0)=\($0.1)" }.joined(separator: "; ")
        id = String(format: "%016llx", hash.value)
        model = checkpoint.folder
        probes = inputs.probes.path
        domains = inputs.corpus.path
        self.options = described
    }
}

/// 64-bit FNV-1a: a stable hash (Swift's `Hasher` is seeded per process).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01b3
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        value ^= 0xff
        value = value &* 0x0000_0100_0000_01b3
    }

    mutating func add(_ data: Data) { data.withUnsafeBytes { add($0) } }
    mutating func add(_ text: String) { add(Data(text.utf8)) }
}
