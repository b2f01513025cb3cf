import ArgumentParser
import Foundation
import Analysis
import Engine
import Model
import Tensors

/// `neurotop bench floor`: what a whole analysis costs at the speed of the arithmetic.
struct BenchFloor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floor",
        abstract: "The useful arithmetic of a whole analysis by the README's formulas (\"Efficiency\"), per kind of unit, and the time it takes at the sgemm peak measured now: the floor a run's time is measured against.",
        discussion: "PSS's work depends on which questions the model knows and on each concept's knowledge vectors: the store must hold the analysis's unmasked evaluation and pooled coefficients (any run of `neurotop analyze` past its first units). Nothing else is computed.")

    @OptionGroup var inputs: AnalysisArguments

    @Option(help: "OpenBLAS threads the peak is measured with (default: OpenBLAS's own choice, one per core).")
    var threads: Int?

    @Option(help: "Also time PSS's runs of the first N concepts in the engine's order, as the engine computes them: each concept's kept state, then its ratios, beside their useful arithmetic. Results are not stored.")
    var measure = 0

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if inputs.noStore { throw ValidationError("--no-store: bench floor reads the unmasked evaluation and pooled coefficients from the store") }
    }

    func run() throws {
        if let threads { BLAS.threads = threads }
        let engine = try inputs.engine()
        let snapshot = try engine.readStored()
        guard let plan = snapshot.score.plan, let specialization = snapshot.specialization else {
            throw InputError(inputs.storePath ?? "", "the store has no unmasked evaluation or pooled coefficients of this analysis yet (run `neurotop analyze` with the same options first)")
        }
        let model = engine.inputs.model, options = engine.options
        let evaluator = try Evaluator(model: model, tokenizer: engine.inputs.tokenizer, probes: engine.inputs.probes)
        let which: Evaluator.Candidates = options.metric == .open ? .answers : .all
        var pss = 0.0
        for concept in plan.measuredConcepts {
            for ratio in options.ratios {
                let ablation = Ablation(zeroing: specialization.knowledgeNeurons(concept: concept, ratio: ratio))
                pss += evaluator.usefulFLOPs(questions: plan.own[concept] + plan.control[concept], ablation: ablation, candidates: which)
            }
        }
        let patterns = try ActivationPatterns(model: model, tokenizer: engine.inputs.tokenizer, corpus: engine.inputs.corpus, options: options.patterns)
        let kinds: [(name: String, units: Int, flops: Double)] = [
            ("unmasked evaluation and pooling", 1, evaluator.usefulFLOPs(candidates: which)),
            ("PSS evaluations", plan.measuredConcepts.count * options.ratios.count, pss),
            ("pattern steps", patterns.stepCount, (0..<patterns.stepCount).reduce(0) { $0 + patterns.usefulFLOPs(ofStep: $1) }),
        ]
        let peak = BLAS.measuredPeak(size: 1024, runs: 3)
        let total = kinds.reduce(0) { $0 + $1.flops }
        // The first concepts' runs, timed: the kept state's pass is overhead, the runs are useful.
        var timed = (concepts: 0, runs: 0, stateSeconds: 0.0, runSeconds: 0.0, flops: 0.0)
        for concept in AnalysisEngine.pssConceptOrder(plan, probes: snapshot.probes).prefix(measure) {
            var start = DispatchTime.now().uptimeNanoseconds
            func lap() -> Double {
                let now = DispatchTime.now().uptimeNanoseconds
                defer { start = now }
                return Double(now - start) / 1e9
            }
            let states = try SpecializationScore.sweepStates(concept: concept, ratios: options.ratios, specialization: specialization,
                                                             evaluator: evaluator, metric: options.metric, plan: plan)
            timed.stateSeconds += lap()
            for ratio in options.ratios {
                _ = try SpecializationScore.entry(concept: concept, ratio: ratio, specialization: specialization, evaluator: evaluator,
                                                  metric: options.metric, plan: plan, states: states)
                timed.runSeconds += lap()
                let ablation = Ablation(zeroing: specialization.knowledgeNeurons(concept: concept, ratio: ratio))
                timed.flops += evaluator.usefulFLOPs(questions: plan.own[concept] + plan.control[concept], ablation: ablation, candidates: which)
                timed.runs += 1
            }
            timed.concepts += 1
        }
        let achieved = timed.flops / max(timed.stateSeconds + timed.runSeconds, 1e-9) / 1e9
        if json {
            try printJSON([
                "model": engine.inputs.checkpoint.folder, "probes": snapshot.probes.label, "openblas_threads": BLAS.threads,
                "sgemm_peak_gflops": peak, "useful_tflop": total / 1e12, "seconds_at_peak": total / peak / 1e9,
                "kinds": kinds.map { ["name": $0.name, "units": $0.units, "useful_tflop": $0.flops / 1e12, "seconds_at_peak": $0.flops / peak / 1e9] as [String: Any] },
                "measured_pss": timed.concepts == 0 ? NSNull() : [
                    "concepts": timed.concepts, "runs": timed.runs, "kept_state_seconds": timed.stateSeconds, "runs_seconds": timed.runSeconds,
                    "useful_gflop": timed.flops / 1e9, "gflops": achieved, "fraction_of_peak": achieved / peak,
                ] as Any,
            ])
            return
        }
        print("model        \(engine.inputs.checkpoint.folder), probes \(snapshot.probes.label), PSS on \(plan.summary)")
        print(String(format: "sgemm peak   %.1f GFLOP/s (OpenBLAS threads %d, 1024² measured now)", peak, BLAS.threads))
        for kind in kinds {
            print(kind.name.padding(toLength: 32, withPad: " ", startingAt: 0)
                  + String(format: "%6d units  %9.2f TFLOP  %8.0f s at the peak", kind.units, kind.flops / 1e12, kind.flops / peak / 1e9))
        }
        print("in all".padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%9.2f TFLOP  %8.0f s at the peak", total / 1e12, total / peak / 1e9))
        if timed.concepts > 0 {
            print(String(format: "measured     PSS of the first %d concepts (%d runs): kept state %.1f s, runs %.1f s; %.1f useful GFLOP/s, %.0f %% of the peak",
                         timed.concepts, timed.runs, timed.stateSeconds, timed.runSeconds, achieved, 100 * achieved / peak))
        }
    }
}
