import ArgumentParser
import Foundation
import Analysis
import Engine
import Tensors

/// `neurotop bench partial`: how far a partial analysis's PSS can be trusted, from a finished one.
struct BenchPartial: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partial",
        abstract: "PSS(r) with its interval as a partial analysis shows it after 10 %, 25 % and 50 % of PSS's units (the first concepts in the engine's fair order), beside the final value, and whether each interval holds it.",
        discussion: "The analysis is read from the store as far as it has got, and nothing is computed: workers may go on beside it. The partial values are those one process shows after that share of PSS's units, as it computes a concept's ratios together in the fixed order; with the analysis unfinished, \"final\" is over the concepts stored.")

    @OptionGroup var inputs: AnalysisArguments

    @Option(help: "The ratio of the sweep, in percent.")
    var ratio = 1.0

    @Option(parsing: .upToNextOption, help: "The shares of PSS's units done, in percent.")
    var at: [Double] = [10, 25, 50]

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if inputs.noStore { throw ValidationError("--no-store: bench partial reads a stored analysis") }
        if at.isEmpty || at.contains(where: { $0 <= 0 || $0 > 100 }) { throw ValidationError("--at takes percentages in (0, 100]") }
    }

    func run() throws {
        let snapshot = try inputs.engine().readStored()
        let score = snapshot.score
        guard let plan = score.plan else {
            throw InputError(inputs.storePath ?? "", "no unmasked evaluation of this analysis is stored yet: PSS is not planned (run `neurotop analyze` with the same options first)")
        }
        guard let r = score.ratios.first(where: { abs($0 * 100 - ratio) < 1e-9 }) else {
            throw ValidationError("--ratio \(ratio) is not a ratio of the sweep (" + score.ratios.map { String(format: "%g", $0 * 100) }.joined(separator: ", ") + ")")
        }
        let order = AnalysisEngine.pssConceptOrder(plan, probes: snapshot.probes)
        let partial = PartialResults(score: score, order: order, ratio: r, fractions: at.map { $0 / 100 })
        let measuredAtRatio = score.entries.filter { $0.ratio == r }.count
        if json {
            func fields(_ pss: Double?, _ interval: Interval?) -> [String: Any] {
                (["pss": pss.map { $0 as Any } ?? NSNull()] as [String: Any]).merging(Interval.fields(interval)) { a, _ in a }
            }
            try printJSON([
                "model": snapshot.card.name, "probes": snapshot.probes.label, "metric": score.metric.rawValue, "ratio": r,
                "measured_concepts": order.count, "stored_at_ratio": measuredAtRatio,
                "final": fields(partial.final, partial.finalInterval),
                "partial": partial.rows.map { row in
                    (["units_fraction": row.fraction, "concepts": row.concepts, "holds_final": row.holdsFinal] as [String: Any])
                        .merging(fields(row.pss, row.interval)) { a, _ in a }
                },
            ])
            return
        }
        print("model        \(snapshot.card.name), probes \(snapshot.probes.label), \(score.metric.rawValue) accuracy")
        print("PSS(\(String(format: "%g", r * 100)) %) over the first concepts in the engine's order (\(order.count) measured, \(measuredAtRatio) stored at this ratio)")
        func line(_ label: String, _ pss: Double?, _ interval: Interval?) -> String {
            label.padding(toLength: 22, withPad: " ", startingAt: 0)
                + (pss.map { String(format: "%.3f", $0) } ?? Comparison.notComputed) + " " + (interval.map { $0.text() + " n = \($0.n)" } ?? "")
        }
        for row in partial.rows {
            print(line(String(format: "%g %% of units", row.fraction * 100), row.pss, row.interval) + (row.holdsFinal ? "  holds the final value" : "  misses the final value"))
        }
        print(line("final", partial.final, partial.finalInterval))
        if measuredAtRatio < order.count {
            print("(the analysis is not finished: \"final\" is over the \(measuredAtRatio) concepts stored)")
        }
    }
}
