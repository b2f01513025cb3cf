import Foundation
import Analysis

/// What `neurotop bench ui` times in process: drawing each page into the cell buffer, and that
/// plus copying the whole frame to an ncurses screen (writing to /dev/null).
public enum UIBenchmark {
    public struct FrameTimes {
        /// Milliseconds per frame, per page.
        public let render: [Page: [Double]]
        public let renderAndCopy: [Page: [Double]]
        public let colorMode: ColorMode
    }

    public static func frames(_ snapshot: AnalysisSnapshot, themes: ThemeSet, width: Int, height: Int, runs: Int) throws -> FrameTimes {
        let terminal = try Terminal(writingTo: "/dev/null", type: "xterm-256color", width: width, height: height)
        defer { terminal.restore() }
        let context = RenderContext(theme: themes.themes[0], colorMode: terminal.colorMode)
        // One state a page, as in a session (its caches warm after the first frame).
        let states = Page.allCases.map { page -> AppState in
            var state = AppState(width: width, height: height, themeNames: themes.themes.map(\.name))
            _ = state.handle(.key(.character(Character("\(page.rawValue + 1)"))), snapshot: snapshot)
            return state
        }
        var render: [Page: [Double]] = [:], both: [Page: [Double]] = [:]
        for _ in 0..<runs {
            for state in states {
                let start = DispatchTime.now().uptimeNanoseconds
                let frame = Screen.render(state, snapshot, context)
                let rendered = DispatchTime.now().uptimeNanoseconds
                terminal.invalidate()
                terminal.draw(frame.buffer)
                let copied = DispatchTime.now().uptimeNanoseconds
                render[state.page, default: []].append(Double(rendered - start) / 1e6)
                both[state.page, default: []].append(Double(copied - start) / 1e6)
            }
        }
        return FrameTimes(render: render, renderAndCopy: both, colorMode: terminal.colorMode)
    }
}
