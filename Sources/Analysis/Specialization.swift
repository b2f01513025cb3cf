import Foundation
import Model
import Tensors
import Tokenizers

/// How a question's coefficients are pooled over its tokens (METHODS.md, method 1, step 1).
public enum Pooling: String, Sendable {
    /// The mean of |m| over the prompt's own tokens (the default).
    case mean
    /// |m| at the prompt's last token.
    case last
}

/// How a neuron's association with a concept is measured (METHODS.md, method 1, step 2).
public enum Association: String, Sendable, CaseIterable {
    /// Δ_li(c), the difference of mean pooled coefficients (the default).
    case raw
    /// Δ_li(c) / σ_li, with σ_li the standard deviation of p_li over all questions: coefficient
    /// magnitudes grow with depth, and a raw Δ ranked across blocks favours the deep ones.
    case standardized
}

/// p_li(q) for every question q and neuron (l, i): `[questions, blocks × F]`, row-major.
public struct PooledCoefficients: @unchecked Sendable {
    public let questions: Int
    public let neurons: Int
    /// `[questions, neurons]`, never changed once made.
    public let values: UnsafeBufferPointer<Float>
    private let storage: Storage

    /// Where pooled coefficients are kept while their batches come in: in a file-backed map where
    /// one can be made (page cache, not the process's memory: a 1.5B model's on the 5,493-question
    /// probe set take 5.5 GB), else in memory.
    public final class Storage: @unchecked Sendable {
        public let pointer: UnsafeMutablePointer<Float>
        public let count: Int
        private let owner: AnyObject

        public init(count: Int) {
            if let file = FileBackedFloats(count: count) {
                (pointer, owner) = (file.pointer, file)
            } else {
                let buffer = Buffer(count: max(count, 1))
                (pointer, owner) = (buffer.pointer, buffer)
            }
            self.count = count
        }
    }

    /// The coefficients a storage holds, all its batches in.
    public init(questions: Int, neurons: Int, storage: Storage) {
        precondition(storage.count == questions * neurons)
        self.questions = questions
        self.neurons = neurons
        self.storage = storage
        values = UnsafeBufferPointer(start: storage.pointer, count: storage.count)
    }

    public init(questions: Int, neurons: Int, values: [Float]) {
        let storage = Storage(count: values.count)
        if !values.isEmpty { values.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: $0.count) } }
        self.init(questions: questions, neurons: neurons, storage: storage)
    }

    /// Runs every prompt through the model and pools |m| over the prompt's own tokens (special
    /// tokens the tokenizer adds, such as BOS, are run but not pooled).
    public static func compute(model: Transformer, tokenizer: Tokenizer, probes: ProbeSet, pooling: Pooling = .mean,
                               batchSize: Int = 64) throws -> PooledCoefficients {
        var values: [Float] = []
        for start in stride(from: 0, to: probes.questions.count, by: batchSize) {
            let prompts = probes.questions[start..<min(start + batchSize, probes.questions.count)].map(\.prompt)
            values += try pool(model: model, tokenizer: tokenizer, prompts: prompts, pooling: pooling).values
        }
        return PooledCoefficients(questions: probes.questions.count, neurons: model.blockCount * model.mlpWidth, values: values)
    }

    /// p for one batch of prompts, in one forward: `[prompts, blocks × F]`, with the pass's useful
    /// arithmetic (a forward over the prompts, without logits).
    public static func pool(model: Transformer, tokenizer: Tokenizer, prompts texts: [String], pooling: Pooling) throws -> (values: [Float], flops: Double) {
        let f = model.mlpWidth, neurons = model.blockCount * f
        var values = [Float](repeating: 0, count: texts.count * neurons)
        let prompts = texts.map { text -> (tokens: [Int], first: Int) in
            let tokens = tokenizer.encode(text)
            let own = tokenizer.encode(text, addSpecialTokens: false).count
            return (tokens, max(0, tokens.count - own))
        }
        let batch = Batch(prompts.map(\.tokens))
        let hooks = Hooks(coefficients: { block, coefficients, _, width in
            for (q, offset) in batch.offsets.enumerated() {
                let (tokens, first) = prompts[q]
                values.withUnsafeMutableBufferPointer {
                    pool(coefficients + offset * width, width: width, own: first..<tokens.count, pooling: pooling,
                         into: $0.baseAddress! + q * neurons + block * width)
                }
            }
        })
        _ = try model.forward(batch, logits: .none, hooks: hooks)
        return (values, model.forwardFLOPs(batch, logitRows: 0))
    }

    /// p of one prompt at one block: |m| over the rows `own` of `coefficients` (the prompt's own
    /// tokens, special ones left out), their mean or the last one, into the zeroed `target`.
    static func pool(_ coefficients: UnsafePointer<Float>, width: Int, own: Range<Int>, pooling: Pooling,
                     into target: UnsafeMutablePointer<Float>) {
        let rows = pooling == .mean ? Array(own) : [own.upperBound - 1]
        let scale = 1 / Float(rows.count)
        for position in rows {
            let row = coefficients + position * width
            for i in 0..<width { target[i] += abs(row[i]) * scale }
        }
    }

    /// The questions with the largest p for one neuron, largest first.
    public func topQuestions(_ neuron: NeuronID, width: Int, count: Int) -> [NeuronDetail.QuestionScore] {
        let index = neuron.block * width + neuron.neuron
        let order = (0..<questions).sorted { values[$0 * neurons + index] > values[$1 * neurons + index] || (values[$0 * neurons + index] == values[$1 * neurons + index] && $0 < $1) }
        return order.prefix(count).map { NeuronDetail.QuestionScore(question: $0, pooled: values[$0 * neurons + index]) }
    }
}

