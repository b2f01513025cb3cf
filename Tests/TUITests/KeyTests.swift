import Foundation
import Model
import Testing
import TUI

/// What keys, clicks and other events do to the state, and what they ask of the engine.
@Suite struct KeyTests {
    let snapshot = Scenario.finished

    func press(_ state: inout AppState, _ keys: [Key]) -> [Effect] {
        keys.flatMap { state.handle(.key($0), snapshot: snapshot) }
    }

    func type(_ state: inout AppState, _ text: String) -> [Effect] { press(&state, text.map { .character($0) }) }

    @Test func tabsNumbersAndThePageStack() {
        var state = Scenario.state()
        #expect(state.page == .overview)
        _ = press(&state, [.tab])
        #expect(state.page == .neurons)
        _ = press(&state, [.backTab, .backTab])
        #expect(state.page == .compare)
        _ = press(&state, [.backTab])
        #expect(state.page == .ablations)
        _ = type(&state, "2")
        let effects = press(&state, [.enter])
        #expect(state.page == .neuron)
        #expect(effects == [.focus(.neuron(NeuronID(block: 0, neuron: 0)))], "the engine computes what is looked at first")
        #expect(state.stack == [.neurons, .neuron])
        _ = press(&state, [.escape])
        #expect(state.page == .neurons)
        #expect(!state.quitting, "Esc on a top page does not quit")
        _ = press(&state, [.escape])
        #expect(!state.quitting)
        let quit = type(&state, "q")
        #expect(state.quitting && quit == [.quit], "q on a top page quits")
    }

    @Test func ctrlCQuitsFromAnywhere() {
        var state = Scenario.state(Scenario.keys("5:lay"))
        #expect(state.input != nil)
        #expect(press(&state, [.control("c")]) == [.quit])
        var help = Scenario.state(Scenario.keys("?"))
        #expect(help.helpShown)
        #expect(press(&help, [.control("c")]) == [.quit])
    }

    @Test func spaceTogglesAnAblationAndUndoRestores() {
        var state = Scenario.state(Scenario.keys("2"))
        _ = press(&state, [.right, .down])
        let neuron = state.cursor
        #expect(neuron.block == 1)
        #expect(press(&state, [.character(" ")]) == [.setAblation(Ablation(zeroing: [neuron]))])
        #expect(state.ablated == [neuron])
        #expect(press(&state, [.character(" ")]) == [.setAblation(Ablation())])
        #expect(state.ablated.isEmpty)
        #expect(press(&state, [.character("u")]) == [.setAblation(Ablation(zeroing: [neuron]))])
        #expect(state.ablated == [neuron])
        // On the Neuron page too, and on the Ablations page Space restores the selected one.
        _ = press(&state, [.enter, .right, .character(" ")])
        #expect(state.ablated.count == 2)
        _ = type(&state, "6")
        #expect(press(&state, [.character("x")]) == [.setAblation(Ablation(zeroing: [state.ablated[0]]))])
        _ = type(&state, "c")
        #expect(state.ablated.isEmpty)
    }

    @Test func conceptsAblateTheirKnowledgeVectorsAtARatio() throws {
        var state = Scenario.state(Scenario.keys("5"))
        let specialization = try #require(snapshot.specialization)
        _ = press(&state, [.down])
        #expect(state.conceptRow == 1)
        let ratios = snapshot.score.ratios
        #expect(state.ratio(ratios) == 0.01)
        _ = type(&state, "+")
        #expect(state.ratio(ratios) == 0.02)
        _ = press(&state, [.left, .left])
        #expect(state.ratio(ratios) == 0.005)
        let knowledge = specialization.knowledgeNeurons(concept: 1, ratio: 0.005)
        #expect(type(&state, " ") == [.setAblation(Ablation(zeroing: knowledge))])
        #expect(Set(state.ablated) == Set(knowledge))
        #expect(type(&state, " ") == [.setAblation(Ablation())], "Space again restores them")
        // Enter lights them and goes to the heatmap, cursor on the strongest.
        _ = press(&state, [.enter])
        #expect(state.page == .neurons)
        #expect(state.litConcept == 1)
        #expect(state.measure == .association(concept: 1))
        #expect(state.cursor == knowledge[0])
    }

    @Test func neuronsCursorZoomAndMeasures() {
        var state = Scenario.state(Scenario.keys("2"))
        // At 120 columns the 128 neurons of a block fit two a column; zoomed in, one.
        _ = press(&state, [.right])
        #expect(state.cursor.neuron / 2 == 1)
        _ = type(&state, "+")
        _ = press(&state, [.home, .right, .right])
        #expect(state.cursor == NeuronID(block: 0, neuron: 2))
        _ = press(&state, [.end])
        #expect(state.cursor.neuron == 127)
        _ = type(&state, "G")
        #expect(state.cursor.block == 1)
        _ = type(&state, "g")
        #expect(state.cursor.block == 0)
        _ = type(&state, "m")
        #expect(state.measure == .activity(domain: 0))
        _ = type(&state, "]]]")
        #expect(state.measure == .activity(domain: 0), "three domains wrap around")
        _ = type(&state, "m")
        #expect(state.measure == .association(concept: 0))
        _ = type(&state, "[")
        #expect(state.measure == .association(concept: 2))
        _ = type(&state, "m")
        #expect(state.measure == .specialization)
    }

