import Foundation
import Tensors

/// One MLP neuron: unit `neuron` of block `block`'s down-projection input.
public struct NeuronID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let block: Int
    public let neuron: Int

    public init(block: Int, neuron: Int) {
        self.block = block
        self.neuron = neuron
    }

    public static func < (a: NeuronID, b: NeuronID) -> Bool { (a.block, a.neuron) < (b.block, b.neuron) }

    public var description: String { "\(block):\(neuron)" }

    /// Parses `L:I,L:I,...` as the command line writes neuron lists.
    public static func parseList(_ text: String) throws -> [NeuronID] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: ":")
            guard parts.count == 2, let block = Int(parts[0].trimmingCharacters(in: .whitespaces)),
                  let neuron = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
                throw InputError("", "'\(item)' is not a neuron: write BLOCK:INDEX, e.g. 5:112")
            }
            return NeuronID(block: block, neuron: neuron)
        }
    }
}

/// Neurons whose coefficient is replaced for every token: by zero (the default), or by a fixed
/// value per neuron (mean ablation: its mean over the probe set).
public struct Ablation: Sendable, Equatable {
    public private(set) var values: [NeuronID: Float]

    public init() { values = [:] }

    public init(zeroing neurons: some Sequence<NeuronID>) {
        values = Dictionary(neurons.map { ($0, 0) }, uniquingKeysWith: { a, _ in a })
    }

    public init(replacing values: [NeuronID: Float]) { self.values = values }

    public var isEmpty: Bool { values.isEmpty }
    public var neurons: [NeuronID] { values.keys.sorted() }
    /// The first block the ablation touches: a rerun can start there.
    public var firstBlock: Int? { values.keys.map(\.block).min() }

    func replacements(inBlock block: Int) -> [(Int, Float)] {
        values.compactMap { $0.key.block == block ? ($0.key.neuron, $0.value) : nil }
    }
}
