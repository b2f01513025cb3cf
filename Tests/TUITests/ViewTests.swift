import Foundation
import Model
import Testing
import TUI

/// Each page drawn from a fixed snapshot into a cell buffer, read back as a user would read it.
@Suite struct ViewTests {
    let finished = Scenario.finished
    let ablated = Scenario.ablatedAndInspected

    /// A state on `page` with the scenario's neurons ablated.
    func stateWithAblation(_ keys: [Key], width: Int = 120, height: Int = 40) -> AppState {
        var state = Scenario.state(width: width, height: height)
        _ = state.handle(.ablationLoaded(Scenario.ablated, path: "set.txt"), snapshot: ablated)
        for key in keys { _ = state.handle(.key(key), snapshot: ablated) }
        return state
    }

    func percent(_ value: Double) -> String { String(format: "%.0f%%", 100 * value) }

    @Test func overviewShowsTheModelCardEngineAndHeadlines() throws {
        let text = Scenario.render(Scenario.state()).buffer.text
        for expected in ["1 Overview", "Model", "family      llama", "blocks      2", "MLP width   128 (256 neurons)", "vocabulary  512",
                         "probes   tiny-llama", "7 questions, 3 concepts", "domains  code, recipes, sums",
                         "finished: every figure computed", "engine: finished", "Knowledge specialization", "Activation patterns",
                         "4 of 4 a domain", "density by block", "deep-block similarity"] {
            #expect(text.contains(expected), "\(expected)\n\(text)")
        }
        // The fixture model knows one of its 7 questions: no concept is measured, and it says why.
        #expect(finished.score.peak == nil)
        #expect(text.contains("peak PSS          not measured: no concept has enough questions"), "\(text)")
        #expect(text.contains("PSS on            0 of 3 concepts, 3 left out:"), "\(text)")
        #expect(text.contains("                  fewer than 2 known questions"), "\(text)")
        let accuracy = try #require(finished.baseline).overall.open
        #expect(text.contains(String(format: "open %.1f%%", 100 * accuracy)))
        let density = try #require(finished.patterns).density.density
        #expect(text.contains(String(format: "%.1f%% → %.1f%%", 100 * density[0][0], 100 * density[1][0])), "code's density, block 0 → 1")
    }

    @Test func partialResultsLookPartial() {
        let state = Scenario.state()
        let overview = Scenario.render(state, Scenario.partial).buffer.text
        #expect(overview.contains("2 of 4 a domain so far — partial"), "\(overview)")
        #expect(overview.contains("computing… (the probe set with nothing ablated)"))
        #expect(overview.contains("computing… (0 of 21 concept × ratio runs)"))
        #expect(overview.contains("3/26 11%"), "the status bar's counts")
        #expect(overview.contains("1m15s left"))
        #expect(!overview.contains("peak PSS          0.000"), "nothing computed is shown as zero")
        #expect(overview.contains("working") && !overview.contains("other worker"))
        var shared = Scenario.partial.progress
        shared.otherWorkers = 2
        let withOthers = Scenario.render(state, Scenario.copy(Scenario.partial, progress: shared)).buffer.text
        #expect(withOthers.contains("working, with 2 other workers on its store"), "\(withOthers)")

        let domains = Scenario.render(Scenario.state(Scenario.keys("3"), snapshot: Scenario.partial), Scenario.partial).buffer.text
        #expect(domains.contains("from 2 of 4 samples a domain — partial"), "\(domains)")

        let neurons = Scenario.render(Scenario.state(Scenario.keys("2"), snapshot: Scenario.partial), Scenario.partial).buffer.text
        #expect(neurons.contains("Not computed yet: Δ and s need every probe prompt run once (7 prompts)."), "\(neurons)")
        let activity = Scenario.render(Scenario.state(Scenario.keys("2m"), snapshot: Scenario.partial), Scenario.partial).buffer.text
        #expect(activity.contains("activity u_d in code (from 2 of 4 samples)"), "\(activity)")

        let empty = Scenario.render(Scenario.state(Scenario.keys("3"), snapshot: Scenario.empty), Scenario.empty).buffer.text
        #expect(empty.contains("Not computed yet: no sample's gradients are in."))
        let concepts = Scenario.render(Scenario.state(Scenario.keys("5"), snapshot: Scenario.empty), Scenario.empty).buffer.text
        #expect(concepts.contains("… →     …"), "accuracy not computed is …, not 0 %\n\(concepts)")
        #expect(concepts.contains("knowledge vectors: computing…"))
    }

