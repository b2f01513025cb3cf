import Foundation
import Analysis
import Engine
import Model
import Tensors

extension BenchToggle {
    /// On one model and probe set, as the engine answers a toggle: the first-order estimate (mask
    /// change → every concept's estimated accuracy), the exact answer for the concept in focus
    /// (its questions first), and for all questions (then the predicted flips and largest
    /// estimated changes, in slices, as the engine streams them), beside today's single pass over
    /// all questions; and how good the estimate was, over random single neurons and random
    /// concepts' knowledge-vector sets.
    func estimatePart() throws -> [String: Any] {
        func say(_ line: String) { if !json { print(line) } }
        let inputs = try model.load(probes: probes)
        let (checkpoint, transformer, probeSet, evaluator) = (inputs.checkpoint, inputs.transformer, inputs.probes, inputs.evaluator)
        let which: Evaluator.Candidates = metric == .open ? .answers : .all
        say("\nestimate     \(checkpoint.folder): \(transformer.blockCount) blocks × \(transformer.mlpWidth) neurons; \(probeSet.path): "
            + "\(probeSet.questions.count) questions, \(probeSet.concepts.count) concepts; \(which == .answers ? "answers only (open accuracy)" : "every choice (open and multiple choice)")")

        var start = Time.now()
        try evaluator.cacheResiduals(which)
        let cached = Time.now() - start
        start = Time.now()
        let baseline = try evaluator.evaluate(candidates: which)
        let unablated = Time.now() - start
        start = Time.now()
        let estimate = try AblationEstimate.compute(evaluator: evaluator, candidates: which)
        let attributions = Time.now() - start
        say(String(format: "once         states cached %.0f ms, unablated evaluation %.0f ms, attributions %.1f s (%d scored quantities, table %.1f MB)",
                   cached.wall, unablated.wall, attributions.wall / 1000, estimate.targetCount, Double(estimate.tableBytes) / 1e6))

        var generator = SeededGenerator(seed: seed)
        var ablations: [(kind: String, neurons: [NeuronID], focus: Int)] = (0..<toggles).map { _ in
            let neuron = NeuronID(block: Int.random(in: 0..<transformer.blockCount, using: &generator),
                                  neuron: Int.random(in: 0..<transformer.mlpWidth, using: &generator))
            return ("one neuron", [neuron], Int.random(in: 0..<probeSet.concepts.count, using: &generator))
        }
        var pooling: Time?
        if conceptSets > 0 {
            start = Time.now()
            let pooled = try PooledCoefficients.compute(model: transformer, tokenizer: inputs.tokenizer, probes: probeSet)
            let specialization = Specialization(pooled: pooled, probes: probeSet, blocks: transformer.blockCount, width: transformer.mlpWidth)
            pooling = Time.now() - start
            let concepts = Array(probeSet.concepts.indices.shuffled(using: &generator).prefix(conceptSets))
            ablations += concepts.map { ("knowledge vectors at \(ratio) %", specialization.knowledgeNeurons(concept: $0, ratio: ratio / 100), $0) }
        }

        struct Timings {
            var estimate: [Time] = [], focus: [Time] = [], all: [Time] = [], singlePass: [Time] = []
            var quality = EstimateQuality()
        }
        var byKind: [String: Timings] = [:]
        var largestDifference = 0.0
        var kinds: [String] = []
        for (index, ablation) in ablations.enumerated() {
            if !kinds.contains(ablation.kind) { kinds.append(ablation.kind) }
            var timings = byKind[ablation.kind] ?? Timings()
            let mask = Ablation(zeroing: ablation.neurons)
            start = Time.now()
            let guess = try estimate.estimate(mask).orThrow("the estimate covers zeroed neurons only")
            let guessed = ProbeAccuracy(probes: probeSet, results: guess.results)
            let perConcept = probeSet.concepts.map { guessed.concept($0) }
            timings.estimate.append(Time.now() - start)
            precondition(perConcept.count == probeSet.concepts.count)

            let focus = probeSet.questionIndices[probeSet.concepts[ablation.focus]] ?? []
            var results = baseline.results
            start = Time.now()
            for (number, slice) in AblationEstimate.exactOrder(guess, baseline: baseline.results, first: focus, slice: AnalysisEngine.exactSlice).enumerated() {
                for (q, result) in zip(slice, try evaluator.evaluate(questions: slice, ablation: mask, candidates: which)) { results[q] = result }
                if number == 0 { timings.focus.append(Time.now() - start) }
            }
            timings.all.append(Time.now() - start)
            if timings.singlePass.count < singlePasses {
                start = Time.now()
                let single = try evaluator.evaluate(ablation: mask, candidates: which)
                timings.singlePass.append(Time.now() - start)
                // Chunks made of other questions round differently in the last bits; right and wrong agree.
                for (a, b) in zip(single.results, results) {
                    precondition(a.openCorrect == b.openCorrect && a.multipleChoiceCorrect == b.multipleChoiceCorrect, "the streamed exact results equal a single pass's")
                    for (x, y) in zip(a.logProbabilities, b.logProbabilities) { largestDifference = max(largestDifference, abs(x - y)) }
                }
            }
            timings.quality.add(estimated: guess, exact: results, baseline: baseline.results, estimate: estimate)
            byKind[ablation.kind] = timings
            if !json, (index + 1) % 10 == 0 {
                FileHandle.standardError.write(Data("  \(index + 1) of \(ablations.count) ablations measured\n".utf8))
            }
        }

        // JSON has no NaN: a figure of no measurements (say --single-passes 0) is null.
        func number(_ value: Double?) -> Any { value.map { $0.isNaN ? NSNull() : $0 as Any } ?? NSNull() }
        func summary(_ times: [Time]) -> [String: Any] {
            ["median_ms": number(percentile(times.map(\.wall), 0.5)), "p95_ms": number(percentile(times.map(\.wall), 0.95)),
             "cpu_median_ms": number(percentile(times.map(\.cpu), 0.5)), "n": times.count]
        }
        var report: [String: Any] = [
            "model": checkpoint.folder, "probes": probeSet.label, "questions": probeSet.questions.count, "candidates": metric.rawValue,
            "openblas_threads": BLAS.threads, "load_average_before": loadAverage(),
            "cached_ms": cached.wall, "unablated_evaluation_ms": unablated.wall, "attributions_ms": attributions.wall,
            "scored_quantities": estimate.targetCount, "table_bytes": estimate.tableBytes,
        ]
        if let pooling { report["pooling_ms"] = pooling.wall }
        say("  ablation                      n   estimate median  p95   focus exact median  p95   all exact median   p95   single pass median (n)   (wall ms)")
        var parts: [String: Any] = [:]
        for kind in kinds {
            let t = byKind[kind]!
            say("  " + kind.padding(toLength: 26, withPad: " ", startingAt: 0)
                + String(format: "%5d %12.2f %8.2f %14.0f %8.0f %14.0f %8.0f ", t.estimate.count,
                         percentile(t.estimate.map(\.wall), 0.5), percentile(t.estimate.map(\.wall), 0.95),
                         percentile(t.focus.map(\.wall), 0.5), percentile(t.focus.map(\.wall), 0.95),
                         percentile(t.all.map(\.wall), 0.5), percentile(t.all.map(\.wall), 0.95))
                + (t.singlePass.isEmpty ? "             – (0)" : String(format: "%14.0f (%d)", percentile(t.singlePass.map(\.wall), 0.5), t.singlePass.count)))
            let q = t.quality
            func share(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "–" }
            var line = String(format: "    quality: Δ log p(answer) estimated against exact over %d question × ablation pairs: Pearson %.3f, Spearman %.3f; ",
                              q.exactChanges.count, q.pearson, q.spearman)
            line += "open flips predicted \(q.openFlips.predicted), happened \(q.openFlips.actual), both \(q.openFlips.both) (precision \(share(q.openFlips.precision)), recall \(share(q.openFlips.recall)))"
            if q.choiceFlips.predicted + q.choiceFlips.actual > 0 || which == .all {
                line += "; multiple-choice flips predicted \(q.choiceFlips.predicted), happened \(q.choiceFlips.actual), both \(q.choiceFlips.both) (precision \(share(q.choiceFlips.precision)), recall \(share(q.choiceFlips.recall)))"
            }
            say(line)
            func flips(_ f: EstimateQuality.FlipCounts) -> [String: Any] {
                ["predicted": f.predicted, "happened": f.actual, "both": f.both, "precision": number(f.precision), "recall": number(f.recall)]
            }
            parts[kind] = ["estimate": summary(t.estimate), "focus_exact": summary(t.focus), "all_exact": summary(t.all),
                           "single_pass": summary(t.singlePass), "pearson": number(q.pearson), "spearman": number(q.spearman),
                           "pairs": q.exactChanges.count, "open_flips": flips(q.openFlips),
                           "mcq_flips": which == .all ? flips(q.choiceFlips) : NSNull()]
        }
        report["ablations"] = parts
        report["streamed_vs_single_pass_max_log_probability_difference"] = largestDifference
        say(String(format: "  streamed exact results against single passes: right/wrong identical, log-probabilities within %.1e", largestDifference))
        report["load_average_after"] = loadAverage()
        return report
    }
}

extension Optional {
    func orThrow(_ why: String) throws -> Wrapped {
        guard let value = self else { throw InputError("", why) }
        return value
    }
}
