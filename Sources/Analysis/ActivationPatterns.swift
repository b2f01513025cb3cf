import Foundation
import Model
import Tensors
import Tokenizers

/// How a weight counts as activated in a domain (METHODS.md, method 2, step 3).
public enum ActivationThreshold: Sendable, Equatable {
    /// γ_d is the value that this fraction of all the domain's weights exceed (default 5 %).
    case quantile(Double)
    /// The papers' absolute γ.
    case absolute(Double)

    var isQuantile: Bool { if case .quantile = self { true } else { false } }
    var absoluteValue: Float? { if case .absolute(let gamma) = self { Float(gamma) } else { nil } }
}

/// Where each block weight sits in one flat vector, and which weights belong to each neuron.
struct BlockWeightIndex {
    struct Entry {
        let name: String
        let block: Int
        let offset: Int
        let count: Int
        /// For the matrices holding neurons (up/gate/in rows and value vectors): whether neuron i
        /// is row i of the stored matrix (else column i); nil for the others.
        let neuronIsRow: Bool?
    }

    let entries: [Entry]
    let byName: [String: Entry]
    /// Start and end of each block's weights in the flat vector.
    let blockRanges: [Range<Int>]
    let count: Int

    init(model: Transformer) {
        var entries: [Entry] = []
        var ranges: [Range<Int>] = []
        var offset = 0
        for (block, names) in model.blockWeightNames.enumerated() {
            let start = offset
            let neurons = Dictionary(model.neuronMatrices(block: block).map { ($0.name, $0.neuronIsRow) }, uniquingKeysWith: { a, _ in a })
            for name in names {
                let size = model.weightElementCount(name)
                entries.append(Entry(name: name, block: block, offset: offset, count: size, neuronIsRow: neurons[name]))
                offset += size
            }
            ranges.append(start..<offset)
        }
        self.entries = entries
        byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        blockRanges = ranges
        count = offset
    }
}

/// Method 2 (Wang, Dai, Sui): gradient-based activation of every block weight per domain.
/// Each step takes sample k and k + n/2 of every domain through the model together, one backward
/// of each sample's top last-position logit, and reduces each sample's own weight gradient panel by
/// panel as the backward makes it: a = |w · ∂D/∂w| added to the domains' sums, per-block squared
/// norms, and the dot products of the pairs the method compares. No per-sample vector over all
/// weights is ever held; the domains' sums live in anonymous memory within a budget, else in a
/// file-backed map (`PatternSums`), so past the budgets anonymous memory depends on the largest
/// block, the domains, samples and tokens, not on the depth.
public final class ActivationPatterns {
    public struct Options: Sendable {
        public var samples = 64
        public var threshold = ActivationThreshold.quantile(0.05)
        /// The share of all neurons, ranked by u_d, counted active in a domain.
        public var activeNeuronShare = 0.05
        public var pruningTarget = 0.5
        public var pruningAlpha = 2.0
        public var pruningBeta = 0.2
        /// Bytes of anonymous memory the domains' sums may take; larger sums go to a file-backed
        /// map (`PatternSums`). 2 GiB holds 5 domains' sums of a 135M–270M model.
        public var sumsMemoryBudget = 2 << 30
        /// Bytes of anonymous memory the backward may keep of the last blocks' activations from
        /// its forward, instead of running their forward again (1 GiB: every block of a 135M model
        /// at the shipped samples' lengths).
        public var activationMemoryBudget = 1 << 30

        public init() {}
    }

