import Foundation

/// Thrown by `Evaluator.evaluate` when its caller cancelled it.
public struct EvaluationCancelled: Error {}

/// How a model did on one probe question.
public struct QuestionResult: Sendable, Equatable {
    /// Summed log-probability of each candidate's tokens after the prompt: the choices, or the
    /// answer alone when the question has no choices.
    public let logProbabilities: [Double]
    /// Multiple choice: the answer has the highest summed log-probability (nil without choices).
    public let multipleChoiceCorrect: Bool?
    /// Open: greedy decoding after the prompt reproduces the answer's tokens.
    public let openCorrect: Bool
}

/// Accuracy of a probe set, overall and per concept and category.
public struct ProbeAccuracy: Sendable {
    public let probes: ProbeSet
    public let results: [QuestionResult]

    public struct Score: Sendable, Equatable {
        public let open: Double
        public let multipleChoice: Double?
        public let questions: Int
    }

    func score(_ indices: [Int]) -> Score {
        let open = indices.filter { results[$0].openCorrect }.count
        let withChoices = indices.compactMap { results[$0].multipleChoiceCorrect }
        return Score(open: Double(open) / Double(max(indices.count, 1)),
                     multipleChoice: withChoices.isEmpty ? nil : Double(withChoices.filter { $0 }.count) / Double(withChoices.count),
                     questions: indices.count)
    }

    public var overall: Score { score(Array(results.indices)) }

    public func concept(_ name: String) -> Score { score(probes.questionIndices[name] ?? []) }

    public func category(_ name: String) -> Score {
        score(probes.concepts(in: name).flatMap { probes.questionIndices[$0] ?? [] })
    }
}

/// Scores a model on a probe set, with or without neurons ablated.
///
/// A question's candidates are scored as the language-model evaluation harnesses do: the prompt
/// and the candidate are tokenized together and split where the prompt's own tokens end (so a
/// tokenizer that merges across the boundary is still scored on the candidate's text), and the
/// candidate's tokens are scored by the logits of the positions before them. The open answer is
/// right when each of its tokens is the top logit at its position, which is exactly when greedy
/// decoding reproduces it.
public final class Evaluator {
    public let model: Transformer
    public let probes: ProbeSet
    /// Per question, per candidate: the full token sequence and where the candidate starts.
    let candidates: [[(tokens: [Int], start: Int)]]
    /// Per question, which candidate is the answer.
    let answerIndex: [Int]

    /// Which candidates a pass scores: every choice, or only the answers (open accuracy alone).
    public enum Candidates: Sendable { case all, answers }

    /// One forward's worth of candidates, with the rows whose logits score them and, once
    /// `cacheResiduals` ran, the residual stream entering every block for the unablated model.
    final class Chunk {
        let items: [(question: Int, candidate: Int)]
        let batch: Batch
        let rows: [Int]
        var residuals: [Buffer] = []

        init(items: [(question: Int, candidate: Int)], batch: Batch, rows: [Int]) {
            self.items = items
            self.batch = batch
            self.rows = rows
        }
    }

    private var chunks: [Candidates: [Chunk]] = [:]
    /// Sequences per forward.
    public let batchSize: Int

    public init(model: Transformer, tokenizer: Tokenizer, probes: ProbeSet, batchSize: Int = 64) throws {
        self.model = model
        self.probes = probes
        self.batchSize = batchSize
        var candidates: [[(tokens: [Int], start: Int)]] = []
        var answerIndex: [Int] = []
        for question in probes.questions {
            let context = tokenizer.encode(question.prompt)
            let texts = question.choices ?? [question.answer]
            var scored: [(tokens: [Int], start: Int)] = []
            for text in texts {
                let whole = tokenizer.encode(question.prompt + text)
                if whole.count > context.count, Array(whole.prefix(context.count)) == context {
                    scored.append((whole, context.count))
                } else {
                    let continuation = tokenizer.encode(text, addSpecialTokens: false)
                    scored.append((context + continuation, context.count))
                }
                guard let last = scored.last, last.tokens.count <= model.config.contextLength, last.start > 0, last.tokens.count > last.start else {
                    throw InputError(probes.path, "line \(question.line): the prompt and '\(text)' do not fit the model's context, or have no tokens")
                }
            }
            candidates.append(scored)
            answerIndex.append(texts.firstIndex(of: question.answer) ?? 0)
        }
        self.candidates = candidates
        self.answerIndex = answerIndex
    }

