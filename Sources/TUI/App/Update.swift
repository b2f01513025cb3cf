import Foundation
import Analysis
import Model

/// How the state changes with each event. The snapshot is read (to know how many blocks, concepts
/// and domains there are, and what the values are) but never changed; what must happen outside
/// the state comes back as effects.
extension AppState {
    public mutating func handle(_ event: Event, snapshot: AnalysisSnapshot) -> [Effect] {
        let lookedAt = focus(snapshot)
        var effects: [Effect]
        switch event {
        case let .resize(width, height):
            self.width = width
            self.height = height
            effects = []
        case let .ablationLoaded(neurons, path):
            let valid = neurons.filter { $0.block < snapshot.card.blocks && $0.neuron < snapshot.card.mlpWidth }
            var seen = Set<NeuronID>()
            effects = setAblated(valid.filter { seen.insert($0).inserted })
            message = ("loaded \(valid.count) neurons from \(path)" + (valid.count < neurons.count ? " (\(neurons.count - valid.count) not in this model skipped)" : ""), false)
        case let .saved(count, path):
            message = ("saved \(count) neurons to \(path)", false)
            effects = []
        case .failed(let text):
            message = (text, true)
            effects = []
        case .wheel(let steps):
            if !helpShown && input == nil { moveVertically(steps, snapshot: snapshot) }
            effects = []
        case .click(let target):
            message = nil
            effects = target.map { click($0, snapshot: snapshot) } ?? []
        case .key(let key):
            message = nil
            effects = handleKey(key, snapshot: snapshot)
        }
        if let now = focus(snapshot), now != lookedAt { effects.append(.focus(now)) }
        return effects
    }

    /// What the user is looking at, for the engine to compute first.
    func focus(_ snapshot: AnalysisSnapshot) -> EngineFocus? {
        switch page {
        case .neuron: return .neuron(cursor)
        case .neurons: return .block(cursor.block)
        case .concepts: return snapshot.probes.concepts.indices.contains(conceptRow) ? .concept(snapshot.probes.concepts[conceptRow]) : nil
        default: return nil
        }
    }

    // MARK: Keys

    private mutating func handleKey(_ key: Key, snapshot: AnalysisSnapshot) -> [Effect] {
        if key == .control("c") { return quit() }
        if key == .control("z") { return [.suspend] }
        if input != nil { return edit(key, snapshot: snapshot) }
        if helpShown {
            if [.character("?"), .escape, .character("q"), .enter].contains(key) { helpShown = false }
            return []
        }
        switch key {
        case .character("?"):
            helpShown = true
            return []
        case .character("/"):
            searchOrigin = position
            input = InputLine(kind: .search, text: "")
            return []
        case .character(":"):
            input = InputLine(kind: .command, text: "")
            return []
        case .character("t"):
            themeIndex = (themeIndex + 1) % max(themeNames.count, 1)
            message = ("theme: \(themeNames[themeIndex])", false)
            return []
        case .tab:
            show(Page(rawValue: (page.rawValue + 1) % Page.allCases.count)!)
            return []
        case .backTab:
            show(Page(rawValue: (page.rawValue + Page.allCases.count - 1) % Page.allCases.count)!)
            return []
        case .character(let c) where ("1"..."7").contains(c):
            show(Page(rawValue: Int(String(c))! - 1)!)
            return []
        case .character("n"), .character("N"):
            guard let search else {
                message = ("no search yet: / starts one", false)
                return []
            }
            return find(search, from: key == .character("n") ? 1 : -1, snapshot: snapshot)
        case .character("q"), .escape:
            if stack.count > 1 {
                pop()
                return []
            }
            if key == .escape {
                search = nil
                return []
            }
            return quit()
        case .character("u"):
            return undo()
        case .up, .character("k"), .down, .character("j"), .pageUp, .pageDown, .control("u"), .control("d"), .character("g"), .character("G"):
            moveVertically(verticalSteps(key), snapshot: snapshot)
            return []
        default:
            break
        }
        switch page {
        case .overview: return overviewKey(key)
        case .neurons: return neuronsKey(key, snapshot: snapshot)
        case .domains: return domainsKey(key, snapshot: snapshot)
        case .neuron: return neuronKey(key, snapshot: snapshot)
        case .concepts: return conceptsKey(key, snapshot: snapshot)
        case .ablations: return ablationsKey(key, snapshot: snapshot)
        case .compare: return compareKey(key)
        }
    }

    mutating func quit() -> [Effect] {
        quitting = true
        return [.quit]
    }

    /// Rows a vertical key moves by: one, half a page, a page, or to either end.
    private func verticalSteps(_ key: Key) -> Int {
        let page = max(1, height - 8)
        switch key {
        case .up, .character("k"): return -1
        case .down, .character("j"): return 1
        case .pageUp: return -page
        case .pageDown: return page
        case .control("u"): return -page / 2
        case .control("d"): return page / 2
        case .character("g"): return -Int.max / 2
        default: return Int.max / 2
        }
    }

