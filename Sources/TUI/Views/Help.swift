/// The keys of each page: the bottom bar's hints and the `?` overlay.
enum Help {
    static func pageKeys(_ page: Page) -> [(String, String)] {
        switch page {
        case .overview:
            return [("Enter", "the Neurons heatmap")]
        case .neurons:
            return [("← → h l", "previous / next column (the strongest neuron of each bin)"),
                    ("↑ ↓ j k", "previous / next block"),
                    ("g G", "first / last block"),
                    ("Home End", "first / last column"),
                    ("PgUp PgDn ^u ^d", "blocks by a page / half a page"),
                    ("+ -", "zoom in (down to one neuron a column) / out"),
                    ("m", "measure: s → u_d of a domain → Δ of a concept"),
                    ("[ ]", "previous / next domain (u_d) or concept (Δ)"),
                    ("Space", "ablate the neuron under the cursor; again to restore it"),
                    ("Enter", "the Neuron page of the neuron under the cursor"),
                    ("/", "find a concept (shows its Δ, cursor on its top neuron) or BLOCK:INDEX")]
        case .domains:
            return [("← → h l", "previous / next domain pair"),
                    ("↑ ↓ j k", "previous / next block"),
                    ("Home End", "first / last pair"),
                    ("Enter", "the Neurons heatmap of the pair's first domain's u_d"),
                    ("/", "find a domain pair")]
        case .neuron:
            return [("← → h l", "previous / next neuron of the block"),
                    ("↑ ↓ j k", "the same neuron in the block above / below"),
                    ("Space", "ablate this neuron; again to restore it"),
                    ("Esc q", "back to the heatmap")]
        case .concepts:
            return [("↑ ↓ j k", "previous / next concept"),
                    ("g G PgUp PgDn", "first / last concept, a page up / down"),
                    ("Enter", "light its knowledge vectors on the heatmap"),
                    ("l", "light / unlight its knowledge vectors, staying here"),
                    ("Space", "ablate its knowledge vectors at the ratio; again to restore them"),
                    ("a", "add its knowledge vectors to the ablation"),
                    ("+ - ← →", "the ratio: the next / previous of the sweep"),
                    ("s", "rank knowledge vectors by raw Δ or standardized Δ/σ (PSS stays the engine's)"),
                    ("/", "find a concept or category")]
        case .ablations:
            return [("↑ ↓ j k", "previous / next ablated neuron"),
                    ("Enter", "its Neuron page"),
                    ("Space x Del", "restore the neuron (remove it from the set)"),
                    ("c", "clear the set"),
                    ("u", "undo the last change"),
                    ("w", "save the set to a file (:save PATH)"),
                    ("o", "load a set from a file (:load PATH)"),
                    ("/", "find a neuron")]
        case .compare:
            return [("↑ ↓ j k", "scroll the figures"),
                    ("g G PgUp PgDn", "top / bottom, a page up / down"),
                    ("← → h l", "earlier / later models, when they do not all fit")]
        }
    }

    /// What the accuracy figures' marks mean, on the pages that show accuracy under an ablation.
    static let marks: [(String, String)] = [
        ("≈ 40%", "estimated (dim): first-order, from each question's attributions Σ m·∂/∂m, at once"),
        ("exact k/n", "questions re-evaluated exactly so far; at n/n the figure is exact (no ≈)"),
    ]

    static let globalKeys: [(String, String)] = [
        ("Tab S-Tab 1-7", "next / previous page, or page N"),
        ("Esc q", "back one page; q on a top page quits"),
        ("Ctrl-c", "quit, always"),
        ("Ctrl-z", "suspend to the shell; fg resumes"),
        ("/ n N", "search this page; next / previous match"),
        (":", "command line"),
        ("u", "undo the last ablation change"),
        ("t", "next theme"),
        ("?", "this help (any of ? Esc q closes it)"),
        ("mouse", "click selects, a second click opens; the wheel scrolls"),
    ]

    /// The bottom bar: the page's main keys, then the ones every page has.
    static func hints(_ page: Page) -> [(String, String)] {
        let pageHints: [(String, String)]
        switch page {
        case .overview: pageHints = [("Enter", "neurons")]
        case .neurons: pageHints = [("←→↑↓", "move"), ("Enter", "neuron"), ("Space", "ablate"), ("m", "measure"), ("[ ]", "domain/concept"), ("+ -", "zoom")]
        case .domains: pageHints = [("←→", "pair"), ("↑↓", "block"), ("Enter", "u_d heatmap")]
        case .neuron: pageHints = [("←→", "neuron"), ("↑↓", "block"), ("Space", "ablate")]
        case .concepts: pageHints = [("↑↓", "concept"), ("Enter", "light"), ("Space", "ablate K_c"), ("+ -", "ratio")]
        case .ablations: pageHints = [("↑↓", "neuron"), ("Space", "restore"), ("u", "undo"), ("c", "clear"), ("w o", "save/load")]
        case .compare: pageHints = [("↑↓", "scroll"), ("←→", "models")]
        }
        return pageHints + [("Tab", "page"), ("/", "search"), (":", "command"), ("?", "help"), ("q", "back/quit")]
    }

    static func draw(_ state: AppState, _ context: RenderContext, _ frame: inout Frame) {
        let page = pageKeys(state.page)
        let commands = AppState.commands
        let keyWidth = (page + globalKeys + commands).map { DisplayWidth.of($0.0) }.max() ?? 10
        let textWidth = (page + globalKeys + commands).map { DisplayWidth.of($0.1) }.max() ?? 40
        let width = min(state.width - 4, keyWidth + textWidth + 7)
        let shownMarks = state.page == .concepts || state.page == .ablations ? marks : []
        let rows = page.count + globalKeys.count + commands.count + 6 + (shownMarks.isEmpty ? 0 : shownMarks.count + 2)
        let height = min(state.height - 2, rows + 2)
        let rect = Rect(x: (state.width - width) / 2, y: max(1, (state.height - height) / 2), width: width, height: height)
        frame.buffer.fill(rect, style: context[.screen])
        let inner = frame.buffer.box(rect, title: "Help: \(state.page.title) (? or Esc closes)", context: context)
        var y = inner.y
        func section(_ title: String, _ keys: [(String, String)]) {
            guard y < inner.maxY else { return }
            frame.buffer.text(title, x: inner.x + 1, y: y, style: context[.title], limit: inner.maxX)
            y += 1
            for (key, text) in keys where y < inner.maxY {
                frame.buffer.words(key, x: inner.x + 2, y: y, style: context[.key], limit: inner.maxX)
                // A description too long for the box goes on under itself.
                y = frame.buffer.wrapped(text, x: inner.x + keyWidth + 4, y: y, style: context[.text], limit: inner.maxX - 1, maxY: inner.maxY)
            }
            y += 1
        }
        section("This page", page)
        if state.page == .concepts || state.page == .ablations { section("Marks", marks) }
        section("Everywhere", globalKeys)
        section("Commands", commands)
    }
}
