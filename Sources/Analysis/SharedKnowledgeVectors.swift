import Model

/// At one ratio r: how many of each concept's knowledge vectors K_c(r) are knowledge vectors of at
/// least one other concept too, and the neurons in the most concepts' sets. When most of a
/// concept's K_c are shared, masking them is masking the model's generic neurons, not the
/// concept's own, and PSS measures that.
public struct SharedKnowledgeVectors: Sendable, Equatable {
    public struct ConceptCount: Sendable, Equatable {
        /// |K_c(r)|.
        public let knowledgeVectors: Int
        /// How many of them are in at least one other concept's K_c'(r).
        public let shared: Int

        public init(knowledgeVectors: Int, shared: Int) {
            self.knowledgeVectors = knowledgeVectors
            self.shared = shared
        }

        /// shared / |K_c(r)| (0 for an empty set).
        public var sharedFraction: Double { knowledgeVectors > 0 ? Double(shared) / Double(knowledgeVectors) : 0 }
    }

    /// A neuron and how many concepts' K_c(r) hold it.
    public struct GenericNeuron: Sendable, Equatable {
        public let neuron: NeuronID
        public let concepts: Int

        public init(neuron: NeuronID, concepts: Int) {
            self.neuron = neuron
            self.concepts = concepts
        }
    }

    /// How many of the most shared neurons are kept.
    public static let genericNeuronCount = 10

    public let ratio: Double
    /// Per concept, in the specialization's order.
    public let concepts: [ConceptCount]
    /// The median over concepts of the shared fraction (nil without concepts).
    public let medianSharedFraction: Double?
    /// The neurons in at least 2 concepts' sets, the most sets first (ties in block and neuron
    /// order), at most `genericNeuronCount`.
    public let genericNeurons: [GenericNeuron]
    /// All concepts' K_c(r) together, per block: how many sets hold each of its neurons, summed.
    public let byBlock: [Int]

    /// From each concept's K_c(r): one pass counts for every neuron how many sets hold it, a second
    /// counts each concept's neurons held by more than one set.
    public init(ratio: Double, knowledgeNeurons: [[NeuronID]], blocks: Int, width: Int) {
        self.init(ratio: ratio, flatSets: knowledgeNeurons.map { $0.map { $0.block * width + $0.neuron } }, neurons: blocks * width, width: width)
    }

    /// At one ratio, from Δ.
    public init(specialization: Specialization, ratio: Double) {
        self = Self.sweep(specialization: specialization, ratios: [ratio])[0]
    }

    /// At every ratio of `ratios`, ranking each concept's neurons once (K_c(r) of a smaller r is
    /// the beginning of the larger one's).
    public static func sweep(specialization s: Specialization, ratios: [Double]) -> [SharedKnowledgeVectors] {
        let largest = ratios.map { s.knowledgeNeuronCount(ratio: $0) }.max() ?? 0
        let ranked = s.concepts.indices.map { s.rankedNeurons(concept: $0, count: largest) }
        return ratios.map { ratio in
            let count = s.knowledgeNeuronCount(ratio: ratio)
            return SharedKnowledgeVectors(ratio: ratio, flatSets: ranked.map { Array($0.prefix(count)) }, neurons: s.neurons, width: s.width)
        }
    }

    /// `flatSets`: each concept's K_c(r) as flat indices (block × width + neuron), none repeated.
    private init(ratio: Double, flatSets: [[Int]], neurons: Int, width: Int) {
        self.ratio = ratio
        var holders = [Int](repeating: 0, count: neurons)
        for set in flatSets { for index in set { holders[index] += 1 } }
        byBlock = stride(from: 0, to: neurons, by: width).map { holders[$0..<$0 + width].reduce(0, +) }
        concepts = flatSets.map { set in ConceptCount(knowledgeVectors: set.count, shared: set.filter { holders[$0] > 1 }.count) }
        let fractions = concepts.map(\.sharedFraction).sorted()
        if fractions.isEmpty {
            medianSharedFraction = nil
        } else {
            let middle = fractions.count / 2
            medianSharedFraction = fractions.count % 2 == 1 ? fractions[middle] : (fractions[middle - 1] + fractions[middle]) / 2
        }
        let shared = holders.indices.filter { holders[$0] > 1 }
        genericNeurons = shared.sorted { holders[$0] > holders[$1] || (holders[$0] == holders[$1] && $0 < $1) }
            .prefix(Self.genericNeuronCount)
            .map { GenericNeuron(neuron: NeuronID(block: $0 / width, neuron: $0 % width), concepts: holders[$0]) }
    }
}
