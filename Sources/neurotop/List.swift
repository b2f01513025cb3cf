import ArgumentParser
import Foundation
import Engine
import Tensors

/// `neurotop list`: the analyses a store holds, with their inputs, settings and completeness.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the analyses in the result store: model, probes, domains, settings, units stored of each kind, when last written.")

    @Option(help: "The store: a SQLite file (default: $XDG_CACHE_HOME/neurotop/analyses.sqlite or ~/.cache/neurotop/analyses.sqlite) or a PostgreSQL database, postgresql://USER@HOST/DB.")
    var store: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    /// Settings every analysis of this version records alike: left out of the text, kept in the JSON.
    static let fixedSettings: Set<String> = ["delta_unrelated_questions", "pss_left_out", "active_neuron_share", "pruning"]

    func run() throws {
        let path = store ?? SQLStore.defaultPath()
        // A file that is not there is not made by listing it; a database is connected to.
        guard isDatabaseURL(path) || FileManager.default.fileExists(atPath: path) else { throw InputError(path, "no analysis store here") }
        let resultStore = try openResultStore(path)
        let listings = try resultStore.analyses().map { StoreListing($0, store: resultStore) }
        if json {
            try printJSON(["store": resultStore.location, "analyses": listings.map { listing -> [String: Any] in
                let s = listing.stored
                return ["fingerprint": s.fingerprint, "model": s.model, "probes": s.probes, "domains": s.domains,
                        "options": Dictionary(listing.settings, uniquingKeysWith: { a, _ in a }), "created": s.created,
                        "written": s.written ?? NSNull(), "complete": listing.isComplete, "note": listing.note ?? NSNull(), "workers": listing.workers,
                        "units": listing.kinds.map { ["kind": $0.name, "done": $0.done, "total": $0.total ?? NSNull()] as [String: Any] }]
            }])
            return
        }
        print("\(resultStore.location): \(listings.count) \(listings.count == 1 ? "analysis" : "analyses")")
        for listing in listings {
            let s = listing.stored
            print("\n\(s.fingerprint)  \((s.model as NSString).lastPathComponent)  \(listing.isComplete ? "complete" : "partial")")
            print("  model     \(s.model)")
            print("  probes    \(s.probes)")
            print("  domains   \(s.domains)")
            for (index, (key, value)) in listing.settings.filter({ !Self.fixedSettings.contains($0.0) }).enumerated() {
                print("  \(index == 0 ? "options " : "        ")  \(key) = \(value)")
            }
            print("  units     " + listing.kinds.map { "\($0.name) \($0.done)/\($0.total.map(String.init) ?? "?")" }.joined(separator: ", "))
            if let note = listing.note { print("            (\(note))") }
            if listing.workers > 0 { print("  at work   \(listing.workers) worker\(listing.workers == 1 ? "" : "s") computing its units now") }
            print("  written   \(s.written ?? "not recorded") (created \(s.created))")
        }
    }
}
