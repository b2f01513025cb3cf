import Foundation
import Model

/// A first-order estimate of what zeroing neurons does to every question (attribution patching).
///
/// Each question has its scored quantities ("targets"): the open margin, then the log-probability
/// of each candidate scored (the answer alone for open accuracy, every choice as well for multiple
/// choice). The open margin is taken at the answer token whose margin is smallest: its logit minus
/// the best other token's; the answer is greedy-decoded exactly when every token's margin is
/// positive. For each target S and neuron (l, i), e(l, i) = Σ_t m_{l,i,t} · ∂S/∂m_{l,i,t}, from one
/// backward per target; zeroing a set of neurons changes S by about −Σ e over the set. A question
/// is estimated right when its margin stays positive (open), or when the answer keeps the highest
/// estimated log-probability (multiple choice).
///
/// The table is neuron-major and half precision (`[neurons][targets]`): a toggle reads one
/// contiguous row per ablated neuron. It is filled chunk by chunk by one thread before anyone
/// reads it (`isComplete`), and never changed after.
public final class AblationEstimate: @unchecked Sendable {
    public let questionCount: Int
    public let neurons: Int
    let width: Int
    /// Per question, its first target; `questionCount + 1` entries.
    let first: [Int]
    /// Per question, the target of the answer's log-probability.
    let answerTarget: [Int]
    /// Per question, whether multiple choice is scored (it has choices and every choice runs).
    let scoresChoices: [Bool]
    /// Each target's value with nothing ablated.
    private(set) var values: [Float]
    private var table: [Float16]
    private var filled: [Bool]

    public var targetCount: Int { first[questionCount] }
    public var isComplete: Bool { !filled.contains(false) }
    /// Bytes the table holds.
    public var tableBytes: Int { table.count * MemoryLayout<Float16>.size }

    /// An empty estimate with the evaluator's targets for `which` candidates.
    public init(evaluator: Evaluator, candidates which: Evaluator.Candidates) {
        let model = evaluator.model
        questionCount = evaluator.probes.questions.count
        width = model.mlpWidth
        neurons = model.blockCount * model.mlpWidth
        var first = [0], answerTarget: [Int] = [], scoresChoices: [Bool] = []
        for q in 0..<questionCount {
            let start = first[q]
            answerTarget.append(start + 1 + (which == .all ? evaluator.answerIndex[q] : 0))
            scoresChoices.append(which == .all && evaluator.probes.questions[q].choices != nil)
            first.append(start + Evaluator.targetCount(candidates: evaluator.candidates[q].count, which))
        }
        self.first = first
        self.answerTarget = answerTarget
        self.scoresChoices = scoresChoices
        values = Array(repeating: 0, count: first[questionCount])
        table = Array(repeating: 0, count: neurons * first[questionCount])
        filled = Array(repeating: false, count: questionCount)
    }

    /// The targets of questions `first..<first + count`: their values and their attributions,
    /// `[targets, neurons]` in question order (as `Evaluator.attributions` gives them, or as the
    /// store keeps them).
    public func fill(questions: Range<Int>, values chunkValues: [Float], attributions: [Float16]) {
        let start = first[questions.lowerBound], targets = targetCount
        precondition(chunkValues.count == first[questions.upperBound] - start && attributions.count == chunkValues.count * neurons)
        for (offset, value) in chunkValues.enumerated() {
            values[start + offset] = value
            let row = offset * neurons
            table.withUnsafeMutableBufferPointer { table in
                for n in 0..<neurons { table[n * targets + start + offset] = attributions[row + n] }
            }
        }
        for q in questions { filled[q] = true }
    }

    /// The targets of each question in `questions`: how many of `values` and attribution rows
    /// `fill` expects for them.
    public func targets(questions: Range<Int>) -> Int { first[questions.upperBound] - first[questions.lowerBound] }

