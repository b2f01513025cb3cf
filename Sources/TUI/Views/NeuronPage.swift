import Foundation
import Analysis
import Model

/// One neuron: its knowledge focus by concept and category, its specialization, the tokens its
/// value vector promotes and suppresses, the questions that drive it most, its activity per
/// domain, and whether it is ablated.
enum NeuronPage {
    static func draw(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let neuron = state.cursor, card = snapshot.card
        let index = neuron.block * card.mlpWidth + neuron.neuron
        let x0 = area.x + 1
        var x = frame.buffer.text("Neuron \(neuron)", x: x0, y: area.y, style: context[.title])
        x = frame.buffer.text("  block \(neuron.block) of \(card.blocks), unit \(neuron.neuron) of \(card.mlpWidth)", x: x, y: area.y, style: context[.dim])
        if let s = snapshot.specializations?[safe: index] {
            x = frame.buffer.text(String(format: "  ·  s = %.3f", s), x: x, y: area.y, style: context[.text])
        }
        if state.isAblated(neuron) {
            frame.buffer.words("  × ABLATED (Space restores it)", x: x, y: area.y, style: context[.marked], limit: area.maxX)
        } else {
            frame.buffer.words("  (Space ablates it)", x: x, y: area.y, style: context[.dim], limit: area.maxX)
        }
        let body = Rect(x: area.x, y: area.y + 1, width: area.width, height: area.height - 1)
        let (left, right) = body.splitLeft(body.width / 2)
        focus(neuron, snapshot, context, left, &frame)
        var rest = right
        rest = tokens(neuron, snapshot, context, rest, &frame)
        activity(neuron, index, snapshot, context, rest, &frame)
    }

    private static func focus(_ neuron: NeuronID, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let inner = frame.buffer.box(area, title: "Knowledge focus: share of max(Δ, 0) by concept", context: context)
        guard let specialization = snapshot.specialization else {
            frame.buffer.wrapped("computing… Δ needs every probe prompt run once", x: inner.x + 1, y: inner.y, style: context[.dim], limit: inner.maxX - 1, maxY: inner.maxY)
            return
        }
        let focus = specialization.focus(neuron)
        let index = neuron.block * specialization.width + neuron.neuron
        guard !focus.conceptShares.isEmpty else {
            frame.buffer.text("No concept has Δ > 0: the neuron is no more active on any concept's questions than on the others'.",
                              x: inner.x + 1, y: inner.y, style: context[.dim], limit: inner.maxX - 1)
            return
        }
        let nameWidth = min(18, max(8, (specialization.concepts.map { DisplayWidth.of($0) }.max() ?? 8) + 1))
        let barWidth = max(6, inner.width - nameWidth - 24)
        var y = inner.y
        frame.buffer.text(DisplayWidth.pad("concept", nameWidth) + DisplayWidth.pad("share", barWidth + 6) + "Δ", x: inner.x + 1, y: y, style: context[.dim], limit: inner.maxX)
        y += 1
        let categoryRows = min(focus.categoryShares.count, 6) + 2
        for (concept, share) in focus.conceptShares where y < inner.maxY - categoryRows {
            let delta = Double(specialization.delta[concept * specialization.neurons + index])
            frame.buffer.text(DisplayWidth.fit(specialization.concepts[concept], nameWidth - 1), x: inner.x + 1, y: y, style: context[.text])
            frame.buffer.bar(x: inner.x + 1 + nameWidth, y: y, width: barWidth, fraction: share, style: context[.bar], context: context)
            frame.buffer.text(DisplayWidth.padLeft(Format.percent(share, digits: 0), 5), x: inner.x + 1 + nameWidth + barWidth, y: y, style: context[.text])
            frame.buffer.text(Format.signed(delta, 4), x: inner.x + 1 + nameWidth + barWidth + 6, y: y, style: context[.dim], limit: inner.maxX)
            y += 1
        }
        if focus.conceptShares.count > y - inner.y - 1 {
            frame.buffer.text("… \(focus.conceptShares.count - (y - inner.y - 1)) more with Δ > 0", x: inner.x + 1, y: y, style: context[.dim])
        }
        y = max(y + 1, inner.maxY - categoryRows)
        frame.buffer.text("by category", x: inner.x + 1, y: y, style: context[.title])
        y += 1
        for (category, share) in focus.categoryShares where y < inner.maxY {
            frame.buffer.text(DisplayWidth.fit(specialization.categories[category], nameWidth - 1), x: inner.x + 1, y: y, style: context[.text])
            frame.buffer.bar(x: inner.x + 1 + nameWidth, y: y, width: barWidth, fraction: share, style: context[.accent], context: context)
            frame.buffer.text(DisplayWidth.padLeft(Format.percent(share, digits: 0), 5), x: inner.x + 1 + nameWidth + barWidth, y: y, style: context[.text])
            y += 1
        }
    }

