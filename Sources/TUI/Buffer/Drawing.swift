import Foundation

/// How values map to colours on a heatmap and its legend.
struct HeatScale {
    let palette: Palette
    let low: Double
    let high: Double
    /// How the legend writes the scale's numbers.
    let format: (Double) -> String

    func fraction(_ value: Double) -> Double {
        guard high > low, value.isFinite else { return 0 }
        return min(max((value - low) / (high - low), 0), 1)
    }

    /// The colour for `value`, in one of 32 steps: a terminal shows no more than that of a palette,
    /// and neighbouring cells of the same step share one colour pair (less to send).
    func color(_ value: Double) -> Color { palette.color(at: (fraction(value) * 31).rounded() / 31) }

    /// The shade character for `value` where colours are not used: lowest `·`, highest `█`.
    func shade(_ value: Double) -> Unicode.Scalar {
        let ramp: [Unicode.Scalar] = ["·", "░", "▒", "▓", "█"]
        return ramp[min(ramp.count - 1, Int(fraction(value) * Double(ramp.count)))]
    }
}

/// What a heatmap cell says beyond its colour. Glyphs where a cell is one value; the mark's colour
/// where a half block holds two.
enum HeatMark {
    case cursor, marked, lit

    var glyph: Unicode.Scalar {
        switch self {
        case .cursor: return "◆"
        case .marked: return "×"
        case .lit: return "•"
        }
    }
}

/// One heatmap cell: its value (nil: not computed) and its mark.
struct HeatCell {
    var value: Double?
    var mark: HeatMark?
}

/// The theme and the terminal, as drawing needs them.
public struct RenderContext: Sendable {
    public let theme: Theme
    public let colorMode: ColorMode

    public init(theme: Theme, colorMode: ColorMode) {
        self.theme = theme
        self.colorMode = colorMode
    }

    /// Heatmaps as shade characters: no colour, too few colours, or a theme that asks for it.
    var shades: Bool { theme.shades || colorMode.heatmapUsesShades }

    subscript(element: Theme.Element) -> Style { theme[element] }

    func markStyle(_ mark: HeatMark) -> Style {
        switch mark {
        case .cursor: return theme[.cursor]
        case .marked: return theme[.marked]
        case .lit: return theme[.lit]
        }
    }
}

