import Foundation
import Analysis
import Model

/// The layers × neurons heatmap of s, u_d or Δ(c), binned to fit the width, with a cursor,
/// ablated neurons marked and a concept's knowledge vectors lit.
enum NeuronsPage {
    static func draw(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let card = snapshot.card
        let grid = NeuronGrid(area: area, blocks: card.blocks, width: card.mlpWidth, cursor: state.cursor, zoom: state.zoom, shades: context.shades)
        let x0 = area.x + 1, limit = area.maxX - 1
        frame.buffer.text("\(card.blocks) blocks × \(card.mlpWidth) neurons · " + measureName(state.measure, snapshot), x: x0, y: area.y, style: context[.title], limit: limit)
        guard let values = MeasureValues(state.measure, snapshot: snapshot) else {
            notComputed(state.measure, snapshot, context, Rect(x: x0, y: area.y + 2, width: area.width - 2, height: area.height - 2), &frame)
            return
        }
        let scale = values.scale(context)

        let width = card.mlpWidth
        var lit: Set<NeuronID> = []
        if let concept = state.litConcept, let specialization = state.shownSpecialization(snapshot), concept < specialization.concepts.count {
            lit = state.derived.knowledgeSet(specialization, concept: concept, ratio: state.ratio(snapshot.score.ratios))
        }
        // The mark of each visible cell: the cursor, else an ablated neuron, else a lit knowledge vector.
        var marks = [HeatMark?](repeating: nil, count: grid.visibleBlocks * grid.visibleColumns)
        func mark(_ neuron: NeuronID, _ mark: HeatMark) {
            let r = neuron.block - grid.firstBlock, c = neuron.neuron / grid.bin - grid.firstColumn
            guard r >= 0, r < grid.visibleBlocks, c >= 0, c < grid.visibleColumns else { return }
            marks[r * grid.visibleColumns + c] = mark
        }
        lit.forEach { mark($0, .lit) }
        state.ablated.forEach { mark($0, .marked) }
        mark(state.cursor, .cursor)

        // The strongest neuron of each visible bin: its value colours the cell.
        var strongest = [[(neuron: Int, value: Double)]](repeating: [], count: grid.visibleBlocks)
        values.values.withUnsafeBufferPointer { all in
            for r in 0..<grid.visibleBlocks {
                let base = (grid.firstBlock + r) * width
                strongest[r] = (0..<grid.visibleColumns).map { c in
                    var best = (neuron: -1, value: -Double.infinity)
                    for i in grid.neurons(inColumn: grid.firstColumn + c) where all[base + i] > best.value {
                        best = (i, all[base + i])
                    }
                    return best
                }
            }
        }
        frame.buffer.heatmap(x: grid.x, y: grid.y, columns: grid.visibleColumns, rows: grid.visibleBlocks, halfRows: grid.halfRows,
                             textRows: grid.textRows, scale: scale, context: context) { r, c in
            HeatCell(value: strongest[r][c].value, mark: marks[r * grid.visibleColumns + c])
        }
        // Clicks: each block's cells, its top half where two blocks share a row.
        for r in 0..<grid.visibleBlocks {
            let block = grid.firstBlock + r
            guard let top = grid.row(ofBlock: block) else { continue }
            let rows = max(1, grid.halfRows / 2)
            for c in 0..<grid.visibleColumns where strongest[r][c].neuron >= 0 {
                frame.region(Rect(x: grid.x + c, y: top, width: 1, height: rows), .neuron(NeuronID(block: block, neuron: strongest[r][c].neuron)))
            }
        }
        axis(grid, context, area, &frame)
        blockLabels(state, snapshot, grid, lit, context, &frame)
        details(state, snapshot, grid, values, lit, context, area, &frame)
        let legendY = min(grid.y + grid.textRows + 4, area.maxY - 3)
        let legendWidth = min(44, area.width / 2)
        frame.buffer.legend(x: x0, y: legendY, width: legendWidth, title: values.title, scale: scale, context: context)
        var keyX = x0 + legendWidth + 3
        let litName = state.litConcept.flatMap { snapshot.probes.concepts[safe: $0] }
        for (mark, label) in [(HeatMark.cursor, "cursor"), (.marked, "ablated"), (.lit, litName.map { "knowledge vectors of \($0)" } ?? "knowledge vectors (Enter on a concept)")] {
            frame.buffer.put(mark.glyph, x: keyX, y: legendY + 1, style: context.markStyle(mark))
            keyX = frame.buffer.words(" " + label, x: keyX + 1, y: legendY + 1, style: context[.dim], limit: limit) + 3
        }
        let binNote = grid.bin > 1 ? "\(grid.bin) neurons a column, each showing its strongest · + zooms in" : "one neuron a column" + (grid.bins.count > 1 ? " · - zooms out" : "")
        frame.buffer.words(binNote, x: x0 + legendWidth + 3, y: legendY + 2, style: context[.dim], limit: limit)
    }