    private static func tokens(_ neuron: NeuronID, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) -> Rect {
        let questionRows = 7
        let (top, rest) = area.splitTop(min(area.height - 6, 8 + questionRows))
        let inner = frame.buffer.box(top, title: "Tokens its value vector promotes / suppresses (W_U·v)", context: context)
        guard let detail = snapshot.details[neuron] else {
            frame.buffer.wrapped("computing… (what you look at is computed first)", x: inner.x + 1, y: inner.y, style: context[.dim], limit: inner.maxX - 1, maxY: inner.maxY)
            return rest
        }
        let half = inner.width / 2
        for (column, (title, list)) in [("promotes", detail.promoted), ("suppresses", detail.suppressed)].enumerated() {
            let x = inner.x + 1 + column * half
            frame.buffer.text(title, x: x, y: inner.y, style: context[.dim])
            for (row, token) in list.prefix(5).enumerated() {
                let shown = DisplayWidth.fit(printable(token.token), half - 12)
                frame.buffer.text(shown, x: x, y: inner.y + 1 + row, style: column == 0 ? context[.good] : context[.bad])
                frame.buffer.text(String(format: "%+.2f", token.value), x: x + half - 10, y: inner.y + 1 + row, style: context[.dim])
            }
        }
        var y = inner.y + 7
        guard y < inner.maxY else { return rest }
        frame.buffer.words("questions that drive it most (largest pooled |m|)", x: inner.x + 1, y: y, style: context[.dim], limit: inner.maxX)
        y += 1
        for question in detail.topQuestions where y < inner.maxY {
            guard let q = snapshot.probes.questions[safe: question.question] else { continue }
            let p = String(format: "%.3f ", question.pooled)
            let x = frame.buffer.text(p, x: inner.x + 1, y: y, style: context[.dim])
            let concept = q.prompt.contains(q.concept) ? "" : "  [\(q.concept)]"
            frame.buffer.words("\(q.prompt) →\(q.answer)" + concept, x: x, y: y, style: context[.text], limit: inner.maxX - 1)
            y += 1
        }
        return rest
    }

    /// Tokens as readable text: leading spaces and newlines made visible.
    static func printable(_ token: String) -> String {
        token.replacingOccurrences(of: "\n", with: "⏎").replacingOccurrences(of: "\t", with: "⇥").replacingOccurrences(of: " ", with: "␣")
    }

    private static func activity(_ neuron: NeuronID, _ index: Int, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let inner = frame.buffer.box(area, title: "Activity u_d per domain (active: top 5 % of neurons)", context: context)
        guard inner.height > 0 else { return }
        guard let patterns = snapshot.patterns else {
            frame.buffer.wrapped("computing… no sample's gradients are in yet", x: inner.x + 1, y: inner.y, style: context[.dim], limit: inner.maxX - 1, maxY: inner.maxY)
            return
        }
        var y = inner.y
        if patterns.samplesDone < patterns.samplesWanted {
            frame.buffer.words("from \(patterns.samplesDone) of \(patterns.samplesWanted) samples a domain (partial)", x: inner.x + 1, y: y, style: context[.accent], limit: inner.maxX)
            y += 1
        }
        let values = patterns.activity.map { $0[safe: index] ?? 0 }
        let high = max(values.max() ?? 0, 1e-30)
        let nameWidth = min(16, (patterns.domains.map { DisplayWidth.of($0) }.max() ?? 8) + 1)
        let barWidth = max(6, inner.width - nameWidth - 22)
        for (d, domain) in patterns.domains.enumerated() where y < inner.maxY {
            frame.buffer.text(DisplayWidth.fit(domain, nameWidth - 1), x: inner.x + 1, y: y, style: context[.text])
            frame.buffer.bar(x: inner.x + 1 + nameWidth, y: y, width: barWidth, fraction: values[d] / high, style: context[.bar], context: context)
            let active = patterns.active[safe: d]?[safe: index] ?? false
            frame.buffer.words(" " + Format.compact(values[d]) + (active ? "  active" : ""), x: inner.x + 1 + nameWidth + barWidth, y: y,
                              style: active ? context[.accent] : context[.dim], limit: inner.maxX)
            y += 1
        }
    }
}