extension CellBuffer {
    /// A frame with its title in the top edge; returns the rectangle inside it.
    @discardableResult
    mutating func box(_ rect: Rect, title: String? = nil, context: RenderContext) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        let border = context[.border]
        for x in (rect.x + 1)..<(rect.maxX - 1) {
            put("─", x: x, y: rect.y, style: border)
            put("─", x: x, y: rect.maxY - 1, style: border)
        }
        for y in (rect.y + 1)..<(rect.maxY - 1) {
            put("│", x: rect.x, y: y, style: border)
            put("│", x: rect.maxX - 1, y: y, style: border)
        }
        put("┌", x: rect.x, y: rect.y, style: border)
        put("┐", x: rect.maxX - 1, y: rect.y, style: border)
        put("└", x: rect.x, y: rect.maxY - 1, style: border)
        put("┘", x: rect.maxX - 1, y: rect.maxY - 1, style: border)
        if let title, rect.width > 6 {
            // Shortened where a reader can stop (never a number cut), else abbreviated.
            let shortened = DisplayWidth.whole(title, rect.width - 6)
            text(" " + (shortened.isEmpty ? DisplayWidth.fit(title, rect.width - 6) : shortened) + " ", x: rect.x + 2, y: rect.y, style: context[.title], limit: rect.maxX - 2)
        }
        return rect.inset(by: 1)
    }

    /// A horizontal bar `width` columns long, filled to `fraction` in eighths of a column.
    mutating func bar(x: Int, y: Int, width: Int, fraction: Double, style: Style, context: RenderContext) {
        let eighths = Int((min(max(fraction.isFinite ? fraction : 0, 0), 1) * Double(width * 8)).rounded())
        let partial: [Unicode.Scalar] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        for column in 0..<width {
            let filled = eighths - column * 8
            if filled >= 8 { put("█", x: x + column, y: y, style: style) }
            else if filled > 0 { put(partial[filled - 1], x: x + column, y: y, style: style) }
            else { put("·", x: x + column, y: y, style: context[.barEmpty]) }
        }
    }

    /// One character per value, its height in `low...high`; values not computed yet are blank.
    mutating func sparkline(_ values: [Double?], x: Int, y: Int, low: Double, high: Double, style: Style) {
        let levels: [Unicode.Scalar] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        for (column, value) in values.enumerated() {
            guard let value else { continue }
            let t = high > low ? min(max((value - low) / (high - low), 0), 1) : 0
            put(levels[min(levels.count - 1, Int(t * Double(levels.count)))], x: x + column, y: y, style: style)
        }
    }

    /// A heatmap of `rows` × `columns` values from (x, y), `textRows` high. Each value row takes
    /// `halfRows` half rows: with 1, two rows share a text row as the halves of `▀` (top row in the
    /// foreground colour, bottom row in the background). With shades, a value row takes at least
    /// one text row (the caller gives `halfRows` ≥ 2).
    mutating func heatmap(x: Int, y: Int, columns: Int, rows: Int, halfRows: Int, textRows: Int, scale: HeatScale,
                          context: RenderContext, cell: (_ row: Int, _ column: Int) -> HeatCell) {
        let shades = context.shades
        for textRow in 0..<textRows {
            let top = (2 * textRow) / halfRows, bottom = (2 * textRow + 1) / halfRows
            guard top < rows else { break }
            for column in 0..<columns {
                let upper = cell(top, column)
                if shades || top == bottom {
                    drawWhole(upper, x: x + column, y: y + textRow, scale: scale, context: context)
                } else {
                    let lower: Color = bottom < rows ? halfColor(cell(bottom, column), scale, context) : context[.screen].background
                    put("▀", x: x + column, y: y + textRow, style: Style(foreground: halfColor(upper, scale, context), background: lower))
                }
            }
        }
    }

    private func halfColor(_ cell: HeatCell, _ scale: HeatScale, _ context: RenderContext) -> Color {
        if let mark = cell.mark { return context.markStyle(mark).foreground }
        return cell.value.map(scale.color) ?? .terminalDefault
    }

    /// A cell that shows one value: its colour as the background with the mark's glyph, or in
    /// shades its shade character (the mark's glyph in its style).
    private mutating func drawWhole(_ cell: HeatCell, x: Int, y: Int, scale: HeatScale, context: RenderContext) {
        guard let value = cell.value else {
            put(" ", x: x, y: y, style: context[.screen])
            return
        }
        if context.shades {
            if let mark = cell.mark { put(mark.glyph, x: x, y: y, style: context.markStyle(mark)) }
            else { put(scale.shade(value), x: x, y: y, style: Style(foreground: context.theme.shades ? .terminalDefault : scale.color(value))) }
            return
        }
        let background = scale.color(value)
        if let mark = cell.mark {
            put(mark.glyph, x: x, y: y, style: context.markStyle(mark).with(background: background))
        } else {
            put(" ", x: x, y: y, style: Style(background: background))
        }
    }

    /// A legend three rows high: `title`, the colour ramp, and the scale's numbers under its ends
    /// and middle.
    mutating func legend(x: Int, y: Int, width: Int, title: String, scale: HeatScale, context: RenderContext) {
        guard width >= 8 else { return }
        text(DisplayWidth.fit(title, width), x: x, y: y, style: context[.dim])
        for column in 0..<width {
            let value = scale.low + (scale.high - scale.low) * Double(column) / Double(max(width - 1, 1))
            if context.shades {
                put(scale.shade(value), x: x + column, y: y + 1, style: Style(foreground: context.theme.shades ? .terminalDefault : scale.color(value)))
            } else {
                put(" ", x: x + column, y: y + 1, style: Style(background: scale.color(value)))
            }
        }
        let low = scale.format(scale.low), middle = scale.format((scale.low + scale.high) / 2), high = scale.format(scale.high)
        let numbers = context[.text]
        text(low, x: x, y: y + 2, style: numbers)
        let middleX = x + (width - DisplayWidth.of(middle)) / 2
        if middleX > x + DisplayWidth.of(low) && middleX + DisplayWidth.of(middle) < x + width - DisplayWidth.of(high) {
            text(middle, x: middleX, y: y + 2, style: numbers)
        }
        text(high, x: x + width - DisplayWidth.of(high), y: y + 2, style: numbers)
    }

    /// A value written inside its heatmap colour, `width` columns: the colour as the background with
    /// readable text over it, or in shades the shade character before the number.
    mutating func tile(_ label: String, value: Double?, x: Int, y: Int, width: Int, scale: HeatScale, context: RenderContext, mark: Style? = nil) {
        guard let value else {
            text(DisplayWidth.padLeft("…", width - 1) + " ", x: x, y: y, style: context[.dim])
            return
        }
        if context.shades {
            put(scale.shade(value), x: x, y: y, style: Style(foreground: context.theme.shades ? .terminalDefault : scale.color(value)))
            text(DisplayWidth.padLeft(label, width - 2) + " ", x: x + 1, y: y, style: mark ?? context[.text])
            return
        }
        let background = scale.color(value)
        let foreground: Color = (background.luminance ?? 0) > 0.45 ? .rgb(0, 0, 0) : .rgb(255, 255, 255)
        var style = Style(foreground: foreground, background: background)
        if let mark { style = style.adding(mark.attributes.union(.bold)) }
        text(DisplayWidth.padLeft(label, width - 1) + " ", x: x, y: y, style: style)
    }
}

/// Number formats the views share.
enum Format {
    static func percent(_ value: Double?, digits: Int = 1) -> String {
        guard let value else { return "…" }
        return String(format: "%.\(digits)f%%", 100 * value)
    }

    static func fixed(_ value: Double?, _ digits: Int = 2) -> String {
        guard let value else { return "…" }
        return String(format: "%.\(digits)f", value)
    }

    static func signed(_ value: Double, _ digits: Int = 3) -> String { String(format: "%+.\(digits)f", value) }

    /// A change in percentage points, "+4.2" / "−12.5" / "0.0".
    static func points(_ change: Double) -> String {
        abs(change) < 0.0005 ? "0.0" : String(format: "%+.1f", 100 * change).replacingOccurrences(of: "-", with: "−")
    }

    /// Compact numbers for legends: 3 significant digits, scientific when tiny.
    static func compact(_ value: Double) -> String {
        if value == 0 { return "0" }
        if abs(value) < 0.001 || abs(value) >= 10000 { return String(format: "%.1e", value) }
        return String(format: "%.3g", value)
    }

    static func count(_ value: Int) -> String {
        if value >= 1_000_000_000 { return String(format: "%.2fB", Double(value) / 1e9) }
        if value >= 1_000_000 { return String(format: "%.2fM", Double(value) / 1e6) }
        if value >= 10_000 { return String(format: "%.1fK", Double(value) / 1e3) }
        return "\(value)"
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}