    public let model: Transformer
    public let domains: [String]
    public let options: Options
    /// The file the domains' sums are kept in between steps (nil: a temporary file).
    public let sumsPath: String?
    let layout: BlockWeightIndex
    /// Token ids of the samples used, per domain (the first `samples` of each).
    let sequences: [[[Int]]]
    /// Σ over the samples seen of a(s, w), per domain: opened at the first step or a resume.
    private var sums: PatternSums?
    public private(set) var samplesSeen: [Int]
    /// cos_l values so far, per block, per ordered domain pair (A ≤ B).
    private(set) var cosines: [[DomainPair: [Double]]]
    /// The values the last step added to `cosines`, per block, per pair in `pairs` order.
    private var lastStepCosines: [[[Double]]] = []
    public private(set) var stepsDone = 0
    /// Where the last step's time went.
    public private(set) var lastStepTimes = StepTimes()
    /// The figures over the sums after `stepsDone` steps.
    private var summary: Summary

    public struct DomainPair: Hashable, Sendable, Comparable {
        public let a: Int
        public let b: Int
        public static func < (x: DomainPair, y: DomainPair) -> Bool { (x.a, x.b) < (y.a, y.b) }
    }

    /// Where a step's time went, in seconds.
    public struct StepTimes: Sendable {
        /// The model's forward and backward, the per-sequence weight-gradient products and the
        /// receiver of their panels (which the next fields divide).
        public var backward = BackwardTimes()
        /// a = |w·g|, the per-block squared norms and the pairs' dot products.
        public var reduction = 0.0
        /// Reading the old sums and writing the new ones (in memory or the file's map).
        public var sumsUpdate = 0.0
        /// The first pass over the new sums: checksums, histograms (or counts above γ), u_d.
        public var firstPass = 0.0
        /// γ_d and N_l(d) after the step: the second pass over the sums.
        public var threshold = 0.0
        /// Everything.
        public var total = 0.0

        public init() {}
    }

    /// What the thresholds and neuron activity take from the sums.
    struct Summary {
        /// N_l(d), `[block][domain]`.
        var activated: [[Int]]
        /// u_d, `[domain][block · F + i]`.
        var activity: [[Double]]
        /// `PatternSums.checksum` of each domain's sums (empty before the first step).
        var checksums: [UInt64]

        init(activated: [[Int]], activity: [[Double]], checksums: [UInt64]) {
            (self.activated, self.activity, self.checksums) = (activated, activity, checksums)
        }

        /// Before the first step.
        init(domains: Int, blocks: Int, width: Int) {
            activated = Array(repeating: Array(repeating: 0, count: domains), count: blocks)
            activity = Array(repeating: [Double](repeating: 0, count: blocks * width), count: domains)
            checksums = []
        }
    }

    public convenience init(model: Transformer, tokenizer: Tokenizer, corpus: DomainCorpus, options: Options = Options(),
                            sumsPath: String? = nil) throws {
        guard options.samples >= 2 else { throw InputError("", "the activation patterns need at least 2 samples a domain") }
        for domain in corpus.domains where domain.samples.count < options.samples {
            throw InputError(domain.path, "domain '\(domain.name)' has \(domain.samples.count) samples; \(options.samples) were asked for")
        }
        let sequences = corpus.domains.map { domain in
            domain.samples.prefix(options.samples).map { Array(tokenizer.encode($0).prefix(model.config.contextLength)) }
        }
        try self.init(model: model, domains: corpus.domains.map(\.name), sequences: sequences, options: options, sumsPath: sumsPath)
    }

    /// Domains given as token ids, `samples` sequences each.
    public init(model: Transformer, domains: [String], sequences: [[[Int]]], options: Options, sumsPath: String? = nil) throws {
        guard options.samples >= 2, sequences.allSatisfy({ $0.count >= options.samples }) else {
            throw InputError("", "the activation patterns need at least 2 samples a domain, and each domain the samples asked for")
        }
        self.model = model
        self.options = options
        self.domains = domains
        self.sequences = sequences
        self.sumsPath = sumsPath
        layout = BlockWeightIndex(model: model)
        samplesSeen = Array(repeating: 0, count: domains.count)
        cosines = Array(repeating: [:], count: model.blockCount)
        summary = Summary(domains: domains.count, blocks: model.blockCount, width: model.mlpWidth)
    }