/// Method 1 (Hong et al., 2025): each neuron's association Δ(c) with each concept, the concepts'
/// knowledge vectors, and each neuron's knowledge focus and specialization.
public struct Specialization: Sendable {
    public let concepts: [String]
    public let categories: [String]
    /// The category of each concept, as an index into `categories`.
    public let conceptCategory: [Int]
    public let blocks: Int
    public let width: Int
    /// The association every ranking uses: Δ_li(c), or Δ_li(c) / σ_li when standardized.
    public let association: Association
    /// The association of each neuron with each concept (Δ, or Δ/σ): `[concepts, blocks × F]`, row-major.
    public let delta: [Float]

    public var neurons: Int { blocks * width }

    /// Δ_li(c) = mean of p over c's questions − mean of p over every other concept's questions;
    /// standardized, divided by σ_li, the population standard deviation of p_li over all questions
    /// (0 where σ is 0: a neuron whose p never varies has Δ = 0 too). Dividing by a per-neuron
    /// constant leaves each neuron's focus π and s unchanged; it changes which neurons rank first.
    public init(pooled: PooledCoefficients, probes: ProbeSet, blocks: Int, width: Int, association: Association = .raw) {
        self.association = association
        let n = pooled.neurons
        concepts = probes.concepts
        categories = probes.categories
        conceptCategory = probes.concepts.map { probes.categories.firstIndex(of: probes.category(of: $0)) ?? 0 }
        self.blocks = blocks
        self.width = width
        var total = [Double](repeating: 0, count: n)
        var sums = [[Double]](repeating: [Double](repeating: 0, count: n), count: concepts.count)
        var squares = [Double](repeating: 0, count: association == .standardized ? n : 0)
        var counts = [Int](repeating: 0, count: concepts.count)
        let conceptIndex = Dictionary(uniqueKeysWithValues: concepts.enumerated().map { ($1, $0) })
        for (q, question) in probes.questions.enumerated() {
            let c = conceptIndex[question.concept]!
            counts[c] += 1
            let row = q * n
            for i in 0..<n {
                let value = Double(pooled.values[row + i])
                sums[c][i] += value
                total[i] += value
            }
            if association == .standardized {
                for i in 0..<n { squares[i] += Double(pooled.values[row + i]) * Double(pooled.values[row + i]) }
            }
        }
        let questions = probes.questions.count
        // 1/σ per neuron (1 for the raw Δ).
        let scale: [Double] = association == .raw ? [Double](repeating: 1, count: n) : (0..<n).map { i in
            let mean = total[i] / Double(max(questions, 1))
            let variance = max(squares[i] / Double(max(questions, 1)) - mean * mean, 0)
            return variance > 0 ? 1 / variance.squareRoot() : 0
        }
        var delta = [Float](repeating: 0, count: concepts.count * n)
        for c in concepts.indices {
            let others = questions - counts[c]
            for i in 0..<n {
                let inside = sums[c][i] / Double(max(counts[c], 1))
                let outside = others > 0 ? (total[i] - sums[c][i]) / Double(others) : 0
                delta[c * n + i] = Float((inside - outside) * scale[i])
            }
        }
        self.delta = delta
    }

    /// K_c(r): the ceil(r · L · F) neurons with the largest Δ(c), across all blocks together.
    public func knowledgeNeurons(concept c: Int, ratio: Double) -> [NeuronID] {
        rankedNeurons(concept: c, count: knowledgeNeuronCount(ratio: ratio)).map { NeuronID(block: $0 / width, neuron: $0 % width) }
    }

    /// |K_c(r)| = ceil(r · L · F), the same for every concept.
    public func knowledgeNeuronCount(ratio: Double) -> Int {
        min(neurons, Int((ratio * Double(neurons)).rounded(.up)))
    }

