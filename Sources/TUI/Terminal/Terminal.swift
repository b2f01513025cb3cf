import CNcurses
import Foundation
import Checkpoints
import Tensors

/// Raw input from the terminal, before it is given meaning by the front end.
enum TerminalInput {
    case key(Key)
    case click(x: Int, y: Int)
    case wheel(Int)
    case resize
}

/// The thin ncurses backend: sets the terminal up, copies a cell buffer to the screen (only the
/// cells that changed), reads keys and mouse events, and restores the terminal. Use from the UI
/// thread only: ncurses is not thread-safe.
final class Terminal {
    let colorMode: ColorMode
    /// Colour pairs made so far, by the cell colours they show (matching a colour is not free).
    private var pairs: [ColorPair: Int32] = [:]

    private struct ColorPair: Hashable {
        let foreground: Color
        let background: Color
    }
    private var shown: CellBuffer?
    private var restored = false

    /// Sets the terminal up; fails with a clear message when stdin or stdout is not a terminal
    /// (ncurses would then read `ERR` forever).
    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        try App.requireTerminal()
        EmergencyRestore.saveTerminalModes()
        setlocale(LC_ALL, "")
        // Esc alone must not wait a second for the rest of an escape sequence.
        set_escdelay(25)
        guard initscr() != nil else { throw InputError("", "cannot start the terminal (TERM=\(environment["TERM"] ?? "unset"))") }
        raw()
        noecho()
        nonl()
        keypad(nt_stdscr(), true)
        nodelay(nt_stdscr(), true)
        curs_set(0)
        mouseinterval(0)
        mousemask(nt_button1_pressed() | nt_wheel_up() | nt_wheel_down(), nil)
        var colors = 0
        if has_colors() {
            start_color()
            use_default_colors()
            colors = Int(nt_colors())
        }
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        colorMode = ColorMode(terminalColors: colors, noColor: noColor)
        EmergencyRestore.prepare()
    }

    /// A screen that writes to `path` instead of the user's terminal, as a terminal of `type`
    /// sized `width`×`height`: what the benchmark times the backend on.
    init(writingTo path: String, type: String, width: Int, height: Int) throws {
        guard let output = fopen(path, "w"), let input = fopen("/dev/null", "r"), newterm(type, output, input) != nil else {
            throw InputError(path, "cannot start an ncurses screen of type \(type) writing here")
        }
        resizeterm(Int32(height), Int32(width))
        start_color()
        use_default_colors()
        colorMode = ColorMode(terminalColors: Int(nt_colors()), noColor: false)
    }

    deinit { restore() }

    var width: Int { Int(nt_max_x(nt_stdscr())) }
    var height: Int { Int(nt_max_y(nt_stdscr())) }

    /// Gives the terminal back as it was: called on quit, on error and on signals.
    func restore() {
        guard !restored else { return }
        restored = true
        mousemask(0, nil)
        curs_set(1)
        endwin()
    }

    /// Takes the terminal back after `restore` (the shell's `fg` after Ctrl-z): ncurses returns to
    /// its own mode on the next refresh; the cursor, the mouse and the whole screen are set again.
    func resume() {
        guard restored else { return }
        restored = false
        refresh()
        curs_set(0)
        mousemask(nt_button1_pressed() | nt_wheel_up() | nt_wheel_down(), nil)
        invalidate()
    }

    /// Copies `buffer` to the screen: the cells that differ from the last frame, then one refresh.
    func draw(_ buffer: CellBuffer) {
        if let shown, shown.width != buffer.width || shown.height != buffer.height {
            clear()
            self.shown = nil
        }
        // Neighbouring cells mostly share their colours: the last pair is kept at hand.
        var last: (colors: ColorPair, pair: Int32)?
        for y in 0..<buffer.height {
            for x in 0..<buffer.width {
                let cell = buffer[x, y]
                if cell.scalar == Cell.continuation { continue }
                if let shown, shown[x, y] == cell { continue }
                let colors = ColorPair(foreground: cell.style.foreground, background: cell.style.background)
                let pair = last?.colors == colors ? last!.pair : pair(colors)
                last = (colors, pair)
                nt_put(Int32(y), Int32(x), wchar_t(bitPattern: cell.scalar.value), attributes(cell.style.attributes), pair)
            }
        }
        shown = buffer
        refresh()
    }

    /// Forgets what is on screen, so the next frame is drawn whole.
    func invalidate() {
        shown = nil
        clear()
    }

    private func attributes(_ attributes: Attributes) -> attr_t {
        var bits = nt_a_normal()
        if attributes.contains(.bold) { bits |= nt_a_bold() }
        if attributes.contains(.dim) { bits |= nt_a_dim() }
        if attributes.contains(.reverse) { bits |= nt_a_reverse() }
        if attributes.contains(.underline) { bits |= nt_a_underline() }
        return bits
    }

    private func pair(_ key: ColorPair) -> Int32 {
        guard colorMode != .monochrome else { return 0 }
        if let known = pairs[key] { return known }
        let foreground = colorMode.terminalColor(key.foreground), background = colorMode.terminalColor(key.background)
        let made = foreground < 0 && background < 0 ? 0 : alloc_pair(Int32(foreground), Int32(background))
        let pair = made < 0 ? 0 : made
        pairs[key] = pair
        return pair
    }

    /// Every input waiting now (none: an empty list, at once).
    func read() -> [TerminalInput] {
        var inputs: [TerminalInput] = []
        while true {
            var value: wint_t = 0
            let kind = get_wch(&value)
            if kind == ERR { break }
            if kind == KEY_CODE_YES {
                if let input = functionKey(Int32(value)) { inputs.append(input) }
            } else if let input = character(UInt32(value)) {
                inputs.append(.key(input))
            }
        }
        return inputs
    }

    private func functionKey(_ code: Int32) -> TerminalInput? {
        switch code {
        case KEY_UP: return .key(.up)
        case KEY_DOWN: return .key(.down)
        case KEY_LEFT: return .key(.left)
        case KEY_RIGHT: return .key(.right)
        case KEY_PPAGE: return .key(.pageUp)
        case KEY_NPAGE: return .key(.pageDown)
        case KEY_HOME: return .key(.home)
        case KEY_END: return .key(.end)
        case KEY_ENTER: return .key(.enter)
        case KEY_BACKSPACE: return .key(.backspace)
        case KEY_DC: return .key(.delete)
        case KEY_BTAB: return .key(.backTab)
        case KEY_RESIZE: return .resize
        case KEY_MOUSE:
            var event = MEVENT()
            guard getmouse(&event) == OK else { return nil }
            if event.bstate & nt_wheel_up() != 0 { return .wheel(-1) }
            if event.bstate & nt_wheel_down() != 0 { return .wheel(1) }
            if event.bstate & (nt_button1_pressed() | nt_button1_clicked()) != 0 { return .click(x: Int(event.x), y: Int(event.y)) }
            return nil
        default: return nil
        }
    }

    private func character(_ value: UInt32) -> Key? {
        switch value {
        case 10, 13: return .enter
        case 27: return .escape
        case 9: return .tab
        case 8, 127: return .backspace
        case 1...26: return .control(Character(Unicode.Scalar(value + 96)!))
        default: return Unicode.Scalar(value).map { .character(Character($0)) }
        }
    }
}

