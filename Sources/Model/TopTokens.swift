import Foundation

/// The K most likely next tokens of one row of logits, with softmax probabilities over the whole vocabulary.
public struct TopTokens {
    public struct Entry: Sendable {
        public let id: Int
        public let logit: Float
        public let probability: Float
    }

    public let entries: [Entry]

    public init(logits: [Float], count: Int) {
        let largest = logits.max() ?? 0
        var total = 0.0
        for value in logits { total += Double(exp(value - largest)) }
        let order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        entries = order.prefix(count).map { id in
            Entry(id: id, logit: logits[id], probability: Float(Double(exp(logits[id] - largest)) / total))
        }
    }
}
