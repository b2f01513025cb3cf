import ArgumentParser
import Foundation
import Metrics

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compute both analyses and write them as CSV tables, one JSON file, or SVG heatmaps.")

    @Argument(help: "A model folder or model id (default: the built-in model).")
    var model: String?

    @Option(help: "csv, json or svg.")
    var format = "csv"

    @Option(help: "The folder to write into (created if missing).")
    var out: String

    @Option(help: "A shipped probe set (demo, world) or a JSON Lines file.")
    var probes = "demo"

    @Option(help: "A folder of domain corpora (default: the shipped ones).")
    var domains = DomainCorpus.defaultName

    @Option(help: "Samples per domain for the activation patterns.")
    var samples = 64

    func validate() throws {
        if !["csv", "json", "svg"].contains(format) { throw ValidationError("--format is csv, json or svg") }
        if samples < 2 { throw ValidationError("--samples must be at least 2") }
    }

    func run() throws {
        let dataRoot = try ShippedData.root()
        let checkpoint = try Checkpoint(location: resolveModel(model))
        let probeSet = try ProbeSet.load(path: ProbeSet.locate(probes, dataRoot: dataRoot))
        let corpus = try DomainCorpus.load(folder: DomainCorpus.locate(domains, dataRoot: dataRoot))
        let transformer = try Transformer(checkpoint: checkpoint, keepsWeights: true)
        let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath))
        var options = AnalysisRun.Options()
        options.patterns.samples = samples
        let progress = ProgressReporter()
        let run = try AnalysisRun(model: transformer, tokenizer: tokenizer, probes: probeSet, corpus: corpus, options: options, progress: progress.report)
        progress.finish()
        let export = AnalysisExport(run: run, modelName: checkpoint.folder)
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
        case "csv":
            for table in export.tables { try write(table.name + ".csv", Data(table.csv.utf8)) }
        case "json":
            let object = Dictionary(uniqueKeysWithValues: export.tables.map { ($0.name, $0.json as Any) })
            try write("analysis.json", JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        default:
            for (name, text) in export.svgs { try write(name + ".svg", Data(text.utf8)) }
        }
    }
}