/// Gives the terminal back from a signal handler, where ncurses must not be called: the terminal
/// modes saved before ncurses changed them, and the escape sequences that leave the alternate
/// screen, show the cursor and stop mouse reports, all written with async-signal-safe calls.
private enum EmergencyRestore {
    nonisolated(unsafe) static var modes = termios()
    nonisolated(unsafe) static var saved = false
    nonisolated(unsafe) static var sequence: UnsafeMutablePointer<CChar>?

    static func saveTerminalModes() {
        saved = tcgetattr(STDIN_FILENO, &modes) == 0
    }

    /// Called once ncurses has read the terminal's description (the sequences come from it).
    static func prepare() {
        var text = "\u{1B}[?1000l\u{1B}[?1002l\u{1B}[?1006l"
        for capability in ["sgr0", "cnorm", "rmcup"] {
            if let value = tigetstr(capability), Int(bitPattern: value) > 0 { text += String(cString: value) }
        }
        free(sequence)
        sequence = strdup(text)
        MappedFile.onFatalSignal {
            if let sequence = EmergencyRestore.sequence { _ = write(STDOUT_FILENO, sequence, strlen(sequence)) }
            if EmergencyRestore.saved { tcsetattr(STDIN_FILENO, TCSANOW, &EmergencyRestore.modes) }
        }
    }
}
