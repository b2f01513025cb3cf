import Foundation

/// How a weight counts as activated in a domain (METHODS.md, method 2, step 3).
public enum ActivationThreshold: Sendable, Equatable {
    /// γ_d is the value that this fraction of all the domain's weights exceed (default 5 %).
    case quantile(Double)
    /// The papers' absolute γ.
    case absolute(Double)
}

/// Where each block weight sits in one flat vector, and which weights belong to each neuron.
struct BlockWeightIndex {
    struct Entry {
        let name: String
        let block: Int
        let offset: Int
        let count: Int
    }

    let entries: [Entry]
    let offsets: [String: Int]
    /// Start and end of each block's weights in the flat vector.
    let blockRanges: [Range<Int>]
    let count: Int

    init(model: Transformer) {
        var entries: [Entry] = []
        var offsets: [String: Int] = [:]
        var ranges: [Range<Int>] = []
        var offset = 0
        for (block, names) in model.blockWeightNames.enumerated() {
            let start = offset
            for name in names {
                let size = model.weightElementCount(name)
                entries.append(Entry(name: name, block: block, offset: offset, count: size))
                offsets[name] = offset
                offset += size
            }
            ranges.append(start..<offset)
        }
        self.entries = entries
        self.offsets = offsets
        blockRanges = ranges
        count = offset
    }
}

/// Method 2 (Wang, Dai, Sui): gradient-based activation of every block weight per domain,
/// computed sample by sample. Each step takes sample k and k + n/2 of every domain: one backward
/// each of the top last-position logit, a = |w · ∂D/∂w| per weight, added to the domains' sums,
/// and the cosine of a between the pairs the method compares, block by block.
public final class ActivationPatterns {
    public struct Options: Sendable {
        public var samples = 64
        public var threshold = ActivationThreshold.quantile(0.05)
        /// The share of all neurons, ranked by u_d, counted active in a domain.
        public var activeNeuronShare = 0.05
        public var pruningTarget = 0.5
        public var pruningAlpha = 2.0
        public var pruningBeta = 0.2

        public init() {}
    }

    public let model: Transformer
    public let domains: [String]
    public let options: Options
    let layout: BlockWeightIndex
    /// Token ids of the samples used, per domain (the first `samples` of each).
    let sequences: [[[Int]]]
    /// Σ over the samples seen of a(s, w), per domain, over the flat block-weight vector.
    private var sums: [[Float]]
    public private(set) var samplesSeen: [Int]
    /// cos_l values so far, per block, per ordered domain pair (A ≤ B).
    private(set) var cosines: [[DomainPair: [Double]]]
    public private(set) var stepsDone = 0

    public struct DomainPair: Hashable, Sendable, Comparable {
        public let a: Int
        public let b: Int
        public static func < (x: DomainPair, y: DomainPair) -> Bool { (x.a, x.b) < (y.a, y.b) }
    }

    public convenience init(model: Transformer, tokenizer: Tokenizer, corpus: DomainCorpus, options: Options = Options()) throws {
        guard options.samples >= 2 else { throw InputError("", "the activation patterns need at least 2 samples a domain") }
        for domain in corpus.domains where domain.samples.count < options.samples {
            throw InputError(domain.path, "domain '\(domain.name)' has \(domain.samples.count) samples; \(options.samples) were asked for")
        }
        let sequences = corpus.domains.map { domain in
            domain.samples.prefix(options.samples).map { Array(tokenizer.encode($0).prefix(model.config.contextLength)) }
        }
        try self.init(model: model, domains: corpus.domains.map(\.name), sequences: sequences, options: options)
    }

    /// Domains given as token ids, `samples` sequences each.
    public init(model: Transformer, domains: [String], sequences: [[[Int]]], options: Options) throws {
        guard options.samples >= 2, sequences.allSatisfy({ $0.count >= options.samples }) else {
            throw InputError("", "the activation patterns need at least 2 samples a domain, and each domain the samples asked for")
        }
        self.model = model
        self.options = options
        self.domains = domains
        self.sequences = sequences
        layout = BlockWeightIndex(model: model)
        sums = Array(repeating: [Float](repeating: 0, count: layout.count), count: domains.count)
        samplesSeen = Array(repeating: 0, count: domains.count)
        cosines = Array(repeating: [:], count: model.blockCount)
    }

