import Foundation
import Model
import Tensors
import Tokenizers

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

    public init(logProbabilities: [Double], multipleChoiceCorrect: Bool?, openCorrect: Bool) {
        self.logProbabilities = logProbabilities
        self.multipleChoiceCorrect = multipleChoiceCorrect
        self.openCorrect = openCorrect
    }
}

/// Accuracy of a probe set, overall and per concept and category.
public struct ProbeAccuracy: Sendable {
    public let probes: ProbeSet
    public let results: [QuestionResult]

    public init(probes: ProbeSet, results: [QuestionResult]) {
        self.probes = probes
        self.results = results
    }

    public struct Score: Sendable, Equatable {
        public let open: Double
        public let multipleChoice: Double?
        public let questions: Int
        /// The questions with choices, which the multiple-choice accuracy is taken over.
        public let choiceQuestions: Int
    }

    func score(_ indices: [Int]) -> Score {
        let open = indices.filter { results[$0].openCorrect }.count
        let withChoices = indices.compactMap { results[$0].multipleChoiceCorrect }
        return Score(open: Double(open) / Double(max(indices.count, 1)),
                     multipleChoice: withChoices.isEmpty ? nil : Double(withChoices.filter { $0 }.count) / Double(withChoices.count),
                     questions: indices.count, choiceQuestions: withChoices.count)
    }

    public var overall: Score { score(Array(results.indices)) }

    public func concept(_ name: String) -> Score { score(probes.questionIndices[name] ?? []) }

    public func category(_ name: String) -> Score {
        score(probes.concepts(in: name).flatMap { probes.questionIndices[$0] ?? [] })
    }