    /// Token counts of the samples used, `[domain][sample]`.
    public var sampleLengths: [[Int]] { sequences.map { $0.prefix(options.samples).map(\.count) } }

    /// Steps in a full run: one per index k < n/2 (samples k and k + n/2 of every domain), plus
    /// one for the last sample when n is odd.
    public var stepCount: Int { options.samples / 2 + options.samples % 2 }

    /// Whether the domains' sums are kept in anonymous memory, within `options.sumsMemoryBudget`.
    public var sumsInMemory: Bool {
        PatternSums.memoryBytes(domains: domains.count, weights: layout.count) <= options.sumsMemoryBudget
    }

    /// The sums, made the first time they are needed: in memory when they fit the budget, else the
    /// sums file, opened (emptied when no step is done yet). A file another process holds gives way
    /// to a temporary one.
    private func openSums() throws -> PatternSums {
        if let sums { return sums }
        if sumsInMemory {
            let memory = PatternSums(inMemoryDomains: domains.count, weights: layout.count)
            sums = memory
            return memory
        }
        let fresh = stepsDone == 0
        let opened = try PatternSums(path: sumsPath, domains: domains.count, weights: layout.count, fresh: fresh)
        guard let opened = try opened ?? (fresh ? PatternSums(path: nil, domains: domains.count, weights: layout.count, fresh: true) : nil) else {
            throw InputError(sumsPath ?? "", "the activation-pattern sums of step \(stepsDone) are not there")
        }
        sums = opened
        return opened
    }

