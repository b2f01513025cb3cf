import Foundation
import Analysis
import Model

/// What a front end asks while the analyses run, answered on a thread of its own (`serve`):
/// accuracy with an ablation (estimated at once when the ablation estimate is in, then exactly,
/// slice by slice) and the promoted and suppressed tokens of a neuron or of a block's neurons. A
/// newer ablation supersedes (and cancels) an older one. The analysis thread hands over what the
/// answers are read against: the unmasked evaluation, the ablation estimate, the pooled
/// coefficients.
final class LiveRequests: @unchecked Sendable {
    let inputs: AnalysisInputs
    let evaluator: Evaluator
    let candidates: Evaluator.Candidates

    private let condition = NSCondition()
    private var requested = Ablation()
    /// The estimate `request` published for `requested`, and the milliseconds it took.
    private var requestedEstimate: (scores: EstimatedScores, milliseconds: Double)?
    private var requestNumber = 0
    private var focused: Int?
    private var neuronRequests: [NeuronID] = []
    private var blockRequests: [Int] = []
    private var stopping = false
    private var baseline: ProbeAccuracy?
    /// The unmasked state is cached: an ablation is evaluated from the first block it touches.
    private var evaluatorReady = false
    private var estimate: AblationEstimate?
    private var pooled: PooledCoefficients?
    private var live: LiveAccuracy?
    private var details: [NeuronID: NeuronDetail] = [:]

    init(inputs: AnalysisInputs, evaluator: Evaluator, candidates: Evaluator.Candidates) {
        self.inputs = inputs
        self.evaluator = evaluator
        self.candidates = candidates
    }

    /// What a snapshot shows of the requests: the ablation asked for, its accuracy as far as
    /// known, the neurons inspected.
    var shown: (ablation: Ablation, live: LiveAccuracy?, details: [NeuronID: NeuronDetail]) {
        condition.withLock { (requested, live, details) }
    }

    /// The concept the front end looks at: its PSS runs go first, its questions are evaluated
    /// exactly first.
    var focusedConcept: Int? { condition.withLock { focused } }

    // MARK: From the front end (any thread)

    /// Asks for accuracy with `ablation`. With the ablation estimate in, its figures are made here,
    /// on the caller's thread: on the request thread they would wait for an older request's exact
    /// slice still running there (seconds on a real model beside the analysis).
    func request(_ ablation: Ablation) {
        let start = DispatchTime.now().uptimeNanoseconds
        let (estimate, hasBaseline) = condition.withLock { (self.estimate, self.baseline != nil) }
        var guess: EstimatedScores?
        if !ablation.isEmpty, hasBaseline, (try? inputs.model.validate(ablation)) != nil { guess = estimate?.estimate(ablation) }
        let milliseconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let probes = inputs.probes
        condition.withLock {
            requested = ablation
            requestNumber += 1
            requestedEstimate = guess.map { ($0, milliseconds) }
            if let guess {
                live = LiveAccuracy(ablation: ablation, accuracy: ProbeAccuracy(probes: probes, results: guess.results),
                                    exact: Array(repeating: false, count: guess.results.count),
                                    milliseconds: milliseconds, estimateMilliseconds: milliseconds)
            }
            condition.broadcast()
        }
    }

    func focus(_ focus: EngineFocus) {
        condition.withLock {
            switch focus {
            case .concept(let name): focused = inputs.probes.concepts.firstIndex(of: name)
            case .neuron(let neuron):
                if details[neuron] == nil, !neuronRequests.contains(neuron) { neuronRequests.append(neuron) }
            case .block(let block):
                if block >= 0, block < inputs.model.blockCount, !blockRequests.contains(block) { blockRequests.append(block) }
            }
            condition.broadcast()
        }
    }

    /// Ends `serve`, cancelling the evaluation under way.
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    // MARK: From the analysis thread

    /// The unmasked evaluation toggles are compared with, and whether the unmasked state is cached
    /// (then ablations are evaluated).
    func setBaseline(_ accuracy: ProbeAccuracy, evaluatorReady ready: Bool) {
        condition.withLock {
            baseline = accuracy
            evaluatorReady = ready
            condition.broadcast()
        }
    }

    /// The ablation estimate, complete: toggles are answered with it at once.
    func setEstimate(_ complete: AblationEstimate) {
        condition.withLock { estimate = complete }
    }

    /// The pooled coefficients: inspected neurons' top questions.
    func setPooled(_ coefficients: PooledCoefficients) {
        let width = inputs.model.mlpWidth
        condition.withLock {
            pooled = coefficients
            for (neuron, detail) in details {
                details[neuron] = NeuronDetail(neuron: neuron, promoted: detail.promoted, suppressed: detail.suppressed,
                                               topQuestions: coefficients.topQuestions(neuron, width: width, count: 5))
            }
        }
    }

    // MARK: The request thread

