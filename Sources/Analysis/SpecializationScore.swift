import Model
/// Which accuracy a Parameter Specialization Score is computed from.
public enum AccuracyMetric: String, Sendable, CaseIterable {
    /// Greedy decoding reproduces the answer.
    case open
    /// The answer has the highest summed log-probability among the choices (the default, as the
    /// study reports Accuracy_MCQ beside PSS). A question without choices has no such accuracy.
    case mcq
}

/// The control set G_c that PSS compares a concept's questions with (METHODS.md, method 1, step 5).
public enum ControlSet: String, Sendable, CaseIterable {
    /// The questions of 5 other concepts drawn with a fixed seed per concept (the default).
    case five
    /// The questions of every other concept.
    case all
}

/// The questions PSS's accuracies are taken over.
public enum PSSQuestions: String, Sendable, CaseIterable {
    /// Those the model answers correctly with nothing masked (the default): PSS is 0 unmasked.
    case known
    /// Every question (the formula as the summaries state it).
    case all
}

/// PSS(c, r) = |Acc(G_c with K_c(r) masked) − Acc(Q_c with K_c(r) masked)| / Acc(all, nothing masked)
/// (METHODS.md, method 1, step 5) for each measured concept and ratio of the sweep.
public struct SpecializationScore: Sendable {
    public static let defaultRatios: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.10]
    /// Concepts drawn for a control set, and the fewest questions a measured concept and its
    /// control set must have.
    public static let controlConcepts = 5, fewestOwnQuestions = 2, fewestControlQuestions = 5

    public struct Entry: Sendable, Equatable {
        public let concept: Int
        public let ratio: Double
        /// Accuracy on the concept's own questions with its knowledge neurons masked.
        public let conceptAccuracy: Double
        /// Accuracy on the control set's questions with the same mask.
        public let otherAccuracy: Double
        /// Accuracy on every question in use with nothing masked (1 over known questions).
        public let baseline: Double

        public init(concept: Int, ratio: Double, conceptAccuracy: Double, otherAccuracy: Double, baseline: Double) {
            self.concept = concept
            self.ratio = ratio
            self.conceptAccuracy = conceptAccuracy
            self.otherAccuracy = otherAccuracy
            self.baseline = baseline
        }

        public var score: Double { abs(signedScore) }

        /// PSS with its sign (METHODS.md, method 1, step 5): (Acc(G_c masked) − Acc(Q_c masked)) /
        /// Acc(all, nothing masked), positive when the concept lost more than its controls (the
        /// direction of specialization), negative when the mask hurt the controls more.
        public var signedScore: Double { baseline > 0 ? (otherAccuracy - conceptAccuracy) / baseline : 0 }
    }

    /// Which questions each concept's PSS is measured on, and the concepts left out (decided from
    /// the unmasked evaluation, before any masking).
    public struct Plan: Sendable {
        public let controlSet: ControlSet
        public let questions: PSSQuestions
        /// Per concept: the other concepts whose questions make its control set.
        public let controlConcepts: [[Int]]
        /// Per concept: its questions in use (known ones, or all; under multiple choice only those
        /// with choices).
        public let own: [[Int]]
        /// Per concept: its control set's questions in use.
        public let control: [[Int]]
        /// Acc(all questions in use, nothing masked): PSS's denominator.
        public let baseline: Double

        public init(probes: ProbeSet, baseline: ProbeAccuracy, metric: AccuracyMetric, controlSet: ControlSet, questions: PSSQuestions) {
            self.controlSet = controlSet
            self.questions = questions
            let concepts = probes.concepts
            let indices = concepts.map { probes.questionIndices[$0] ?? [] }
            let right = baseline.results.map { metric == .open ? $0.openCorrect : $0.multipleChoiceCorrect == true }
            // Under multiple choice a question without choices has no accuracy: it is not used,
            // neither as known nor among all questions.
            let scorable = baseline.results.map { metric == .open || $0.multipleChoiceCorrect != nil }
            let inUse = indices.map { list in list.filter { scorable[$0] && (questions == .all || right[$0]) } }
            controlConcepts = concepts.indices.map { c in
                controlSet == .all ? concepts.indices.filter { $0 != c } : Self.draw(concept: c, of: concepts.count, count: SpecializationScore.controlConcepts)
            }
            own = inUse
            control = controlConcepts.map { others in others.flatMap { inUse[$0] }.sorted() }
            let all = inUse.joined()
            self.baseline = questions == .known ? (all.isEmpty ? 0 : 1) : Double(all.filter { right[$0] }.count) / Double(max(all.count, 1))
        }

        /// Whether concept `c` has enough questions for a PSS (at least 2 of its own, 5 in its control set).
        public func measured(_ c: Int) -> Bool {
            own[c].count >= SpecializationScore.fewestOwnQuestions && control[c].count >= SpecializationScore.fewestControlQuestions
        }

        public var measuredConcepts: [Int] { own.indices.filter(measured) }

        /// The concepts left out for too few questions of their own, and for too few in their control set.
        public var leftOut: (fewOwn: Int, fewControl: Int) {
            let out = own.indices.filter { !measured($0) }
            let fewOwn = out.filter { own[$0].count < SpecializationScore.fewestOwnQuestions }.count
            return (fewOwn, out.count - fewOwn)
        }

        /// "60 of 63 concepts, 3 left out: fewer than 2 known questions", as every page and export says it.
        public var summary: String {
            let (fewOwn, fewControl) = leftOut
            let total = own.count, kind = questions == .known ? "known questions" : "questions"
            var text = "\(total - fewOwn - fewControl) of \(total) concepts"
            var reasons: [String] = []
            if fewOwn > 0 { reasons.append("\(fewOwn) with fewer than \(SpecializationScore.fewestOwnQuestions) \(kind)") }
            if fewControl > 0 { reasons.append("\(fewControl) whose control set has fewer than \(SpecializationScore.fewestControlQuestions) \(kind)") }
            if fewOwn + fewControl == 0 {
                text += ", none left out"
            } else if reasons.count == 1 {
                text += ", \(fewOwn + fewControl) left out: " + (fewOwn > 0 ? "fewer than \(SpecializationScore.fewestOwnQuestions) \(kind)"
                                                                      : "control set with fewer than \(SpecializationScore.fewestControlQuestions) \(kind)")
            } else {
                text += ", \(fewOwn + fewControl) left out: " + reasons.joined(separator: ", ")
            }
            return text
        }

        /// The control concepts of concept `c` out of `total`: a partial Fisher–Yates shuffle of
        /// the other concepts' indices (in probe-file order) driven by SplitMix64 seeded with `c`,
        /// so that the draw is the same on every run and platform.
        public static func draw(concept c: Int, of total: Int, count: Int) -> [Int] {
            var others = (0..<total).filter { $0 != c }
            var random = SplitMix64(seed: UInt64(c))
            let chosen = min(count, others.count)
            for i in 0..<chosen {
                let j = i + Int(random.next() % UInt64(others.count - i))
                others.swapAt(i, j)
            }
            return Array(others.prefix(chosen)).sorted()
        }
    }

    public let metric: AccuracyMetric
    public let ratios: [Double]
    public let entries: [Entry]
    /// The questions each concept is measured on; nil until the unmasked evaluation exists.
    public let plan: Plan?
    /// Per ratio, the bootstrap interval of PSS(r) over the concepts measured at it; computed once
    /// here, as every page draw reads it.
    public let modelIntervals: [(ratio: Double, interval: Interval?)]
    /// How often each ratio is the peak over the bootstrap's resamples of the concepts measured at
    /// every ratio (empty until one concept is).
    public let peakRatioWins: [(ratio: Double, wins: Int)]

    /// The model's PSS(r): the mean over the measured concepts at each ratio (nil where none is
    /// measured yet).
    public var modelScores: [(ratio: Double, score: Double?)] {
        ratios.map { ratio in
            let scores = entries.filter { $0.ratio == ratio }.map(\.score)
            return (ratio, scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count))
        }
    }

    /// The mean signed PSS over the measured concepts at each ratio (nil where none is measured yet).
    public var modelSignedScores: [(ratio: Double, score: Double?)] {
        ratios.map { ratio in
            let scores = entries.filter { $0.ratio == ratio }.map(\.signedScore)
            return (ratio, scores.isEmpty ? nil : scores.reduce(0, +) / Double(scores.count))
        }
    }

    /// How many measured concepts have each sign of PSS at a ratio.
    public struct SignCounts: Sendable, Equatable {
        /// The concept lost more than its controls.
        public var positive = 0
        /// The controls lost more than the concept.
        public var negative = 0
        /// Both lost as much (PSS 0).
        public var zero = 0

        public init(positive: Int = 0, negative: Int = 0, zero: Int = 0) {
            self.positive = positive
            self.negative = negative
            self.zero = zero
        }
    }

    /// Per ratio of the sweep: how many measured concepts have each sign.
    public var signCounts: [(ratio: Double, counts: SignCounts)] {
        ratios.map { ratio in
            var counts = SignCounts()
            for entry in entries where entry.ratio == ratio {
                if entry.signedScore > 0 { counts.positive += 1 } else if entry.signedScore < 0 { counts.negative += 1 } else { counts.zero += 1 }
            }
            return (ratio, counts)
        }
    }

    /// The headline: the largest PSS(r) over the sweep.
    public var peak: (ratio: Double, score: Double)? {
        modelScores.compactMap { item in item.score.map { (item.ratio, $0) } }.max { $0.1 < $1.1 }
    }

    /// The unmasked state of concept `c`'s questions (its own and its control set's) kept for its
    /// runs at every ratio of `ratios`: at the blocks from the first any of them masks to the
    /// deepest of their first blocks, each run restarting at its own. nil when no ratio masks any.
    public static func sweepStates(concept c: Int, ratios: [Double], specialization: Specialization, evaluator: Evaluator,
                                   metric: AccuracyMetric, plan: Plan) throws -> Evaluator.QuestionStates? {
        let firsts = ratios.compactMap { Ablation(zeroing: specialization.knowledgeNeurons(concept: c, ratio: $0)).firstBlock }
        guard let low = firsts.min(), let high = firsts.max() else { return nil }
        return try evaluator.states(of: plan.own[c] + plan.control[c], at: low..<(high + 1), candidates: metric == .open ? .answers : .all)
    }

    /// One masked evaluation of concept `c` at ratio `r`: only the questions the plan uses for it
    /// are run (its own and its control set's), from `states` when they are kept (the same
    /// questions, in the same order).
    public static func entry(concept c: Int, ratio: Double, specialization: Specialization, evaluator: Evaluator,
                             metric: AccuracyMetric, plan: Plan, states: Evaluator.QuestionStates? = nil) throws -> Entry {
        let ablation = Ablation(zeroing: specialization.knowledgeNeurons(concept: c, ratio: ratio))
        let questions = plan.own[c] + plan.control[c]
        let results = try states.map { try evaluator.evaluate($0, ablation: ablation) }
            ?? evaluator.evaluate(questions: questions, ablation: ablation, candidates: metric == .open ? .answers : .all)
        let right = results.map { metric == .open ? $0.openCorrect : $0.multipleChoiceCorrect == true }
        let ownCount = plan.own[c].count
        func accuracy(_ slice: ArraySlice<Bool>) -> Double { Double(slice.filter { $0 }.count) / Double(max(slice.count, 1)) }
        return Entry(concept: c, ratio: ratio, conceptAccuracy: accuracy(right[..<ownCount]), otherAccuracy: accuracy(right[ownCount...]),
                     baseline: plan.baseline)
    }

    public init(metric: AccuracyMetric, ratios: [Double], entries: [Entry], plan: Plan? = nil) {
        self.metric = metric
        self.ratios = ratios
        self.entries = entries
        self.plan = plan
        modelIntervals = Self.intervals(ratios: ratios, entries: entries)
        peakRatioWins = Self.ratioWins(ratios: ratios, entries: entries)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small generator whose sequence is fixed by its seed on
/// every platform (Swift's own generators and `Hasher` are not).
public struct SplitMix64 {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