    /// Runs the next step: sample k of every domain and sample k + n/2 (the last sample alone in
    /// the odd last step), all in one batch. Cosines are recorded in the order of a sample-by-sample
    /// run: the cross-domain pairs at k, each domain's k against k + n/2, the cross-domain pairs at
    /// k + n/2. The sums are updated in the same order: (sum + a_k) + a_(k+n/2).
    public func step() throws {
        guard stepsDone < stepCount else { return }
        let stepStart = DispatchTime.now().uptimeNanoseconds
        var times = StepTimes()
        func clock(_ part: WritableKeyPath<StepTimes, Double>, since start: inout UInt64) {
            let now = DispatchTime.now().uptimeNanoseconds
            times[keyPath: part] += Double(now - start) / 1e9
            start = now
        }
        let picked = samples(ofStep: stepsDone)
        let sums = try openSums()
        let domainCount = domains.count, blocks = model.blockCount
        let batch = batch(ofStep: stepsDone)
        var measures: [(pair: DomainPair, x: Int, y: Int)] = []
        func acrossDomains(_ which: Int) {
            for a in domains.indices {
                for b in (a + 1)..<domainCount { measures.append((DomainPair(a: a, b: b), which * domainCount + a, which * domainCount + b)) }
            }
        }
        acrossDomains(0)
        if picked.count == 2 {
            for d in domains.indices { measures.append((DomainPair(a: d, b: d), d, domainCount + d)) }
            acrossDomains(1)
        }
        var norms = Array(repeating: [Double](repeating: 0, count: blocks), count: batch.sequences.count)
        var dots = Array(repeating: [Double](repeating: 0, count: blocks), count: measures.count)
        // The first pass over the new sums, made as they are written: Ā_d = sum · (1 / samples
        // seen) in float32, its upper-bit histogram per domain and block (or the counts above
        // an absolute γ), u_d, and the checksums.
        let scales = domains.indices.map { 1 / Float(samplesSeen[$0] + picked.count) }
        let pass = FirstPass(domains: domainCount, blocks: blocks, width: model.mlpWidth, histograms: options.threshold.isQuantile)
        var weight: (name: String, values: Buffer)?
        let gamma = options.threshold.absoluteValue
        // A panel is reduced in chunks while they are in cache, every sample's and domain's at a
        // time: |w·g|, the norms and dot products, the new sums and the first pass over them. The
        // chunks are Ops.dot's, so the dot products add the same partial sums as over whole panels.
        let chunk = 4096
        let gradients = try model.sequenceGradients(of: batch, keepingBytes: options.activationMemoryBudget) { name, rows, columns, panels in
            guard let entry = layout.byName[name] else { return }
            var time = DispatchTime.now().uptimeNanoseconds
            if weight?.name != name { weight = (name, model.weightValues(name)) }
            let start = rows.lowerBound * columns, count = rows.count * columns
            let w = weight!.values.pointer + start
            var panelNorms = [Double](repeating: 0, count: panels.count), panelDots = [Double](repeating: 0, count: measures.count)
            for lower in stride(from: 0, to: count, by: chunk) {
                let range = lower..<min(lower + chunk, count), n = range.count
                for a in panels {
                    for i in range { a[i] = abs(w[i] * a[i]) }
                }
                for (s, a) in panels.enumerated() { panelNorms[s] += Ops.dot(a + lower, a + lower, count: n) }
                for (m, measure) in measures.enumerated() {
                    panelDots[m] += Ops.dot(panels[measure.x] + lower, panels[measure.y] + lower, count: n)
                }
                clock(\.reduction, since: &time)
                for d in 0..<domainCount {
                    let new = sums.sums(afterSteps: stepsDone + 1, domain: d) + entry.offset + start
                    let first = panels[d]
                    if stepsDone == 0 {
                        // Nothing to read yet: 0 + a is a.
                        (new + lower).update(from: first + lower, count: n)
                    } else {
                        let old = sums.sums(afterSteps: stepsDone, domain: d) + entry.offset + start
                        for i in range { new[i] = old[i] + first[i] }
                    }
                    if picked.count == 2 { Ops.add(panels[domainCount + d] + lower, into: new + lower, count: n) }
                    clock(\.sumsUpdate, since: &time)
                    pass.add(new, range: range, domain: d, entry: entry, rows: rows, columns: columns, scale: scales[d], gamma: gamma)
                    clock(\.firstPass, since: &time)
                }
            }
            for s in panels.indices { norms[s][entry.block] += panelNorms[s] }
            for m in measures.indices { dots[m][entry.block] += panelDots[m] }
        }
        times.backward = gradients.times
        for d in domains.indices { samplesSeen[d] += picked.count }
        var added = Array(repeating: Array(repeating: [Double](), count: pairs.count), count: blocks)
        let pairIndex = Dictionary(uniqueKeysWithValues: pairs.enumerated().map { ($1, $0) })
        for (m, measure) in measures.enumerated() {
            for block in 0..<blocks {
                let (xx, yy) = (norms[measure.x][block], norms[measure.y][block])
                let cosine = xx > 0 && yy > 0 ? dots[m][block] / (xx * yy).squareRoot() : 0
                cosines[block][measure.pair, default: []].append(cosine)
                added[block][pairIndex[measure.pair]!].append(cosine)
            }
        }
        lastStepCosines = added
        stepsDone += 1
        var finishing = DispatchTime.now().uptimeNanoseconds
        summary = finish(pass, sums: sums)
        clock(\.threshold, since: &finishing)
        times.total = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
        lastStepTimes = times
    }

    /// The sample indices step `step` takes from every domain: k and k + n/2, or the last alone.
    private func samples(ofStep step: Int) -> [Int] {
        let half = options.samples / 2
        return step < half ? [step, step + half] : [options.samples - 1]
    }

    /// Step `step`'s sequences: sequence `which · domains + d` is domain d's picked sample `which`.
    private func batch(ofStep step: Int) -> Batch {
        Batch(samples(ofStep: step).flatMap { k in domains.indices.map { sequences[$0][k] } })
    }

    /// The useful arithmetic of step `step` (README, "Efficiency"): per sample, a forward and a
    /// backward with weight gradients from its last position's top logit.
    public func usefulFLOPs(ofStep step: Int) -> Double {
        let batch = batch(ofStep: step)
        return model.gradientFLOPs(batch, logitRows: batch.sequences.count, weightGradients: true)
    }