    private func chunks(_ which: Candidates) -> [Chunk] {
        if let made = chunks[which] { return made }
        let work = candidates.enumerated().flatMap { question, list in
            which == .all ? list.indices.map { (question, $0) } : [(question, answerIndex[question])]
        }
        let made = stride(from: 0, to: work.count, by: batchSize).map { start -> Chunk in
            let items = Array(work[start..<min(start + batchSize, work.count)])
            let batch = Batch(items.map { candidates[$0.0][$0.1].tokens })
            var rows: [Int] = []
            for (item, offset) in zip(items, batch.offsets) {
                let candidate = candidates[item.0][item.1]
                rows += ((offset + candidate.start - 1)..<(offset + candidate.tokens.count - 1))
            }
            return Chunk(items: items, batch: batch, rows: rows)
        }
        chunks[which] = made
        return made
    }

    /// Keeps the unablated residual stream entering every block, so that an ablation reruns only
    /// the blocks from the first one it touches (memory: tokens × hidden × blocks floats).
    public func cacheResiduals(_ which: Candidates = .all) throws {
        for chunk in chunks(which) where chunk.residuals.isEmpty {
            var residuals: [Buffer] = []
            _ = try model.forward(chunk.batch, logits: .none, hooks: Hooks(residual: { _, values, rows, width in
                let copy = Buffer(count: rows * width)
                copy.pointer.update(from: values, count: rows * width)
                residuals.append(copy)
            }))
            chunk.residuals = residuals
        }
    }

    /// Every question's result with `ablation` applied. With `.answers`, only the open answers are
    /// scored (multiple-choice results are nil). `isCancelled` is asked between chunks: when it
    /// says yes, the evaluation stops with `EvaluationCancelled` (a newer request superseded it).
    public func evaluate(ablation: Ablation = Ablation(), candidates which: Candidates = .all,
                         isCancelled: () -> Bool = { false }) throws -> ProbeAccuracy {
        var logProbabilities = candidates.map { Array(repeating: 0.0, count: which == .all ? $0.count : 1) }
        var greedy = Array(repeating: false, count: candidates.count)
        let vocab = model.vocabSize
        let first = ablation.firstBlock ?? model.blockCount
        for chunk in chunks(which) {
            if isCancelled() { throw EvaluationCancelled() }
            let logits: Buffer
            if first < chunk.residuals.count {
                logits = try model.forward(chunk.batch, from: first, residual: chunk.residuals[first], logits: .rows(chunk.rows), ablation: ablation)!
            } else {
                logits = try model.forward(chunk.batch, logits: .rows(chunk.rows), ablation: ablation)!
            }
            var row = 0
            for (question, index) in chunk.items {
                let candidate = candidates[question][index]
                var total = 0.0
                var allTop = true
                for token in candidate.tokens[candidate.start...] {
                    let l = logits.pointer + row * vocab
                    total -= Transformer.crossEntropy(l, vocab: vocab, target: token)
                    var best = 0
                    for i in 1..<vocab where l[i] > l[best] { best = i }
                    allTop = allTop && best == token
                    row += 1
                }
                logProbabilities[question][which == .all ? index : 0] = total
                if index == answerIndex[question] { greedy[question] = allTop }
            }
        }
        let results = probes.questions.indices.map { q -> QuestionResult in
            let scores = logProbabilities[q]
            let best = scores.indices.max { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) } ?? 0
            let multipleChoice = which == .all && probes.questions[q].choices != nil ? best == answerIndex[q] : nil
            return QuestionResult(logProbabilities: scores, multipleChoiceCorrect: multipleChoice, openCorrect: greedy[q])
        }
        return ProbeAccuracy(probes: probes, results: results)
    }
}
