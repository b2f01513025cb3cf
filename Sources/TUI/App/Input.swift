import Foundation
import Analysis
import Model

/// The `/` search and `:` command line.
extension AppState {
    mutating func edit(_ key: Key, snapshot: AnalysisSnapshot) -> [Effect] {
        guard var line = input else { return [] }
        switch key {
        case .escape:
            input = nil
            if line.kind == .search, let origin = searchOrigin { restore(origin) }
            search = nil
            return []
        case .enter:
            input = nil
            if line.kind == .search {
                search = line.text.isEmpty ? nil : line.text
                return []
            }
            return run(line.text.trimmingCharacters(in: .whitespaces), snapshot: snapshot)
        case .backspace, .delete:
            if line.text.isEmpty {
                input = nil
                return []
            }
            line.text.removeLast()
        case .character(let c):
            line.text.append(c)
        default:
            return []
        }
        input = line
        guard line.kind == .search else { return [] }
        // Incremental: every keystroke searches again from where the search began.
        if let origin = searchOrigin { restore(origin) }
        return line.text.isEmpty ? [] : find(line.text, from: 0, snapshot: snapshot)
    }

    // MARK: Search

    /// What `/` looks through on the current page: concepts (and, on Neurons, their Δ), domain
    /// pairs, or ablated neurons. Overview and Neuron search concepts on the Concepts page.
    private func searchItems(_ snapshot: AnalysisSnapshot) -> [String] {
        switch page {
        case .domains:
            guard let patterns = snapshot.patterns else { return [] }
            return patterns.pairs.map { "\(patterns.domains[$0.a]) × \(patterns.domains[$0.b])" }
        case .ablations: return ablated.map(\.description)
        default: return snapshot.probes.concepts.map { "\($0) \(snapshot.probes.category(of: $0))" }
        }
    }

    private var searchIndex: Int {
        switch page {
        case .domains: return pairIndex
        case .ablations: return ablationRow
        case .neurons:
            if case .association(let c) = measure { return c }
            return -1
        default: return conceptRow
        }
    }

    /// Moves to the match `step` items after the current one (0: the current one counts), wrapping.
    mutating func find(_ query: String, from step: Int, snapshot: AnalysisSnapshot) -> [Effect] {
        if page == .neurons, let neuron = try? NeuronID.parseList(query).first, neuron.block < snapshot.card.blocks, neuron.neuron < snapshot.card.mlpWidth {
            cursor = neuron
            return []
        }
        let items = searchItems(snapshot)
        guard !items.isEmpty else {
            message = ("nothing to search here yet", false)
            return []
        }
        let needle = query.lowercased(), count = items.count, start = searchIndex
        let first = step >= 0 ? (start < 0 ? 0 : start + step) : (start < 0 ? count - 1 : start - 1)
        let order = (0..<count).map { k in step >= 0 ? (first + k) % count : ((first - k) % count + count) % count }
        guard let match = order.first(where: { items[$0].lowercased().contains(needle) }) else {
            message = ("no match for '\(query)'", true)
            return []
        }
        switch page {
        case .domains: pairIndex = match
        case .ablations: ablationRow = match
        case .neurons: light(match, snapshot: snapshot)
        case .concepts: conceptRow = match
        case .overview, .neuron, .compare:
            conceptRow = match
            show(.concepts)
        }
        return []
    }

    // MARK: Commands

    /// The `:` commands, for help and for the error message of an unknown one.
    static let commands: [(String, String)] = [
        (":layer N", "the Neurons heatmap at block N"),
        (":neuron L:I", "the Neuron page of neuron I of block L"),
        (":concept NAME", "a concept, its knowledge vectors lit"),
        (":domain NAME", "a domain on the Domains page"),
        (":ratio PERCENT", "the ratio for knowledge vectors (one of the sweep's)"),
        (":save PATH", "write the ablated neurons to a file"),
        (":load PATH", "read ablated neurons from a file"),
        (":clear / :undo", "clear the ablation set / undo its last change"),
        (":theme NAME", "switch theme"),
        (":q", "quit"),
    ]

    private mutating func run(_ command: String, snapshot: AnalysisSnapshot) -> [Effect] {
        let parts = command.split(separator: " ", maxSplits: 1).map(String.init)
        guard let name = parts.first else { return [] }
        let argument = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
        func fail(_ text: String) -> [Effect] {
            message = (text, true)
            return []
        }
        switch name {
        case "q", "quit", "q!":
            return quit()
        case "layer", "block":
            guard let block = Int(argument), (0..<snapshot.card.blocks).contains(block) else {
                return fail(":layer takes a block from 0 to \(snapshot.card.blocks - 1)")
            }
            show(.neurons)
            let grid = grid(snapshot)
            cursor = grid.strongest(block: block, column: cursor.neuron / grid.bin, values: MeasureValues(measure, snapshot: snapshot))
        case "neuron":
            guard let neuron = try? NeuronID.parseList(argument).first, neuron.block >= 0, neuron.block < snapshot.card.blocks,
                  neuron.neuron >= 0, neuron.neuron < snapshot.card.mlpWidth else {
                return fail(":neuron takes BLOCK:INDEX, blocks 0–\(snapshot.card.blocks - 1), neurons 0–\(snapshot.card.mlpWidth - 1)")
            }
            cursor = neuron
            show(.neurons)
            push(.neuron)
        case "concept":
            let concepts = snapshot.probes.concepts
            let lowered = argument.lowercased()
            guard let index = concepts.firstIndex(where: { $0.lowercased() == lowered })
                ?? concepts.firstIndex(where: { $0.lowercased().hasPrefix(lowered) && !lowered.isEmpty }) else {
                return fail("no concept '\(argument)' in the probe set \(snapshot.probes.name)")
            }
            show(.concepts)
            light(index, snapshot: snapshot)
        case "domain":
            guard let patterns = snapshot.patterns, let d = patterns.domains.firstIndex(where: { $0.lowercased() == argument.lowercased() }) else {
                return fail(snapshot.patterns == nil ? "the domains are not loaded yet" : "no domain '\(argument)'")
            }
            show(.domains)
            pairIndex = patterns.pairs.firstIndex { $0.a == d && $0.b == d } ?? 0
        case "ratio":
            let ratios = snapshot.score.ratios
            guard let percent = Double(argument.replacingOccurrences(of: "%", with: "")),
                  let index = ratios.firstIndex(where: { abs($0 * 100 - percent) < 1e-9 }) else {
                return fail(":ratio takes one of " + ratios.map { Format.compact($0 * 100) }.joined(separator: ", ") + " (percent)")
            }
            ratioIndex = index
        case "save":
            guard !argument.isEmpty else { return fail(":save needs a file path") }
            return [.save(ablated, path: argument)]
        case "load":
            guard !argument.isEmpty else { return fail(":load needs a file path") }
            return [.load(path: argument)]
        case "clear":
            return setAblated([])
        case "undo":
            return undo()
        case "theme":
            guard let index = themeNames.firstIndex(of: argument) else {
                return fail("no theme '\(argument)'; the themes are " + themeNames.joined(separator: ", "))
            }
            themeIndex = index
        case "help":
            helpShown = true
        default:
            return fail("unknown command ':\(name)'; the commands are " + Self.commands.map { $0.0.split(separator: " ").first.map(String.init) ?? "" }.joined(separator: " "))
        }
        return []
    }
}
