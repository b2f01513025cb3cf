import Foundation
import Analysis
import Model

/// One value per neuron (`[block · F + i]`) for the measure the Neurons page shows, with the range
/// its scale spans; nil while the measure is not computed.
struct MeasureValues {
    let values: [Double]
    let low: Double
    let high: Double
    /// Signed values, drawn on the diverging palette around zero.
    let signed: Bool
    /// What the legend calls the values.
    let title: String

    init?(_ measure: Measure, snapshot: AnalysisSnapshot) {
        switch measure {
        case .specialization:
            guard let s = snapshot.specializations, !s.isEmpty else { return nil }
            values = s
            low = 0
            high = max(s.max() ?? 0, 1e-9)
            signed = false
            title = "s, specialization (1: one concept)"
        case .activity(let domain):
            guard let patterns = snapshot.patterns, domain < patterns.activity.count, !patterns.activity[domain].isEmpty else { return nil }
            let u = patterns.activity[domain]
            values = u
            low = 0
            high = max(u.max() ?? 0, 1e-30)
            signed = false
            title = "u_d, activity in \(patterns.domains[domain])"
        case .association(let concept):
            guard let specialization = snapshot.specialization, concept < specialization.concepts.count else { return nil }
            let n = specialization.neurons, row = concept * n
            values = specialization.delta[row..<(row + n)].map(Double.init)
            let largest = values.reduce(0) { max($0, abs($1)) }
            high = max(largest, 1e-12)
            low = -high
            signed = true
            title = "Δ(\(specialization.concepts[concept])), association"
        }
    }

    func scale(_ context: RenderContext) -> HeatScale {
        HeatScale(palette: signed ? context.theme.diverging : context.theme.heatmap, low: low, high: high, format: Format.compact)
    }
}

/// Where the Neurons heatmap sits and which neurons each of its cells covers, for a screen size,
/// a model shape and a zoom: shared by the view (to draw) and the key handling (to move the cursor).
struct NeuronGrid {
    static let labelWidth = 6
    static let summaryWidth = 8

    let blocks: Int
    let width: Int
    /// Neurons per column.
    let bin: Int
    /// The zoom levels there are (neurons per column, from fitting the width down to 1).
    let bins: [Int]
    let columns: Int
    let firstColumn: Int
    let visibleColumns: Int
    /// Half rows per block (1: two blocks share a text row).
    let halfRows: Int
    let firstBlock: Int
    let visibleBlocks: Int
    let textRows: Int
    /// The heatmap's top left on screen.
    let x: Int
    let y: Int

    /// The page's rows that are not heatmap: title, axis, caret, two detail rows, a gap, a legend.
    static let otherRows = 9

    init(area: Rect, blocks: Int, width: Int, cursor: NeuronID, zoom: Int, shades: Bool) {
        self.blocks = max(blocks, 1)
        self.width = max(width, 1)
        let available = max(area.width - Self.labelWidth - Self.summaryWidth - 1, 1)
        let fit = (self.width + available - 1) / available
        var bins = [fit]
        while let last = bins.last, last > 1 { bins.append(max(1, last / 2)) }
        self.bins = bins
        bin = bins[min(max(zoom, 0), bins.count - 1)]
        columns = (self.width + bin - 1) / bin
        visibleColumns = min(columns, available)
        firstColumn = min(max(cursor.neuron / bin - visibleColumns / 2, 0), columns - visibleColumns)

        let rowsAvailable = max(area.height - Self.otherRows, 1)
        var half = min(2 * rowsAvailable / self.blocks, 6)
        if half >= 2 { half -= half % 2 }
        halfRows = max(half, shades ? 2 : 1)
        visibleBlocks = min(self.blocks, max(1, 2 * rowsAvailable / halfRows))
        firstBlock = min(max(cursor.block - visibleBlocks / 2, 0), self.blocks - visibleBlocks)
        textRows = (visibleBlocks * halfRows + 1) / 2
        x = area.x + Self.labelWidth
        y = area.y + 2
    }

    /// The neurons of block-relative column `column` (of all columns, not just the visible ones).
    func neurons(inColumn column: Int) -> Range<Int> { (column * bin)..<min((column + 1) * bin, width) }

    /// The screen row of a block's first half row, or nil when it is scrolled out.
    func row(ofBlock block: Int) -> Int? {
        guard block >= firstBlock, block < firstBlock + visibleBlocks else { return nil }
        return y + ((block - firstBlock) * halfRows) / 2
    }

    /// The neuron of a bin with the largest value (the one that gives the bin its colour), or the
    /// bin's first neuron when the values are not computed.
    func strongest(block: Int, column: Int, values: MeasureValues?) -> NeuronID {
        let range = neurons(inColumn: min(max(column, 0), columns - 1))
        guard let values, bin > 1 else { return NeuronID(block: block, neuron: range.lowerBound) }
        let base = block * width
        let best = range.max { values.values[base + $0] < values.values[base + $1] } ?? range.lowerBound
        return NeuronID(block: block, neuron: best)
    }
}
