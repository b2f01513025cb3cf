import Foundation
import Analysis

/// The ablated neurons, and accuracy with them ablated against the baseline: overall, by
/// category, and for every concept that changed.
enum AblationsPage {
    static func draw(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let (left, right) = area.splitLeft(min(46, area.width / 3 + 4))
        list(state, snapshot, context, left, &frame)
        accuracy(state, snapshot, context, right, &frame)
    }

    private static func list(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let inner = frame.buffer.box(area, title: "\(state.ablated.count) ablated neurons (zeroed)", context: context)
        guard inner.height > 0 else { return }
        if state.ablated.isEmpty {
            var y = frame.buffer.wrapped("Nothing is ablated.", x: inner.x + 1, y: inner.y, style: context[.dim], limit: inner.maxX - 1, maxY: inner.maxY) + 1
            y = frame.buffer.wrapped("Space ablates the neuron under the cursor (Neurons, Neuron) or a concept's knowledge vectors (Concepts).",
                                     x: inner.x + 1, y: y, style: context[.dim], limit: inner.maxX - 1, maxY: inner.maxY) + 1
            frame.buffer.wrapped("o or :load PATH reads a saved set.", x: inner.x + 1, y: y, style: context[.dim], limit: inner.maxX - 1, maxY: inner.maxY)
            return
        }
        let rows = inner.height
        let row = min(state.ablationRow, state.ablated.count - 1)
        let first = min(max(row - rows / 2, 0), max(state.ablated.count - rows, 0))
        for (offset, neuron) in state.ablated.enumerated().dropFirst(first).prefix(rows) {
            let y = inner.y + offset - first
            let selected = offset == row
            if selected { frame.buffer.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), style: context[.selection]) }
            frame.region(Rect(x: inner.x, y: y, width: inner.width, height: 1), .ablation(offset))
            var x = frame.buffer.text("× ", x: inner.x + 1, y: y, style: context[.marked])
            x = frame.buffer.text(DisplayWidth.pad(neuron.description, 9), x: x, y: y, style: selected ? context[.selection] : context[.text])
            let index = neuron.block * snapshot.card.mlpWidth + neuron.neuron
            if let s = snapshot.specializations?[safe: index] {
                x = frame.buffer.text(String(format: "s %.2f  ", s), x: x, y: y, style: context[.dim])
            }
            if let specialization = snapshot.specialization, let top = specialization.focus(neuron).conceptShares.first {
                let share = " " + Format.percent(top.share, digits: 0)
                let name = DisplayWidth.fit(specialization.concepts[top.concept], inner.maxX - 1 - x - DisplayWidth.of(share))
                frame.buffer.text(name + share, x: x, y: y, style: selected ? context[.selection] : context[.text], limit: inner.maxX - 1)
            }
        }
    }

    private static func accuracy(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let inner = frame.buffer.box(area, title: "Accuracy (open) with these neurons ablated, against nothing ablated", context: context)
        guard inner.height > 0 else { return }
        let x = inner.x + 1, limit = inner.maxX - 1
        guard let baseline = snapshot.baseline else {
            frame.buffer.wrapped("computing… the accuracy with nothing ablated comes first", x: x, y: inner.y, style: context[.dim], limit: limit, maxY: inner.maxY)
            return
        }
        var y = inner.y
        let current = state.accuracyNow(snapshot)
        if current == nil {
            frame.buffer.words("evaluating \(state.ablated.count) ablated neurons… (the figures appear when the engine has them)", x: x, y: y, style: context[.accent], limit: limit)
        } else if let live = snapshot.currentLive, !state.ablated.isEmpty {
            let estimate = live.estimateMilliseconds.map { String(format: "≈ estimated in %.0f ms; ", $0) } ?? ""
            let exact = live.isExact ? String(format: "evaluated in %.0f ms", live.milliseconds)
                : "\(live.exactCount)/\(live.exact.count) questions exact so far (≈ marks estimates)"
            frame.buffer.words(estimate + exact, x: x, y: y, style: context[.dim], limit: limit)
        }
        y += 1
        let nameWidth = 18, barWidth = max(8, min(30, inner.width - nameWidth - 38))
        /// An estimated figure is marked ≈, dim, with how many of its questions are exact so far.
        func row(_ label: String, _ before: Double, _ after: Double?, _ style: Style, questions: [Int]) {
            guard y < inner.maxY else { return }
            let estimated = state.estimatedNow(snapshot, questions)
            frame.buffer.text(DisplayWidth.fit(label, nameWidth - 1), x: x, y: y, style: style)
            if let after {
                frame.buffer.bar(x: x + nameWidth, y: y, width: barWidth, fraction: after, style: estimated != nil ? context[.dim] : (after < before - 1e-9 ? context[.bad] : context[.bar]), context: context)
            }
            var cx = frame.buffer.text(" " + DisplayWidth.padLeft(Format.percent(before), 6) + " → ", x: x + nameWidth + barWidth, y: y, style: context[.text], limit: limit)
            cx = frame.buffer.text(DisplayWidth.padLeft((estimated != nil && after != nil ? "≈" : "") + Format.percent(after), 6), x: cx, y: y,
                                   style: estimated != nil ? context[.dim] : context[.text], limit: limit)
            if let after {
                let changeStyle = estimated != nil ? context[.dim] : (after < before - 1e-9 ? context[.bad] : (after > before + 1e-9 ? context[.good] : context[.dim]))
                cx = frame.buffer.words("  " + Format.points(after - before), x: cx, y: y, style: changeStyle, limit: limit)
            }
            if let estimated { frame.buffer.words("  exact \(estimated.exact)/\(estimated.of)", x: cx, y: y, style: context[.dim], limit: limit) }
            y += 1
        }
        let probes = snapshot.probes
        let all = Array(probes.questions.indices)
        row("overall", baseline.overall.open, current?.overall.open, context[.title], questions: all)
        if let choice = baseline.overall.multipleChoice {
            row("multiple choice", choice, current.map { $0.overall.multipleChoice ?? 0 }, context[.text], questions: all.filter { probes.questions[$0].choices != nil })
        }
        y += 1
        if y < inner.maxY { frame.buffer.text("by category", x: x, y: y, style: context[.title]) }
        y += 1
        for category in snapshot.probes.categories {
            row(category, baseline.category(category).open, current?.category(category).open, context[.text],
                questions: probes.concepts(in: category).flatMap { probes.questionIndices[$0] ?? [] })
        }
        y += 1
        guard y < inner.maxY, let current else { return }
        let changes = snapshot.probes.concepts.map { ($0, current.concept($0).open - baseline.concept($0).open) }.filter { abs($0.1) > 1e-9 }.sorted { $0.1 < $1.1 }
        frame.buffer.text(changes.isEmpty ? "no concept's accuracy changed" : "concepts that changed (\(changes.count) of \(snapshot.probes.concepts.count)), largest drop first",
                          x: x, y: y, style: context[.title], limit: limit)
        y += 1
        for (concept, _) in changes {
            row(concept, baseline.concept(concept).open, current.concept(concept).open, context[.text], questions: probes.questionIndices[concept] ?? [])
        }
    }
}