    /// Steps in a full run: one per index k < n/2 (samples k and k + n/2 of every domain), plus
    /// one for the last sample when n is odd.
    public var stepCount: Int { options.samples / 2 + options.samples % 2 }

    /// One sample's a(s, ·) over the flat block-weight vector, with its squared norm per block.
    struct Measured {
        var values: [Float]
        var squaredNorms: [Double]
    }

    /// Sample vectors no longer needed, reused by the next ones: a large model's vectors are
    /// hundreds of megabytes each, and fresh ones would be faulted in page by page every time.
    private var spareVectors: [[Float]] = []

    /// a(s, ·) for sample `k` of domain `d`, added to the domain's sums.
    func measure(domain d: Int, sample k: Int) throws -> Measured {
        var a = spareVectors.popLast() ?? [Float](repeating: 0, count: layout.count)
        _ = try a.withUnsafeMutableBufferPointer { target in
            try model.gradients(of: Batch([sequences[d][k]]), objective: .topLogit) { name, gradient, count in
                guard let offset = layout.offsets[name] else { return }
                let weight = model.weightValues(name)
                for i in 0..<count { target[offset + i] = abs(weight.pointer[i] * gradient[i]) }
            }
        }
        sums[d].withUnsafeMutableBufferPointer { sum in
            a.withUnsafeBufferPointer { Ops.add($0.baseAddress!, into: sum.baseAddress!, count: a.count) }
        }
        samplesSeen[d] += 1
        let norms = a.withUnsafeBufferPointer { p in
            layout.blockRanges.map { Ops.dot(p.baseAddress! + $0.lowerBound, p.baseAddress! + $0.lowerBound, count: $0.count) }
        }
        return Measured(values: a, squaredNorms: norms)
    }

    /// Appends cos_l(x, y) of every block l to the pair's values.
    func record(_ pair: DomainPair, _ x: Measured, _ y: Measured) {
        x.values.withUnsafeBufferPointer { p in
            y.values.withUnsafeBufferPointer { q in
                for (block, range) in layout.blockRanges.enumerated() {
                    let dot = Ops.dot(p.baseAddress! + range.lowerBound, q.baseAddress! + range.lowerBound, count: range.count)
                    let (xx, yy) = (x.squaredNorms[block], y.squaredNorms[block])
                    cosines[block][pair, default: []].append(xx > 0 && yy > 0 ? dot / (xx * yy).squareRoot() : 0)
                }
            }
        }
    }

    /// Runs the next step: sample k of every domain (the cross-domain cosines at k), then sample
    /// k + n/2 of each domain in turn (its cosine with sample k, which it then replaces), then the
    /// cross-domain cosines at k + n/2. At most domains + 1 sample vectors are held at once.
    public func step() throws {
        guard stepsDone < stepCount else { return }
        let half = options.samples / 2
        let first = stepsDone < half ? stepsDone : options.samples - 1
        var current = try domains.indices.map { try measure(domain: $0, sample: first) }
        func recordAcrossDomains() {
            for a in domains.indices {
                for b in (a + 1)..<domains.count { record(DomainPair(a: a, b: b), current[a], current[b]) }
            }
        }
        recordAcrossDomains()
        if stepsDone < half {
            for d in domains.indices {
                let partner = try measure(domain: d, sample: stepsDone + half)
                record(DomainPair(a: d, b: d), current[d], partner)
                spareVectors.append(current[d].values)
                current[d] = partner
            }
            recordAcrossDomains()
        }
        stepsDone += 1
        spareVectors += current.map(\.values)
        if stepsDone == stepCount { spareVectors = [] }
    }

    // MARK: Saving and resuming

    /// Everything a run has accumulated: enough to continue it later with exactly the same results.
    public struct State: Sendable, Equatable {
        public var stepsDone: Int
        public var samplesSeen: [Int]
        /// Σ a(s, w) per domain over the flat block-weight vector.
        public var sums: [[Float]]
        /// cos_l values per block, per pair in `pairs` order, in the order they were measured.
        public var cosines: [[[Double]]]
    }

    public var state: State {
        State(stepsDone: stepsDone, samplesSeen: samplesSeen, sums: sums,
              cosines: cosines.map { perPair in pairs.map { perPair[$0] ?? [] } })
    }

