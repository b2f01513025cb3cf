import Foundation
import Analysis
import Engine
import Model
import TUI

/// Fixed engine snapshots for the views: the tiny fixture model (2 blocks × 128 neurons) with its
/// probes (3 concepts) and domains (3, 4 samples each), computed for real once; and partial ones
/// made from it by leaving figures out.
enum Scenario {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let themesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("themes").path

    static let inputs: AnalysisInputs = {
        try! AnalysisInputs.load(model: fixtures.appendingPathComponent("checkpoints/llama").path,
                                 probes: fixtures.appendingPathComponent("probes/tiny-llama.jsonl").path,
                                 domains: fixtures.appendingPathComponent("domains").path)
    }()

    static var options: AnalysisOptions {
        var options = AnalysisOptions()
        options.patterns.samples = 4
        return options
    }

    /// Every analysis finished.
    static let finished: AnalysisSnapshot = {
        try! AnalysisEngine(inputs: inputs, options: options, store: nil).runToEnd { _ in }
    }()

    /// The neurons the ablation scenario marks: France's two strongest knowledge vectors.
    static var ablated: [NeuronID] { Array(finished.specialization!.knowledgeNeurons(concept: 0, ratio: 0.01).prefix(2)) }

    /// `finished` with `ablated` ablated and evaluated, and one neuron inspected.
    static let ablatedAndInspected: AnalysisSnapshot = {
        let ablation = Ablation(zeroing: ablated)
        let evaluator = try! Evaluator(model: inputs.model, tokenizer: inputs.tokenizer, probes: inputs.probes)
        let accuracy = try! evaluator.evaluate(ablation: ablation, candidates: .answers)
        let neuron = ablated[0]
        let detail = NeuronDetail(neuron: neuron, promoted: [.init(token: " Paris", value: 1.25), .init(token: "\n", value: 0.5)],
                                  suppressed: [.init(token: " Berlin", value: -0.75)],
                                  topQuestions: [.init(question: 0, pooled: 0.42)])
        return copy(finished, live: LiveAccuracy(ablation: ablation, accuracy: accuracy, milliseconds: 12), requested: ablation,
                    details: [neuron: detail])
    }()

    /// Early in a run: Δ not there yet, the activation patterns from 2 of 4 samples, no PSS yet.
    static let partial: AnalysisSnapshot = {
        let patterns = try! ActivationPatterns(model: inputs.model, tokenizer: inputs.tokenizer, corpus: inputs.corpus, options: options.patterns)
        try! patterns.step()
        let progress = EngineProgress(state: .working, doing: "activation patterns: 2 of 4 samples per domain", done: 3, total: 26, secondsLeft: 75)
        return AnalysisSnapshot(generation: 3, card: finished.card, probes: finished.probes, progress: progress, pooled: nil,
                                specialization: nil, specializations: nil,
                                score: SpecializationScore(metric: .open, ratios: options.ratios, entries: []), conceptCount: 3,
                                patterns: patterns.results(), baseline: nil, live: nil, requestedAblation: Ablation(), details: [:])
    }()

    /// At the very start: nothing computed.
    static let empty: AnalysisSnapshot = {
        AnalysisSnapshot(generation: 0, card: finished.card, probes: finished.probes,
                         progress: EngineProgress(state: .working, doing: "starting", done: 0, total: 26), pooled: nil,
                         specialization: nil, specializations: nil, score: SpecializationScore(metric: .open, ratios: options.ratios, entries: []),
                         conceptCount: 3, patterns: nil, baseline: nil, live: nil, requestedAblation: Ablation(), details: [:])
    }()

    /// A model of `blocks` × `width` neurons on the fixture's probes, its Δ from made-up pooled
    /// coefficients: many blocks, for layouts that must share text rows between blocks.
    static func synthetic(blocks: Int, width: Int) -> AnalysisSnapshot {
        let neurons = blocks * width, questions = finished.probes.questions.count
        let values = (0..<(questions * neurons)).map { Float(($0 * 7919) % 1000) / 1000 }
        let pooled = PooledCoefficients(questions: questions, neurons: neurons, values: values)
        let specialization = Specialization(pooled: pooled, probes: finished.probes, blocks: blocks, width: width)
        let card = ModelCard(name: "synthetic", family: "llama", blocks: blocks, hidden: 64, mlpWidth: width, heads: 4, vocab: 512,
                             parameters: 1_000_000, dtype: "F32")
        return AnalysisSnapshot(generation: 1, card: card, probes: finished.probes, progress: finished.progress, pooled: pooled,
                                specialization: specialization, specializations: specialization.specializations, score: finished.score,
                                conceptCount: 3, patterns: nil, baseline: finished.baseline, live: nil, requestedAblation: Ablation(), details: [:])
    }

    static func copy(_ s: AnalysisSnapshot, progress: EngineProgress? = nil, live: LiveAccuracy? = nil, requested: Ablation? = nil,
                     details: [NeuronID: NeuronDetail]? = nil) -> AnalysisSnapshot {
        AnalysisSnapshot(generation: s.generation + 1, card: s.card, probes: s.probes, progress: progress ?? s.progress, pooled: s.pooled,
                         specialization: s.specialization, specializations: s.specializations, score: s.score, conceptCount: s.conceptCount,
                         patterns: s.patterns, baseline: s.baseline, live: live ?? s.live, requestedAblation: requested ?? s.requestedAblation,
                         details: details ?? s.details)
    }

    static let themes: ThemeSet = try! ThemeSet.load(folder: themesFolder)

    static func context(_ theme: String = "default", _ mode: ColorMode = .colors256) -> RenderContext {
        RenderContext(theme: themes.themes.first { $0.name == theme }!, colorMode: mode)
    }

    /// A state at 120×40 after `keys`.
    static func state(_ keys: [Key] = [], snapshot: AnalysisSnapshot = finished, width: Int = 120, height: Int = 40) -> AppState {
        var state = AppState(width: width, height: height, themeNames: themes.themes.map(\.name))
        for key in keys { _ = state.handle(.key(key), snapshot: snapshot) }
        return state
    }

    static func keys(_ text: String) -> [Key] { text.map { .character($0) } }

    static func render(_ state: AppState, _ snapshot: AnalysisSnapshot = finished, _ context: RenderContext = context()) -> Frame {
        Screen.render(state, snapshot, context)
    }
}
