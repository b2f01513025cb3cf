import Foundation
import Analysis
import Checkpoints
import Model
import Tokenizers
import Testing

/// Methods 1 and 2 against an independent torch implementation in the fixture script.
@Suite struct AnalysisAgainstTorch {
    struct Setup {
        let model: Transformer
        let tokenizer: Tokenizer
        let reference: [String: Any]
        let values: SafetensorsFile

        init(_ name: String) throws {
            let checkpoint = try Checkpoint(folder: Fixtures.url("checkpoints/\(name)").path)
            model = try Transformer(checkpoint: checkpoint)
            tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: checkpoint.tokenizerPath))
            let data = try Data(contentsOf: Fixtures.url("checkpoints/\(name)/analysis.json"))
            reference = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
            values = try SafetensorsFile(path: Fixtures.url("checkpoints/\(name)/analysis.safetensors").path)
        }
    }

    func expectClose(_ a: Double, _ b: Double, _ what: String) {
        #expect(abs(a - b) <= 1e-4 * max(abs(b), 1e-3), "\(what): \(a) vs \(b)")
    }

    /// W_U · v_i of one neuron: the tokens its value vector promotes and suppresses most.
    @Test(arguments: ["llama", "gpt2"])
    func promotedAndSuppressedTokens(_ name: String) throws {
        let setup = try Setup(name)
        let position = try #require(setup.reference["value_vector_neuron"] as? [Int])
        let scores = setup.model.unembed(setup.model.valueVector(NeuronID(block: position[0], neuron: position[1])), count: 1)
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        #expect(Array(order.prefix(10)) == setup.reference["promoted_ids"] as? [Int])
        #expect(Array(order.reversed().prefix(10)) == setup.reference["suppressed_ids"] as? [Int])
        for (id, value) in zip(try #require(setup.reference["promoted_ids"] as? [Int]), try #require(setup.reference["promoted_values"] as? [Double])) {
            expectClose(Double(scores[id]), value, "W_U · v of token \(id)")
        }
    }

    @Test(arguments: ["llama", "gpt2"])
    func specializationAssociationsAndFocus(_ name: String) throws {
        let setup = try Setup(name)
        let probes = try ProbeSet.load(path: Fixtures.url(try #require(setup.reference["probes"] as? String)).path)
        let pooled = try PooledCoefficients.compute(model: setup.model, tokenizer: setup.tokenizer, probes: probes)
        let specialization = Specialization(pooled: pooled, probes: probes, blocks: setup.model.blockCount, width: setup.model.mlpWidth)
        #expect(specialization.concepts == setup.reference["concepts"] as? [String])
        let delta = try setup.values.floats(#require(setup.values.tensors["delta"]))
        #expect(delta.count == specialization.delta.count)
        var worst = 0.0
        let scale = Double(delta.map { abs($0) }.max() ?? 1)
        for (a, b) in zip(specialization.delta, delta) { worst = max(worst, Double(abs(a - b))) }
        #expect(worst <= 1e-4 * scale, "Δ differs by \(worst) (largest |Δ| \(scale))")
        let summary = try #require(setup.reference["layer_specialization"] as? [Double])
        let specializations = specialization.specializations
        for block in 0..<setup.model.blockCount {
            expectClose(specialization.layerSpecialization(block: block, specializations: specializations), summary[block], "layer summary of block \(block)")
        }
        let s = try setup.values.floats(#require(setup.values.tensors["specialization"]))
        for (i, (a, b)) in zip(specialization.specializations, s).enumerated() where abs(a - Double(b)) > 1e-4 * max(Double(b), 1e-2) {
            Issue.record("s of neuron \(i): \(a) vs \(b)")
            break
        }
    }

    /// Δ/σ and the knowledge vectors at 5 % under both associations against the torch reference
    /// (make_fixtures.py association); a neuron's focus and s do not change with σ.
    @Test(arguments: ["llama", "gpt2"])
    func standardizedAssociationAndKnowledgeVectors(_ name: String) throws {
        let setup = try Setup(name)
        let folder = "checkpoints/\(name)/"
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.url(folder + "association.json"))) as? [String: Any])
        let values = try SafetensorsFile(path: Fixtures.url(folder + "association.safetensors").path)
        let probes = try ProbeSet.load(path: Fixtures.url(try #require(setup.reference["probes"] as? String)).path)
        let pooled = try PooledCoefficients.compute(model: setup.model, tokenizer: setup.tokenizer, probes: probes)
        let raw = Specialization(pooled: pooled, probes: probes, blocks: setup.model.blockCount, width: setup.model.mlpWidth)
        let standardized = Specialization(pooled: pooled, probes: probes, blocks: setup.model.blockCount, width: setup.model.mlpWidth,
                                          association: .standardized)
        let expected = try values.floats(#require(values.tensors["delta_standardized"]))
        #expect(expected.count == standardized.delta.count)
        let scale = Double(expected.map { abs($0) }.max() ?? 1)
        let worst = zip(standardized.delta, expected).map { Double(abs($0 - $1)) }.max() ?? .infinity
        #expect(worst <= 1e-4 * scale, "Δ/σ differs by \(worst) (largest |Δ/σ| \(scale))")
        let ratio = try #require(reference["ratio"] as? Double)
        let width = setup.model.mlpWidth
        for (specialization, key) in [(raw, "knowledge_raw"), (standardized, "knowledge_standardized")] {
            let lists = try #require(reference[key] as? [[Int]])
            #expect(lists.count == probes.concepts.count)
            for (c, list) in lists.enumerated() {
                let ours = specialization.knowledgeNeurons(concept: c, ratio: ratio).map { $0.block * width + $0.neuron }
                #expect(Set(ours) == Set(list), "\(key) of \(probes.concepts[c])")
                let byBlock = specialization.knowledgeNeuronsByBlock(concept: c, ratio: ratio)
                #expect(byBlock == (0..<setup.model.blockCount).map { block in list.filter { $0 / width == block }.count })
            }
        }
        #expect(zip(raw.specializations, standardized.specializations).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test(arguments: ["llama", "gpt2"])
    func activationDensitySimilarityAndDomainMatrix(_ name: String) throws {
        let setup = try Setup(name)
        let corpus = try DomainCorpus.load(folder: Fixtures.url("domains").path)
        var options = ActivationPatterns.Options()
        options.samples = try #require(setup.reference["samples"] as? Int)
        let patterns = try ActivationPatterns(model: setup.model, tokenizer: setup.tokenizer, corpus: corpus, options: options)
        #expect(patterns.domains == setup.reference["domains"] as? [String])
        for _ in 0..<patterns.stepCount { try patterns.step() }

        let density = patterns.density()
        #expect(density.weights == setup.reference["weights"] as? [Int])
        let activated = try #require(setup.reference["activated"] as? [[Int]])
        for (block, (ours, theirs)) in zip(density.activated, activated).enumerated() {
            for (a, b) in zip(ours, theirs) { expectClose(Double(a), Double(b), "activated weights in block \(block)") }
        }

        let similarity = patterns.similarity()
        let expected = try #require(setup.reference["similarity"] as? [String: [String: Any]])
        for (block, perPair) in similarity.enumerated() {
            for pair in patterns.pairs {
                let key = "\(block)|\(patterns.domains[pair.a])|\(patterns.domains[pair.b])"
                let theirs = try #require(expected[key], "no reference for \(key)")
                let ours = try #require(perPair[pair])
                #expect(ours.count == theirs["n"] as? Int)
                for (label, value) in [("mean", ours.mean), ("min", ours.minimum), ("q1", ours.lowerQuartile),
                                       ("median", ours.median), ("q3", ours.upperQuartile), ("max", ours.maximum)] {
                    expectClose(value, try #require(theirs[label] as? Double), "\(key) \(label)")
                }
            }
        }
        let activity = patterns.neuronActivity()
        let expectedActivity = try #require(setup.reference["activity"] as? [String: [Double]])
        for (d, name) in patterns.domains.enumerated() {
            let theirs = try #require(expectedActivity[name])
            #expect(activity[d].count == theirs.count)
            for (i, (a, b)) in zip(activity[d], theirs).enumerated() where abs(a - b) > 1e-4 * max(abs(b), 1e-6) {
                Issue.record("u_\(name) of neuron \(i): \(a) vs \(b)")
                break
            }
        }
        let overlap = patterns.neuronOverlap(activity)
        let expectedJaccard = try #require(setup.reference["jaccard"] as? [String: Double])
        for (block, perPair) in overlap.jaccard.enumerated() {
            for (pair, value) in perPair {
                let key = "\(block)|\(patterns.domains[pair.a])|\(patterns.domains[pair.b])"
                #expect(abs(value - (try #require(expectedJaccard[key]))) < 1e-12, "Jaccard \(key)")
            }
        }
        let matrix = try #require(setup.reference["matrix"] as? [[Double]])
        for (a, row) in patterns.domainMatrix().enumerated() {
            for (b, value) in row.enumerated() { expectClose(value, matrix[a][b], "domain matrix \(a),\(b)") }
        }
    }
}