    /// Continues from a saved state; false (and nothing changed) when it does not fit this run.
    public func restore(_ saved: State) -> Bool {
        guard saved.stepsDone <= stepCount, saved.samplesSeen.count == domains.count, saved.sums.count == domains.count,
              saved.sums.allSatisfy({ $0.count == layout.count }), saved.cosines.count == model.blockCount,
              saved.cosines.allSatisfy({ $0.count == pairs.count }) else { return false }
        stepsDone = saved.stepsDone
        samplesSeen = saved.samplesSeen
        sums = saved.sums
        cosines = saved.cosines.map { values in
            Dictionary(uniqueKeysWithValues: zip(pairs, values).filter { !$0.1.isEmpty })
        }
        return true
    }

    /// Floats of state a save writes: the domains' sums dominate.
    public var stateSize: Int { domains.count * layout.count }

    // MARK: Results from what has been seen so far

    /// Every figure of method 2 from the samples seen so far, as a value.
    public func results() -> PatternResults {
        let density = density()
        let activity = neuronActivity()
        let overlap = neuronOverlap(activity)
        return PatternResults(domains: domains, samplesSeen: samplesSeen, samplesWanted: options.samples, density: density,
                              similarity: similarity(), pairs: pairs, deepBlocks: deepBlocks, domainMatrix: domainMatrix(),
                              activity: activity, active: overlap.active, jaccard: overlap.jaccard, pruning: pruningRatios(density))
    }

    /// Ā_d over the flat vector.
    func means(_ d: Int) -> [Float] {
        let scale = 1 / Float(max(samplesSeen[d], 1))
        return sums[d].map { $0 * scale }
    }

    /// γ_d for a domain's means.
    func threshold(_ means: [Float]) -> Float {
        switch options.threshold {
        case .absolute(let gamma): return Float(gamma)
        case .quantile(let share): return Self.exceededBy(share, of: means)
        }
    }

    /// The value that `share` of `values` exceed: the (⌈share·n⌉ + 1)-th largest.
    static func exceededBy(_ share: Double, of values: [Float]) -> Float {
        let count = Int((share * Double(values.count)).rounded(.up))
        guard count < values.count else { return -.infinity }
        return largest(count, of: values)
    }

    /// The k-th largest value (0-based) by selection, not a sort: a large model has ~10⁸ weights
    /// and the thresholds are taken again after every step.
    static func largest(_ k: Int, of values: [Float]) -> Float {
        var items = values
        var low = 0, high = items.count - 1
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        while low < high {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1
            let pivot = items[low + Int((seed >> 33) % UInt64(high - low + 1))]
            // Three-way partition of items[low...high]: larger | equal | smaller.
            var lt = low, i = low, gt = high
            while i <= gt {
                if items[i] > pivot {
                    items.swapAt(lt, i)
                    lt += 1
                    i += 1
                } else if items[i] < pivot {
                    items.swapAt(i, gt)
                    gt -= 1
                } else {
                    i += 1
                }
            }
            if k < lt { high = lt - 1 } else if k > gt { low = gt + 1 } else { return pivot }
        }
        return items[k]
    }

    public struct Density: Sendable {
        public let activated: [[Int]]
        public let weights: [Int]

        /// N_l(d) / weights in block l, `[block][domain]`.
        public var density: [[Double]] { activated.enumerated().map { l, row in row.map { Double($0) / Double(max(weights[l], 1)) } } }
    }

    /// N_l(d) per block and domain.
    public func density() -> Density {
        var activated = Array(repeating: Array(repeating: 0, count: domains.count), count: model.blockCount)
        for d in domains.indices {
            let m = means(d)
            let gamma = threshold(m)
            for (block, range) in layout.blockRanges.enumerated() {
                activated[block][d] = range.reduce(0) { $0 + (m[$1] > gamma ? 1 : 0) }
            }
        }
        return Density(activated: activated, weights: layout.blockRanges.map(\.count))
    }

    /// Summary of the cos_l values of a block and pair: count, mean, quartiles, extremes.
    public struct Spread: Sendable, Equatable {
        public let count: Int
        public let mean, minimum, lowerQuartile, median, upperQuartile, maximum: Double

        init(_ values: [Double]) {
            let sorted = values.sorted()
            count = sorted.count
            func quantile(_ q: Double) -> Double {
                guard !sorted.isEmpty else { return 0 }
                // Linear interpolation between closest ranks, as numpy's default.
                let position = q * Double(sorted.count - 1)
                let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
                return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
            }
            mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
            minimum = sorted.first ?? 0
            maximum = sorted.last ?? 0
            lowerQuartile = quantile(0.25)
            median = quantile(0.5)
            upperQuartile = quantile(0.75)
        }
    }

