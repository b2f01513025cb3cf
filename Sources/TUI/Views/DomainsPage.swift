import Foundation
import Analysis

/// Method 2 by block: activated density (blocks × domains), similarity (blocks × domain pairs),
/// the domain × domain matrix, and for the chosen pair the spread of cos_l and the neurons active
/// in A only, B only, or both.
enum DomainsPage {
    static let densityWidth = 7
    static let pairWidth = 6

    static func draw(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let x0 = area.x + 1, limit = area.maxX - 1
        guard let patterns = snapshot.patterns else {
            frame.buffer.text("Activation patterns", x: x0, y: area.y, style: context[.title])
            frame.buffer.wrapped("Not computed yet: no sample's gradients are in. The engine is at: \(snapshot.progress.doing).", x: x0, y: area.y + 2,
                                 style: context[.dim], limit: limit, maxY: area.maxY)
            return
        }
        let done = patterns.samplesDone, wanted = patterns.samplesWanted
        let note = done < wanted ? "from \(done) of \(wanted) samples a domain — partial, sharpening as samples come in" : "from all \(wanted) samples a domain"
        frame.buffer.words("Activation patterns · " + note, x: x0, y: area.y, style: done < wanted ? context[.accent] : context[.title], limit: limit)

        let blocks = snapshot.card.blocks
        let pairIndex = min(state.pairIndex, max(patterns.pairs.count - 1, 0))
        let bottomHeight = max(patterns.domains.count + 4, min(blocks, 8) + 6)
        let tableRows = max(1, min(blocks, area.height - 3 - 4 - bottomHeight))
        let firstBlock = min(max(state.domainBlock - tableRows / 2, 0), max(blocks - tableRows, 0))
        let visible = firstBlock..<min(firstBlock + tableRows, blocks)
        let labelX = x0, densityX = x0 + 6
        let densityHigh = max(patterns.density.density.flatMap { $0 }.max() ?? 0, 1e-12)
        let densityScale = HeatScale(palette: context.theme.heatmap, low: 0, high: densityHigh, format: { Format.percent($0, digits: 1) })
        let cosScale = HeatScale(palette: context.theme.heatmap, low: 0, high: 1, format: { Format.fixed($0, 1) })

        // Headers.
        let headerY = area.y + 2
        frame.buffer.text("block", x: labelX, y: headerY + 1, style: context[.dim])
        frame.buffer.text("activated density", x: densityX, y: headerY, style: context[.dim], limit: limit)
        for (d, domain) in patterns.domains.enumerated() {
            frame.buffer.text(DisplayWidth.padLeft(DisplayWidth.fit(domain, densityWidth - 1), densityWidth - 1), x: densityX + d * densityWidth, y: headerY + 1, style: context[.text])
        }
        let densityTable = max(patterns.domains.count * densityWidth, 26)
        let pairX = densityX + densityTable + 3
        let pairColumns = max(1, (limit - pairX) / pairWidth)
        let firstPair = min(max(pairIndex - pairColumns / 2, 0), max(patterns.pairs.count - pairColumns, 0))
        let shownPairs = firstPair..<min(firstPair + pairColumns, patterns.pairs.count)
        // The longest heading that fits above the pairs' columns.
        let more = shownPairs.count < patterns.pairs.count ? " (← → for more pairs)" : ""
        let heading = ["similarity: mean cos_l of the pair's samples" + more, "similarity: mean cos_l" + more, "mean cos_l" + more, "mean cos_l"]
            .first { DisplayWidth.of($0) <= limit - pairX } ?? ""
        frame.buffer.text(heading, x: pairX, y: headerY, style: context[.dim], limit: limit)
        for (column, p) in shownPairs.enumerated() {
            let pair = patterns.pairs[p]
            let label = short(patterns.domains[pair.a]) + "·" + short(patterns.domains[pair.b])
            let style = p == pairIndex ? context[.selection] : context[.text]
            frame.buffer.text(DisplayWidth.padLeft(label, pairWidth - 1), x: pairX + column * pairWidth, y: headerY + 1, style: style)
            frame.region(Rect(x: pairX + column * pairWidth, y: headerY + 1, width: pairWidth, height: 1), .pair(p))
        }

        // One row a block: density tiles, then similarity tiles.
        for (row, block) in visible.enumerated() {
            let y = headerY + 2 + row
            frame.buffer.text(DisplayWidth.padLeft("\(block)", 4), x: labelX, y: y, style: block == state.domainBlock ? context[.selection] : context[.dim])
            frame.region(Rect(x: labelX, y: y, width: 5, height: 1), .block(block))
            for d in patterns.domains.indices {
                let value = patterns.density.density[block][d]
                frame.buffer.tile(Format.percent(value), value: value, x: densityX + d * densityWidth, y: y, width: densityWidth, scale: densityScale, context: context)
            }
            for (column, p) in shownPairs.enumerated() {
                let spread = patterns.similarity[safe: block]?[patterns.pairs[p]]
                frame.buffer.tile(spread.map { String(format: "%.2f", $0.mean) } ?? "…", value: spread?.mean, x: pairX + column * pairWidth, y: y,
                                  width: pairWidth, scale: cosScale, context: context, mark: p == pairIndex ? context[.selection] : nil)
                frame.region(Rect(x: pairX + column * pairWidth, y: y, width: pairWidth, height: 1), .pair(p))
            }
        }
        let legendY = headerY + 2 + visible.count + 1
        frame.buffer.legend(x: densityX, y: legendY, width: min(densityTable, 40), title: "share of weights activated", scale: densityScale, context: context)
        frame.buffer.legend(x: pairX, y: legendY, width: max(12, min(40, limit - pairX)), title: "cos_l: 0 nothing shared, 1 the same", scale: cosScale, context: context)

        let bottom = Rect(x: area.x, y: legendY + 4, width: area.width,
                          height: min(area.maxY - legendY - 4, max(patterns.domains.count + 3, 2 * visible.count + 10)))
        let matrixWidth = 16 + patterns.domains.count * densityWidth
        let (left, right) = bottom.splitLeft(min(max(matrixWidth + 2, 46), bottom.width / 2))
        matrix(patterns, pairIndex, context, left, cosScale, &frame)
        pairDetails(state, patterns, pairIndex, visible, snapshot.card.mlpWidth, context, right, &frame)
    }

