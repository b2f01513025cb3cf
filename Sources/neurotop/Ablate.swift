import ArgumentParser
import Foundation
import Metrics

struct Ablate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Accuracy before and after ablating neurons, per concept and per category: a list of neurons, or a concept's knowledge vectors at a ratio.")

    @Argument(help: "A model folder or model id (default: the built-in model).")
    var model: String?

    @Option(help: "The neurons to zero-ablate: BLOCK:INDEX,BLOCK:INDEX,...")
    var neurons: String?

    @Option(help: "Ablate this concept's knowledge vectors (the neurons with the largest Δ for it)...")
    var concept: String?

    @Option(help: "...at this ratio of all neurons, in percent (e.g. 1 for the top 1 %).")
    var ratio: Double?

    @Option(help: "A shipped probe set (demo, world) or a JSON Lines file.")
    var probes = "demo"

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if (neurons == nil) == (concept == nil) { throw ValidationError("give --neurons, or --concept with --ratio") }
        if concept != nil, ratio == nil { throw ValidationError("--concept needs --ratio") }
        if let ratio, !(ratio > 0 && ratio <= 100) { throw ValidationError("--ratio is a percentage in (0, 100]") }
    }

    func run() throws {
        let checkpoint = try Checkpoint(location: resolveModel(model))
        let probeSet = try ProbeSet.load(path: ProbeSet.locate(probes, dataRoot: ShippedData.root()))
        let transformer = try Transformer(checkpoint: checkpoint, keepsWeights: true)
        let tokenizer = try checkpoint.loadTokenizer()
        let chosen: [NeuronID]
        if let neurons {
            chosen = try NeuronID.parseList(neurons)
        } else {
            guard let concept, let index = probeSet.concepts.firstIndex(of: concept), let ratio else {
                throw InputError(probeSet.path, "no concept '\(concept ?? "")' in the probe set")
            }
            let pooled = try PooledCoefficients.compute(model: transformer, tokenizer: tokenizer, probes: probeSet)
            let specialization = Specialization(pooled: pooled, probes: probeSet, blocks: transformer.blockCount, width: transformer.mlpWidth)
            chosen = specialization.knowledgeNeurons(concept: index, ratio: ratio / 100)
        }
        let ablation = Ablation(zeroing: chosen)
        try transformer.validate(ablation)
        let evaluator = try Evaluator(model: transformer, tokenizer: tokenizer, probes: probeSet)
        try evaluator.cacheResiduals()
        let before = try evaluator.evaluate()
        let after = try evaluator.evaluate(ablation: ablation)

        func pair(_ a: ProbeAccuracy.Score, _ b: ProbeAccuracy.Score) -> [String: Any] {
            ["open_before": a.open, "open_after": b.open, "mcq_before": a.multipleChoice ?? NSNull(), "mcq_after": b.multipleChoice ?? NSNull(), "questions": a.questions]
        }
        if json {
            var object = pair(before.overall, after.overall)
            object["ablated"] = ablation.neurons.map(\.description)
            object["categories"] = Dictionary(uniqueKeysWithValues: probeSet.categories.map { ($0, pair(before.category($0), after.category($0))) })
            object["concepts"] = Dictionary(uniqueKeysWithValues: probeSet.concepts.map { ($0, pair(before.concept($0), after.concept($0))) })
            try printJSON(object)
            return
        }
        func percent(_ value: Double?) -> String { value.map { String(format: "%5.1f", 100 * $0) } ?? "    –" }
        func row(_ label: String, _ a: ProbeAccuracy.Score, _ b: ProbeAccuracy.Score) -> String {
            let change = String(format: "%+6.1f", 100 * (b.open - a.open))
            return label.padding(toLength: 26, withPad: " ", startingAt: 0) + "\(percent(a.open)) → \(percent(b.open)) \(change)    \(percent(a.multipleChoice)) → \(percent(b.multipleChoice))"
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