    public var pairs: [DomainPair] {
        domains.indices.flatMap { a in (a..<domains.count).map { DomainPair(a: a, b: $0) } }
    }

    /// cos_l spread per block and pair, `[block][pair]`.
    public func similarity() -> [[DomainPair: Spread]] {
        cosines.map { perPair in perPair.mapValues { Spread($0) } }
    }

    /// The deep blocks the domain matrix averages over: floor(L/2) ..< L−2, or all when L < 6.
    public var deepBlocks: Range<Int> {
        let blocks = model.blockCount
        return blocks < 6 ? 0..<blocks : (blocks / 2)..<(blocks - 2)
    }

    /// Domain × domain: mean cos_l over the deep blocks, `[a][b]`, symmetric.
    public func domainMatrix() -> [[Double]] {
        var matrix = Array(repeating: Array(repeating: 0.0, count: domains.count), count: domains.count)
        for pair in pairs {
            let values = deepBlocks.compactMap { block -> Double? in
                cosines[block][pair].map { $0.reduce(0, +) / Double(max($0.count, 1)) }
            }
            let mean = values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
            matrix[pair.a][pair.b] = mean
            matrix[pair.b][pair.a] = mean
        }
        return matrix
    }

    /// u_d(l, i): mean Ā_d over the neuron's own weights (its rows of the up/gate/in matrices and
    /// its value vector), `[domain][block · F + i]`.
    public func neuronActivity() -> [[Double]] {
        let f = model.mlpWidth, d = model.hiddenSize
        return domains.indices.map { domain in
            let m = means(domain)
            var activity = [Double](repeating: 0, count: model.blockCount * f)
            for block in 0..<model.blockCount {
                let matrices = model.neuronMatrices(block: block)
                var total = [Double](repeating: 0, count: f)
                for matrix in matrices {
                    let base = layout.offsets[matrix.name]! + matrix.start
                    for neuron in 0..<f {
                        for j in 0..<d {
                            let index = matrix.neuronIsRow ? neuron * d + j : j * f + neuron
                            total[neuron] += Double(m[base + index])
                        }
                    }
                }
                let count = Double(matrices.count * d)
                for neuron in 0..<f { activity[block * f + neuron] = total[neuron] / count }
            }
            return activity
        }
    }

    /// Per block and pair, the Jaccard overlap of the domains' active neurons (u_d in the top share
    /// of all neurons), and the active sets themselves, `[domain][neuron]`.
    public func neuronOverlap(_ activity: [[Double]]) -> (active: [[Bool]], jaccard: [[DomainPair: Double]]) {
        let active = activity.map { u -> [Bool] in
            let gamma = Self.exceededBy(options.activeNeuronShare, of: u.map(Float.init))
            return u.map { Float($0) > gamma }
        }
        let f = model.mlpWidth
        let jaccard = (0..<model.blockCount).map { block -> [DomainPair: Double] in
            var perPair: [DomainPair: Double] = [:]
            for pair in pairs where pair.a != pair.b {
                var both = 0, either = 0
                for i in (block * f)..<((block + 1) * f) {
                    if active[pair.a][i] && active[pair.b][i] { both += 1 }
                    if active[pair.a][i] || active[pair.b][i] { either += 1 }
                }
                perPair[pair] = either > 0 ? Double(both) / Double(either) : 0
            }
            return perPair
        }
        return (active, jaccard)
    }

    /// Layer-wise pruning ratios from N_l (the mean over domains):
    /// N'_l = σ((N_l − mean N)/std N + α/(l+1)), S_l = S + β·S·(1 − L·N'_l / Σ N').
    public func pruningRatios(_ density: Density) -> [Double] {
        let counts = density.activated.map { row in Double(row.reduce(0, +)) / Double(max(row.count, 1)) }
        let blocks = Double(counts.count)
        let mean = counts.reduce(0, +) / blocks
        let deviation = (counts.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / blocks).squareRoot()
        let scaled = counts.enumerated().map { l, n in
            1 / (1 + exp(-((deviation > 0 ? (n - mean) / deviation : 0) + options.pruningAlpha / Double(l + 1))))
        }
        let total = scaled.reduce(0, +)
        let s = options.pruningTarget, beta = options.pruningBeta
        return scaled.map { s + beta * s * (1 - blocks * $0 / total) }
    }
}
