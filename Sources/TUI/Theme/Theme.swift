import Foundation
import Checkpoints
import Tensors

/// A run of colours a value is mapped onto, low to high, interpolated between its stops.
public struct Palette: Sendable, Equatable {
    public let stops: [Color]

    public init(_ stops: [Color]) {
        precondition(!stops.isEmpty)
        self.stops = stops
    }

    /// The colour at `t` in 0...1.
    public func color(at t: Double) -> Color {
        guard stops.count > 1 else { return stops[0] }
        let position = min(max(t.isFinite ? t : 0, 0), 1) * Double(stops.count - 1)
        let low = min(Int(position), stops.count - 2)
        return Color.mix(stops[low], stops[low + 1], position - Double(low))
    }
}

/// UI styles and heatmap palettes, read from a small text file in `themes/` that a user can copy
/// and edit.
public struct Theme: Sendable {
    /// What a theme styles. The raw values are the keys of a theme file.
    public enum Element: String, CaseIterable, Sendable {
        case screen, text, dim, title, border, accent
        case tabs, tabActive = "tab.active"
        case status, statusError = "status.error", hint, key
        case selection, cursor, marked, lit, good, bad
        case bar, barEmpty = "bar.empty"
        case domainA = "domain.a", domainB = "domain.b", domainBoth = "domain.both"
    }

    public let name: String
    /// The file the theme was read from.
    public let path: String
    let styles: [Element: Style]
    /// Sequential values (s, u_d, density, similarity), low to high.
    public let heatmap: Palette
    /// Signed values (Δ), negative through zero to positive.
    public let diverging: Palette
    /// Heatmaps drawn with shade characters (░▒▓█) instead of colours, as with no colour at all.
    public let shades: Bool

    public subscript(element: Element) -> Style { styles[element] ?? .plain }

    init(name: String, path: String, styles: [Element: Style], heatmap: Palette, diverging: Palette, shades: Bool) {
        self.name = name
        self.path = path
        self.styles = styles
        self.heatmap = heatmap
        self.diverging = diverging
        self.shades = shades
    }

