import Foundation

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
    /// Sequences per forward.
    public var batchSize = 64

    public init(model: Transformer, tokenizer: Tokenizer, probes: ProbeSet) throws {
        self.model = model
        self.probes = probes
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

    /// Every question's result with `ablation` applied.
    public func evaluate(ablation: Ablation = Ablation()) throws -> ProbeAccuracy {
        // Flatten every candidate of every question into one work list, in batches.
        let work = candidates.enumerated().flatMap { question, list in list.indices.map { (question, $0) } }
        var logProbabilities = candidates.map { Array(repeating: 0.0, count: $0.count) }
        var greedy = Array(repeating: false, count: candidates.count)
        let vocab = model.vocabSize
        for start in stride(from: 0, to: work.count, by: batchSize) {
            let slice = work[start..<min(start + batchSize, work.count)]
            let sequences = slice.map { candidates[$0.0][$0.1].tokens }
            let batch = Batch(sequences)
            var rows: [Int] = []
            for (item, offset) in zip(slice, batch.offsets) {
                let candidate = candidates[item.0][item.1]
                rows += ((offset + candidate.start - 1)..<(offset + candidate.tokens.count - 1))
            }
            let logits = try model.forward(batch, logits: .rows(rows), ablation: ablation)!
            var row = 0
            for item in slice {
                let candidate = candidates[item.0][item.1]
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
                logProbabilities[item.0][item.1] = total
                if item.1 == answerIndex[item.0] { greedy[item.0] = allTop }
            }
        }
        let results = probes.questions.indices.map { q -> QuestionResult in
            let scores = logProbabilities[q]
            let best = scores.indices.max { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) } ?? 0
            return QuestionResult(logProbabilities: scores,
                                  multipleChoiceCorrect: probes.questions[q].choices == nil ? nil : best == answerIndex[q],
                                  openCorrect: greedy[q])
        }
        return ProbeAccuracy(probes: probes, results: results)
    }
}