    /// What the estimate says of every question with `ablation` applied; nil unless every neuron is
    /// zeroed (the attributions are those of zeroing) or the table is not complete.
    public func estimate(_ ablation: Ablation) -> EstimatedScores? {
        guard isComplete, ablation.values.values.allSatisfy({ $0 == 0 }) else { return nil }
        let targets = targetCount
        var change = [Float](repeating: 0, count: targets)
        table.withUnsafeBufferPointer { table in
            change.withUnsafeMutableBufferPointer { change in
                for neuron in ablation.neurons {
                    let row = table.baseAddress! + (neuron.block * width + neuron.neuron) * targets
                    for t in 0..<targets { change[t] -= Float(row[t]) }
                }
            }
        }
        var results: [QuestionResult] = [], answerChange: [Double] = []
        for q in 0..<questionCount {
            let margin = first[q]
            let candidates = (margin + 1)..<first[q + 1]
            let scores = candidates.map { Double(values[$0]) + Double(change[$0]) }
            var multipleChoice: Bool?
            if scoresChoices[q] {
                let best = scores.indices.max { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) } ?? 0
                multipleChoice = best == answerTarget[q] - margin - 1
            }
            results.append(QuestionResult(logProbabilities: scores, multipleChoiceCorrect: multipleChoice,
                                          openCorrect: values[margin] + change[margin] > 0))
            answerChange.append(Double(change[answerTarget[q]]))
        }
        return EstimatedScores(results: results, answerChange: answerChange)
    }
}

/// Every question's estimated result under one ablation, with the estimated changes behind it.
public struct EstimatedScores: Sendable {
    /// Estimated log-probabilities (nothing ablated plus the estimated change) and right/wrong.
    public let results: [QuestionResult]
    /// Per question, the estimated change of the answer's log-probability.
    public let answerChange: [Double]
}

extension Evaluator {
    /// A question's targets: its open margin, then its candidates scored.
    static func targetCount(candidates: Int, _ which: Candidates) -> Int { 1 + (which == .all ? candidates : 1) }

    /// The values and attributions of the targets of `questions` (see `AblationEstimate`), in
    /// question order: a backward per target, the questions' sequences in one batch (a candidate
    /// runs with its prompt, without the prompt's shared pass: the backward takes no parents).
    /// Attributions are `[targets, blocks · F]`, rounded to half precision; `flops` is the pass's
    /// useful arithmetic (a forward and a backward without weight gradients).
    public func attributions(questions: Range<Int>, candidates which: Candidates) throws -> (values: [Float], attributions: [Float16], flops: Double) {
        enum Kind { case margin, logProbability }
        var sequences: [[Int]] = [], rows: [Int] = [], targets: [(kind: Kind, rows: Range<Int>, tokens: [Int])] = []
        var tokenCount = 0
        for q in questions {
            let list = candidates[q]
            let chosen = which == .all ? Array(list.indices) : [answerIndex[q]]
            for (kind, index) in [(Kind.margin, answerIndex[q])] + chosen.map({ (Kind.logProbability, $0) }) {
                let candidate = list[index]
                sequences.append(Array(candidate.tokens.dropLast()))
                let scored = (candidate.start - 1)..<(candidate.tokens.count - 1)
                targets.append((kind, rows.count..<(rows.count + scored.count), Array(candidate.tokens[candidate.start...])))
                rows += scored.map { tokenCount + $0 }
                tokenCount += candidate.tokens.count - 1
            }
        }
        let vocab = model.vocabSize
        var values: [Float] = []
        let batch = Batch(sequences)
        let attributions = try model.coefficientAttributions(of: batch, rows: rows) { logits, gradient in
            for target in targets {
                switch target.kind {
                case .margin:
                    // The answer token with the smallest margin over the best other token.
                    var binding: (margin: Float, row: Int, token: Int, competitor: Int)?
                    for (row, token) in zip(target.rows, target.tokens) {
                        let l = logits + row * vocab
                        var competitor = token == 0 ? 1 : 0
                        for j in 0..<vocab where j != token && l[j] > l[competitor] { competitor = j }
                        let margin = l[token] - l[competitor]
                        if binding == nil || margin < binding!.margin { binding = (margin, row, token, competitor) }
                    }
                    let b = binding!
                    gradient[b.row * vocab + b.token] += 1
                    gradient[b.row * vocab + b.competitor] -= 1
                    values.append(b.margin)
                case .logProbability:
                    var total = 0.0
                    for (row, token) in zip(target.rows, target.tokens) {
                        let l = logits + row * vocab, g = gradient + row * vocab
                        var largest = -Float.infinity
                        for j in 0..<vocab { largest = max(largest, l[j]) }
                        var sum = 0.0
                        for j in 0..<vocab { sum += Double(Foundation.exp(l[j] - largest)) }
                        let logSum = Float(log(sum)) + largest
                        for j in 0..<vocab { g[j] -= Foundation.exp(l[j] - logSum) }
                        g[token] += 1
                        total += Double(l[token] - logSum)
                    }
                    values.append(Float(total))
                }
            }
        }
        let count = attributions.count
        return (values, (0..<count).map { Float16(attributions[$0]) }, model.gradientFLOPs(batch, logitRows: rows.count, weightGradients: false))
    }
}

