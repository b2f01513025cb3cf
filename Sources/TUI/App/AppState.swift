import Foundation
import Analysis
import Model

/// The pages of the front end, in tab order.
public enum Page: Int, CaseIterable, Sendable {
    case overview, neurons, domains, neuron, concepts, ablations, compare

    public var title: String {
        switch self {
        case .overview: return "Overview"
        case .neurons: return "Neurons"
        case .domains: return "Domains"
        case .neuron: return "Neuron"
        case .concepts: return "Concepts"
        case .ablations: return "Ablations"
        case .compare: return "Compare"
        }
    }
}

/// What the Neurons heatmap colours.
public enum Measure: Equatable, Sendable {
    /// s, the specialization of each neuron's knowledge focus.
    case specialization
    /// u_d, the neuron's activity in one domain.
    case activity(domain: Int)
    /// Δ(c), the neuron's association with one concept.
    case association(concept: Int)
}

/// The line at the bottom where `/` and `:` are typed.
public struct InputLine: Equatable, Sendable {
    public enum Kind: Sendable { case search, command }
    public var kind: Kind
    public var text: String
}

/// Everything the user has done that the screen depends on, apart from the engine's snapshot.
/// Changed only by `handle(_:snapshot:)`.
public struct AppState: Sendable {
    public var width: Int
    public var height: Int
    /// The page stack: Enter pushes, Esc and q pop; q on the last page quits.
    public private(set) var stack: [Page] = [.overview]
    public var page: Page { stack.last! }

    /// The neuron under the Neurons cursor, and the one the Neuron page shows.
    public internal(set) var cursor = NeuronID(block: 0, neuron: 0)
    /// Zoom steps in from "every neuron of a block fits the width" (0) towards one neuron a column.
    public internal(set) var zoom = 0
    public internal(set) var measure = Measure.specialization

    public internal(set) var conceptRow = 0
    /// The concept whose knowledge vectors are lit on the heatmap.
    public internal(set) var litConcept: Int?
    /// Index into the sweep's ratios for knowledge vectors.
    public internal(set) var ratioIndex: Int?
    /// The association knowledge vectors are ranked by on screen (`s` switches it); nil: the engine's.
    public internal(set) var association: Association?

    public internal(set) var pairIndex = 0
    public internal(set) var domainBlock = 0
    public internal(set) var ablationRow = 0
    /// The Compare page's first row shown, and its first model column.
    public internal(set) var compareRow = 0
    public internal(set) var compareColumn = 0

    /// Ablated neurons in the order they were marked.
    public internal(set) var ablated: [NeuronID] = [] { didSet { ablatedSet = Set(ablated) } }
    /// The same, for asking whether one is (knowledge vectors of a large model are thousands).
    private var ablatedSet: Set<NeuronID> = []
    /// Earlier ablation sets, for undo.
    var history: [[NeuronID]] = []

    public internal(set) var helpShown = false
    public internal(set) var input: InputLine?
    /// The last search confirmed with Enter, for n and N.
    public internal(set) var search: String?
    /// Where the cursor was when a search began: Esc goes back there.
    var searchOrigin: AppState.Position?
    /// A one-line message for the status bar until the next key.
    public internal(set) var message: (text: String, isError: Bool)?

    public internal(set) var themeIndex = 0
    public let themeNames: [String]
    public internal(set) var quitting = false
    /// Slow figures already computed, shared by the key handling and the views.
    let derived = DerivedValues()
    /// The same for each model of the Compare page, in its order.
    let comparedDerived = DerivedValuesList()

    public init(width: Int, height: Int, themeNames: [String] = ["default"], themeIndex: Int = 0) {
        self.width = width
        self.height = height
        self.themeNames = themeNames
        self.themeIndex = themeIndex
    }

    /// The cursors a search moves, saved so Esc can restore them.
    struct Position: Sendable {
        let cursor: NeuronID
        let measure: Measure
        let conceptRow: Int
        let pairIndex: Int
        let ablationRow: Int
        let page: Page
    }

    var position: Position {
        Position(cursor: cursor, measure: measure, conceptRow: conceptRow, pairIndex: pairIndex, ablationRow: ablationRow, page: page)
    }

    mutating func restore(_ position: Position) {
        cursor = position.cursor
        measure = position.measure
        conceptRow = position.conceptRow
        pairIndex = position.pairIndex
        ablationRow = position.ablationRow
        if page != position.page { stack = [position.page] }
    }

    public var ablation: Ablation { Ablation(zeroing: ablated) }

    /// Accuracy with the neurons ablated now: the baseline when none are; for this very set, each
    /// question's exact result where the engine has it, else its estimate (see `estimatedNow`);
    /// nil while the engine has neither.
    public func accuracyNow(_ snapshot: AnalysisSnapshot) -> ProbeAccuracy? {
        if ablated.isEmpty { return snapshot.baseline }
        return snapshot.requestedAblation == ablation ? snapshot.currentLive?.accuracy : nil
    }

    /// For a figure over `questions` under the current ablation: how many of them are exact so
    /// far, of how many, when some are still estimated; nil when the figure is exact.
    public func estimatedNow(_ snapshot: AnalysisSnapshot, _ questions: [Int]) -> (exact: Int, of: Int)? {
        guard !ablated.isEmpty, snapshot.requestedAblation == ablation, let live = snapshot.currentLive else { return nil }
        let exact = live.exactCount(of: questions)
        return exact == questions.count ? nil : (exact, questions.count)
    }
    public func isAblated(_ neuron: NeuronID) -> Bool { ablatedSet.contains(neuron) }

    /// Method 1's figures with the association on screen: the engine's, or the other one computed
    /// here from the engine's pooled coefficients (its PSS stays the engine's).
    public func shownSpecialization(_ snapshot: AnalysisSnapshot) -> Specialization? {
        guard let engine = snapshot.specialization else { return nil }
        guard let association, association != engine.association, let pooled = snapshot.pooled else { return engine }
        return derived.specialization(pooled: pooled, probes: snapshot.probes, blocks: engine.blocks, width: engine.width, association: association)
    }

    /// The ratio knowledge vectors are taken at: the chosen one of the sweep, 1 % by default.
    public func ratio(_ ratios: [Double]) -> Double {
        guard !ratios.isEmpty else { return 0.01 }
        return ratios[min(ratioIndex ?? (ratios.firstIndex(of: 0.01) ?? ratios.count / 2), ratios.count - 1)]
    }

    public mutating func show(_ page: Page) { stack = [page] }
    mutating func push(_ page: Page) { if self.page != page { stack.append(page) } }
    mutating func pop() { if stack.count > 1 { stack.removeLast() } }
}