    // MARK: Saving and resuming

    /// What one step adds to a store: small, per block, never the sums themselves (they stay in
    /// the sums file, whose checksums the record keeps).
    public struct StepRecord: Sendable, Equatable {
        /// Steps done with this one.
        public var stepsDone: Int
        public var samplesSeen: [Int]
        /// The step's cos_l values per block, per pair in `pairs` order.
        public var cosines: [[[Double]]]
        /// N_l(d) after the step, `[block][domain]`.
        public var activated: [[Int]]
        /// u_d after the step, `[domain][block · F + i]`.
        public var activity: [[Double]]
        /// The sums file and the checksum of each domain's sums after the step.
        public var sumsPath: String?
        public var checksums: [UInt64]
    }

    /// Everything stored for a run: enough to show its figures, and with the sums file to continue it.
    public struct Stored: Sendable, Equatable {
        public var stepsDone: Int
        public var samplesSeen: [Int]
        /// cos_l values per block, per pair in `pairs` order, in the order they were measured.
        public var cosines: [[[Double]]]
        public var activated: [[Int]]
        public var activity: [[Double]]
        public var checksums: [UInt64]

        public init(stepsDone: Int, samplesSeen: [Int], cosines: [[[Double]]], activated: [[Int]], activity: [[Double]], checksums: [UInt64]) {
            self.stepsDone = stepsDone
            self.samplesSeen = samplesSeen
            self.cosines = cosines
            self.activated = activated
            self.activity = activity
            self.checksums = checksums
        }
    }

    /// The record of the last step.
    public func lastStep() -> StepRecord {
        return StepRecord(stepsDone: stepsDone, samplesSeen: samplesSeen, cosines: lastStepCosines, activated: summary.activated,
                          activity: summary.activity, sumsPath: sums?.path, checksums: summary.checksums)
    }

    /// Continues from what a store kept. A finished run needs nothing else; an unfinished one needs
    /// its sums file with the checksums of the stored step. False (and nothing changed) when
    /// either does not fit this run: it then starts from the beginning.
    public func restore(_ saved: Stored) throws -> Bool {
        let blocks = model.blockCount, width = blocks * model.mlpWidth
        guard saved.stepsDone > 0, saved.stepsDone <= stepCount, saved.samplesSeen.count == domains.count,
              saved.cosines.count == blocks, saved.cosines.allSatisfy({ $0.count == pairs.count }),
              saved.activated.count == blocks, saved.activated.allSatisfy({ $0.count == domains.count }),
              saved.activity.count == domains.count, saved.activity.allSatisfy({ $0.count == width }),
              saved.checksums.count == domains.count else { return false }
        if saved.stepsDone < stepCount {
            if sumsInMemory {
                guard try replay(saved.stepsDone, checksums: saved.checksums) else { return false }
            } else {
                guard let file = try PatternSums(path: sumsPath, domains: domains.count, weights: layout.count, fresh: false) else { return false }
                for d in domains.indices where PatternSums.checksum(file.sums(afterSteps: saved.stepsDone, domain: d), count: layout.count) != saved.checksums[d] {
                    return false
                }
                sums = file
            }
        }
        stepsDone = saved.stepsDone
        samplesSeen = saved.samplesSeen
        cosines = saved.cosines.map { values in
            Dictionary(uniqueKeysWithValues: zip(pairs, values).filter { !$0.1.isEmpty })
        }
        summary = Summary(activated: saved.activated, activity: saved.activity, checksums: saved.checksums)
        if stepsDone == stepCount { discardSums() }
        return true
    }

    /// Runs the first `steps` steps again for their sums, which in memory do not outlive a process:
    /// true when they come out with the stored checksums; else (another BLAS, another thread count)
    /// the run is back at its start.
    private func replay(_ steps: Int, checksums: [UInt64]) throws -> Bool {
        for _ in 0..<steps { try step() }
        if summary.checksums == checksums { return true }
        sums = nil
        stepsDone = 0
        samplesSeen = Array(repeating: 0, count: domains.count)
        cosines = Array(repeating: [:], count: model.blockCount)
        lastStepCosines = []
        summary = Summary(domains: domains.count, blocks: model.blockCount, width: model.mlpWidth)
        return false
    }