    @Test func neuronsHeatmapHasColoursALegendAndACursor() throws {
        let state = Scenario.state(Scenario.keys("2"))
        let frame = Scenario.render(state)
        let text = frame.buffer.text
        #expect(text.contains("2 blocks × 128 neurons · specialization s"), "\(text)")
        #expect(text.contains("s, specialization (1: one concept)"))
        let high = try #require(finished.specializations?.max())
        let legendNumbers = try #require(text.split(separator: "\n").first { $0.hasPrefix(" 0 ") && $0.contains(String(format: "%.3g", high)) })
        #expect(legendNumbers.contains(String(format: "%.3g", high / 2)), "the legend's low, middle and high: \(legendNumbers)")
        #expect(text.contains("neuron 0:0"))
        #expect(text.contains("▲"))
        #expect(text.contains("mean s"), "the per-block summary")
        // The heatmap's cells are coloured from the palette: every row of a block, one text row a block pair.
        let origin = try #require(frame.buffer.find("◆"))
        let cell = frame.buffer[origin.x + 5, origin.y]
        #expect(cell.style.background != .terminalDefault, "a heatmap cell has its value's colour")
        // A click on a heatmap cell picks the neuron drawn there.
        #expect(frame.target(atX: origin.x + 5, y: origin.y).map { if case .neuron = $0 { return true } else { return false } } == true)
    }

    @Test func ablatedNeuronsAreMarkedOnTheHeatmap() throws {
        var state = stateWithAblation(Scenario.keys("2"))
        // Zoom in to one neuron a column, and put the cursor elsewhere.
        for _ in 0..<4 { _ = state.handle(.key(.character("+")), snapshot: ablated) }
        let target = Scenario.ablated[0]
        _ = state.handle(.key(.character(":")), snapshot: ablated)
        for c in "neuron \(target.block):\(max(target.neuron - 3, 0))" { _ = state.handle(.key(.character(c)), snapshot: ablated) }
        _ = state.handle(.key(.enter), snapshot: ablated)
        _ = state.handle(.key(.escape), snapshot: ablated)
        #expect(state.page == .neurons)
        let text = Scenario.render(state, ablated).buffer.text
        #expect(text.contains("×"), "\(text)")
        #expect(text.contains("one neuron a column"))
        #expect(text.contains("× 2 ablated"), "the tab bar counts the ablated neurons")
        let status = text.split(separator: "\n").dropLast().last!
        let accuracy = try #require(ablated.live).accuracy.overall.open
        #expect(status.contains(String(format: "→ %.1f%% with 2 ablated", 100 * accuracy)), "\(status)")
    }

    @Test func aConceptsKnowledgeVectorsAreLit() throws {
        let state = Scenario.state(Scenario.keys("5") + [.enter])
        #expect(state.page == .neurons)
        let text = Scenario.render(state).buffer.text
        #expect(text.contains("association Δ with France"), "\(text)")
        let specialization = try #require(finished.specialization)
        let knowledge = specialization.knowledgeNeurons(concept: 0, ratio: 0.01)
        #expect(state.cursor == knowledge[0], "the cursor lands on the strongest knowledge vector")
        #expect(text.contains("lit: France's \(knowledge.count) knowledge vectors at r = 1%"))
        #expect(text.contains("•"), "knowledge vectors marked")
        let largest = (0..<specialization.neurons).map { abs(specialization.delta[$0]) }.max()!
        #expect(text.contains(String(format: "-%.3g", largest)) && text.contains(String(format: "%.3g", largest)), "the diverging legend's ends")
    }