    /// Reads a theme file: `KEY = VALUE` lines, comment lines starting with `#`. Every element is required, so a
    /// copied file says everything it changes; each problem names the file and the line.
    public static func load(path: String) throws -> Theme {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(path, "cannot read the theme file")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw InputError(path, "the theme file is not UTF-8 text") }
        return try parse(text, path: path)
    }

    static func parse(_ text: String, path: String) throws -> Theme {
        var name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var styles: [Element: Style] = [:]
        var heatmap: Palette?, diverging: Palette?
        var shades = false
        for (offset, raw) in text.components(separatedBy: "\n").enumerated() {
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let number = offset + 1
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw InputError(path, "line \(number): expected KEY = VALUE, got '\(trimmed)'")
            }
            let key = trimmed[..<equals].trimmingCharacters(in: .whitespaces)
            let value = trimmed[trimmed.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            func fail(_ problem: String) -> InputError { InputError(path, "line \(number): \(problem)") }
            switch key {
            case "name": name = value
            case "shades":
                guard value == "yes" || value == "no" else { throw fail("shades is yes or no, not '\(value)'") }
                shades = value == "yes"
            case "heatmap", "diverging":
                let colors = try value.split(separator: " ").map { word -> Color in
                    guard let color = parseColor(String(word)) else { throw fail("'\(word)' is not a colour (#rrggbb, an ANSI name, or default)") }
                    return color
                }
                guard colors.count >= 2 else { throw fail("\(key) needs at least two colours, low to high") }
                if key == "heatmap" { heatmap = Palette(colors) } else { diverging = Palette(colors) }
            default:
                guard let element = Element(rawValue: key) else {
                    throw fail("unknown key '\(key)'; the keys are name, shades, heatmap, diverging, " + Element.allCases.map(\.rawValue).joined(separator: ", "))
                }
                styles[element] = try parseStyle(value, fail: fail)
            }
        }
        let missing = Element.allCases.filter { styles[$0] == nil }.map(\.rawValue) + (heatmap == nil ? ["heatmap"] : []) + (diverging == nil ? ["diverging"] : [])
        guard missing.isEmpty, let heatmap, let diverging else {
            throw InputError(path, "missing " + missing.joined(separator: ", ") + " (copy a shipped theme and edit it)")
        }
        return Theme(name: name, path: path, styles: styles, heatmap: heatmap, diverging: diverging, shades: shades)
    }

    /// `[FOREGROUND] [on BACKGROUND] [bold] [dim] [reverse] [underline]`.
    static func parseStyle(_ value: String, fail: (String) -> InputError) throws -> Style {
        var style = Style()
        var words = value.split(separator: " ").map(String.init)[...]
        while let word = words.popFirst() {
            switch word {
            case "bold": style.attributes.insert(.bold)
            case "dim": style.attributes.insert(.dim)
            case "reverse": style.attributes.insert(.reverse)
            case "underline": style.attributes.insert(.underline)
            case "on":
                guard let next = words.popFirst(), let color = parseColor(next) else { throw fail("'on' needs a background colour") }
                style.background = color
            default:
                guard let color = parseColor(word) else {
                    throw fail("'\(word)' is not a colour (#rrggbb, an ANSI name such as bright-blue, or default) nor bold, dim, reverse, underline")
                }
                style.foreground = color
            }
        }
        return style
    }

    static let ansiNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    static func parseColor(_ word: String) -> Color? {
        if word == "default" { return .terminalDefault }
        if let index = ansiNames.firstIndex(of: word) { return .ansi(UInt8(index)) }
        if word.hasPrefix("bright-"), let index = ansiNames.firstIndex(of: String(word.dropFirst(7))) { return .ansi(UInt8(8 + index)) }
        guard word.hasPrefix("#"), word.count == 7, let value = UInt32(word.dropFirst(), radix: 16) else { return nil }
        return .rgb(UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff))
    }
}

/// The themes a session can cycle through: the shipped ones in `themes/`, plus a file named
/// with `--theme PATH`.
public struct ThemeSet: Sendable {
    public let themes: [Theme]

    public init(themes: [Theme]) {
        precondition(!themes.isEmpty)
        self.themes = themes
    }

    /// Every `*.theme` in `folder`, `default` first, then by name.
    public static func load(folder: String) throws -> ThemeSet {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        let files = names.filter { $0.hasSuffix(".theme") }.sorted { ($0 == "default.theme" ? "" : $0) < ($1 == "default.theme" ? "" : $1) }
        guard !files.isEmpty else { throw InputError(folder, "no *.theme files in the themes folder") }
        return ThemeSet(themes: try files.map { try Theme.load(path: (folder as NSString).appendingPathComponent($0)) })
    }

    /// The themes folder that ships beside the data folder (`data/../themes`).
    public static func shippedFolder() throws -> String {
        ((try ShippedData.root() as NSString).deletingLastPathComponent as NSString).appendingPathComponent("themes")
    }

    /// The index of the theme `nameOrPath` names (a shipped theme's name, or a theme file), adding
    /// a file that is not among the shipped ones.
    public func selecting(_ nameOrPath: String) throws -> (ThemeSet, Int) {
        if let index = themes.firstIndex(where: { $0.name == nameOrPath || (($0.path as NSString).lastPathComponent as NSString).deletingPathExtension == nameOrPath }) {
            return (self, index)
        }
        guard nameOrPath.contains("/") || nameOrPath.hasSuffix(".theme") else {
            throw InputError("", "no theme '\(nameOrPath)'; the themes are " + themes.map(\.name).joined(separator: ", ") + ", or give a theme file's path")
        }
        let theme = try Theme.load(path: nameOrPath)
        return (ThemeSet(themes: themes + [theme]), themes.count)
    }

    /// The monochrome theme (shades, no colours): used when the terminal has no colour.
    public var monochrome: Theme { themes.first { $0.shades } ?? themes[0] }
}