    /// Lets the sums go once the run is finished and stored: the store has every figure.
    public func discardSums() {
        if let sums {
            sums.remove()
        } else if let sumsPath {
            unlink(sumsPath)
        }
        sums = nil
    }

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

    /// The first pass over a step's new sums, fed panel by panel as the step writes them.
    final class FirstPass {
        static let bins = 1 << 16
        let domains, blocks, width: Int
        /// Per domain and block, how many Ā_d have each upper 16 bits, `[domain][block][bin]`;
        /// empty for an absolute γ.
        var upper: [UInt32]
        /// Per domain and block, the count above an absolute γ.
        var above: [Int]
        var activity: [[Double]]
        var checksums: [UInt64]
        /// Per domain, the sum so far of a neuron row that one range began and the next ends.
        private var rowTotals: [Double]

        init(domains: Int, blocks: Int, width: Int, histograms: Bool) {
            (self.domains, self.blocks, self.width) = (domains, blocks, width)
            upper = [UInt32](repeating: 0, count: histograms ? domains * blocks * Self.bins : 0)
            above = [Int](repeating: 0, count: domains * blocks)
            activity = Array(repeating: [Double](repeating: 0, count: blocks * width), count: domains)
            checksums = [UInt64](repeating: 0, count: domains)
            rowTotals = [Double](repeating: 0, count: domains)
        }

        /// Elements `range` of one panel of domain `d`'s new sums (`sums` is the panel's start):
        /// stored rows `rows` of the weight `entry`. A panel's ranges come in order.
        func add(_ sums: UnsafePointer<Float>, range: Range<Int>, domain d: Int, entry: BlockWeightIndex.Entry, rows: Range<Int>,
                 columns: Int, scale: Float, gamma: Float?) {
            let values = sums + range.lowerBound, count = range.count
            checksums[d] = checksums[d] &+ PatternSums.checksum(values, count: count)
            if let gamma {
                var exceeding = 0
                for i in 0..<count where values[i] * scale > gamma { exceeding += 1 }
                above[d * blocks + entry.block] += exceeding
            } else {
                upper.withUnsafeMutableBufferPointer { histogram in
                    let bins = histogram.baseAddress! + (d * blocks + entry.block) * Self.bins
                    for i in 0..<count { bins[Int((values[i] * scale).bitPattern >> 16)] += 1 }
                }
            }
            guard let neuronIsRow = entry.neuronIsRow else { return }
            activity[d].withUnsafeMutableBufferPointer { activity in
                let neurons = activity.baseAddress! + entry.block * width
                var i = range.lowerBound
                while i < range.upperBound {
                    let row = i / columns, rowEnd = (row + 1) * columns, end = min(rowEnd, range.upperBound)
                    if neuronIsRow {
                        // Row r is neuron r (r − F in the up half of a fused gate|up matrix): its
                        // sum over the row, in order, carried from one range to the next.
                        var total = rowTotals[d]
                        for j in i..<end { total += Double(sums[j] * scale) }
                        if end == rowEnd {
                            neurons[(rows.lowerBound + row) % width] += total
                            rowTotals[d] = 0
                        } else {
                            rowTotals[d] = total
                        }
                    } else {
                        let rowStart = row * columns
                        for j in i..<end { neurons[j - rowStart] += Double(sums[j] * scale) }
                    }
                    i = end
                }
            }
        }
    }

