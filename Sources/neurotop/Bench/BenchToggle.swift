import ArgumentParser
import Foundation
import Analysis
import Checkpoints
import Model
import Tensors
import Tokenizers

/// `neurotop bench toggle`: how fast and how well live ablation answers a toggle.
struct BenchToggle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "toggle",
        abstract: "Time live ablation: the first-order estimate, the exact answer for the concept in focus and for all questions, and how good the estimate is, on any model; without MODEL also the demo's exact toggle latency (open and every choice) and the incremental re-evaluation against a full one on a GPT-2-small-sized model.",
        discussion: "With MODEL, only the estimate's part runs, on that model.")

    @OptionGroup var model: ModelArguments

    @Option(help: "The probes of the estimate's part: a shipped set (demo, world, world-mc, world-v1) or a JSON Lines file.")
    var probes = "demo"

    @Option(help: "The estimate's part: the accuracy whose candidates are scored (open: the answers only; mcq: every choice).")
    var metric = AccuracyMetric.open

    @Option(help: "The estimate's part: knowledge-vector sets (random concepts' top neurons by Δ at --ratio).")
    var conceptSets = 20

    @Option(help: "The estimate's part: the ratio of the knowledge-vector sets, in percent.")
    var ratio = 1.0

    @Option(help: "The estimate's part: toggles also timed with today's single pass over all questions, for comparison.")
    var singlePasses = 10

    @Flag(help: "Print the estimate's part as one JSON object (and nothing else).")
    var json = false

    @Option(help: "Timed single-neuron toggles on the demo model (random blocks and neurons).")
    var toggles = 100

    @Option(help: "Timed multi-neuron masks on the demo model (16 random neurons across all blocks).")
    var sets = 10

    @Option(help: "Questions of the world-v1 probe set for the GPT-2-small-sized model (0 skips that part).")
    var largeProbes = 200

    @Option(help: "Timed neurons per block on the GPT-2-small-sized model, each evaluated incrementally and fully.")
    var largeRuns = 3

    @Flag(help: "On the GPT-2-small-sized model, also score every choice (slow), besides the answers.")
    var largeAll = false

    @Option(help: "OpenBLAS threads. One by default: the engine evaluates toggles on its own thread beside the analysis thread.")
    var threads = 1

    @Option(help: "On the demo, chunks scored side by side as the engine's live evaluator does (timed beside one at a time).")
    var chunkThreads = 2

    @Option(help: "Seed of the random neurons.")
    var seed: UInt64 = 1

    func validate() throws {
        if toggles < 1 { throw ValidationError("--toggles must be at least 1") }
        if conceptSets < 0 || singlePasses < 0 { throw ValidationError("--concept-sets and --single-passes must be at least 0") }
        if !(ratio > 0 && ratio <= 100) { throw ValidationError("--ratio is a percentage in (0, 100]") }
        if sets < 0 || largeProbes < 0 { throw ValidationError("--sets and --large-probes must be at least 0") }
        if largeRuns < 1 || threads < 1 || chunkThreads < 1 { throw ValidationError("--large-runs, --threads and --chunk-threads must be at least 1") }
    }

    func run() throws {
        // Each line as it comes, also into a file or a pipe: the whole run takes minutes.
        setvbuf(stdout, nil, _IOLBF, 0)
        BLAS.threads = threads
        if json {
            try printJSON(estimatePart())
            return
        }
        print("machine      \(ProcessInfo.processInfo.activeProcessorCount) hardware threads, OpenBLAS threads \(BLAS.threads), load average \(loadAverage()) (before)")
        print("times        wall clock (the goal), and the process's CPU time (the wall time on an otherwise idle machine)")
        if model.location == nil {
            try demo()
            if largeProbes > 0 { try large() }
        }
        _ = try estimatePart()
        print("\nload average \(loadAverage()) (after)")
    }

    /// Toggle latency on the demo model and the full demo probe set, for both kinds of candidates.
    private func demo() throws {
        let demo = try EvaluationInputs.load(Checkpoint(location: ShippedData.defaultModel()), probes: "demo")
        let (checkpoint, model, probes, evaluator) = (demo.checkpoint, demo.transformer, demo.probes, demo.evaluator)
        var generator = SeededGenerator(seed: seed)
        let singles = (0..<toggles).map { _ in randomNeuron(model, blocks: 0..<model.blockCount, &generator) }
        let multis = (0..<sets).map { _ in (0..<16).map { _ in randomNeuron(model, blocks: 0..<model.blockCount, &generator) } }

        print("\ndemo model   \(checkpoint.folder): \(model.blockCount) blocks × \(model.mlpWidth) neurons, hidden \(model.hiddenSize), vocabulary \(model.vocabSize)")
        print("probes       \(probes.label): \(probes.questions.count) questions, \(probes.concepts.count) concepts")
        for which in [Evaluator.Candidates.answers, .all] {
            let work = evaluator.workload(which)
            let start = Time.now()
            try evaluator.cacheResiduals(which)
            let cached = Time.now() - start
            print("\n\(which == .answers ? "answers only (open accuracy, --metric open)" : "every choice (open and multiple-choice accuracy, PSS's default --metric mcq)"): "
                  + "\(work.sequences) sequences, \(work.tokens) tokens, \(work.scoredRows) scored rows; states cached in \(format(cached.wall)) ms")
            for chunkThreads in Set([1, chunkThreads]).sorted() {
                evaluator.threads = chunkThreads
                _ = try toggle(evaluator, [], which)
                var byBlock: [Int: [Time]] = [:]
                for neuron in singles { byBlock[neuron.block, default: []].append(try toggle(evaluator, [neuron], which)) }
                let multi = try multis.map { try toggle(evaluator, $0, which) }
                let all = byBlock.values.flatMap { $0 }
                print("  \(chunkThreads == 1 ? "one chunk at a time" : "\(chunkThreads) chunks side by side (as the engine answers a toggle)")")
                print("  toggle                      n   median      p95      max   CPU median   CPU p95   (ms, mask change → per-concept accuracy)")
                for block in byBlock.keys.sorted() { print(row("  one neuron in block \(block)", byBlock[block]!)) }
                print(row("  one neuron, any block", all))
                if !multi.isEmpty { print(row("  16 neurons, any blocks", multi)) }
                let (median, p95) = (percentile(all.map(\.wall), 0.5), percentile(all.map(\.wall), 0.95))
                print("  goal median ≤ 50 ms, p95 ≤ 100 ms (wall, one neuron): \(median <= 50 && p95 <= 100 ? "met" : "not met")")
            }
        }
    }

    /// The speed-up of the incremental re-evaluation over a full one for neurons in the last third
    /// of the blocks of a GPT-2-small-sized model (random weights: only the time matters).
    private func large() throws {
        let tokenizerPath = ((try ShippedData.root() as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("Tests/Fixtures/tokenizers/gpt2/tokenizer.json")
        let tokenizer = try Tokenizer.load(contentsOf: URL(fileURLWithPath: tokenizerPath))
        let model = try gpt2Small()
        let world = try ProbeSet.load(named: "world-v1", dataRoot: ShippedData.root())
        let probes = ProbeSet(name: "world-\(largeProbes)", path: world.path, questions: Array(world.questions.prefix(largeProbes)))
        let incremental = try Evaluator(model: model, tokenizer: tokenizer, probes: probes)
        let full = try Evaluator(model: model, tokenizer: tokenizer, probes: probes)
        let blocks = (model.blockCount - model.blockCount / 3)..<model.blockCount
        var generator = SeededGenerator(seed: seed)
        print("\nGPT-2-small-sized model (random weights, in memory): \(model.blockCount) blocks × \(model.mlpWidth) neurons, hidden \(model.hiddenSize), vocabulary \(model.vocabSize)")
        print("probes       the first \(probes.questions.count) questions of \(world.path), tokenized by \(tokenizerPath)")
        for which in largeAll ? [Evaluator.Candidates.answers, .all] : [.answers] {
            let work = incremental.workload(which)
            let start = Time.now()
            try incremental.cacheResiduals(which)
            let cached = Time.now() - start
            print("\n\(which == .answers ? "answers only" : "every choice"): \(work.sequences) sequences, \(work.tokens) tokens, \(work.scoredRows) scored rows; states cached in \(format(cached.wall)) ms")
            print("  neuron block      n   incremental      full   speed-up   CPU: incremental      full   speed-up   (median ms)")
            var incrementalTimes: [Time] = [], fullTimes: [Time] = []
            var identical = true
            for block in blocks {
                var quick: [Time] = [], slow: [Time] = []
                for _ in 0..<largeRuns {
                    let ablation = Ablation(zeroing: [randomNeuron(model, blocks: block..<(block + 1), &generator)])
                    var start = Time.now()
                    let a = try incremental.evaluate(ablation: ablation, candidates: which)
                    quick.append(Time.now() - start)
                    start = Time.now()
                    let b = try full.evaluate(ablation: ablation, candidates: which)
                    slow.append(Time.now() - start)
                    identical = identical && a.results == b.results
                }
                incrementalTimes += quick
                fullTimes += slow
                print(speedUpRow(String(block), quick, slow))
            }
            print(speedUpRow("\(blocks.lowerBound)–\(blocks.upperBound - 1)", incrementalTimes, fullTimes))
            let speedUp = percentile(fullTimes.map(\.wall), 0.5) / percentile(incrementalTimes.map(\.wall), 0.5)
            print("  goal ≥ 3× (wall): \(speedUp >= 3 ? "met" : "not met"); incremental and full results \(identical ? "identical" : "DIFFER")")
        }
    }

    /// A GPT-2-small-sized model (124M parameters) with random weights, in memory.
    private func gpt2Small() throws -> Transformer {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("neurotop-bench-toggle-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let configPath = folder.appendingPathComponent("config.json").path
        let config: [String: Any] = ["model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12, "n_positions": 1024,
                                     "vocab_size": 50257, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
                                     "bos_token_id": 50256, "eos_token_id": 50256, "tie_word_embeddings": true]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        var options = TrainingOptions()
        options.seed = seed
        return try Trainer(config: ModelConfig.load(path: configPath), options: options).model
    }

    /// From a mask change to every concept's accuracy under it.
    private func toggle(_ evaluator: Evaluator, _ neurons: [NeuronID], _ which: Evaluator.Candidates) throws -> Time {
        let start = Time.now()
        let accuracy = try evaluator.evaluate(ablation: Ablation(zeroing: neurons), candidates: which)
        let perConcept = evaluator.probes.concepts.map { accuracy.concept($0) }
        let elapsed = Time.now() - start
        precondition(perConcept.count == evaluator.probes.concepts.count)
        return elapsed
    }

    private func randomNeuron(_ model: Transformer, blocks: Range<Int>, _ generator: inout SeededGenerator) -> NeuronID {
        NeuronID(block: Int.random(in: blocks, using: &generator), neuron: Int.random(in: 0..<model.mlpWidth, using: &generator))
    }

    private func row(_ label: String, _ times: [Time]) -> String {
        let wall = times.map(\.wall), cpu = times.map(\.cpu)
        return label.padding(toLength: 26, withPad: " ", startingAt: 0)
            + String(format: "%5d %8.1f %8.1f %8.1f %12.1f %9.1f", times.count, percentile(wall, 0.5), percentile(wall, 0.95), wall.max() ?? 0,
                     percentile(cpu, 0.5), percentile(cpu, 0.95))
    }

    private func speedUpRow(_ label: String, _ quick: [Time], _ slow: [Time]) -> String {
        let (a, b) = (percentile(quick.map(\.wall), 0.5), percentile(slow.map(\.wall), 0.5))
        let (c, d) = (percentile(quick.map(\.cpu), 0.5), percentile(slow.map(\.cpu), 0.5))
        return "  " + label.padding(toLength: 14, withPad: " ", startingAt: 0)
            + String(format: "%3d %13.1f %9.1f %9.2f× %17.1f %9.1f %9.2f×", quick.count, a, b, b / a, c, d, d / c)
    }
}

/// Wall-clock and process CPU time, in milliseconds.
struct Time {
    let wall: Double
    let cpu: Double

    static func now() -> Time {
        var cpu = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu)
        return Time(wall: Double(DispatchTime.now().uptimeNanoseconds) / 1e6, cpu: Double(cpu.tv_sec) * 1e3 + Double(cpu.tv_nsec) / 1e6)
    }

    static func - (a: Time, b: Time) -> Time { Time(wall: a.wall - b.wall, cpu: a.cpu - b.cpu) }
}

private func format(_ value: Double) -> String { String(format: "%.0f", value) }

/// The nearest-rank percentile.
func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
}

func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}