    /// Answers requests until `stop`, calling `publish` after each change a snapshot shows.
    func serve(publish: () -> Void) {
        var served = 0
        while true {
            condition.lock()
            while !stopping, neuronRequests.isEmpty, blockRequests.isEmpty, !(evaluatorReady && requestNumber != served) {
                condition.wait()
            }
            if stopping {
                condition.unlock()
                return
            }
            if !neuronRequests.isEmpty {
                let neuron = neuronRequests.removeFirst()
                condition.unlock()
                inspect([neuron], publish: publish)
                continue
            }
            if evaluatorReady, requestNumber != served {
                let (ablation, number, published) = (requested, requestNumber, requestedEstimate)
                condition.unlock()
                served = number
                evaluateLive(ablation, number, published: published, publish: publish)
                continue
            }
            let block = blockRequests.removeFirst()
            let known = details
            condition.unlock()
            let width = inputs.model.mlpWidth
            // A block's neurons in slices, so an ablation request waits for one slice at most.
            for first in stride(from: 0, to: width, by: 64) {
                let slice = (first..<min(first + 64, width)).map { NeuronID(block: block, neuron: $0) }.filter { known[$0] == nil }
                if !slice.isEmpty { inspect(slice, publish: publish) }
                if condition.withLock({ stopping || requestNumber != served || !neuronRequests.isEmpty }) {
                    condition.withLock { if !blockRequests.contains(block) { blockRequests.append(block) } }
                    break
                }
            }
        }
    }

    /// Answers a toggle: the estimate at once when there is one (`published` by `request`, or
    /// made here when the estimate came in since), then the exact results, the focused concept's
    /// questions first, then those the estimate says change most, then the rest, each slice
    /// published as it comes; without an estimate, all questions in one pass. Nothing is
    /// published once a newer request came: its estimate may already be on screen.
    private func evaluateLive(_ ablation: Ablation, _ number: Int, published: (scores: EstimatedScores, milliseconds: Double)?,
                              publish: () -> Void) {
        guard !ablation.isEmpty else { return }
        let probes = inputs.probes
        func cancelled() -> Bool { condition.withLock { stopping || requestNumber != number } }
        func show(_ accuracy: LiveAccuracy) {
            condition.withLock { if requestNumber == number { live = accuracy } }
            publish()
        }
        do {
            try inputs.model.validate(ablation)
            let start = DispatchTime.now().uptimeNanoseconds
            func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 }
            let (estimate, focused, baseline) = condition.withLock { (self.estimate, self.focused, self.baseline) }
            guard let guess = published?.scores ?? estimate?.estimate(ablation), let baseline else {
                let accuracy = try evaluator.evaluate(ablation: ablation, candidates: candidates, isCancelled: cancelled)
                show(LiveAccuracy(ablation: ablation, accuracy: accuracy, milliseconds: elapsed()))
                return
            }
            var results = guess.results, exact = Array(repeating: false, count: results.count)
            let estimateMilliseconds: Double
            if let published {
                estimateMilliseconds = published.milliseconds
            } else {
                estimateMilliseconds = elapsed()
                show(LiveAccuracy(ablation: ablation, accuracy: ProbeAccuracy(probes: probes, results: results), exact: exact,
                                  milliseconds: estimateMilliseconds, estimateMilliseconds: estimateMilliseconds))
            }
            let first = focused.flatMap { probes.questionIndices[probes.concepts[$0]] } ?? []
            let slices = AblationEstimate.exactOrder(guess, baseline: baseline.results, first: first, slice: AnalysisEngine.exactSlice)
            for slice in slices {
                if cancelled() { return }
                for (q, result) in zip(slice, try evaluator.evaluate(questions: slice, ablation: ablation, candidates: candidates)) {
                    results[q] = result
                    exact[q] = true
                }
                show(LiveAccuracy(ablation: ablation, accuracy: ProbeAccuracy(probes: probes, results: results), exact: exact,
                                  milliseconds: elapsed(), estimateMilliseconds: estimateMilliseconds))
            }
        } catch {
            // Cancelled by a newer request, or neurons the model does not have: nothing to show.
        }
    }

    /// Promoted and suppressed tokens (W_U · v_i) and top questions of some neurons.
    private func inspect(_ neurons: [NeuronID], publish: () -> Void) {
        let model = inputs.model, vocab = model.vocabSize
        let vectors = neurons.flatMap { model.valueVector($0) }
        let scores = model.unembed(vectors, count: neurons.count)
        let pooled = condition.withLock { self.pooled }
        var inspected: [NeuronID: NeuronDetail] = [:]
        for (row, neuron) in neurons.enumerated() {
            let values = scores[(row * vocab)..<((row + 1) * vocab)]
            func tokens(_ ids: [Int]) -> [NeuronDetail.TokenScore] {
                ids.map { NeuronDetail.TokenScore(token: inputs.tokenizer.displayString($0), value: values[values.startIndex + $0]) }
            }
            inspected[neuron] = NeuronDetail(neuron: neuron, promoted: tokens(Self.extremes(values, count: 10, largest: true)),
                                             suppressed: tokens(Self.extremes(values, count: 10, largest: false)),
                                             topQuestions: pooled?.topQuestions(neuron, width: model.mlpWidth, count: 5) ?? [])
        }
        condition.withLock { details.merge(inspected) { _, new in new } }
        publish()
    }

    /// Indices of the `count` largest (or smallest) values, in that order; ties by index.
    static func extremes(_ values: ArraySlice<Float>, count: Int, largest: Bool) -> [Int] {
        var chosen: [(index: Int, value: Float)] = []
        func before(_ a: (index: Int, value: Float), _ b: (index: Int, value: Float)) -> Bool {
            a.value == b.value ? a.index < b.index : (largest ? a.value > b.value : a.value < b.value)
        }
        for (offset, value) in values.enumerated() {
            let item = (index: offset, value: value)
            if chosen.count == count, let last = chosen.last, !before(item, last) { continue }
            let position = chosen.firstIndex { before(item, $0) } ?? chosen.count
            chosen.insert(item, at: position)
            if chosen.count > count { chosen.removeLast() }
        }
        return chosen.map(\.index)
    }
}
