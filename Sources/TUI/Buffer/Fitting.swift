/// Texts made to fit a width without cutting a word or a number: shortened where a reader can
/// stop, or wrapped onto more lines.
extension DisplayWidth {
    /// The longest beginning of `text` that fits `columns` and ends where a reader can stop: at a
    /// double space, before " · " or " (" or " —", else at a space. Empty when not even the first
    /// word fits; trailing spaces dropped.
    public static func whole(_ text: String, _ columns: Int) -> String {
        if of(text) <= columns { return text }
        let scalars = Array(text.unicodeScalars)
        var used = 0, fits = 0
        while fits < scalars.count, used + of(scalars[fits]) <= columns {
            used += of(scalars[fits])
            fits += 1
        }
        func prefix(_ count: Int) -> String {
            var kept = String(String.UnicodeScalarView(scalars[..<count]))
            while kept.last == " " { kept.removeLast() }
            return kept
        }
        // A stop: the character after it (which did not fit, or follows) is a space.
        var best: Int?, bestSpace: Int?
        for index in stride(from: fits, through: 1, by: -1) where index < scalars.count && scalars[index] == " " {
            if bestSpace == nil { bestSpace = index }
            let next = index + 1 < scalars.count ? scalars[index + 1] : " "
            if scalars[index - 1] == " " || ["·", "(", "—"].contains(next) {
                best = index
                break
            }
        }
        guard let bestSpace else { return "" }
        var kept = prefix(best.map { $0 * 2 >= bestSpace ? $0 : bestSpace } ?? bestSpace)
        // Never an opened parenthesis left unclosed: stop at the space before it instead.
        while kept.filter({ $0 == "(" }).count > kept.filter({ $0 == ")" }).count, let open = kept.lastIndex(of: "(") {
            guard let space = kept[..<open].lastIndex(of: " ") else { return "" }
            kept = String(kept[..<space])
            while kept.last == " " { kept.removeLast() }
        }
        return kept
    }

    /// `text` in lines of at most `columns`, broken at spaces; a word longer than a line is
    /// abbreviated with `…`.
    public static func wrap(_ text: String, _ columns: Int) -> [String] {
        guard columns > 0 else { return [] }
        var lines: [String] = [], current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let candidate = current.isEmpty ? word : current + " " + word
            if of(candidate) <= columns {
                current = candidate
            } else {
                if !current.isEmpty { lines.append(current) }
                current = fit(word, columns)
            }
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines.map { line in
            var line = line
            while line.last == " " { line.removeLast() }
            return line
        }
    }
}

extension CellBuffer {
    /// Writes the longest beginning of `text` that ends where a reader can stop and fits before
    /// `limit` (`DisplayWidth.whole`). Returns the column after the last one written.
    @discardableResult
    public mutating func words(_ text: String, x: Int, y: Int, style: Style, limit: Int? = nil) -> Int {
        self.text(DisplayWidth.whole(text, min(limit ?? width, width) - x), x: x, y: y, style: style)
    }

    /// Writes `text` wrapped to the columns from `x` to `limit`, from row `y` down to at most row
    /// `maxY - 1` (lines that do not fit are left out whole). Returns the row after the last one.
    @discardableResult
    public mutating func wrapped(_ text: String, x: Int, y: Int, style: Style, limit: Int, maxY: Int) -> Int {
        var row = y
        for line in DisplayWidth.wrap(text, limit - x) where row < maxY {
            self.text(line, x: x, y: row, style: style)
            row += 1
        }
        return row
    }
}
