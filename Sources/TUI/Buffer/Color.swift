/// A colour as a theme names it: the terminal's own default, one of the 16 ANSI colours, or RGB.
/// The terminal backend maps it down to what the terminal can show (`ColorMode`).
public enum Color: Hashable, Sendable {
    case terminalDefault
    /// 0–7 the basic colours (black, red, green, yellow, blue, magenta, cyan, white), 8–15 their bright forms.
    case ansi(UInt8)
    case rgb(UInt8, UInt8, UInt8)

    /// Linear interpolation between two RGB colours (other colours snap to the nearer end).
    static func mix(_ a: Color, _ b: Color, _ t: Double) -> Color {
        guard case let .rgb(r1, g1, b1) = a, case let .rgb(r2, g2, b2) = b else { return t < 0.5 ? a : b }
        func lerp(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8((Double(x) + (Double(y) - Double(x)) * t).rounded()) }
        return .rgb(lerp(r1, r2), lerp(g1, g2), lerp(b1, b2))
    }

    /// Relative luminance in 0...1 (nil for the terminal default): picks readable text on a coloured cell.
    var luminance: Double? {
        switch self {
        case .terminalDefault: return nil
        case .ansi(let n): return Self.ansiRGB[Int(n)].luminance
        case let .rgb(r, g, b): return (0.2126 * Double(r) + 0.7152 * Double(g) + 0.0722 * Double(b)) / 255
        }
    }

    /// xterm's default RGB values of the 16 ANSI colours, for matching RGB colours to them.
    static let ansiRGB: [(r: Int, g: Int, b: Int, luminance: Double)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ].map { ($0.0, $0.1, $0.2, (0.2126 * Double($0.0) + 0.7152 * Double($0.1) + 0.0722 * Double($0.2)) / 255) }
}

/// What the terminal can show.
public enum ColorMode: String, Sendable, CaseIterable {
    case colors256 = "256 colours"
    case colors16 = "16 colours"
    case colors8 = "8 colours"
    /// No colour at all (a terminal without colours, or `NO_COLOR` set): attributes and characters only.
    case monochrome = "no colour"

    /// The mode for a terminal reporting `colors` colours, with `NO_COLOR` in the environment or not.
    public init(terminalColors colors: Int, noColor: Bool) {
        if noColor || colors < 8 { self = .monochrome }
        else if colors >= 256 { self = .colors256 }
        else if colors >= 16 { self = .colors16 }
        else { self = .colors8 }
    }

    /// Heatmaps draw two rows per text row with half blocks in 256 colours; with fewer colours a
    /// palette has too few steps, so each cell gets a shade character (in the nearest colour).
    var heatmapUsesShades: Bool { self != .colors256 }

    /// The terminal's colour number for `color` (-1: the terminal's default).
    public func terminalColor(_ color: Color) -> Int {
        switch (self, color) {
        case (.monochrome, _), (_, .terminalDefault): return -1
        case (.colors8, .ansi(let n)): return Int(n % 8)
        case (_, .ansi(let n)): return Int(n)
        case let (.colors256, .rgb(r, g, b)): return Self.xterm256(Int(r), Int(g), Int(b))
        case let (.colors16, .rgb(r, g, b)): return Self.nearestANSI(Int(r), Int(g), Int(b), among: 16)
        case let (.colors8, .rgb(r, g, b)): return Self.nearestANSI(Int(r), Int(g), Int(b), among: 8)
        }
    }

    private static func distance(_ r1: Int, _ g1: Int, _ b1: Int, _ r2: Int, _ g2: Int, _ b2: Int) -> Int {
        let (dr, dg, db) = (r1 - r2, g1 - g2, b1 - b2)
        return 2 * dr * dr + 4 * dg * dg + 3 * db * db
    }

    /// The nearest of xterm's 6×6×6 colour cube (16–231) and grey ramp (232–255).
    static func xterm256(_ r: Int, _ g: Int, _ b: Int) -> Int {
        let levels = [0, 95, 135, 175, 215, 255]
        func nearestLevel(_ v: Int) -> Int { levels.indices.min { abs(levels[$0] - v) < abs(levels[$1] - v) }! }
        let (ri, gi, bi) = (nearestLevel(r), nearestLevel(g), nearestLevel(b))
        let cube = 16 + 36 * ri + 6 * gi + bi
        let cubeDistance = distance(r, g, b, levels[ri], levels[gi], levels[bi])
        let grey = max(0, min(23, ((r + g + b) / 3 - 8 + 5) / 10))
        let greyValue = 8 + 10 * grey
        return distance(r, g, b, greyValue, greyValue, greyValue) < cubeDistance ? 232 + grey : cube
    }

    /// The nearest of the first `count` ANSI colours; a grey stays a grey (black, white, or with
    /// 16 colours bright black and bright white), instead of the nearest hue.
    static func nearestANSI(_ r: Int, _ g: Int, _ b: Int, among count: Int) -> Int {
        let greyish = max(r, g, b) - min(r, g, b) < 40
        let candidates = greyish ? [0, 7, 8, 15].filter { $0 < count } : Array(0..<count)
        return candidates.min { a, b2 in
            let x = Color.ansiRGB[a], y = Color.ansiRGB[b2]
            return distance(r, g, b, x.r, x.g, x.b) < distance(r, g, b, y.r, y.g, y.b)
        }!
    }
}
