/// Text attributes a cell can carry; every terminal has these, with or without colour.
public struct Attributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let bold = Attributes(rawValue: 1)
    public static let dim = Attributes(rawValue: 2)
    public static let reverse = Attributes(rawValue: 4)
    public static let underline = Attributes(rawValue: 8)
}

public struct Style: Hashable, Sendable {
    public var foreground: Color
    public var background: Color
    public var attributes: Attributes

    public init(foreground: Color = .terminalDefault, background: Color = .terminalDefault, attributes: Attributes = []) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
    }

    public static let plain = Style()

    func with(foreground: Color) -> Style { Style(foreground: foreground, background: background, attributes: attributes) }
    func with(background: Color) -> Style { Style(foreground: foreground, background: background, attributes: attributes) }
    func adding(_ extra: Attributes) -> Style { Style(foreground: foreground, background: background, attributes: attributes.union(extra)) }
}

public struct Cell: Equatable, Sendable {
    public var scalar: Unicode.Scalar
    public var style: Style

    /// The right half of a double-width character: the backend skips it.
    public static let continuation: Unicode.Scalar = "\u{0}"

    public init(_ scalar: Unicode.Scalar, _ style: Style) {
        self.scalar = scalar
        self.style = style
    }
}

/// A rectangle of cells, in columns and rows from the buffer's top left.
public struct Rect: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }

    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }

    func inset(by amount: Int) -> Rect { Rect(x: x + amount, y: y + amount, width: width - 2 * amount, height: height - 2 * amount) }

    /// The top `rows` rows, and the rest below them.
    func splitTop(_ rows: Int) -> (top: Rect, rest: Rect) {
        let top = min(max(rows, 0), height)
        return (Rect(x: x, y: y, width: width, height: top), Rect(x: x, y: y + top, width: width, height: height - top))
    }

    /// The left `columns` columns, and the rest right of them.
    func splitLeft(_ columns: Int) -> (left: Rect, rest: Rect) {
        let left = min(max(columns, 0), width)
        return (Rect(x: x, y: y, width: left, height: height), Rect(x: x + left, y: y, width: width - left, height: height))
    }
}

/// The screen as values: what a view draws, what tests read back, and what the backend copies to
/// the terminal. Everything drawn is clipped to the buffer.
public struct CellBuffer: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]
    /// Texts `text(_:x:y:style:limit:)` had to cut at their limit: part shown, part not. A layout
    /// that fits its texts (or abbreviates them with `…` itself) leaves this empty.
    public private(set) var cut: [String] = []

    public init(width: Int, height: Int, style: Style = .plain) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(" ", style), count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell { cells[y * width + x] }

    /// Sets one cell. A style without a background keeps the cell's background, so text drawn
    /// over a filled area (a light theme's screen, a selected row) stays on it.
    public mutating func put(_ scalar: Unicode.Scalar, x: Int, y: Int, style: Style) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        let index = y * width + x
        cells[index] = Cell(scalar, style.background == .terminalDefault ? style.with(background: cells[index].style.background) : style)
    }

    /// Sets every cell of `rect`, background included (clears what was there).
    public mutating func fill(_ rect: Rect, _ scalar: Unicode.Scalar = " ", style: Style) {
        for y in max(rect.y, 0)..<min(rect.maxY, height) {
            for x in max(rect.x, 0)..<min(rect.maxX, width) { cells[y * width + x] = Cell(scalar, style) }
        }
    }

    /// Writes `text` from (x, y), stopping before column `limit` (the buffer's edge by default).
    /// Control characters show as `·`; double-width characters take two columns. Returns the
    /// column after the last one written.
    @discardableResult
    public mutating func text(_ text: String, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        let end = min(limit ?? width, width)
        var column = x
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            let shown = DisplayWidth.isControl(scalar) ? "·" : scalar
            let columns = DisplayWidth.of(shown)
            if columns == 0 { continue }
            if column + columns > end {
                let rest = String(String.UnicodeScalarView(text.unicodeScalars.dropFirst(offset)))
                if column > x, y >= 0, y < height, rest.contains(where: { $0 != " " }) { cut.append("row \(y): \(text)") }
                break
            }
            put(shown, x: column, y: y, style: style)
            if columns == 2 { put(Cell.continuation, x: column + 1, y: y, style: style) }
            column += columns
        }
        return column
    }

    /// One row as the user reads it (continuation cells dropped, trailing spaces kept).
    public func line(_ y: Int) -> String {
        var scalars = String.UnicodeScalarView()
        for x in 0..<width where self[x, y].scalar != Cell.continuation { scalars.append(self[x, y].scalar) }
        return String(scalars)
    }

    /// The whole buffer as text, one line a row, trailing spaces removed: what a test asserts on
    /// and what the README shows.
    public var text: String {
        (0..<height).map { y in
            var line = Substring(line(y))
            while line.last == " " { line.removeLast() }
            return String(line)
        }.joined(separator: "\n")
    }

    /// The first (x, y) where `needle` starts, reading rows top to bottom.
    public func find(_ needle: String) -> (x: Int, y: Int)? {
        for y in 0..<height {
            let row = line(y)
            if let range = row.range(of: needle) { return (row.unicodeScalars[..<range.lowerBound].count, y) }
        }
        return nil
    }
}

/// How many columns a character takes: 0 for combining marks, 2 for East Asian wide characters
/// and emoji, 1 otherwise.
public enum DisplayWidth {
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (scalar.value >= 0x7f && scalar.value < 0xa0)
    }

    static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        // Nothing below the combining marks (U+0300) is wide or zero-width: the common case, fast.
        if v < 0x300 { return 1 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        let wide: [ClosedRange<UInt32>] = [0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
                                            0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
                                            0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD]
        return wide.contains { $0.contains(v) } ? 2 : 1
    }

    /// Columns `text` takes on screen.
    public static func of(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + (isControl($1) ? 1 : of($1)) }
    }

    /// `text` cut to `columns`, with `…` where it was cut.
    public static func fit(_ text: String, _ columns: Int) -> String {
        guard columns > 0 else { return "" }
        if of(text) <= columns { return text }
        var kept = String.UnicodeScalarView(), used = 0
        for scalar in text.unicodeScalars {
            let w = isControl(scalar) ? 1 : of(scalar)
            if used + w > columns - 1 { break }
            kept.append(scalar)
            used += w
        }
        return String(kept) + "…"
    }

    /// `text` padded with spaces (or cut) to exactly `columns`.
    public static func pad(_ text: String, _ columns: Int) -> String {
        let fitted = fit(text, columns)
        return fitted + String(repeating: " ", count: max(0, columns - of(fitted)))
    }

    /// `text` right-aligned in `columns`.
    public static func padLeft(_ text: String, _ columns: Int) -> String {
        let fitted = fit(text, columns)
        return String(repeating: " ", count: max(0, columns - of(fitted))) + fitted
    }
}