    /// ← → bring other models' columns into view when they do not all fit.
    private mutating func compareKey(_ key: Key) -> [Effect] {
        switch key {
        case .left, .character("h"): compareColumn = max(compareColumn - 1, 0)
        case .right, .character("l"): compareColumn += 1
        default: break
        }
        return []
    }

    private mutating func overviewKey(_ key: Key) -> [Effect] {
        if key == .enter { push(.neurons) }
        return []
    }

    // MARK: Moving

    private mutating func moveVertically(_ steps: Int, snapshot: AnalysisSnapshot) {
        func clamp(_ value: Int, _ count: Int) -> Int { min(max(value, 0), max(count - 1, 0)) }
        switch page {
        case .neurons, .neuron:
            let block = clamp(cursor.block + steps, snapshot.card.blocks)
            if page == .neuron {
                cursor = NeuronID(block: block, neuron: cursor.neuron)
            } else {
                let grid = grid(snapshot)
                cursor = grid.strongest(block: block, column: cursor.neuron / grid.bin, values: MeasureValues(measure, snapshot: snapshot))
            }
        case .concepts: conceptRow = clamp(conceptRow + steps, snapshot.probes.concepts.count)
        case .domains: domainBlock = clamp(domainBlock + steps, snapshot.card.blocks)
        case .ablations: ablationRow = clamp(ablationRow + steps, ablated.count)
        case .compare: compareRow = clamp(compareRow + steps, ComparePage.rowCount(self, snapshot))
        case .overview: break
        }
    }

    func grid(_ snapshot: AnalysisSnapshot) -> NeuronGrid {
        NeuronGrid(area: Screen.pageArea(width: width, height: height), blocks: snapshot.card.blocks, width: snapshot.card.mlpWidth,
                   cursor: cursor, zoom: zoom, shades: false)
    }

    private mutating func neuronsKey(_ key: Key, snapshot: AnalysisSnapshot) -> [Effect] {
        let grid = grid(snapshot)
        let values = MeasureValues(measure, snapshot: snapshot)
        let column = cursor.neuron / grid.bin
        switch key {
        case .left, .character("h"): cursor = grid.strongest(block: cursor.block, column: column - 1, values: values)
        case .right, .character("l"): cursor = grid.strongest(block: cursor.block, column: column + 1, values: values)
        case .home: cursor = grid.strongest(block: cursor.block, column: 0, values: values)
        case .end: cursor = grid.strongest(block: cursor.block, column: grid.columns - 1, values: values)
        case .character("+"), .character("="), .character("z"):
            zoom = min(zoom + 1, grid.bins.count - 1)
        case .character("-"), .character("Z"):
            zoom = max(zoom - 1, 0)
        case .character("m"): measure = nextMeasure(snapshot)
        case .character("]"): measure = stepMeasure(1, snapshot)
        case .character("["): measure = stepMeasure(-1, snapshot)
        case .character(" "): return toggle(cursor)
        case .enter: push(.neuron)
        default: break
        }
        return []
    }

    /// s, then each domain's u_d, then Δ of the lit (or first) concept.
    private func nextMeasure(_ snapshot: AnalysisSnapshot) -> Measure {
        switch measure {
        case .specialization: return snapshot.patterns == nil ? .association(concept: litConcept ?? 0) : .activity(domain: 0)
        case .activity: return .association(concept: litConcept ?? conceptRow)
        case .association: return .specialization
        }
    }

    /// The next or previous domain (u_d) or concept (Δ).
    private func stepMeasure(_ step: Int, _ snapshot: AnalysisSnapshot) -> Measure {
        func wrap(_ value: Int, _ count: Int) -> Int { count > 0 ? ((value % count) + count) % count : 0 }
        switch measure {
        case .specialization: return measure
        case .activity(let d): return .activity(domain: wrap(d + step, snapshot.patterns?.domains.count ?? 0))
        case .association(let c): return .association(concept: wrap(c + step, snapshot.probes.concepts.count))
        }
    }

    private mutating func neuronKey(_ key: Key, snapshot: AnalysisSnapshot) -> [Effect] {
        switch key {
        case .left, .character("h"): cursor = NeuronID(block: cursor.block, neuron: max(cursor.neuron - 1, 0))
        case .right, .character("l"): cursor = NeuronID(block: cursor.block, neuron: min(cursor.neuron + 1, snapshot.card.mlpWidth - 1))
        case .character(" "): return toggle(cursor)
        default: break
        }
        return []
    }

    private mutating func domainsKey(_ key: Key, snapshot: AnalysisSnapshot) -> [Effect] {
        let pairs = snapshot.patterns?.pairs.count ?? 0
        switch key {
        case .left, .character("h"): pairIndex = max(pairIndex - 1, 0)
        case .right, .character("l"): pairIndex = min(pairIndex + 1, max(pairs - 1, 0))
        case .home: pairIndex = 0
        case .end: pairIndex = max(pairs - 1, 0)
        case .enter:
            if let pair = snapshot.patterns?.pairs[safe: pairIndex] {
                measure = .activity(domain: pair.a)
                push(.neurons)
            }
        default: break
        }
        return []
    }

