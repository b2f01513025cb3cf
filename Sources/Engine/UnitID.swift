/// One unit of an analysis's work, as processes sharing a store claim it. The store keeps it as
/// its text (`description`): `baseline`, `pooled 64`, `estimate 16`, `pss 3 0.01`, `patterns`.
enum UnitID: Hashable, Sendable, LosslessStringConvertible {
    /// The unmasked evaluation.
    case baseline
    /// The pooled coefficients of a batch of prompts, from question `first` on.
    case pooled(first: Int)
    /// The ablation estimate's attributions of a chunk of questions, from question `first` on.
    case estimate(first: Int)
    /// One concept's masked evaluation at one ratio (PSS).
    case pss(concept: Int, ratio: Double)
    /// The activation patterns' steps: one chain, held by one process from the step it starts
    /// with to the last (its sums file is opened by one process only).
    case patterns

    enum Kind: Sendable {
        case baseline, pooled, estimate, pss, patterns
    }

    var kind: Kind {
        switch self {
        case .baseline: .baseline
        case .pooled: .pooled
        case .estimate: .estimate
        case .pss: .pss
        case .patterns: .patterns
        }
    }

    var description: String {
        switch self {
        case .baseline: "baseline"
        case .pooled(let first): "pooled \(first)"
        case .estimate(let first): "estimate \(first)"
        case .pss(let concept, let ratio): "pss \(concept) \(ratio)"
        case .patterns: "patterns"
        }
    }

    /// The unit `text` names; nil for any text `description` does not make, so that a unit has
    /// exactly one text.
    init?(_ text: String) {
        let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let unit: UnitID
        switch words.first {
        case "baseline" where words.count == 1: unit = .baseline
        case "patterns" where words.count == 1: unit = .patterns
        case "pooled" where words.count == 2:
            guard let first = Int(words[1]) else { return nil }
            unit = .pooled(first: first)
        case "estimate" where words.count == 2:
            guard let first = Int(words[1]) else { return nil }
            unit = .estimate(first: first)
        case "pss" where words.count == 3:
            guard let concept = Int(words[1]), let ratio = Double(words[2]) else { return nil }
            unit = .pss(concept: concept, ratio: ratio)
        default: return nil
        }
        guard unit.description == text else { return nil }
        self = unit
    }
}
