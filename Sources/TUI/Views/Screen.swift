import Foundation
import Analysis

/// A drawn screen and what each clickable part of it stands for.
public struct Frame: Sendable {
    public var buffer: CellBuffer
    var regions: [(rect: Rect, target: Target)] = []

    init(buffer: CellBuffer) { self.buffer = buffer }

    mutating func region(_ rect: Rect, _ target: Target) { regions.append((rect, target)) }

    /// What was drawn at a cell; the last region drawn there wins.
    public func target(atX x: Int, y: Int) -> Target? {
        regions.last { $0.rect.contains(x: x, y: y) }?.target
    }
}

/// The whole screen: tabs on top, the current page, the engine's status and the key hints at the
/// bottom, and help or the command line over them. A pure function of the state and the snapshot.
public enum Screen {
    public static let minimumWidth = 80
    public static let minimumHeight = 24

    /// Where a page draws: everything but the tab row and the two bottom rows.
    static func pageArea(width: Int, height: Int) -> Rect { Rect(x: 0, y: 1, width: width, height: height - 3) }

    /// `compared`: the other models of the Compare page, beside `snapshot`'s.
    public static func render(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext,
                              compared: [AnalysisSnapshot] = []) -> Frame {
        var frame = Frame(buffer: CellBuffer(width: state.width, height: state.height, style: context[.screen]))
        guard state.width >= minimumWidth, state.height >= minimumHeight else {
            tooSmall(state, &frame, context)
            return frame
        }
        tabs(state, snapshot, &frame, context)
        let area = pageArea(width: state.width, height: state.height)
        switch state.page {
        case .overview: OverviewPage.draw(state, snapshot, context, area, &frame)
        case .neurons: NeuronsPage.draw(state, snapshot, context, area, &frame)
        case .domains: DomainsPage.draw(state, snapshot, context, area, &frame)
        case .neuron: NeuronPage.draw(state, snapshot, context, area, &frame)
        case .concepts: ConceptsPage.draw(state, snapshot, context, area, &frame)
        case .ablations: AblationsPage.draw(state, snapshot, context, area, &frame)
        case .compare: ComparePage.draw(state, [snapshot] + compared, context, area, &frame)
        }
        status(state, snapshot, &frame, context, y: state.height - 2)
        bottomLine(state, &frame, context, y: state.height - 1)
        if state.helpShown { Help.draw(state, context, &frame) }
        return frame
    }

    private static func tooSmall(_ state: AppState, _ frame: inout Frame, _ context: RenderContext) {
        let lines = ["The terminal is too small: \(state.width)×\(state.height).",
                     "neurotop needs at least \(minimumWidth)×\(minimumHeight).",
                     "Enlarge the window, or press q to quit."]
        for (offset, line) in lines.enumerated() {
            let fitted = DisplayWidth.fit(line, state.width)
            let y = state.height / 2 - 1 + offset
            frame.buffer.text(fitted, x: max(0, (state.width - DisplayWidth.of(fitted)) / 2), y: y, style: offset == 0 ? context[.title] : context[.text])
        }
    }

    private static func tabs(_ state: AppState, _ snapshot: AnalysisSnapshot, _ frame: inout Frame, _ context: RenderContext) {
        frame.buffer.fill(Rect(x: 0, y: 0, width: state.width, height: 1), style: context[.tabs])
        // The name first when every tab still fits beside it (at 80 columns the tabs take the row).
        let labels = Page.allCases.map { " \($0.rawValue + 1) \($0.title) " }
        let brand = " neurotop "
        var x = labels.reduce(DisplayWidth.of(brand)) { $0 + DisplayWidth.of($1) } <= state.width
            ? frame.buffer.text(brand, x: 0, y: 0, style: context[.tabs].adding(.bold)) : 0
        for (page, label) in zip(Page.allCases, labels) {
            let start = x
            x = frame.buffer.text(label, x: x, y: 0, style: page == state.page ? context[.tabActive] : context[.tabs])
            frame.region(Rect(x: start, y: 0, width: x - start, height: 1), .page(page))
        }
        var right = " \(snapshot.card.name) "
        if !state.ablated.isEmpty { right = " × \(state.ablated.count) ablated " + right }
        let rightX = state.width - DisplayWidth.of(right)
        if rightX > x + 1 {
            frame.buffer.text(right, x: rightX, y: 0, style: state.ablated.isEmpty ? context[.tabs] : context[.tabs].with(foreground: context[.marked].foreground).adding(context[.marked].attributes))
        }
    }