    static func measureName(_ measure: Measure, _ snapshot: AnalysisSnapshot) -> String {
        switch measure {
        case .specialization: return "specialization s"
        case .activity(let d):
            guard let patterns = snapshot.patterns, d < patterns.domains.count else { return "activity u_d" }
            let partial = patterns.samplesDone < patterns.samplesWanted ? " (from \(patterns.samplesDone) of \(patterns.samplesWanted) samples)" : ""
            return "activity u_d in \(patterns.domains[d])" + partial
        case .association(let c):
            return "association Δ with \(snapshot.probes.concepts[safe: c] ?? "?")"
        }
    }

    private static func notComputed(_ measure: Measure, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ rect: Rect, _ frame: inout Frame) {
        let why: String
        switch measure {
        case .specialization, .association:
            why = "Not computed yet: Δ and s need every probe prompt run once (\(snapshot.probes.questions.count) prompts)."
        case .activity:
            why = "Not computed yet: u_d needs the first samples' gradients of the activation patterns."
        }
        var y = frame.buffer.wrapped(why, x: rect.x, y: rect.y, style: context[.dim], limit: rect.maxX, maxY: rect.maxY)
        y = frame.buffer.wrapped("The engine is at: \(snapshot.progress.doing) (\(snapshot.progress.done)/\(snapshot.progress.total)).",
                                 x: rect.x, y: y, style: context[.dim], limit: rect.maxX, maxY: rect.maxY)
        frame.buffer.wrapped("m switches the measure.", x: rect.x, y: y, style: context[.dim], limit: rect.maxX, maxY: rect.maxY)
    }

    /// Neuron numbers above the heatmap, every 16 columns or so.
    private static func axis(_ grid: NeuronGrid, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let y = grid.y - 1
        frame.buffer.text("block", x: area.x, y: y, style: context[.dim])
        var c = 0
        while c < grid.visibleColumns {
            let label = "\(grid.neurons(inColumn: grid.firstColumn + c).lowerBound)"
            if c + 1 + DisplayWidth.of(label) > grid.visibleColumns { break }
            frame.buffer.put("╵", x: grid.x + c, y: y, style: context[.dim])
            frame.buffer.text(label, x: grid.x + c + 1, y: y, style: context[.dim], limit: grid.x + grid.visibleColumns)
            c += max(DisplayWidth.of(label) + 4, 12)
        }
        if grid.firstColumn + grid.visibleColumns < grid.columns { frame.buffer.text("→", x: grid.x + grid.visibleColumns, y: y, style: context[.accent]) }
        if grid.firstColumn > 0 { frame.buffer.text("←", x: grid.x - 2, y: y, style: context[.accent]) }
    }