    @Test func manyBlocksShareTextRowsAsHalfBlocks() throws {
        let snapshot = Scenario.synthetic(blocks: 24, width: 64)
        let state = Scenario.state(Scenario.keys("2"), snapshot: snapshot, width: 80, height: 24)
        let frame = Scenario.render(state, snapshot)
        let halves = frame.buffer.cells.filter { $0.scalar == "▀" }
        #expect(halves.count > 64 * 10, "two blocks a text row")
        #expect(halves.allSatisfy { $0.style.foreground != .terminalDefault && $0.style.background != .terminalDefault })
        #expect(frame.buffer.text.contains("↓"), "more blocks below")
        // With shades a block takes a whole row: fewer blocks fit.
        let shaded = Scenario.render(state, snapshot, Scenario.context("default", .colors16))
        #expect(!shaded.buffer.cells.contains { $0.scalar == "▀" })
        #expect(shaded.buffer.text.contains("↓"))
    }

    @Test func monochromeDrawsShadesAndNoColour() {
        let frame = Scenario.render(Scenario.state(Scenario.keys("2")), finished, Scenario.context("monochrome", .monochrome))
        #expect(frame.buffer.cells.allSatisfy { $0.style.foreground == .terminalDefault && $0.style.background == .terminalDefault })
        let text = frame.buffer.text
        #expect(text.contains("░") || text.contains("▒") || text.contains("▓") || text.contains("█"), "shade characters\n\(text)")
        #expect(text.contains("◆"))
        // 16 colours: shades in colour; 256 colours: half blocks or coloured spaces.
        let sixteen = Scenario.render(Scenario.state(Scenario.keys("2")), finished, Scenario.context("default", .colors16))
        #expect(sixteen.buffer.cells.contains { $0.scalar == "▓" || $0.scalar == "█" })
    }

    @Test func domainsShowDensitySimilarityMatrixAndAPair() throws {
        let patterns = try #require(finished.patterns)
        var state = Scenario.state(Scenario.keys("3"))
        _ = state.handle(.key(.right), snapshot: finished)
        let text = Scenario.render(state).buffer.text
        for expected in ["Activation patterns · from all 4 samples a domain", "activated density", "similarity: mean cos_l",
                         "code", "recip", "co·re", "domain × domain: mean cos, blocks 0–1", "code × recipes",
                         "A only  B only    both  Jaccard", "├ min  █ quartiles  ┃ median  ┤ max", "share of weights activated", "cos_l: 0 nothing shared, 1 the same"] {
            #expect(text.contains(expected), "\(expected)\n\(text)")
        }
        #expect(text.contains(String(format: "%.1f%%", 100 * patterns.density.density[0][0])))
        #expect(text.contains(String(format: "%.2f", patterns.domainMatrix[0][1])))
        let spread = try #require(patterns.similarity[0][patterns.pairs[1]])
        #expect(text.contains(String(format: "mean %.2f  n %d", spread.mean, spread.count)), "the pair's cos_l at block 0")
        #expect(text.contains("├") && text.contains("┤"), "box plots of cos_l")
    }

    @Test func neuronPageShowsFocusTokensQuestionsActivityAndAblation() throws {
        let neuron = Scenario.ablated[0]
        var state = stateWithAblation([])
        _ = state.handle(.key(.character(":")), snapshot: ablated)
        for c in "neuron \(neuron)" { _ = state.handle(.key(.character(c)), snapshot: ablated) }
        _ = state.handle(.key(.enter), snapshot: ablated)
        #expect(state.page == .neuron)
        let text = Scenario.render(state, ablated).buffer.text
        let specialization = try #require(finished.specialization)
        let focus = specialization.focus(neuron)
        let top = try #require(focus.conceptShares.first)
        for expected in ["Neuron \(neuron)", "× ABLATED (Space restores it)", "Knowledge focus", specialization.concepts[top.concept],
                         "by category", "␣Paris", "+1.25", "⏎", "␣Berlin", "-0.75", "The capital of France is → Paris", "Activity u_d per domain",
                         "recipes"] {
            #expect(text.contains(expected), "\(expected)\n\(text)")
        }
        #expect(text.contains(String(format: "s = %.3f", finished.specializations![neuron.block * 128 + neuron.neuron])))
        // Not inspected yet: says so.
        _ = state.handle(.key(.right), snapshot: ablated)
        #expect(Scenario.render(state, ablated).buffer.text.contains("computing… (what you look at is computed first)"))
    }

