import Foundation
import Analysis

/// Models side by side (`neurotop compare`): one column a model, one row a figure, the per-block
/// figures on the relative depth. Each model's engine fills its column in as it computes; a figure
/// not computed yet shows `…`.
enum ComparePage {
    static func summaries(_ state: AppState, _ snapshots: [AnalysisSnapshot]) -> [AnalysisSummary] {
        snapshots.enumerated().map { index, snapshot in
            let derived = index == 0 ? state.derived : state.comparedDerived[index]
            let layers = snapshot.specialization.flatMap { specialization in
                snapshot.specializations.map { derived.layerSpecialization(specialization, specializations: $0) }
            }
            let shared = snapshot.specialization.map { specialization in
                snapshot.score.ratios.map { derived.sharedKnowledgeVectors(specialization, ratio: $0) }
            }
            return AnalysisSummary(snapshot: snapshot, layerSpecialization: layers, sharedKnowledgeVectors: shared)
        }
    }

    /// Rows of the first model's comparison: how far the page scrolls (the others add no rows
    /// unless their domains differ, and the view clamps too).
    static func rowCount(_ state: AppState, _ snapshot: AnalysisSnapshot) -> Int {
        Comparison(summaries(state, [snapshot])).rows.count
    }

    static func draw(_ state: AppState, _ snapshots: [AnalysisSnapshot], _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let comparison = Comparison(summaries(state, snapshots))
        let x = area.x + 1, limit = area.maxX - 1
        var y = area.y
        let heading = snapshots.count == 1
            ? "One model: neurotop compare MODEL MODEL… puts others beside it"
            : "\(snapshots.count) models side by side · blocks on a relative depth, 0 the first, 1 the last"
        frame.buffer.words(heading, x: x, y: y, style: context[.dim], limit: limit)
        y += 2

        let labelWidth = min(28, (comparison.rows.filter { $0.kind == .figure }.map { DisplayWidth.of($0.label) }.max() ?? 10) + 4)
        let cellWidth = snapshots.indices.map { m in
            max(10, min(16, (comparison.rows.map { DisplayWidth.of($0.cells[m]) } + [DisplayWidth.of(comparison.names[m])]).max()! + 2))
        }.max() ?? 12
        let fitting = max(1, (limit - x - labelWidth) / cellWidth)
        let first = min(state.compareColumn, max(0, snapshots.count - fitting))
        let shown = Array(first..<min(snapshots.count, first + fitting))
        // On a wide screen the rows flow on into more panels side by side, as a newspaper's columns.
        let panelWidth = labelWidth + shown.count * cellWidth + 3
        let panels = max(1, min(3, (limit - x + 3) / panelWidth))
        let more = [first > 0 ? "← \(first) more" : "", shown.last.map { $0 < snapshots.count - 1 ? "\(snapshots.count - 1 - $0) more →" : "" } ?? ""]
            .filter { !$0.isEmpty }.joined(separator: "  ")
        let visible = max(1, area.maxY - y - 3)
        let top = min(state.compareRow, max(0, comparison.rows.count - visible * panels))
        for panel in 0..<panels {
            let px = x + panel * panelWidth
            // Model names, then where each engine is.
            for (column, m) in shown.enumerated() {
                let cx = px + labelWidth + column * cellWidth
                frame.buffer.text(DisplayWidth.padLeft(DisplayWidth.fit(comparison.names[m], cellWidth - 1), cellWidth - 1), x: cx, y: y,
                                  style: context[.title])
                let progress = snapshots[m].progress
                let status: String, style: Style
                switch progress.state {
                case .finished: (status, style) = ("finished", context[.good])
                case .failed: (status, style) = ("failed", context[.bad])
                case .working: (status, style) = ("\(progress.done)/\(progress.total)", context[.accent])
                }
                frame.buffer.text(DisplayWidth.padLeft(status, cellWidth - 1), x: cx, y: y + 1, style: style)
            }
            frame.buffer.words(more.isEmpty ? "model" : more, x: px, y: y, style: context[.dim], limit: px + labelWidth - 1)
            frame.buffer.text("engine", x: px, y: y + 1, style: context[.dim])
            var ry = y + 2
            let count = comparison.rows.count
            for row in comparison.rows[min(top + panel * visible, count)..<min(count, top + (panel + 1) * visible)] {
                switch row.kind {
                case .heading:
                    frame.buffer.words(row.label, x: px, y: ry, style: context[.accent], limit: panel == panels - 1 ? limit : px + panelWidth - 2)
                case .note:
                    frame.buffer.text(DisplayWidth.fit(row.label, (panel == panels - 1 ? limit : px + panelWidth - 2) - px - 1), x: px + 1, y: ry,
                                      style: context[.text])
                case .figure:
                    frame.buffer.text(DisplayWidth.fit(row.label, labelWidth - 2), x: px + 1, y: ry, style: context[.dim])
                    for (column, m) in shown.enumerated() {
                        let cell = row.cells[m]
                        frame.buffer.text(DisplayWidth.padLeft(cell, cellWidth - 1), x: px + labelWidth + column * cellWidth, y: ry,
                                          style: cell == Comparison.notComputed ? context[.dim] : context[.text])
                    }
                }
                ry += 1
            }
        }
        let shownRows = min(comparison.rows.count, top + visible * panels)
        let position = "rows \(top + 1)–\(shownRows) of \(comparison.rows.count)" + (comparison.rows.count > shownRows || top > 0 ? " · ↑↓ scroll" : "")
        frame.buffer.words(position, x: x, y: area.maxY - 1, style: context[.dim], limit: limit)
    }
}
