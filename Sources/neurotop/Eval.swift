import ArgumentParser
import Foundation
import Analysis
import Model

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Score a model on a probe set: multiple-choice and open-answer accuracy, overall, per category, per popularity tier and per concept, optionally with neurons ablated.")

    @OptionGroup var model: ModelArguments

    @Option(help: "A shipped probe set (demo, world, world-mc, world-v1) or a JSON Lines file.")
    var probes = "demo"

    @Option(help: "Zero-ablate these neurons: BLOCK:INDEX,BLOCK:INDEX,...")
    var ablate: String?

    @Flag(help: "List every concept, not only the categories.")
    var concepts = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() throws {
        let inputs = try model.load(probes: probes)
        let ablation = try Ablation(zeroing: ablate.map(NeuronID.parseList) ?? [])
        try inputs.transformer.validate(ablation)
        let accuracy = try inputs.evaluator.evaluate(ablation: ablation)
        if json {
            try printJSON(accuracyJSON(accuracy, checkpoint: inputs.checkpoint, ablation: ablation))
        } else {
            printTable(accuracy, checkpoint: inputs.checkpoint, ablation: ablation)
        }
    }

    private func accuracyJSON(_ accuracy: ProbeAccuracy, checkpoint: Checkpoint, ablation: Ablation) -> [String: Any] {
        func fields(_ score: ProbeAccuracy.Score) -> [String: Any] {
            var object: [String: Any] = ["open_accuracy": score.open, "questions": score.questions]
            object["mcq_accuracy"] = score.multipleChoice ?? NSNull()
            return object
        }
        let probes = accuracy.probes
        var object = fields(accuracy.overall)
        object["model"] = checkpoint.folder
        object["probes"] = probes.label
        object["ablated"] = ablation.neurons.map(\.description)
        object["categories"] = Dictionary(uniqueKeysWithValues: probes.categories.map { ($0, fields(accuracy.category($0))) })
        object["tiers"] = Dictionary(uniqueKeysWithValues: probes.tiers.map { tier in
            var entry = fields(accuracy.tier(tier))
            entry["concepts"] = probes.concepts(inTier: tier).count
            return (tier.rawValue, entry)
        })
        object["concepts"] = Dictionary(uniqueKeysWithValues: probes.concepts.map { concept in
            var entry = fields(accuracy.concept(concept))
            entry["category"] = probes.category(of: concept)
            entry["tier"] = probes.tier(of: concept)?.rawValue ?? NSNull()
            return (concept, entry)
        })
        return object
    }

    private func printTable(_ accuracy: ProbeAccuracy, checkpoint: Checkpoint, ablation: Ablation) {
        func percent(_ value: Double?) -> String { value.map { String(format: "%6.1f%%", 100 * $0) } ?? "      –" }
        func row(_ label: String, _ score: ProbeAccuracy.Score) -> String {
            label.padding(toLength: 28, withPad: " ", startingAt: 0) + " \(percent(score.open))   \(percent(score.multipleChoice))   \(score.questions)"
        }
        let probes = accuracy.probes
        print("model    \(checkpoint.folder)")
        print("probes   \(probes.label) (\(probes.questions.count) questions, \(probes.concepts.count) concepts)")
        if !ablation.isEmpty { print("ablated  \(ablation.neurons.map(\.description).joined(separator: ", "))") }
        print("")
        print("                                open   multiple   questions")
        print(row("all", accuracy.overall))
        for category in probes.categories {
            print(row(category, accuracy.category(category)))
            if concepts {
                for concept in probes.concepts(in: category) { print(row("  " + concept, accuracy.concept(concept))) }
            }
        }
        if !probes.tiers.isEmpty {
            print("\nby popularity tier")
            for tier in probes.tiers {
                print(row("\(tier.rawValue) (\(probes.concepts(inTier: tier).count) concepts)", accuracy.tier(tier)))
            }
        }
    }
}