    /// The engine's progress (bar, counts, time left) or its error, and the accuracy under the
    /// current ablation.
    private static func status(_ state: AppState, _ snapshot: AnalysisSnapshot, _ frame: inout Frame, _ context: RenderContext, y: Int) {
        let progress = snapshot.progress
        let style: Style
        if case .failed = progress.state { style = context[.statusError] } else { style = context[.status] }
        frame.buffer.fill(Rect(x: 0, y: y, width: state.width, height: 1), style: style)
        var right = ""
        if !state.ablated.isEmpty {
            if let now = state.accuracyNow(snapshot), let before = snapshot.baseline {
                let estimated = state.estimatedNow(snapshot, Array(snapshot.probes.questions.indices))
                let figure = estimated.map { "≈\(Format.percent(now.overall.open)) (exact \($0.exact)/\($0.of))" } ?? Format.percent(now.overall.open)
                right = "accuracy \(Format.percent(before.overall.open)) → \(figure) with \(state.ablated.count) ablated "
            } else {
                right = "evaluating \(state.ablated.count) ablated… "
            }
        } else if let baseline = snapshot.baseline {
            right = "accuracy \(Format.percent(baseline.overall.open)) "
        }
        // Why nothing is saved is on the Overview; here, that it is not.
        if progress.notSaving != nil { right = "not saving · " + right }
        let rightWidth = DisplayWidth.of(right)
        var x = frame.buffer.text(" ", x: 0, y: y, style: style)
        let limit = state.width - rightWidth - 1
        switch progress.state {
        case .failed(let why):
            frame.buffer.words("engine failed: " + why, x: x, y: y, style: style, limit: limit)
        case .finished:
            frame.buffer.words("engine: finished, every figure computed", x: x, y: y, style: style, limit: limit)
        case .working:
            x = frame.buffer.text("engine: ", x: x, y: y, style: style, limit: limit)
            let fraction = progress.total > 0 ? Double(progress.done) / Double(progress.total) : 0
            let barWidth = min(20, max(0, limit - x - 30))
            if barWidth >= 5 {
                frame.buffer.bar(x: x, y: y, width: barWidth, fraction: fraction, style: style.with(foreground: context[.accent].foreground), context: context)
                x += barWidth + 1
            }
            var counts = "\(progress.done)/\(progress.total) \(Int((100 * fraction).rounded(.down)))%"
            if let left = progress.secondsLeft { counts += " · \(Format.duration(left)) left" }
            x = frame.buffer.words(counts + "  ", x: x, y: y, style: style, limit: limit)
            frame.buffer.words(progress.doing, x: x + 2, y: y, style: style, limit: limit)
        }
        frame.buffer.text(right, x: state.width - rightWidth, y: y, style: style)
    }

    /// The key hints, or a message, or the line being typed after `/` or `:`.
    private static func bottomLine(_ state: AppState, _ frame: inout Frame, _ context: RenderContext, y: Int) {
        if let input = state.input {
            let prompt = input.kind == .search ? "/" : ":"
            let x = frame.buffer.text(prompt + input.text, x: 0, y: y, style: context[.text])
            frame.buffer.put("▏", x: x, y: y, style: context[.accent])
            let hint = input.kind == .search ? "Enter keep · Esc cancel · n/N next/previous" : "Enter run · Esc cancel · :help"
            frame.buffer.text(hint, x: state.width - DisplayWidth.of(hint) - 1, y: y, style: context[.hint])
            return
        }
        if let message = state.message {
            frame.buffer.text(" " + message.text, x: 0, y: y, style: message.isError ? context[.bad].adding(.bold) : context[.accent])
            return
        }
        var x = 1
        for (key, action) in Help.hints(state.page) {
            let width = DisplayWidth.of(key) + DisplayWidth.of(action) + 3
            if x + width > state.width { break }
            x = frame.buffer.text(key, x: x, y: y, style: context[.key])
            x = frame.buffer.text(" " + action + "  ", x: x, y: y, style: context[.hint])
        }
    }
}
