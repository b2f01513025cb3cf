import ArgumentParser
import Foundation
import Analysis
import Model
import Tensors

struct Ablate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Accuracy before and after ablating neurons, per concept and per category: a list of neurons, or a concept's knowledge vectors at a ratio.",
        discussion: "With --concept, its knowledge vectors are ranked by --association, and its PSS at the ratio is printed too, as --metric, --control and --questions say.")

    @OptionGroup var model: ModelArguments

    @Option(help: "The neurons to zero-ablate: BLOCK:INDEX,BLOCK:INDEX,...")
    var neurons: String?

    @Option(help: "Ablate this concept's knowledge vectors (the neurons with the largest Δ for it)...")
    var concept: String?

    @Option(help: "...at this ratio of all neurons, in percent (e.g. 1 for the top 1 %).")
    var ratio: Double?

    @Option(help: "A shipped probe set (demo, world, world-mc, world-v1) or a JSON Lines file.")
    var probes = "demo"

    @OptionGroup var pss: PSSOptions

    @Flag(help: "First the first-order estimate (from each question's attributions, one backward per scored quantity) and how long it took, then the exact numbers.")
    var estimate = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if (neurons == nil) == (concept == nil) { throw ValidationError("give --neurons, or --concept with --ratio") }
        if concept != nil, ratio == nil { throw ValidationError("--concept needs --ratio") }
        if let ratio, !(ratio > 0 && ratio <= 100) { throw ValidationError("--ratio is a percentage in (0, 100]") }
    }

    func run() throws {
        let inputs = try model.load(probes: probes)
        let (probeSet, transformer, evaluator) = (inputs.probes, inputs.transformer, inputs.evaluator)
        let chosen: [NeuronID]
        if let neurons {
            chosen = try NeuronID.parseList(neurons)
        } else {
            guard let concept, let index = probeSet.concepts.firstIndex(of: concept), let ratio else {
                throw InputError(probeSet.path, "no concept '\(concept ?? "")' in the probe set")
            }
            let pooled = try PooledCoefficients.compute(model: transformer, tokenizer: inputs.tokenizer, probes: probeSet)
            let specialization = Specialization(pooled: pooled, probes: probeSet, blocks: transformer.blockCount, width: transformer.mlpWidth,
                                                association: pss.association)
            chosen = specialization.knowledgeNeurons(concept: index, ratio: ratio / 100)
        }
        let ablation = Ablation(zeroing: chosen)
        try transformer.validate(ablation)
        try evaluator.cacheResiduals()
        let before = try evaluator.evaluate()
        var estimated: (accuracy: ProbeAccuracy, scores: EstimatedScores, estimate: AblationEstimate, attributionSeconds: Double, milliseconds: Double)?
        if estimate {
            var start = DispatchTime.now().uptimeNanoseconds
            let made = try AblationEstimate.compute(evaluator: evaluator, candidates: .all)
            let attributionSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            start = DispatchTime.now().uptimeNanoseconds
            guard let scores = made.estimate(ablation) else { throw InputError("", "the estimate covers zeroed neurons only") }
            let accuracy = ProbeAccuracy(probes: probeSet, results: scores.results)
            let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            estimated = (accuracy, scores, made, attributionSeconds, milliseconds)
            if !json {
                print(String(format: "estimate  ≈ first-order, in %.1f ms (from attributions of %d questions made once in %.1f s: one backward per scored quantity)",
                             milliseconds, probeSet.questions.count, attributionSeconds))
                printTable(ablation, before, accuracy, mark: "≈")
                print("")
            }
        }
        let exactStart = DispatchTime.now().uptimeNanoseconds
        let after = try evaluator.evaluate(ablation: ablation)
        let exactMilliseconds = Double(DispatchTime.now().uptimeNanoseconds - exactStart) / 1e6
        // The concept's PSS at this ratio, on the questions the analysis uses for it.
        var conceptScore: (text: String, json: [String: Any])?
        if let concept, let ratio, let c = probeSet.concepts.firstIndex(of: concept) {
            let plan = SpecializationScore.Plan(probes: probeSet, baseline: before, metric: pss.metric, controlSet: pss.control, questions: pss.questions)
            let controls = plan.controlConcepts[c].map { probeSet.concepts[$0] }
            var object: [String: Any] = ["metric": pss.metric.rawValue, "control_set": pss.control.rawValue, "questions": pss.questions.rawValue,
                                         "ratio": ratio / 100, "association": pss.association.rawValue,
                                         "control_concepts": controls, "concept_questions": plan.own[c].count, "control_questions": plan.control[c].count]
            let kind = plan.questions == .known ? "known questions" : "questions"
            if plan.measured(c) {
                func accuracy(_ list: [Int]) -> Double {
                    Double(list.filter { pss.metric == .open ? after.results[$0].openCorrect : after.results[$0].multipleChoiceCorrect == true }.count) / Double(list.count)
                }
                let entry = SpecializationScore.Entry(concept: c, ratio: ratio / 100, conceptAccuracy: accuracy(plan.own[c]),
                                                      otherAccuracy: accuracy(plan.control[c]), baseline: plan.baseline)
                object["pss"] = entry.score
                object["signed_pss"] = entry.signedScore
                object["acc_concept_after"] = entry.conceptAccuracy
                object["acc_other_after"] = entry.otherAccuracy
                object["acc_before"] = entry.baseline
                conceptScore = (String(format: "PSS(%@, %g %%) = |Acc(control set) %.2f − Acc(%@) %.2f| / Acc(all, nothing masked) %.2f = %.3f",
                                       concept, ratio, entry.otherAccuracy, concept, entry.conceptAccuracy, entry.baseline, entry.score)
                                + "  (\(pss.metric.rawValue) accuracy over \(kind): \(plan.own[c].count) of its own, \(plan.control[c].count) of \(controls.joined(separator: ", ")))", object)
            } else {
                object["pss"] = NSNull()
                conceptScore = ("PSS(\(concept)): left out, \(plan.own[c].count) \(kind) of its own and \(plan.control[c].count) in its control set (at least \(SpecializationScore.fewestOwnQuestions) and \(SpecializationScore.fewestControlQuestions) needed)", object)
            }
        }

        func pair(_ a: ProbeAccuracy.Score, _ b: ProbeAccuracy.Score) -> [String: Any] {
            ["open_before": a.open, "open_after": b.open, "mcq_before": a.multipleChoice ?? NSNull(), "mcq_after": b.multipleChoice ?? NSNull(), "questions": a.questions]
        }
        var quality = EstimateQuality()
        if let estimated { quality.add(estimated: estimated.scores, exact: after.results, baseline: before.results, estimate: estimated.estimate) }
        if json {
            func figures(_ after: ProbeAccuracy) -> [String: Any] {
                var object = pair(before.overall, after.overall)
                object["categories"] = Dictionary(uniqueKeysWithValues: probeSet.categories.map { ($0, pair(before.category($0), after.category($0))) })
                object["concepts"] = Dictionary(uniqueKeysWithValues: probeSet.concepts.map { ($0, pair(before.concept($0), after.concept($0))) })
                return object
            }
            var object = figures(after)
            object["ablated"] = ablation.neurons.map(\.description)
            object["exact_milliseconds"] = exactMilliseconds
            if let estimated {
                var estimate = figures(estimated.accuracy)
                estimate["milliseconds"] = estimated.milliseconds
                estimate["attribution_seconds"] = estimated.attributionSeconds
                estimate["pearson_log_probability_change"] = quality.pearson.isNaN ? NSNull() : quality.pearson
                estimate["spearman_log_probability_change"] = quality.spearman.isNaN ? NSNull() : quality.spearman
                object["estimate"] = estimate
            }
            if let conceptScore { object["pss"] = conceptScore.json }
            try printJSON(object)
            return
        }
        if estimated != nil { print(String(format: "exact     in %.1f ms", exactMilliseconds)) }
        printTable(ablation, before, after, mark: "")
        if estimated != nil {
            func share(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "–" }
            print(String(format: "\nestimate against exact, per question: change of the answer's log-probability Pearson %.3f, Spearman %.3f; ", quality.pearson, quality.spearman)
                  + "open flips predicted \(quality.openFlips.predicted), happened \(quality.openFlips.actual), both \(quality.openFlips.both)"
                  + " (precision \(share(quality.openFlips.precision)), recall \(share(quality.openFlips.recall)))")
        }
        if let conceptScore { print("\n" + conceptScore.text) }
    }

    /// Accuracy before and after, overall, per category and for each concept that changed (or the one ablated).
    private func printTable(_ ablation: Ablation, _ before: ProbeAccuracy, _ after: ProbeAccuracy, mark: String) {
        let probeSet = before.probes
        func percent(_ value: Double?) -> String { value.map { String(format: "%5.1f", 100 * $0) } ?? "    –" }
        func row(_ label: String, _ a: ProbeAccuracy.Score, _ b: ProbeAccuracy.Score) -> String {
            let change = String(format: "%+6.1f", 100 * (b.open - a.open))
            return label.padding(toLength: 26, withPad: " ", startingAt: 0)
                + "\(percent(a.open)) → \(mark)\(percent(b.open)) \(change)    \(percent(a.multipleChoice)) → \(mark)\(percent(b.multipleChoice))"
        }
        let shown = ablation.neurons.prefix(12).map(\.description).joined(separator: ", ") + (ablation.neurons.count > 12 ? ", … (\(ablation.neurons.count) neurons)" : "")
        print("ablated   \(shown)")
        print("                          open before → after        multiple choice")
        print(row("all", before.overall, after.overall))
        for category in probeSet.categories {
            print(row(category, before.category(category), after.category(category)))
            for name in probeSet.concepts(in: category) where before.concept(name).open != after.concept(name).open || concept == name {
                print(row("  " + name, before.concept(name), after.concept(name)))
            }
        }
    }
}