    /// Block numbers on the left; on the right a per-block figure for the measure.
    private static func blockLabels(_ state: AppState, _ snapshot: AnalysisSnapshot, _ grid: NeuronGrid, _ lit: Set<NeuronID>, _ context: RenderContext, _ frame: inout Frame) {
        let rightX = grid.x + grid.visibleColumns + 1
        var summary: [Double]?
        var header = ""
        switch state.measure {
        case .specialization:
            if let specialization = snapshot.specialization, let s = snapshot.specializations {
                summary = state.derived.layerSpecialization(specialization, specializations: s)
                header = "mean s"
            }
        case .activity(let d):
            if let active = snapshot.patterns?.active[safe: d] {
                summary = (0..<grid.blocks).map { b in Double(active[(b * grid.width)..<((b + 1) * grid.width)].filter { $0 }.count) }
                header = "active"
            }
        case .association:
            if !lit.isEmpty {
                summary = (0..<grid.blocks).map { b in Double(lit.filter { $0.block == b }.count) }
                header = "K_c"
            }
        }
        if !header.isEmpty { frame.buffer.text(header, x: rightX, y: grid.y - 1, style: context[.dim]) }
        var lastRow = -1
        for block in grid.firstBlock..<(grid.firstBlock + grid.visibleBlocks) {
            guard let row = grid.row(ofBlock: block), row != lastRow else { continue }
            lastRow = row
            let style = block == state.cursor.block ? context[.selection] : context[.dim]
            frame.buffer.text(DisplayWidth.padLeft("\(block)", NeuronGrid.labelWidth - 2) + " ", x: grid.x - NeuronGrid.labelWidth + 1, y: row, style: style)
            frame.region(Rect(x: grid.x - NeuronGrid.labelWidth, y: row, width: NeuronGrid.labelWidth, height: 1), .block(block))
            if let value = summary?[block] {
                let text = header == "mean s" ? String(format: "%.3f", value) : "\(Int(value))"
                frame.buffer.text(text, x: rightX, y: row, style: context[.text], limit: rightX + NeuronGrid.summaryWidth)
            }
        }
        if grid.firstBlock > 0 { frame.buffer.text("↑", x: grid.x - 2, y: grid.y, style: context[.accent]) }
        if grid.firstBlock + grid.visibleBlocks < grid.blocks { frame.buffer.text("↓", x: grid.x - 2, y: grid.y + grid.textRows - 1, style: context[.accent]) }
    }

    /// The caret under the cursor's column and what the neuron under the cursor is.
    private static func details(_ state: AppState, _ snapshot: AnalysisSnapshot, _ grid: NeuronGrid, _ values: MeasureValues, _ lit: Set<NeuronID>,
                                _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let caretY = grid.y + grid.textRows
        let column = state.cursor.neuron / grid.bin - grid.firstColumn
        if column >= 0 && column < grid.visibleColumns {
            frame.buffer.put("▲", x: grid.x + column, y: caretY, style: context[.cursor])
        }
        let neuron = state.cursor
        let index = neuron.block * snapshot.card.mlpWidth + neuron.neuron
        var y = caretY + 1
        var x = frame.buffer.text("neuron \(neuron)", x: area.x + 1, y: y, style: context[.title])
        if state.isAblated(neuron) { x = frame.buffer.text("  ABLATED", x: x, y: y, style: context[.marked]) }
        if lit.contains(neuron) { x = frame.buffer.text("  knowledge vector", x: x, y: y, style: context[.lit]) }
        var facts: [String] = []
        if let s = snapshot.specializations?[safe: index] { facts.append(String(format: "s %.3f", s)) }
        if let specialization = snapshot.specialization {
            let focus = specialization.focus(neuron)
            if let top = focus.conceptShares.first {
                let concept = specialization.concepts[top.concept]
                let delta = specialization.delta[top.concept * specialization.neurons + index]
                facts.append("top concept \(concept) (\(specialization.categories[specialization.conceptCategory[top.concept]])) \(Format.percent(top.share, digits: 0)) of its focus, Δ \(Format.signed(Double(delta)))")
            } else {
                facts.append("no concept has Δ > 0")
            }
        }
        if case .activity = state.measure { facts.append("u_d " + Format.compact(values.values[index])) }
        if case .association(let c) = state.measure, let name = snapshot.probes.concepts[safe: c] { facts.append("Δ(\(name)) " + Format.signed(values.values[index])) }
        frame.buffer.words("  " + facts.joined(separator: " · "), x: x, y: y, style: context[.text], limit: area.maxX - 1)
        y += 1
        var second = grid.bin > 1 ? "column: neurons \(grid.neurons(inColumn: neuron.neuron / grid.bin).lowerBound)–\(grid.neurons(inColumn: neuron.neuron / grid.bin).upperBound - 1), the cursor on the strongest" : ""
        if let concept = state.litConcept, let name = snapshot.probes.concepts[safe: concept], !lit.isEmpty {
            let ratio = state.ratio(snapshot.score.ratios)
            let by = state.shownSpecialization(snapshot).map { " by " + AppState.name($0.association) } ?? ""
            second += (second.isEmpty ? "" : " · ") + "lit: \(name)'s \(lit.count) knowledge vectors at r = \(Format.compact(ratio * 100))%" + by
        }
        frame.buffer.words(second, x: area.x + 1, y: y, style: context[.dim], limit: area.maxX - 1)
    }
}