extension AblationEstimate {
    /// Every question's attributions, computed here, `batch` questions a backward.
    public static func compute(evaluator: Evaluator, candidates which: Evaluator.Candidates, batch: Int = 16) throws -> AblationEstimate {
        let estimate = AblationEstimate(evaluator: evaluator, candidates: which)
        for first in stride(from: 0, to: estimate.questionCount, by: batch) {
            let range = first..<min(first + batch, estimate.questionCount)
            let (values, attributions, _) = try evaluator.attributions(questions: range, candidates: which)
            estimate.fill(questions: range, values: values, attributions: attributions)
        }
        return estimate
    }

    /// The order a toggle's exact re-evaluation takes, in slices: `first` (the focused concept's
    /// questions), then the others, predicted flips first and then the largest estimated changes
    /// of the answer's log-probability, `slice` questions at a time.
    public static func exactOrder(_ estimated: EstimatedScores, baseline: [QuestionResult], first: [Int], slice: Int) -> [[Int]] {
        let priority: [Double] = baseline.indices.map { q in
            let guessed = estimated.results[q], before = baseline[q]
            let flips = guessed.openCorrect != before.openCorrect || guessed.multipleChoiceCorrect != before.multipleChoiceCorrect
            return (flips ? 1e9 : 0) + abs(estimated.answerChange[q])
        }
        let focused = Set(first)
        let rest = baseline.indices.filter { !focused.contains($0) }.sorted { a, b in
            priority[a] != priority[b] ? priority[a] > priority[b] : a < b
        }
        var slices = first.isEmpty ? [] : [first]
        for index in stride(from: 0, to: rest.count, by: slice) { slices.append(Array(rest[index..<min(index + slice, rest.count)])) }
        return slices
    }

    /// Which of question `q`'s log-probabilities is the answer's.
    public func answerCandidate(_ q: Int) -> Int { answerTarget[q] - first[q] - 1 }
}

/// How well estimates matched exact results over some ablations: the correlation of estimated and
/// exact changes of the answer's log-probability over every (ablation, question) pair, and the
/// precision and recall of predicted right/wrong flips (open, and multiple choice where scored).
public struct EstimateQuality: Sendable {
    public private(set) var estimatedChanges: [Double] = []
    public private(set) var exactChanges: [Double] = []
    /// Flips predicted and flips that happened, per metric: counts of predicted, actual, both.
    public private(set) var openFlips = FlipCounts()
    public private(set) var choiceFlips = FlipCounts()

    public struct FlipCounts: Sendable {
        public var predicted = 0, actual = 0, both = 0
        /// nil when nothing was predicted (or nothing happened).
        public var precision: Double? { predicted == 0 ? nil : Double(both) / Double(predicted) }
        public var recall: Double? { actual == 0 ? nil : Double(both) / Double(actual) }

        mutating func add(predicted p: Bool, actual a: Bool) {
            predicted += p ? 1 : 0
            actual += a ? 1 : 0
            both += p && a ? 1 : 0
        }
    }

    public init() {}

    /// One ablation's estimate against its exact results, both against nothing ablated.
    public mutating func add(estimated: EstimatedScores, exact: [QuestionResult], baseline: [QuestionResult], estimate: AblationEstimate) {
        for q in exact.indices {
            let answer = estimate.answerCandidate(q)
            estimatedChanges.append(estimated.answerChange[q])
            exactChanges.append(exact[q].logProbabilities[answer] - baseline[q].logProbabilities[answer])
            openFlips.add(predicted: estimated.results[q].openCorrect != baseline[q].openCorrect, actual: exact[q].openCorrect != baseline[q].openCorrect)
            if let before = baseline[q].multipleChoiceCorrect, let guessed = estimated.results[q].multipleChoiceCorrect,
               let after = exact[q].multipleChoiceCorrect {
                choiceFlips.add(predicted: guessed != before, actual: after != before)
            }
        }
    }

    /// NaN where the correlation is undefined (fewer than 2 questions, or no change at all).
    public var pearson: Double { Correlation.pearson(estimatedChanges, exactChanges) ?? .nan }
    public var spearman: Double { Correlation.spearman(estimatedChanges, exactChanges) ?? .nan }
}