    /// The flat indices (block × F + neuron) of the `count` neurons with the largest Δ(c), largest
    /// first, ties to the lower index. The count-th largest Δ is found by selection, and only the
    /// neurons at or above it are sorted: a model has tens of thousands of neurons, K_c a few
    /// hundred, and pages and exports rank every concept.
    func rankedNeurons(concept c: Int, count: Int) -> [Int] {
        guard count > 0 else { return [] }
        let row = c * neurons
        func before(_ a: Int, _ b: Int) -> Bool { delta[row + a] > delta[row + b] || (delta[row + a] == delta[row + b] && a < b) }
        var values = Array(delta[row..<row + neurons])
        let threshold = Self.largest(rank: count, of: &values)
        var above: [Int] = [], tied: [Int] = []
        for i in 0..<neurons {
            if delta[row + i] > threshold { above.append(i) } else if delta[row + i] == threshold { tied.append(i) }
        }
        let chosen = above + tied.prefix(count - above.count)
        // A NaN in Δ is neither above nor tied: only a full sort gives its ranking.
        guard chosen.count == count else { return Array((0..<neurons).sorted(by: before).prefix(count)) }
        return chosen.sorted(by: before)
    }

    /// The `rank`-th largest of `values` (1: the largest), reordering them: Hoare's selection.
    static func largest(rank: Int, of values: inout [Float]) -> Float {
        let target = rank - 1
        var low = 0, high = values.count - 1
        while low < high {
            let pivot = values[(low + high) / 2]
            var i = low, j = high
            while i <= j {
                while values[i] > pivot { i += 1 }
                while values[j] < pivot { j -= 1 }
                if i <= j {
                    values.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            // [low, j] holds values ≥ pivot, [i, high] values ≤ pivot, and what lies between equals it.
            if target <= j { high = j } else if target >= i { low = i } else { return values[target] }
        }
        return values[target]
    }

    /// How many of K_c(r) sit in each block.
    public func knowledgeNeuronsByBlock(concept c: Int, ratio: Double) -> [Int] {
        var counts = [Int](repeating: 0, count: blocks)
        for neuron in knowledgeNeurons(concept: c, ratio: ratio) { counts[neuron.block] += 1 }
        return counts
    }

    /// A neuron's knowledge focus: π(c) ∝ max(Δ(c), 0), the shares per concept and per category,
    /// and s = 1 − H(π)/log C (0 when no concept has a positive Δ).
    public struct Focus: Sendable {
        public let conceptShares: [(concept: Int, share: Double)]
        public let categoryShares: [(category: Int, share: Double)]
        public let specialization: Double
    }

    public func focus(_ neuron: NeuronID) -> Focus {
        let index = neuron.block * width + neuron.neuron
        guard let shares = shares(index) else { return Focus(conceptShares: [], categoryShares: [], specialization: 0) }
        var categoryShares = [Double](repeating: 0, count: categories.count)
        for (c, share) in shares.enumerated() { categoryShares[conceptCategory[c]] += share }
        return Focus(
            conceptShares: shares.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }.map { ($0.offset, $0.element) },
            categoryShares: categoryShares.enumerated().filter { $0.element > 0 }.sorted { $0.element > $1.element }.map { ($0.offset, $0.element) },
            specialization: Self.specialization(shares))
    }

    /// s for every neuron, `[blocks × F]`.
    public var specializations: [Double] {
        (0..<neurons).map { index in shares(index).map(Self.specialization) ?? 0 }
    }

    /// π for the neuron at flat `index`: max(Δ(c), 0) normalised over concepts; nil when all are zero.
    private func shares(_ index: Int) -> [Double]? {
        let positive = concepts.indices.map { Double(max(delta[$0 * neurons + index], 0)) }
        let total = positive.reduce(0, +)
        return total > 0 ? positive.map { $0 / total } : nil
    }

    static func specialization(_ shares: [Double]) -> Double {
        guard shares.count > 1 else { return 0 }
        let entropy = shares.reduce(0.0) { $1 > 0 ? $0 - $1 * log($1) : $0 }
        return 1 - entropy / log(Double(shares.count))
    }

    /// The layer summary: mean s of the block's `top` neurons with the largest max_c Δ(c).
    public func layerSpecialization(block: Int, top: Int = 100, specializations: [Double]) -> Double {
        let indices = (0..<width).map { block * width + $0 }
        let strength = indices.map { index in concepts.indices.map { delta[$0 * neurons + index] }.max() ?? 0 }
        let chosen = indices.indices.sorted { strength[$0] > strength[$1] || (strength[$0] == strength[$1] && $0 < $1) }.prefix(top)
        return chosen.reduce(0.0) { $0 + specializations[indices[$1]] } / Double(max(chosen.count, 1))
    }
}