    @Test func searchIsIncrementalAndRepeats() {
        var state = Scenario.state(Scenario.keys("5"))
        _ = type(&state, "/ox")
        #expect(state.conceptRow == 1, "Oxygen, while typing")
        _ = press(&state, [.escape])
        #expect(state.conceptRow == 0, "Esc goes back")
        _ = type(&state, "/e")
        _ = press(&state, [.enter])
        #expect(state.search == "e")
        #expect(state.conceptRow == 0, "France (country) has an e")
        _ = type(&state, "n")
        #expect(state.conceptRow == 1)
        _ = type(&state, "n")
        #expect(state.conceptRow == 2)
        _ = type(&state, "n")
        #expect(state.conceptRow == 0, "wraps")
        _ = type(&state, "N")
        #expect(state.conceptRow == 2)
        _ = type(&state, "/zzz")
        #expect(state.message?.text == "no match for 'zzz'")
    }

    @Test func commands() {
        var state = Scenario.state()
        _ = type(&state, ":neuron 1:5")
        #expect(press(&state, [.enter]) == [.focus(.neuron(NeuronID(block: 1, neuron: 5)))])
        #expect(state.page == .neuron && state.stack == [.neurons, .neuron])
        _ = type(&state, ":layer 7")
        _ = press(&state, [.enter])
        #expect(state.message?.isError == true)
        #expect(state.message?.text == ":layer takes a block from 0 to 1")
        _ = type(&state, ":concept oxy")
        _ = press(&state, [.enter])
        #expect(state.page == .concepts && state.conceptRow == 1 && state.litConcept == 1)
        _ = type(&state, ":ratio 5")
        _ = press(&state, [.enter])
        #expect(state.ratio(snapshot.score.ratios) == 0.05)
        _ = type(&state, ":domain sums")
        _ = press(&state, [.enter])
        #expect(state.page == .domains && state.pairIndex == 5)
        _ = type(&state, ":theme light")
        _ = press(&state, [.enter])
        #expect(state.themeNames[state.themeIndex] == "light")
        _ = type(&state, "t")
        #expect(state.themeNames[state.themeIndex] != "light")
        _ = type(&state, ":save /tmp/x.txt")
        #expect(press(&state, [.enter]) == [.save([], path: "/tmp/x.txt")])
        _ = type(&state, ":load /tmp/y.txt")
        #expect(press(&state, [.enter]) == [.load(path: "/tmp/y.txt")])
        _ = type(&state, ":bogus")
        _ = press(&state, [.enter])
        #expect(state.message?.text.hasPrefix("unknown command ':bogus'") == true)
        _ = type(&state, ":q")
        #expect(press(&state, [.enter]) == [.quit])
    }

    @Test func loadedSetsSkipNeuronsTheModelLacks() {
        var state = Scenario.state()
        let effects = state.handle(.ablationLoaded([NeuronID(block: 1, neuron: 5), NeuronID(block: 9, neuron: 0), NeuronID(block: 1, neuron: 5)], path: "set.txt"),
                                   snapshot: snapshot)
        #expect(effects == [.setAblation(Ablation(zeroing: [NeuronID(block: 1, neuron: 5)]))])
        #expect(state.message?.text == "loaded 2 neurons from set.txt (1 not in this model skipped)")
    }

    @Test func mouseClicksSelectAndOpen() throws {
        var state = Scenario.state()
        let frame = Scenario.render(state)
        let tab = try #require(frame.buffer.find("5 Concepts"))
        _ = state.handle(.click(frame.target(atX: tab.x, y: tab.y)), snapshot: snapshot)
        #expect(state.page == .concepts)
        let concepts = Scenario.render(state)
        let oxygen = try #require(concepts.buffer.find("Oxygen"))
        _ = state.handle(.click(concepts.target(atX: oxygen.x, y: oxygen.y)), snapshot: snapshot)
        #expect(state.conceptRow == 1)
        _ = state.handle(.click(concepts.target(atX: oxygen.x, y: oxygen.y)), snapshot: snapshot)
        #expect(state.page == .neurons, "a second click opens")
        _ = state.handle(.wheel(1), snapshot: snapshot)
        #expect(state.cursor.block == 1, "the wheel scrolls the blocks")
        _ = state.handle(.resize(width: 100, height: 30), snapshot: snapshot)
        #expect(state.width == 100 && state.height == 30)
    }
}