    /// N_l(d) and u_d after a step from its first pass, one domain at a time on every core. For
    /// the quantile threshold, γ_d is found exactly by a radix selection over the bit patterns of
    /// Ā_d (non-negative floats order as their bits do): the upper-bit histograms find the bin
    /// holding γ_d, a second pass over the domain's sums histograms the lower 16 bits inside that
    /// bin (per block too), which finds γ_d itself and the blocks' counts above it. No buffer of
    /// the size of the weights is made.
    private func finish(_ pass: FirstPass, sums: PatternSums) -> Summary {
        let blocks = model.blockCount, bins = FirstPass.bins
        let matrices = Double(model.neuronMatrices(block: 0).count * model.hiddenSize)
        let activity = pass.activity.map { $0.map { $0 / matrices } }
        guard case .quantile(let share) = options.threshold else {
            return Summary(activated: (0..<blocks).map { block in domains.indices.map { pass.above[$0 * blocks + block] } },
                           activity: activity, checksums: pass.checksums)
        }
        // γ_d is the k-th largest mean (0-based), k = ⌈share · weights⌉; none when k reaches them all.
        let k = Int((share * Double(layout.count)).rounded(.up))
        var activated = Array(repeating: [Int](repeating: 0, count: blocks), count: domains.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: domains.count) { d in
            let counts: [Int]
            if k >= layout.count {
                counts = layout.blockRanges.map(\.count)
            } else {
                counts = pass.upper.withUnsafeBufferPointer { upper in
                    countAbove(k, upper: upper.baseAddress! + d * blocks * bins, sums: sums.sums(afterSteps: stepsDone, domain: d),
                               scale: 1 / Float(max(samplesSeen[d], 1)))
                }
            }
            lock.withLock { activated[d] = counts }
        }
        return Summary(activated: (0..<blocks).map { block in domains.indices.map { activated[$0][block] } },
                       activity: activity, checksums: pass.checksums)
    }

    /// Per block, how many of one domain's means exceed its k-th largest, from the upper-bit
    /// histograms `[block][bin]` and a second pass over its sums.
    private func countAbove(_ k: Int, upper: UnsafePointer<UInt32>, sums: UnsafePointer<Float>, scale: Float) -> [Int] {
        let blocks = model.blockCount, bins = FirstPass.bins
        var bin = bins - 1, larger = 0
        while true {
            var inBin = 0
            for block in 0..<blocks { inBin += Int(upper[block * bins + bin]) }
            if larger + inBin > k { break }
            larger += inBin
            bin -= 1
        }
        var activated = (0..<blocks).map { block in (bin + 1..<bins).reduce(0) { $0 + Int(upper[block * bins + $1]) } }
        // The lower 16 bits of the means in γ's bin, per block.
        var lower = [UInt32](repeating: 0, count: blocks * bins)
        let high = UInt32(bin)
        lower.withUnsafeMutableBufferPointer { lower in
            for entry in layout.entries {
                let values = sums + entry.offset
                let histogram = lower.baseAddress! + entry.block * bins
                for i in 0..<entry.count {
                    let bits = (values[i] * scale).bitPattern
                    if bits >> 16 == high { histogram[Int(bits & 0xffff)] += 1 }
                }
            }
        }
        var low = bins - 1
        while true {
            var inBin = 0
            for block in 0..<blocks { inBin += Int(lower[block * bins + low]) }
            if larger + inBin > k { break }
            larger += inBin
            low -= 1
        }
        for block in 0..<blocks {
            activated[block] += (low + 1..<bins).reduce(0) { $0 + Int(lower[block * bins + $1]) }
        }
        return activated
    }

    /// The value that `share` of `values` exceed: the (⌈share·n⌉ + 1)-th largest.
    static func exceededBy(_ share: Double, of values: [Float]) -> Float {
        let count = Int((share * Double(values.count)).rounded(.up))
        guard count < values.count else { return -.infinity }
        return largest(count, of: values)
    }

    /// The k-th largest value (0-based) by selection, not a sort.
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
        Density(activated: summary.activated, weights: layout.blockRanges.map(\.count))
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
    public func neuronActivity() -> [[Double]] { summary.activity }

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