    /// The first two letters of a domain's name, for pair headers.
    private static func short(_ name: String) -> String { String(name.prefix(2)) }

    private static func matrix(_ patterns: PatternResults, _ pairIndex: Int, _ context: RenderContext, _ area: Rect, _ scale: HeatScale, _ frame: inout Frame) {
        let inner = frame.buffer.box(area, title: "domain × domain: mean cos, blocks \(patterns.deepBlocks.lowerBound)–\(patterns.deepBlocks.upperBound - 1)", context: context)
        guard inner.height >= 2 else { return }
        let selected = patterns.pairs[safe: pairIndex]
        let nameWidth = 14
        // The columns that fit the box, whole.
        let columns = min(patterns.domains.count, max(0, (inner.maxX - 1 - inner.x - nameWidth) / densityWidth))
        for (b, domain) in patterns.domains.enumerated() where b < columns {
            frame.buffer.text(DisplayWidth.padLeft(DisplayWidth.fit(domain, densityWidth - 1), densityWidth - 1), x: inner.x + nameWidth + b * densityWidth, y: inner.y, style: context[.dim])
        }
        for (a, domain) in patterns.domains.enumerated() where inner.y + 1 + a < inner.maxY {
            let y = inner.y + 1 + a
            frame.buffer.text(DisplayWidth.fit(domain, nameWidth - 1), x: inner.x + 1, y: y, style: context[.dim])
            for b in patterns.domains.indices where b < columns {
                let isSelected = selected.map { ($0.a == a && $0.b == b) || ($0.a == b && $0.b == a) } ?? false
                frame.buffer.tile(String(format: "%.2f", patterns.domainMatrix[a][b]), value: patterns.domainMatrix[a][b], x: inner.x + nameWidth + b * densityWidth, y: y,
                                  width: densityWidth, scale: scale, context: context, mark: isSelected ? context[.selection] : nil)
                if let p = patterns.pairs.firstIndex(where: { $0.a == min(a, b) && $0.b == max(a, b) }) {
                    frame.region(Rect(x: inner.x + nameWidth + b * densityWidth, y: y, width: densityWidth, height: 1), .pair(p))
                }
            }
        }
    }

