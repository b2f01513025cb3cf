import Analysis
import Model

/// Figures derived from the snapshot's Δ that are too slow to recompute on every frame of a large
/// model (ranking every neuron for K_c(r); the per-block summary of s; how many of each concept's
/// K_c(r) other concepts share), remembered for as long as
/// the snapshots carry the same Δ. Used on the UI thread only.
public final class DerivedValues: @unchecked Sendable {
    private struct Key: Hashable {
        let concept: Int
        let ratio: Double
    }

    /// The Δ storage the entries were computed from (the engine publishes the same one each time).
    private var source: (address: UnsafeRawPointer?, count: Int)?
    private var knowledge: [Key: (list: [NeuronID], set: Set<NeuronID>)] = [:]
    private var layers: [Double]?
    private var shared: [Double: SharedKnowledgeVectors] = [:]
    /// Method 1 under the association the engine does not use, and the pooled storage it came from.
    private var other: (address: UnsafeRawPointer?, specialization: Specialization)?

    public init() {}

    /// Δ under `association` from the engine's pooled coefficients, computed once per snapshot's p.
    func specialization(pooled: PooledCoefficients, probes: ProbeSet, blocks: Int, width: Int, association: Association) -> Specialization {
        let address = pooled.values.baseAddress.map { UnsafeRawPointer($0) }
        if let other, other.address == address, other.specialization.association == association { return other.specialization }
        let made = Specialization(pooled: pooled, probes: probes, blocks: blocks, width: width, association: association)
        other = (address, made)
        return made
    }

    private func check(_ specialization: Specialization) {
        let address = specialization.delta.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        if source?.address != address || source?.count != specialization.delta.count {
            source = (address, specialization.delta.count)
            knowledge = [:]
            layers = nil
            shared = [:]
        }
    }

    private func entry(_ specialization: Specialization, concept: Int, ratio: Double) -> (list: [NeuronID], set: Set<NeuronID>) {
        check(specialization)
        let key = Key(concept: concept, ratio: ratio)
        if let known = knowledge[key] { return known }
        let list = specialization.knowledgeNeurons(concept: concept, ratio: ratio)
        let made = (list, Set(list))
        knowledge[key] = made
        return made
    }

    /// K_c(r) ranked by Δ(c), largest first.
    public func knowledgeNeurons(_ specialization: Specialization, concept: Int, ratio: Double) -> [NeuronID] {
        entry(specialization, concept: concept, ratio: ratio).list
    }

    public func knowledgeSet(_ specialization: Specialization, concept: Int, ratio: Double) -> Set<NeuronID> {
        entry(specialization, concept: concept, ratio: ratio).set
    }

    /// Every concept's K_c(r) against the others' at `ratio`: ranks every concept once per ratio.
    public func sharedKnowledgeVectors(_ specialization: Specialization, ratio: Double) -> SharedKnowledgeVectors {
        check(specialization)
        if let known = shared[ratio] { return known }
        let made = SharedKnowledgeVectors(specialization: specialization, ratio: ratio)
        shared[ratio] = made
        return made
    }

    /// The layer summary of every block: mean s of its 100 neurons with the largest max Δ.
    public func layerSpecialization(_ specialization: Specialization, specializations: [Double]) -> [Double] {
        check(specialization)
        if let layers { return layers }
        let made = (0..<specialization.blocks).map { specialization.layerSpecialization(block: $0, specializations: specializations) }
        layers = made
        return made
    }
}

/// A `DerivedValues` for each model of the Compare page, made as they are first asked for.
final class DerivedValuesList: @unchecked Sendable {
    private var values: [DerivedValues] = []

    subscript(index: Int) -> DerivedValues {
        while values.count <= index { values.append(DerivedValues()) }
        return values[index]
    }
}