    private mutating func conceptsKey(_ key: Key, snapshot: AnalysisSnapshot) -> [Effect] {
        let ratios = snapshot.score.ratios
        switch key {
        case .enter:
            light(conceptRow, snapshot: snapshot)
            push(.neurons)
        case .character("l"):
            if litConcept == conceptRow { litConcept = nil } else { light(conceptRow, snapshot: snapshot) }
        case .character("s"):
            guard let engine = snapshot.specialization?.association else {
                message = ("the association needs Δ, which is still being computed", true)
                return []
            }
            let next: Association = (association ?? engine) == .raw ? .standardized : .raw
            association = next
            message = ("knowledge vectors ranked by " + Self.name(next) + (next == engine ? "" : " (PSS stays the engine's, by \(Self.name(engine)))"), false)
        case .character(" "), .character("a"):
            guard let specialization = shownSpecialization(snapshot) else {
                message = ("the knowledge vectors need Δ, which is still being computed", true)
                return []
            }
            let neurons = derived.knowledgeNeurons(specialization, concept: conceptRow, ratio: ratio(ratios))
            let all = neurons.allSatisfy(isAblated)
            if all && key == .character(" ") {
                let removing = Set(neurons)
                return setAblated(ablated.filter { !removing.contains($0) })
            }
            return setAblated(ablated + neurons.filter { !isAblated($0) })
        case .character("+"), .character("="), .character("]"), .right:
            ratioIndex = min(ratios.firstIndex(of: ratio(ratios)).map { $0 + 1 } ?? 0, max(ratios.count - 1, 0))
        case .character("-"), .character("["), .left:
            ratioIndex = max(ratios.firstIndex(of: ratio(ratios)).map { $0 - 1 } ?? 0, 0)
        default: break
        }
        return []
    }

    /// Lights a concept's knowledge vectors on the heatmap, which then shows its Δ, with the cursor
    /// on its strongest neuron.
    mutating func light(_ concept: Int, snapshot: AnalysisSnapshot) {
        guard snapshot.probes.concepts.indices.contains(concept) else { return }
        litConcept = concept
        conceptRow = concept
        measure = .association(concept: concept)
        if let specialization = shownSpecialization(snapshot),
           let top = derived.knowledgeNeurons(specialization, concept: concept, ratio: ratio(snapshot.score.ratios)).first {
            cursor = top
        }
    }

    /// "raw Δ" or "standardized Δ/σ", as the pages name an association.
    static func name(_ association: Association) -> String { association == .raw ? "raw Δ" : "standardized Δ/σ" }

    private mutating func ablationsKey(_ key: Key, snapshot: AnalysisSnapshot) -> [Effect] {
        switch key {
        case .enter:
            if let neuron = ablated[safe: ablationRow] {
                cursor = neuron
                push(.neuron)
            }
        case .character(" "), .character("x"), .character("d"), .delete, .backspace:
            if let neuron = ablated[safe: ablationRow] { return toggle(neuron) }
        case .character("c"):
            return ablated.isEmpty ? [] : setAblated([])
        case .character("w"):
            input = InputLine(kind: .command, text: "save ")
        case .character("o"):
            input = InputLine(kind: .command, text: "load ")
        default: break
        }
        return []
    }

    // MARK: Ablations

    /// Marks or unmarks one neuron.
    mutating func toggle(_ neuron: NeuronID) -> [Effect] {
        setAblated(isAblated(neuron) ? ablated.filter { $0 != neuron } : ablated + [neuron])
    }

    mutating func setAblated(_ neurons: [NeuronID]) -> [Effect] {
        history.append(ablated)
        ablated = neurons
        ablationRow = min(ablationRow, max(neurons.count - 1, 0))
        return [.setAblation(ablation)]
    }

    mutating func undo() -> [Effect] {
        guard let previous = history.popLast() else {
            message = ("nothing to undo", false)
            return []
        }
        ablated = previous
        ablationRow = min(ablationRow, max(previous.count - 1, 0))
        message = ("undone: \(previous.count) neurons ablated", false)
        return [.setAblation(ablation)]
    }

    // MARK: Mouse

    private mutating func click(_ target: Target, snapshot: AnalysisSnapshot) -> [Effect] {
        if helpShown {
            helpShown = false
            return []
        }
        switch target {
        case .page(let page): show(page)
        case .neuron(let neuron):
            if page == .neurons && cursor == neuron { push(.neuron) } else { cursor = neuron }
        case .concept(let row):
            if conceptRow == row { return handleKey(.enter, snapshot: snapshot) }
            conceptRow = row
        case .pair(let index):
            if pairIndex == index { return handleKey(.enter, snapshot: snapshot) }
            pairIndex = index
        case .block(let block):
            if page == .domains { domainBlock = block } else { cursor = NeuronID(block: block, neuron: cursor.neuron) }
        case .ablation(let row):
            if ablationRow == row { return handleKey(.enter, snapshot: snapshot) }
            ablationRow = row
        }
        return []
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
