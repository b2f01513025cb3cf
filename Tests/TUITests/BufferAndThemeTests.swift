import Foundation
import Model
import Tensors
import Testing
import TUI

/// The cell buffer the views draw into, and the themes and colour modes they draw with.
@Suite struct BufferAndThemeTests {
    @Test func textIsClippedAndReadBack() {
        var buffer = CellBuffer(width: 10, height: 2)
        let end = buffer.text("hello world", x: 2, y: 0, style: .plain, limit: 8)
        #expect(end == 8)
        #expect(buffer.line(0) == "  hello   ")
        buffer.text("ab\ncd", x: 0, y: 1, style: .plain)
        #expect(buffer.line(1).hasPrefix("ab·cd"), "control characters show as ·")
        #expect(buffer.text == "  hello\nab·cd")
        #expect(buffer.find("llo")?.x == 4)
        #expect(buffer.find("llo")?.y == 0)
    }

    @Test func wideCharactersTakeTwoColumns() {
        var buffer = CellBuffer(width: 6, height: 1)
        let end = buffer.text("日本x", x: 0, y: 0, style: .plain)
        #expect(end == 5)
        #expect(buffer[1, 0].scalar == Cell.continuation)
        #expect(buffer.line(0) == "日本x ")
        #expect(DisplayWidth.of("日本x") == 5)
        #expect(DisplayWidth.fit("specialization", 6) == "speci…")
        #expect(DisplayWidth.padLeft("7", 3) == "  7")
    }

    @Test func textWithoutBackgroundKeepsTheCellsBackground() {
        var buffer = CellBuffer(width: 4, height: 1, style: Style(background: .rgb(255, 255, 255)))
        buffer.text("ab", x: 0, y: 0, style: Style(foreground: .rgb(0, 0, 0)))
        #expect(buffer[0, 0].style.background == .rgb(255, 255, 255))
        buffer.fill(Rect(x: 0, y: 0, width: 4, height: 1), style: .plain)
        #expect(buffer[0, 0].style.background == .terminalDefault, "fill clears backgrounds too")
    }

    @Test func shippedThemesLoad() throws {
        let themes = Scenario.themes
        #expect(Set(themes.themes.map(\.name)).isSuperset(of: ["default", "colorblind", "light", "monochrome"]))
        #expect(themes.themes[0].name == "default")
        #expect(themes.monochrome.name == "monochrome")
        #expect(themes.monochrome.shades)
        let (_, index) = try themes.selecting("light")
        #expect(themes.themes[index].name == "light")
        #expect(themes.themes.first { $0.name == "light" }?[.screen].background == .rgb(0xff, 0xff, 0xff))
    }

    @Test func themeFileProblemsNameTheFileAndLine() throws {
        let folder = NSTemporaryDirectory() + "neurotop-theme-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let original = try String(contentsOfFile: Scenario.themesFolder + "/default.theme", encoding: .utf8)

        let unknown = folder + "/unknown.theme"
        try (original + "\nsparkle = #ffffff\n").write(toFile: unknown, atomically: true, encoding: .utf8)
        let lines = original.components(separatedBy: "\n").count + 1
        #expect(throws: InputError(unknown, "line \(lines): unknown key 'sparkle'; the keys are name, shades, heatmap, diverging, " + Theme.Element.allCases.map(\.rawValue).joined(separator: ", "))) {
            try Theme.load(path: unknown)
        }

        let badColour = folder + "/colour.theme"
        try original.replacingOccurrences(of: "text = #d0d0d0", with: "text = #d0d0zz").write(toFile: badColour, atomically: true, encoding: .utf8)
        #expect(throws: InputError.self) { try Theme.load(path: badColour) }
        do { _ = try Theme.load(path: badColour) } catch let error as InputError {
            #expect(error.path == badColour)
            #expect(error.problem.contains("'#d0d0zz' is not a colour"))
            #expect(error.problem.hasPrefix("line "))
        }

        let missing = folder + "/missing.theme"
        try "name = half\ntext = default\n".write(toFile: missing, atomically: true, encoding: .utf8)
        do { _ = try Theme.load(path: missing); Issue.record("a theme missing keys loaded") } catch let error as InputError {
            #expect(error.path == missing)
            #expect(error.problem.hasPrefix("missing screen, dim, title"))
        }

        // A file given by path joins the shipped themes; an unknown name lists them.
        let copy = folder + "/mine.theme"
        try original.replacingOccurrences(of: "name = default", with: "name = mine").write(toFile: copy, atomically: true, encoding: .utf8)
        let (themes, index) = try Scenario.themes.selecting(copy)
        #expect(themes.themes[index].name == "mine")
        #expect(throws: InputError("", "no theme 'neon'; the themes are " + Scenario.themes.themes.map(\.name).joined(separator: ", ") + ", or give a theme file's path")) {
            try Scenario.themes.selecting("neon")
        }
    }

    @Test func coloursMapDownToWhatTheTerminalHas() {
        #expect(ColorMode(terminalColors: 256, noColor: false) == .colors256)
        #expect(ColorMode(terminalColors: 8, noColor: false) == .colors8)
        #expect(ColorMode(terminalColors: 16, noColor: false) == .colors16)
        #expect(ColorMode(terminalColors: 256, noColor: true) == .monochrome)
        #expect(ColorMode(terminalColors: 0, noColor: false) == .monochrome)
        #expect(ColorMode.colors256.terminalColor(.rgb(255, 0, 0)) == 196)
        #expect(ColorMode.colors256.terminalColor(.rgb(0x5f, 0xaf, 0xff)) == 75)
        #expect(ColorMode.colors256.terminalColor(.rgb(0x80, 0x80, 0x80)) == 244)
        #expect(ColorMode.colors16.terminalColor(.rgb(250, 10, 10)) == 9)
        #expect(ColorMode.colors8.terminalColor(.rgb(250, 10, 10)) == 1)
        #expect(ColorMode.colors8.terminalColor(.ansi(12)) == 4)
        #expect(ColorMode.colors8.terminalColor(.rgb(0x8a, 0x8a, 0x8a)) == 7, "a grey stays grey, not the nearest hue")
        #expect(ColorMode.colors16.terminalColor(.rgb(0x8a, 0x8a, 0x8a)) == 8)
        #expect(ColorMode.colors256.terminalColor(.terminalDefault) == -1)
        #expect(ColorMode.monochrome.terminalColor(.rgb(255, 0, 0)) == -1)
        let palette = Palette([.rgb(0, 0, 0), .rgb(200, 100, 0)])
        #expect(palette.color(at: 0.5) == .rgb(100, 50, 0))
        #expect(palette.color(at: 7) == .rgb(200, 100, 0))
    }

    @Test func ablationSetsRoundTripThroughAFile() throws {
        let path = NSTemporaryDirectory() + "neurotop-ablation-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let neurons = [NeuronID(block: 1, neuron: 5), NeuronID(block: 0, neuron: 17)]
        try AblationFile.write(neurons, to: path)
        #expect(try AblationFile.read(path) == neurons)
        try "# mine\n1:5, 0:17\n\n2:x\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: InputError(path, "line 4: '2:x' is not a neuron: write BLOCK:INDEX, e.g. 5:112")) { try AblationFile.read(path) }
    }
}