    /// The accuracy over the questions of the concepts in `tier`.
    public func tier(_ tier: ProbeTier) -> Score {
        score(probes.concepts(inTier: tier).flatMap { probes.questionIndices[$0] ?? [] })
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
    /// Per question, the special tokens the tokenizer puts before the prompt's own (a BOS): run,
    /// but not pooled.
    let specialPrefix: [Int]

    /// Which candidates a pass scores: every choice, or only the answers (open accuracy alone).
    public enum Candidates: Sendable { case all, answers }

    /// One forward's worth of candidates, with the rows whose logits score them and, once
    /// `cacheResiduals` ran, every block's unablated state: the stream leaving it and its MLP's
    /// normed input.
    final class Chunk {
        let items: [(question: Int, candidate: Int)]
        let batch: Batch
        /// The rows that get logits, each once.
        let rows: [Int]
        /// Per item, the logits (indices into `rows`) that score its tokens, in order.
        let scoring: [[Int]]
        /// Per question, its consecutive rows in `batch`.
        let spans: [(question: Int, first: Int, count: Int)]
        /// The unablated state of blocks `firstCached..<L`, once cached: `outputs[b − firstCached]` is
        /// the stream leaving block b, `mlpInputs[b − firstCached]` its MLP's normed input.
        var outputs: [Buffer] = []
        var mlpInputs: [Buffer] = []
        var firstCached = 0

        init(items: [(question: Int, candidate: Int)], batch: Batch, rows: [Int], scoring: [[Int]],
             spans: [(question: Int, first: Int, count: Int)]) {
            self.items = items
            self.batch = batch
            self.rows = rows
            self.scoring = scoring
            self.spans = spans
        }
    }

    private var chunks: [Candidates: [Chunk]] = [:]
    private var locations: [Candidates: [Int: (chunk: Int, first: Int)]] = [:]
    /// Candidates per forward (a question's candidates stay together).
    public let batchSize: Int
    /// Threads a pass scores its chunks on side by side: each chunk is a forward of its own, and
    /// on a small model one chunk cannot keep two cores busy (OpenBLAS, the log-sum-exp and the
    /// activation of a short pass run mostly on one).
    public var threads = 1
    /// Bytes of unablated state `cacheResiduals` keeps at most (a quarter of the memory available
    /// when the evaluator is made, at most 2 GiB): it grows with the probe set (the 530-concept
    /// world set on SmolLM2-135M needs 4.5 GB), and a chunk beyond it is rerun from the embedding
    /// in every masked pass instead, to the same values.
    public var stateBudget = min(2 << 30, (SystemMemory.available() ?? 8 << 30) / 4)
    /// Bytes of state cached so far.
    public private(set) var cachedStateBytes = 0

    public init(model: Transformer, tokenizer: Tokenizer, probes: ProbeSet, batchSize: Int = 64) throws {
        self.model = model
        self.probes = probes
        self.batchSize = batchSize
        var candidates: [[(tokens: [Int], start: Int)]] = []
        var answerIndex: [Int] = [], specialPrefix: [Int] = []
        for question in probes.questions {
            let context = tokenizer.encode(question.prompt)
            specialPrefix.append(max(0, context.count - tokenizer.encode(question.prompt, addSpecialTokens: false).count))
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
        self.specialPrefix = specialPrefix
    }

    /// The chunks of `which` over every question, made once.
    private func chunks(_ which: Candidates) -> [Chunk] {
        if let made = chunks[which] { return made }
        let made = makeChunks(which, questions: Array(candidates.indices))
        chunks[which] = made
        return made
    }

    /// Chunks of about `batchSize` candidates of `questions`, a question's candidates in one
    /// chunk. A question with several candidates runs its prompt once, as the parent of one
    /// continuation per candidate (the prompt's last row scores every candidate's first token).
    /// A candidate's last token is never followed by one to score: it is left out. A question's
    /// sequences take consecutive rows, the same ones whatever else shares its chunk: that is
    /// what lets a pass over some questions take their rows from the cache of a pass over all.
    private func makeChunks(_ which: Candidates, questions: [Int]) -> [Chunk] {
        var made: [Chunk] = []
        var items: [(question: Int, candidate: Int)] = [], sequences: [[Int]] = [], parents: [Int?] = []
        var rows: [Int] = [], scoring: [[Int]] = [], tokenCount = 0, spans: [(question: Int, first: Int, count: Int)] = []
        /// Adds a sequence and the rows of its own whose logits it scores; returns their indices in `rows`.
        func add(_ tokens: [Int], parent: Int?, scored: Range<Int>) -> [Int] {
            sequences.append(tokens)
            parents.append(parent)
            let indices = Array(rows.count..<(rows.count + scored.count))
            rows += scored.map { tokenCount + $0 }
            tokenCount += tokens.count
            return indices
        }
        for (position, question) in questions.enumerated() {
            let list = candidates[question], first = tokenCount
            let chosen = which == .all ? Array(list.indices) : [answerIndex[question]]
            if chosen.count == 1 {
                let candidate = list[chosen[0]]
                scoring.append(add(Array(candidate.tokens.dropLast()), parent: nil, scored: (candidate.start - 1)..<(candidate.tokens.count - 1)))
            } else {
                // Every candidate starts with the prompt's own tokens.
                let start = list[0].start, prompt = sequences.count
                let last = add(Array(list[0].tokens[..<start]), parent: nil, scored: (start - 1)..<start)
                for index in chosen {
                    let continuation = Array(list[index].tokens[start...].dropLast())
                    scoring.append(last + (continuation.isEmpty ? [] : add(continuation, parent: prompt, scored: continuation.indices)))
                }
            }
            items += chosen.map { (question, $0) }
            spans.append((question, first, tokenCount - first))
            if items.count >= batchSize || position == questions.count - 1 {
                made.append(Chunk(items: items, batch: Batch(sequences, parents: parents), rows: rows, scoring: scoring, spans: spans))
                (items, sequences, parents, rows, scoring, tokenCount, spans) = ([], [], [], [], [], 0, [])
            }
        }
        return made
    }

    /// Where each question's rows are in the chunks over every question: chunk and first row.
    private func locations(_ which: Candidates) -> [Int: (chunk: Int, first: Int)] {
        if let made = locations[which] { return made }
        var made: [Int: (chunk: Int, first: Int)] = [:]
        for (index, chunk) in chunks(which).enumerated() {
            for span in chunk.spans { made[span.question] = (index, span.first) }
        }
        locations[which] = made
        return made
    }

    /// How much a pass over `which` runs: sequences, tokens and the rows whose logits score them.
    public func workload(_ which: Candidates) -> (sequences: Int, tokens: Int, scoredRows: Int) {
        let made = chunks(which)
        return (made.reduce(0) { $0 + $1.batch.sequences.count }, made.reduce(0) { $0 + $1.batch.tokenCount }, made.reduce(0) { $0 + $1.rows.count })
    }

    /// Keeps every block's unablated state (the stream leaving it and its MLP's normed input), so
    /// that an ablation reruns only the blocks after the first one it touches, and that one as the
    /// change of its ablated neurons alone (memory: tokens × hidden × 2 × blocks floats).
    public func cacheResiduals(_ which: Candidates = .all) throws {
        let bytesPerToken = model.hiddenSize * MemoryLayout<Float>.size * 2 * model.blockCount
        for chunk in chunks(which) where chunk.outputs.isEmpty {
            let bytes = chunk.batch.tokenCount * bytesPerToken
            if cachedStateBytes + bytes > stateBudget { continue }
            cachedStateBytes += bytes
            try cacheState(of: chunk, blocks: 0..<model.blockCount)
        }
        // Made here, before another thread may evaluate, rather than on a first subset pass.
        _ = locations(which)
    }

    /// Runs `chunk` unablated through the last of `blocks` and keeps their state.
    private func cacheState(of chunk: Chunk, blocks: Range<Int>) throws {
        func copy(_ values: UnsafePointer<Float>, _ count: Int) -> Buffer {
            let buffer = Buffer(uninitializedCount: count)
            buffer.pointer.update(from: values, count: count)
            return buffer
        }
        var outputs: [Buffer] = [], mlpInputs: [Buffer] = []
        _ = try model.forward(chunk.batch, through: blocks.upperBound - 1, hooks: Hooks(
            residual: { block, values, rows, width in if block > blocks.lowerBound { outputs.append(copy(values, rows * width)) } },
            mlpInput: { block, values, rows, width in if block >= blocks.lowerBound { mlpInputs.append(copy(values, rows * width)) } }))
        chunk.outputs = outputs
        chunk.mlpInputs = mlpInputs
        chunk.firstCached = blocks.lowerBound
    }

    /// Whether the cache of a pass over every question holds the state of all of `questions`.
    public func isCached(_ questions: [Int], candidates which: Candidates) -> Bool {
        let full = chunks(which), located = locations(which)
        return questions.allSatisfy { located[$0].map { !full[$0.chunk].outputs.isEmpty } ?? false }
    }

    /// The unablated state of some questions at `blocks`, kept while they are evaluated under
    /// several ablations in a row (a concept's PSS at every ratio of the sweep): each ablation then
    /// runs only the blocks after the first one it touches, as from the cache of a pass over all
    /// questions, and to the same values. The pass that keeps them stops at the last of `blocks`.
    public final class QuestionStates {
        public let questions: [Int]
        public let candidates: Candidates
        /// The blocks an ablation evaluated from these states may touch first.
        public let blocks: Range<Int>
        let chunks: [Chunk]
        /// Bytes of state kept.
        public let bytes: Int

        init(questions: [Int], candidates: Candidates, blocks: Range<Int>, chunks: [Chunk], bytes: Int) {
            self.questions = questions
            self.candidates = candidates
            self.blocks = blocks
            self.chunks = chunks
            self.bytes = bytes
        }
    }

    /// The state of `questions` (in that order) at `blocks`, from one unablated pass over them
    /// through the last of them.
    public func states(of questions: [Int], at blocks: Range<Int>, candidates which: Candidates) throws -> QuestionStates {
        guard blocks.lowerBound >= 0, blocks.upperBound <= model.blockCount, !blocks.isEmpty else { throw InputError("", "no blocks \(blocks)") }
        let made = makeChunks(which, questions: questions)
        for chunk in made { try cacheState(of: chunk, blocks: blocks) }
        let tokens = made.reduce(0) { $0 + $1.batch.tokenCount }
        return QuestionStates(questions: questions, candidates: which, blocks: blocks, chunks: made,
                              bytes: tokens * model.hiddenSize * MemoryLayout<Float>.size * 2 * blocks.count)
    }

    /// The results of the questions of `states` with `ablation` applied, whose first block must be
    /// one of `states.blocks`: equal to `evaluate(questions:ablation:candidates:)`.
    public func evaluate(_ states: QuestionStates, ablation: Ablation) throws -> [QuestionResult] {
        try model.validate(ablation)
        guard let first = ablation.firstBlock, states.blocks.contains(first) else {
            throw InputError("", "the ablation's first block is not one of blocks \(states.blocks) whose state was kept")
        }
        var scored = Scored(candidates: candidates, which: states.candidates)
        let scores = try scoreSideBySide(states.chunks.count) { try score(states.chunks[$0], ablation, state: nil) }
        for (chunk, chunkScores) in zip(states.chunks, scores) { scored.add(chunk.items, chunkScores, answerIndex) }
        return states.questions.map { scored.result($0, self) }
    }

    /// The useful arithmetic of evaluating `questions` (nil: every question) with `ablation`: a
    /// forward through the blocks after the first ablated one (every block, unablated) and the
    /// logits of the rows that score the candidates, unless not `logits` (README, "Efficiency").
    public func usefulFLOPs(questions: [Int]? = nil, ablation: Ablation = Ablation(), candidates which: Candidates,
                            logits: Bool = true) -> Double {
        let made = questions.map { makeChunks(which, questions: $0) } ?? chunks(which)
        let first = ablation.firstBlock.map { $0 + 1 } ?? 0
        return made.reduce(0) { $0 + model.forwardFLOPs($1.batch, from: first, logitRows: logits ? $1.rows.count : 0) }
    }

    /// Every question's result with `ablation` applied. With `.answers`, only the open answers are
    /// scored (multiple-choice results are nil). `isCancelled` is asked between chunks: when it
    /// says yes, the evaluation stops with `EvaluationCancelled` (a newer request superseded it).
    public func evaluate(ablation: Ablation = Ablation(), candidates which: Candidates = .all,
                         isCancelled: () -> Bool = { false }) throws -> ProbeAccuracy {
        try model.validate(ablation)
        var scored = Scored(candidates: candidates, which: which)
        let all = chunks(which)
        for (chunk, scores) in zip(all, try scoreSideBySide(all.count, isCancelled: isCancelled, { try score(all[$0], ablation, state: nil) })) {
            scored.add(chunk.items, scores, answerIndex)
        }
        return ProbeAccuracy(probes: probes, results: probes.questions.indices.map { scored.result($0, self) })
    }

    /// The results of `questions` alone (in that order) with `ablation` applied: they run in
    /// chunks of their own, from the cached state of a pass over all questions when there is one,
    /// and give the results a pass over all questions gives them.
    public func evaluate(questions: [Int], ablation: Ablation = Ablation(), candidates which: Candidates = .all) throws -> [QuestionResult] {
        try model.validate(ablation)
        let full = chunks(which), located = locations(which)
        let block = ablation.firstBlock ?? model.blockCount - 1
        let hidden = model.hiddenSize
        var scored = Scored(candidates: candidates, which: which)
        let subset = makeChunks(which, questions: questions)
        let scores = try scoreSideBySide(subset.count) { index in
            let chunk = subset[index]
            var state: (output: Buffer, mlpInput: Buffer)?
            if chunk.spans.allSatisfy({ located[$0.question].map { !full[$0.chunk].outputs.isEmpty } ?? false }) {
                let output = Buffer(uninitializedCount: chunk.batch.tokenCount * hidden)
                let mlpInput = Buffer(uninitializedCount: chunk.batch.tokenCount * hidden)
                for span in chunk.spans {
                    let (index, first) = located[span.question]!
                    let source = full[index], count = span.count * hidden
                    (output.pointer + span.first * hidden).update(from: source.outputs[block].pointer + first * hidden, count: count)
                    (mlpInput.pointer + span.first * hidden).update(from: source.mlpInputs[block].pointer + first * hidden, count: count)
                }
                state = (output, mlpInput)
            }
            return try score(chunk, ablation, state: state)
        }
        for (chunk, chunkScores) in zip(subset, scores) { scored.add(chunk.items, chunkScores, answerIndex) }
        return questions.map { scored.result($0, self) }
    }

    /// Every question's result with nothing ablated, and in the same forward its pooled coefficients
    /// (`[questions, blocks × F]` into `pooled`): |m| over the prompt's own tokens, which every
    /// candidate's sequence starts with (a causal model's prompt rows do not see what follows them),
    /// the mean or the last (`pooling`). One pass where the unmasked evaluation and the pooling
    /// took one each.
    public func evaluateUnmasked(candidates which: Candidates, pooling: Pooling, into pooled: PooledCoefficients.Storage) throws -> ProbeAccuracy {
        let f = model.mlpWidth, neurons = model.blockCount * f
        precondition(pooled.count == candidates.count * neurons, "storage for every question's pooled coefficients")
        var scored = Scored(candidates: candidates, which: which)
        let all = chunks(which)
        let scores = try scoreSideBySide(all.count) { index in
            let chunk = all[index]
            let hooks = Hooks(coefficients: { block, coefficients, _, width in
                for span in chunk.spans {
                    let q = span.question, target = pooled.pointer + q * neurons + block * width
                    target.update(repeating: 0, count: width)
                    PooledCoefficients.pool(coefficients + span.first * width, width: width,
                                            own: self.specialPrefix[q]..<self.candidates[q][0].start, pooling: pooling, into: target)
                }
            })
            let logits = try model.forward(chunk.batch, logits: .rows(chunk.rows), hooks: hooks)!
            return scoreRows(chunk, logits)
        }
        for (chunk, chunkScores) in zip(all, scores) { scored.add(chunk.items, chunkScores, answerIndex) }
        return ProbeAccuracy(probes: probes, results: probes.questions.indices.map { scored.result($0, self) })
    }

    /// `count` chunks scored by `body` on up to `threads` threads, in the chunks' order; stops at
    /// the first error or when `isCancelled` says so before a chunk.
    private func scoreSideBySide(_ count: Int, isCancelled: () -> Bool = { false },
                                 _ body: (Int) throws -> [(total: Double, allTop: Bool)]) throws -> [[(total: Double, allTop: Bool)]] {
        var results = [[(total: Double, allTop: Bool)]](repeating: [], count: count)
        var next = 0, failure: Error?
        let lock = NSLock()
        withoutActuallyEscaping(isCancelled) { isCancelled in
            withoutActuallyEscaping(body) { body in
                DispatchQueue.concurrentPerform(iterations: max(1, min(threads, count))) { _ in
                    while true {
                        let index: Int? = lock.withLock {
                            guard failure == nil, next < count else { return nil }
                            if isCancelled() {
                                failure = EvaluationCancelled()
                                return nil
                            }
                            next += 1
                            return next - 1
                        }
                        guard let index else { return }
                        do {
                            let scores = try body(index)
                            lock.withLock { results[index] = scores }
                        } catch {
                            lock.withLock { if failure == nil { failure = error } }
                        }
                    }
                }
            }
        }
        if let failure { throw failure }
        return results
    }

    /// Log-probabilities and greedy matches gathered chunk by chunk.
    private struct Scored {
        let which: Candidates
        var logProbabilities: [[Double]]
        var greedy: [Bool]

        init(candidates: [[(tokens: [Int], start: Int)]], which: Candidates) {
            self.which = which
            logProbabilities = candidates.map { Array(repeating: 0.0, count: which == .all ? $0.count : 1) }
            greedy = Array(repeating: false, count: candidates.count)
        }

        mutating func add(_ items: [(question: Int, candidate: Int)], _ scores: [(total: Double, allTop: Bool)], _ answerIndex: [Int]) {
            for ((question, index), (total, allTop)) in zip(items, scores) {
                logProbabilities[question][which == .all ? index : 0] = total
                if index == answerIndex[question] { greedy[question] = allTop }
            }
        }

        func result(_ q: Int, _ evaluator: Evaluator) -> QuestionResult {
            let scores = logProbabilities[q]
            let best = scores.indices.max { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) } ?? 0
            let multipleChoice = which == .all && evaluator.probes.questions[q].choices != nil ? best == evaluator.answerIndex[q] : nil
            return QuestionResult(logProbabilities: scores, multipleChoiceCorrect: multipleChoice, openCorrect: greedy[q])
        }
    }

    /// Each candidate's summed log-probability in `chunk`, and whether every one of its tokens is
    /// the top logit. The unablated state of the first ablated block (or of the last block, with
    /// no ablation) comes from the cache or is computed the same way, and the rest of the pass is
    /// the same either way: an incremental evaluation gives exactly the values of a full one.
    private func score(_ chunk: Chunk, _ ablation: Ablation, state: (output: Buffer, mlpInput: Buffer)?) throws -> [(total: Double, allTop: Bool)] {
        let block = ablation.firstBlock ?? model.blockCount - 1
        let (output, mlpInput) = try state ?? (chunk.outputs.isEmpty ? model.state(after: block, of: chunk.batch)
                                                                      : (chunk.outputs[block - chunk.firstCached], chunk.mlpInputs[block - chunk.firstCached]))
        let logits: Buffer
        if ablation.isEmpty {
            logits = try model.forward(chunk.batch, from: model.blockCount, residual: output, logits: .rows(chunk.rows))!
        } else {
            logits = try model.forward(chunk.batch, after: block, output: output, mlpInput: mlpInput, logits: .rows(chunk.rows), ablation: ablation)!
        }
        return scoreRows(chunk, logits)
    }

    /// Each candidate's summed log-probability in `chunk` from the logits of its scored rows, and
    /// whether every one of its tokens is the top logit.
    private func scoreRows(_ chunk: Chunk, _ logits: Buffer) -> [(total: Double, allTop: Bool)] {
        let vocab = model.vocabSize
        let scratch = Buffer(count: vocab)
        // Each scored row once (a prompt's last row scores several candidates).
        let scores = (0..<chunk.rows.count).map { Self.logSumExpAndArgmax(logits.pointer + $0 * vocab, count: vocab, scratch: scratch.pointer) }
        return zip(chunk.items, chunk.scoring).map { item, rows in
            let candidate = candidates[item.question][item.candidate]
            var total = 0.0
            var allTop = true
            for (token, row) in zip(candidate.tokens[candidate.start...], rows) {
                total += Double(logits[row * vocab + token]) - scores[row].logSumExp
                allTop = allTop && scores[row].best == token
            }
            return (total, allTop)
        }
    }

    /// log Σᵢ e^xᵢ of a row of logits, and the index of its first largest entry (what greedy
    /// decoding picks), in SIMD steps: a vocabulary of 50,000 is scored for every scored row.
    static func logSumExpAndArgmax(_ x: UnsafePointer<Float>, count: Int, scratch: UnsafeMutablePointer<Float>) -> (logSumExp: Double, best: Int) {
        let raw = UnsafeRawPointer(x), whole = count - count % 8
        // Each lane's largest value and where it first is.
        var lanes = SIMD8<Float>(repeating: -.infinity), at = SIMD8<Int32>(repeating: 0)
        var indices = SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
        for i in stride(from: 0, to: whole, by: 8) {
            let values = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let larger = values .> lanes
            lanes.replace(with: values, where: larger)
            at.replace(with: indices, where: larger)
            indices &+= 8
        }
        var (largest, best) = (-Float.infinity, 0)
        for lane in 0..<8 where lanes[lane] > largest || (lanes[lane] == largest && Int(at[lane]) < best) {
            (largest, best) = (lanes[lane], Int(at[lane]))
        }
        for i in whole..<count where x[i] > largest { (largest, best) = (x[i], i) }
        for i in 0..<count { scratch[i] = Ops.exp(x[i] - largest) }
        // Float partial sums of 1,024 terms each, added in double.
        var sum = 0.0
        let exps = UnsafeRawPointer(scratch)
        for block in stride(from: 0, to: whole, by: 1024) {
            var partial = SIMD8<Float>()
            for i in stride(from: block, to: min(block + 1024, whole), by: 8) {
                partial += exps.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            }
            sum += Double(partial.sum())
        }
        for i in whole..<count { sum += Double(scratch[i]) }
        return (log(sum) + Double(largest), best)
    }
}
