import ArgumentParser
import Foundation
import Analysis
import Tensors

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compute both analyses (or read them from the store) and write them as CSV tables, one JSON file, or SVG heatmaps.")

    @OptionGroup var inputs: AnalysisArguments

    @Option(help: "What to write.")
    var format = ExportFormat.csv

    @Option(help: "The folder to write into (created if missing).")
    var out: String

    func run() throws {
        let (engine, snapshot) = try inputs.compute()
        let settings = [("model", engine.inputs.checkpoint.folder), ("probes", snapshot.probes.label), ("domains", engine.inputs.corpus.label),
                        ("fingerprint", engine.fingerprint.id)] + engine.options.description
            + [("pss_concepts", snapshot.score.plan?.summary ?? "not measured")]
        guard let export = AnalysisExport(snapshot: snapshot, settings: settings) else { return }
        do {
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        } catch {
            throw InputError(out, "cannot create the folder")
        }
        func write(_ name: String, _ data: Data) throws {
            let path = (out as NSString).appendingPathComponent(name)
            do { try data.write(to: URL(fileURLWithPath: path)) } catch { throw InputError(path, "cannot write") }
            print(path)
        }
        switch format {
        case .csv:
            for table in export.tables { try write(table.name + ".csv", Data(table.csv.utf8)) }
        case .json:
            let object = Dictionary(uniqueKeysWithValues: export.tables.map { ($0.name, $0.json as Any) })
            try write("analysis.json", JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        case .svg:
            // The heatmaps, then the figures as the papers draw them.
            for (name, text) in export.svgs + Figures.analysis(AnalysisSummary(snapshot: snapshot), settings: settings) {
                try write(name + ".svg", Data(text.utf8))
            }
        }
    }
}

/// What `export` writes.
enum ExportFormat: String, CaseIterable, ExpressibleByArgument {
    case csv, json, svg

    var defaultValueDescription: String {
        switch self {
        case .csv: "one CSV table a file"
        case .json: "every table in one file, analysis.json"
        case .svg: "the heatmaps and the figures as the papers draw them"
        }
    }
}