    /// The chosen pair: per block the spread of cos_l as a box plot, and the overlap of active neurons.
    private static func pairDetails(_ state: AppState, _ patterns: PatternResults, _ pairIndex: Int, _ blocks: Range<Int>, _ width: Int,
                                    _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        guard let pair = patterns.pairs[safe: pairIndex] else { return }
        let nameA = patterns.domains[pair.a], nameB = patterns.domains[pair.b]
        let inner = frame.buffer.box(area, title: pair.a == pair.b ? "\(nameA): first half of its samples × second half" : "\(nameA) × \(nameB)", context: context)
        guard inner.height >= 2 else { return }
        let x = inner.x + 1
        let plotWidth = max(10, min(40, inner.width - 24))
        frame.buffer.words("cos_l on 0 … 1:  ├ min  █ quartiles  ┃ median  ┤ max", x: x, y: inner.y, style: context[.dim], limit: inner.maxX)
        var y = inner.y + 1
        for block in blocks where y < inner.maxY {
            frame.buffer.text(DisplayWidth.padLeft("\(block)", 4), x: x, y: y, style: block == state.domainBlock ? context[.selection] : context[.dim])
            if let spread = patterns.similarity[safe: block]?[pair] {
                boxPlot(spread, x: x + 6, y: y, width: plotWidth, context: context, &frame)
                frame.buffer.words(String(format: "mean %.2f  n %d", spread.mean, spread.count), x: x + 7 + plotWidth, y: y, style: context[.text], limit: inner.maxX)
            } else {
                frame.buffer.text("… no samples yet", x: x + 6, y: y, style: context[.dim])
            }
            y += 1
        }
        let allBlocks = patterns.density.density.count
        let hasActive = [pair.a, pair.b].allSatisfy { (patterns.active[safe: $0]?.count ?? 0) >= allBlocks * width }
        guard pair.a != pair.b, hasActive, y + 3 < inner.maxY else { return }
        // Neurons active in each domain (u_d in the top share of all neurons), per block.
        y += 1
        frame.buffer.text("active (u_d in the top 5 %)  A only  B only    both  Jaccard", x: x, y: y, style: context[.dim], limit: inner.maxX)
        y += 1
        for block in blocks where y < inner.maxY - 3 {
            let counts = overlap(patterns, pair, block: block, width: width)
            let jaccard = patterns.jaccard[safe: block]?[pair] ?? 0
            frame.buffer.text(DisplayWidth.padLeft("\(block)", 4), x: x, y: y, style: block == state.domainBlock ? context[.selection] : context[.dim])
            frame.buffer.text(String(format: "%7d %7d %7d %8.2f", counts.a, counts.b, counts.both, jaccard), x: x + 28, y: y, style: context[.text], limit: inner.maxX)
            y += 1
        }
        guard y + 2 <= inner.maxY else { return }
        // The chosen block's neurons, binned: which are active in A only, B only, both.
        let block = min(max(state.domainBlock, 0), allBlocks - 1)
        y += 1
        var keyX = frame.buffer.text("block \(block) neurons:  ", x: x, y: y, style: context[.dim])
        for (glyph, element, label) in [("A", Theme.Element.domainA, "\(nameA) only"), ("B", .domainB, "\(nameB) only"), ("#", .domainBoth, "both")] {
            keyX = frame.buffer.text(context.shades ? glyph : "█", x: keyX, y: y, style: context[element])
            keyX = frame.buffer.text(" " + label + "   ", x: keyX, y: y, style: context[.dim], limit: inner.maxX)
        }
        y += 1
        let stripWidth = min(inner.width - 2, width)
        guard stripWidth > 0 else { return }
        let bin = (width + stripWidth - 1) / stripWidth
        for column in 0..<((width + bin - 1) / bin) {
            var inA = false, inB = false
            for i in (column * bin)..<min((column + 1) * bin, width) {
                inA = inA || patterns.active[pair.a][block * width + i]
                inB = inB || patterns.active[pair.b][block * width + i]
            }
            let element: Theme.Element? = inA && inB ? .domainBoth : inA ? .domainA : inB ? .domainB : nil
            let glyph: Unicode.Scalar = element == nil ? "·" : context.shades ? (inA && inB ? "#" : inA ? "A" : "B") : "█"
            frame.buffer.put(glyph, x: x + column, y: y, style: element.map { context[$0] } ?? context[.dim])
        }
    }

    private static func overlap(_ patterns: PatternResults, _ pair: ActivationPatterns.DomainPair, block: Int, width: Int) -> (a: Int, b: Int, both: Int) {
        var counts = (a: 0, b: 0, both: 0)
        for i in (block * width)..<((block + 1) * width) {
            let inA = patterns.active[pair.a][i], inB = patterns.active[pair.b][i]
            if inA && inB { counts.both += 1 } else if inA { counts.a += 1 } else if inB { counts.b += 1 }
        }
        return counts
    }

    /// min ├──[q1 │ median │ q3]──┤ max on an axis from 0 to 1.
    private static func boxPlot(_ spread: ActivationPatterns.Spread, x: Int, y: Int, width: Int, context: RenderContext, _ frame: inout Frame) {
        func column(_ value: Double) -> Int { min(width - 1, max(0, Int((value * Double(width - 1)).rounded()))) }
        for c in 0..<width { frame.buffer.put("·", x: x + c, y: y, style: context[.barEmpty]) }
        let (low, q1, median, q3, high) = (column(spread.minimum), column(spread.lowerQuartile), column(spread.median), column(spread.upperQuartile), column(spread.maximum))
        for c in low...max(low, high) { frame.buffer.put("─", x: x + c, y: y, style: context[.accent]) }
        for c in q1...max(q1, q3) { frame.buffer.put("█", x: x + c, y: y, style: context[.bar]) }
        frame.buffer.put("├", x: x + low, y: y, style: context[.accent])
        frame.buffer.put("┤", x: x + high, y: y, style: context[.accent])
        frame.buffer.put("┃", x: x + median, y: y, style: context[.title])
    }
}
