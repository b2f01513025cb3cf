import Analysis
import Model
import Testing

/// How many of each concept's knowledge vectors other concepts share, and the most shared neurons.
@Suite struct SharedKnowledgeVectorsTests {
    /// Three concepts with one question each, on 2 blocks × 4 neurons. With one question a
    /// concept, Δ_i(c) = p_i(c) − the mean of p_i over the other two; neurons 5, 6, 7 have the same
    /// p everywhere (Δ 0, ranked by index).
    static let specialization: Specialization = {
        let probes = ProbeSet(name: "tiny", questions: ["a", "b", "c"].map {
            ProbeQuestion(concept: $0, category: "letter", prompt: $0, answer: " x")
        })
        let pooled: [Float] = [
            10, 9, 0, 0, 0, 1, 1, 1, // a: Δ 5, 9, −4.5, −5, −4.5, 0, 0, 0 → top 2: 0:1, 0:0
            10, 0, 9, 0, 0, 1, 1, 1, // b: Δ 5, −4.5, 9, −5, −4.5, 0, 0, 0 → top 2: 0:2, 0:0
            0, 0, 0, 10, 9, 1, 1, 1, // c: Δ −10, −4.5, −4.5, 10, 9, 0, 0, 0 → top 2: 0:3, 1:0
        ]
        return Specialization(pooled: PooledCoefficients(questions: 3, neurons: 8, values: pooled), probes: probes, blocks: 2, width: 4)
    }()

    @Test func countsTheNeuronsOtherConceptsHoldToo() {
        let s = Self.specialization
        #expect(s.knowledgeNeurons(concept: 0, ratio: 0.25) == [NeuronID(block: 0, neuron: 1), NeuronID(block: 0, neuron: 0)])
        let quarter = SharedKnowledgeVectors(specialization: s, ratio: 0.25)
        #expect(quarter.concepts == [.init(knowledgeVectors: 2, shared: 1), .init(knowledgeVectors: 2, shared: 1), .init(knowledgeVectors: 2, shared: 0)])
        #expect(quarter.medianSharedFraction == 0.5)
        // All sets per block (0:1, 0:0, 0:2, 0:0, 0:3 in block 0; 1:0 in block 1), as the
        // snapshot counts them concept by concept.
        #expect(quarter.byBlock == [5, 1])
        #expect(SharedKnowledgeVectors(specialization: s, ratio: 0.5).byBlock
                    == (0..<3).map { s.knowledgeNeuronsByBlock(concept: $0, ratio: 0.5) }.reduce([0, 0]) { zip($0, $1).map(+) })
        #expect(quarter.genericNeurons == [.init(neuron: NeuronID(block: 0, neuron: 0), concepts: 2)], "a neuron in one set only is not listed")
        // At r = 1/2 each set adds the first two of the Δ = 0 neurons: 1:1 and 1:2 are in all three.
        let half = SharedKnowledgeVectors(specialization: s, ratio: 0.5)
        #expect(half.concepts.map(\.shared) == [3, 3, 2])
        #expect(half.concepts.map(\.sharedFraction) == [0.75, 0.75, 0.5])
        #expect(half.medianSharedFraction == 0.75)
        #expect(half.genericNeurons == [.init(neuron: NeuronID(block: 1, neuron: 1), concepts: 3), .init(neuron: NeuronID(block: 1, neuron: 2), concepts: 3),
                                        .init(neuron: NeuronID(block: 0, neuron: 0), concepts: 2)])
        // The sweep ranks each concept once and gives the same as one ratio at a time.
        #expect(SharedKnowledgeVectors.sweep(specialization: s, ratios: [0.25, 0.5]) == [quarter, half])
    }

    @Test func fromHandMadeSets() {
        func n(_ block: Int, _ neuron: Int) -> NeuronID { NeuronID(block: block, neuron: neuron) }
        let sets = [[n(0, 0), n(1, 3), n(2, 1)], [n(1, 3), n(2, 1), n(0, 2)], [n(1, 3), n(0, 1), n(2, 2)], [n(2, 0), n(0, 3), n(1, 0)]]
        let shared = SharedKnowledgeVectors(ratio: 0.01, knowledgeNeurons: sets, blocks: 3, width: 4)
        #expect(shared.concepts.map(\.shared) == [2, 2, 1, 0])
        // Fractions 2/3, 2/3, 1/3, 0: the median is the mean of the middle two.
        #expect(abs(shared.medianSharedFraction! - 0.5) < 1e-12)
        #expect(shared.genericNeurons == [.init(neuron: n(1, 3), concepts: 3), .init(neuron: n(2, 1), concepts: 2)])
        #expect(SharedKnowledgeVectors(ratio: 0.01, knowledgeNeurons: [], blocks: 3, width: 4).medianSharedFraction == nil)
    }

    /// K_c(r) by selection is the beginning of the full ranking (Δ descending, ties to the lower
    /// index), also where many Δ are tied.
    @Test func selectionRanksAsAFullSort() {
        var random = SplitMix64(seed: 7)
        let questions = 4, blocks = 3, width = 50
        let values = (0..<questions * blocks * width).map { _ in Float(random.next() % 6) }
        let probes = ProbeSet(name: "tied", questions: (0..<questions).map { ProbeQuestion(concept: "c\($0)", category: "x", prompt: "\($0)", answer: " x") })
        let s = Specialization(pooled: PooledCoefficients(questions: questions, neurons: blocks * width, values: values), probes: probes,
                               blocks: blocks, width: width)
        for c in 0..<questions {
            let row = c * s.neurons
            let full = (0..<s.neurons).sorted { s.delta[row + $0] > s.delta[row + $1] || (s.delta[row + $0] == s.delta[row + $1] && $0 < $1) }
            for ratio in [0.001, 0.01, 0.05, 0.1, 0.5, 1] {
                let expected = full.prefix(s.knowledgeNeuronCount(ratio: ratio)).map { NeuronID(block: $0 / width, neuron: $0 % width) }
                #expect(s.knowledgeNeurons(concept: c, ratio: ratio) == expected, "concept \(c), r = \(ratio)")
            }
        }
    }
}