    @Test func conceptsShowAccuracyBeforeAndNowPSSAndKnowledgeVectors() throws {
        let state = stateWithAblation(Scenario.keys("5"))
        let text = Scenario.render(state, ablated).buffer.text
        let before = try #require(finished.baseline), now = try #require(ablated.live).accuracy
        let france = text.split(separator: "\n").first { $0.hasPrefix(" France") || $0.hasPrefix(" • France") }
        let row = try #require(france.map(String.init), "\(text)")
        #expect(row.contains(DisplayWidth.padLeft(percent(before.concept("France").open), 5) + " → " + DisplayWidth.padLeft(percent(now.concept("France").open), 5)), "\(row)")
        #expect(row.contains("2/3"), "two of France's three knowledge vectors ablated: \(row)")
        #expect(row.contains("left out"), "France has no known question: \(row)")
        #expect(text.contains("knowledge vectors K_c at r = 1%: 3 neurons, 2 ablated"))
        #expect(text.contains("PSS(c, r): 0.1%: "))
        #expect(text.contains("PSS: left out (0 known questions of its own, 1 in its control set; at least 2 and 5 needed)"), "\(text)")
        #expect(text.contains("France (country) · PSS on 0 of 3 concepts, 3 left out: fewer than 2 known questions"), "\(text)")
        #expect(text.contains("The capital of France is → Paris"))
        #expect(text.contains("now: with 2 ablated"))
    }

    @Test func ablationsListTheNeuronsAndTheAccuracyChange() throws {
        let state = stateWithAblation(Scenario.keys("6"))
        let text = Scenario.render(state, ablated).buffer.text
        let before = try #require(finished.baseline), now = try #require(ablated.live).accuracy
        #expect(text.contains("2 ablated neurons (zeroed)"))
        for neuron in Scenario.ablated { #expect(text.contains("× \(neuron)"), "\(text)") }
        #expect(text.contains(String(format: "%5.1f%% → %5.1f%%", 100 * before.overall.open, 100 * now.overall.open)), "\(text)")
        #expect(text.contains("by category"))
        #expect(text.contains("evaluated in 12 ms"))
        // Nothing ablated.
        let empty = Scenario.render(Scenario.state(Scenario.keys("6"))).buffer.text
        #expect(empty.contains("Nothing is ablated."))
        // Being evaluated.
        let waiting = Scenario.render(state, Scenario.copy(finished, requested: Ablation(zeroing: Scenario.ablated))).buffer.text
        #expect(waiting.contains("evaluating 2 ablated neurons…"))
    }

    @Test func helpCommandLineAndSmallTerminals() {
        let help = Scenario.render(Scenario.state(Scenario.keys("2?"))).buffer.text
        #expect(help.contains("Help: Neurons"))
        #expect(help.contains("zoom in (down to one neuron a column) / out"))
        #expect(help.contains(":neuron L:I"))
        let command = Scenario.render(Scenario.state(Scenario.keys(":layer 1"))).buffer.text
        #expect(command.split(separator: "\n").last?.hasPrefix(":layer 1▏") == true)
        let small = Scenario.render(Scenario.state(width: 60, height: 20)).buffer.text
        #expect(small.contains("The terminal is too small: 60×20."))
        #expect(small.contains("neurotop needs at least 80×24."))
        // Every page fits 80×24 without a crash, and shows its tab bar (every tab, so without the name).
        for page in "1234567" {
            let text = Scenario.render(Scenario.state(Scenario.keys(String(page)), width: 80, height: 24)).buffer.text
            #expect(text.hasPrefix(" 1 Overview ") && text.split(separator: "\n")[0].hasSuffix(" 7 Compare"), "\(text)")
        }
    }

    @Test func everyPageFitsEveryThemeAndSize() {
        for theme in Scenario.themes.themes {
            for mode in ColorMode.allCases {
                for (width, height) in [(80, 24), (120, 40), (200, 60)] {
                    for page in "1234567" {
                        let state = stateWithAblation(Scenario.keys(String(page)), width: width, height: height)
                        let frame = Screen.render(state, ablated, RenderContext(theme: theme, colorMode: mode))
                        #expect(frame.buffer.width == width && frame.buffer.height == height)
                        #expect(frame.buffer.line(0).hasPrefix(width >= 90 ? " neurotop " : " 1 Overview "))
                        #expect(frame.buffer.line(height - 2).contains("engine: finished"))
                    }
                }
            }
        }
    }
}
