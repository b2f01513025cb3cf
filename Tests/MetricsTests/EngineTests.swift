import CSQLite
import Foundation
import Analysis
import Engine
import Model
import Testing

/// A value shared with the engine's thread.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func update(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}

/// The background engine and its store, on the tiny fixture model with its probes and domains.
@Suite struct AnalysisEngineAndStore {
    static func inputs() throws -> AnalysisInputs {
        try AnalysisInputs.load(model: Fixtures.url("checkpoints/llama").path, probes: Fixtures.url("probes/tiny-llama.jsonl").path,
                                domains: Fixtures.url("domains").path)
    }

    static var options: AnalysisOptions {
        var options = AnalysisOptions()
        options.patterns.samples = 4
        return options
    }

    static func waitUntil(_ timeout: Double = 60, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    /// The engine's figures are those of the analyses computed directly.
    @Test func engineResultsEqualTheDirectComputation() throws {
        let inputs = try Self.inputs()
        let snapshot = try AnalysisEngine(inputs: inputs, options: Self.options, store: nil).runToEnd { _ in }
        #expect(snapshot.progress.state == .finished)
        #expect(snapshot.progress.done == snapshot.progress.total && snapshot.progress.secondsLeft == 0)
        let pooled = try PooledCoefficients.compute(model: inputs.model, tokenizer: inputs.tokenizer, probes: inputs.probes)
        let specialization = Specialization(pooled: pooled, probes: inputs.probes, blocks: inputs.model.blockCount, width: inputs.model.mlpWidth)
        // The engine pools in the unmasked evaluation's pass, over the prompts and their choices: its
        // products over other rows may round otherwise in the last bits.
        let delta = try #require(snapshot.specialization?.delta)
        #expect(delta.count == specialization.delta.count)
        for (x, y) in zip(delta, specialization.delta) { #expect(abs(x - y) <= 1e-5 * max(1, abs(y))) }
        for (x, y) in zip(try #require(snapshot.specializations), specialization.specializations) { #expect(abs(x - y) <= 1e-4) }
        // By multiple choice (the default) the fixture model knows one question, Oxygen's (Greedy's
        // only question has no choices): no concept has the 2 known questions PSS needs.
        let plan = try #require(snapshot.score.plan)
        #expect(plan.own.map(\.count) == [0, 1, 0])
        #expect(plan.summary == "0 of 3 concepts, 3 left out: fewer than 2 known questions")
        #expect(snapshot.score.entries.isEmpty && snapshot.score.peak == nil)
        let direct = try ActivationPatterns(model: inputs.model, tokenizer: inputs.tokenizer, corpus: inputs.corpus, options: Self.options.patterns)
        for _ in 0..<direct.stepCount { try direct.step() }
        let patterns = try #require(snapshot.patterns)
        #expect(patterns.samplesSeen == direct.samplesSeen)
        #expect(patterns.density.activated == direct.density().activated)
        #expect(patterns.domainMatrix == direct.domainMatrix())
    }

    /// Each kind of unit reports its useful arithmetic by the README's formulas ("Efficiency"),
    /// beside an sgemm peak measured when the engine starts.
    @Test func unitsReportTheirUsefulArithmetic() throws {
        let inputs = try Self.inputs()
        let progress = try AnalysisEngine(inputs: inputs, options: Self.options, store: nil).runToEnd { _ in }.progress
        #expect((progress.sgemmPeak ?? 0) > 0)
        let model = inputs.model
        // A token through every block: twice the blocks' linear weights.
        let weights = model.blockWeightNames.joined().reduce(0) { $0 + model.weightElementCount($1) }
        #expect(model.linearFLOPsPerToken(blocks: 0..<model.blockCount) == 2 * Double(weights))
        let kinds = Dictionary(uniqueKeysWithValues: progress.kinds.map { ($0.name, $0) })
        let evaluator = try Evaluator(model: model, tokenizer: inputs.tokenizer, probes: inputs.probes)
        #expect(kinds["unmasked evaluation"]?.flops == evaluator.usefulFLOPs(candidates: .all))
        let patterns = try ActivationPatterns(model: model, tokenizer: inputs.tokenizer, corpus: inputs.corpus, options: Self.options.patterns)
        #expect(kinds["pattern steps"]?.flops == (0..<patterns.stepCount).reduce(0) { $0 + patterns.usefulFLOPs(ofStep: $1) })
        for kind in progress.kinds where kind.seconds > 0 { #expect(kind.flops > 0 && (kind.gflops ?? 0) > 0, "\(kind.name)") }
        // The pooling batches were done in the unmasked evaluation's pass, taking no time of their own.
        #expect(kinds["pooling batches"].map { $0.done == $0.total && $0.seconds == 0 } == true)
        #expect(progress.efficiencyText?.hasPrefix("sgemm peak ") == true)
    }

    /// A second engine on the same store computes nothing and shows the same results at once.
    @Test func reopeningAStoreShowsFinishedResults() throws {
        let folder = TemporaryFolder()
        let path = folder.file("store.sqlite")
        let first = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: SQLStore(path: path)).runToEnd { _ in }
        let reopened = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: SQLStore(path: path))
        var computed: [String] = []
        let second = try reopened.runToEnd { computed.append($0.doing) }
        #expect(second.specialization?.delta == first.specialization?.delta)
        #expect(second.score.entries == first.score.entries)
        #expect(second.patterns?.density.activated == first.patterns?.density.activated)
        #expect(second.patterns?.domainMatrix == first.patterns?.domainMatrix)
        #expect(!computed.contains { $0.hasPrefix("specialization:") || $0.hasPrefix("activation patterns:") }, "\(computed)")
        // Other options are another analysis in the same file.
        var other = Self.options
        other.patterns.samples = 2
        let third = try AnalysisEngine(inputs: Self.inputs(), options: other, store: SQLStore(path: path))
        #expect(third.fingerprint != reopened.fingerprint)
        #expect(try third.runToEnd { _ in }.patterns?.samplesSeen == [2, 2, 2])
    }

    /// The standardized association is another analysis; the raw one keeps the fingerprint it had
    /// before the option existed (bbf16357f497ec3d: main's `analyze --json` on these inputs, with
    /// open accuracy, then the default), so that analyses already stored stay valid. Multiple
    /// choice, the default now, is another analysis.
    @Test func theAssociationIsPartOfTheFingerprint() throws {
        var open = Self.options
        open.metric = .open
        var standardized = open
        standardized.association = .standardized
        let raw = try AnalysisFingerprint(inputs: Self.inputs(), options: open)
        let multipleChoice = try AnalysisFingerprint(inputs: Self.inputs(), options: Self.options)
        #expect(multipleChoice.id != raw.id && multipleChoice.options.contains("pss_accuracy=mcq"))
        let other = try AnalysisFingerprint(inputs: Self.inputs(), options: standardized)
        #expect(raw.id == "bbf16357f497ec3d")
        #expect(other.id != raw.id)
        #expect(raw.options.contains("association=raw") && other.options.contains("association=standardized"))
    }

    /// A store that must not be written (here: every write bit of its file off, which holds even
    /// for root) is read: a second engine shows its finished results, says nothing will be saved,
    /// and leaves the file exactly as it was.
    @Test func aReadOnlyStoreShowsItsResultsAndSavesNothing() throws {
        let folder = TemporaryFolder()
        let path = folder.file("colleague.sqlite")
        let first = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: SQLStore(path: path)).runToEnd { _ in }
        #expect(chmod(path, 0o444) == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let store = try SQLStore(path: path)
        #expect(store.isReadOnly)
        let engine = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: store)
        #expect(engine.snapshot.progress.notSaving == "\(path) is read-only: its finished results are shown, nothing new is saved")
        var doing: [String] = []
        let second = try engine.runToEnd { doing.append($0.doing) }
        #expect(second.baseline?.results == first.baseline?.results)
        #expect(second.specialization?.delta == first.specialization?.delta)
        #expect(second.patterns?.density.activated == first.patterns?.density.activated)
        #expect(!doing.contains { $0.hasPrefix("activation patterns:") }, "\(doing)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        // Another analysis on it is computed in memory, and not saved.
        var other = Self.options
        other.patterns.samples = 2
        let third = try AnalysisEngine(inputs: Self.inputs(), options: other, store: SQLStore(path: path)).runToEnd { _ in }
        #expect(third.progress.state == .finished && third.patterns?.samplesSeen == [2, 2, 2])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    /// A write the store refuses part-way (disk full, permissions; here a trigger that fails every
    /// pooled-coefficient row) is reported once, and the analysis goes on to the same results.
    @Test func aFailedWriteIsReportedOnceAndTheAnalysisGoesOn() throws {
        let folder = TemporaryFolder()
        let path = folder.file("full.sqlite")
        let store = try SQLStore(path: path)
        try runSQLite(path, "CREATE TRIGGER full BEFORE INSERT ON pooled BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END")
        let engine = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: store)
        let snapshot = try engine.runToEnd { _ in }
        #expect(snapshot.progress.state == .finished)
        let why = try #require(snapshot.progress.notSaving)
        #expect(why.hasPrefix("not saving any more: \(path): ") && why.contains("database or disk is full"), "\(why)")
        let direct = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: nil).runToEnd { _ in }
        #expect(snapshot.specialization?.delta == direct.specialization?.delta)
        #expect(snapshot.patterns?.density.activated == direct.patterns?.density.activated)
        #expect(try store.pooledBatchFirsts(engine.fingerprint).isEmpty)
    }

    /// The unmasked evaluation is stored: a second engine on the same store shows it before it
    /// has computed anything, and a finished analysis reopened headless evaluates nothing.
    @Test func theUnmaskedEvaluationIsStored() throws {
        let folder = TemporaryFolder()
        let path = folder.file("analyses.sqlite")
        let first = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: SQLStore(path: path)).runToEnd { _ in }
        let reopened = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: SQLStore(path: path))
        var firstSeen: (baseline: ProbeAccuracy?, pooled: PooledCoefficients?)?
        var doing: [String] = []
        let second = try reopened.runToEnd { progress in
            if firstSeen == nil { firstSeen = (reopened.snapshot.baseline, reopened.snapshot.pooled) }
            doing.append(progress.doing)
        }
        let seen = try #require(firstSeen)
        #expect(seen.pooled == nil, "the first snapshot comes before any other work")
        #expect(seen.baseline?.results == first.baseline?.results)
        #expect(second.baseline?.results == first.baseline?.results)
        #expect(!doing.contains("unmasked evaluation") && !doing.contains("caching the unmasked state"), "\(doing)")
        #expect(second.progress.kinds.first { $0.name == "unmasked evaluation" }?.total == 0)
        #expect(second.score.plan?.own == first.score.plan?.own)
    }

    /// The concept the front end looks at is measured before the others (the demo model, whose
    /// concepts are measured).
    @Test func aFocusedConceptGoesFirst() throws {
        let data = Fixtures.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("data")
        let inputs = try AnalysisInputs.load(model: data.appendingPathComponent("models/demo").path,
                                             probes: data.appendingPathComponent("probes/demo.jsonl").path, domains: Fixtures.url("domains").path)
        var options = Self.options
        options.patterns.samples = 2
        let engine = try AnalysisEngine(inputs: inputs, options: options, store: nil)
        let focused = inputs.probes.concepts.count - 1
        engine.focus(.concept(inputs.probes.concepts[focused]))
        let firstMeasured = Locked<[Int]?>(nil)
        engine.onPublish = { [unowned engine] in
            let entries = engine.snapshot.score.entries
            if !entries.isEmpty { firstMeasured.update { $0 = $0 ?? entries.map(\.concept) } }
        }
        engine.start()
        defer { engine.stop() }
        #expect(Self.waitUntil { firstMeasured.value != nil })
        #expect(firstMeasured.value == [focused], "the first PSS entry was for \(firstMeasured.value ?? [])")
        #expect(engine.snapshot.score.plan?.measured(focused) == true)
    }

    /// Other processes holding claims on the analysis are counted in its progress (the front end
    /// and `analyze` say how many): a live one is, a gone one and a lapsed lease are not.
    @Test func otherWorkersOnTheStoreAreCounted() throws {
        let folder = TemporaryFolder()
        let store = try SQLStore(path: folder.file("store.sqlite"))
        let engine = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: store)
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        let host = String(cString: name)
        // Units the engine never computes: held by process 1 (alive), by a pid that no process has, and a lapsed lease;
        // the engine's own units, done, are not counted either.
        #expect(try store.claim(engine.fingerprint, unit: "elsewhere", worker: "\(host) 1 a", lease: 600))
        #expect(try store.claim(engine.fingerprint, unit: "gone", worker: "\(host) 2147483646 b", lease: 600))
        #expect(try store.claim(engine.fingerprint, unit: "lapsed", worker: "\(host) 1 c", lease: -1))
        var counts: Set<Int> = []
        _ = try engine.runToEnd { counts.insert($0.otherWorkers) }
        // 0 only before the claims are first read.
        #expect(counts.contains(1) && counts.isSubset(of: [0, 1]), "\(counts)")
    }

    /// Several processes (here: connections) creating the same new store at once all succeed.
    @Test func aNewStoreCanBeCreatedByManyAtOnce() throws {
        let folder = TemporaryFolder()
        for attempt in 0..<5 {
            let path = folder.file("shared-\(attempt).sqlite")
            let failures = Locked<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do { _ = try SQLStore(path: path) } catch { failures.update { $0.append("\(error)") } }
            }
            #expect(failures.value.isEmpty, "\(failures.value)")
        }
    }

    /// The cause of the race above, made deterministic: while another connection holds a write
    /// lock on a new file, SQLite refuses a change of journal mode at once instead of waiting.
    /// Opening the store must wait for the lock like any other write.
    @Test func aNewStoreWaitsForAnotherWriterInsteadOfFailing() throws {
        let folder = TemporaryFolder()
        let path = folder.file("held.sqlite")
        var holder: OpaquePointer?
        #expect(sqlite3_open(path, &holder) == SQLITE_OK)
        // The holder waits for locks as another neurotop process would: its COMMIT needs the
        // waiting store's brief shared locks (taken at each retry) gone, and without a busy
        // timeout it failed at once when it met one (once in 97 runs), keeping the lock for good.
        sqlite3_busy_timeout(holder, 10_000)
        #expect(sqlite3_exec(holder, "BEGIN IMMEDIATE", nil, nil, nil) == SQLITE_OK)
        let connection = Locked(holder)
        let committed = Locked(Int32(-1))
        let released = DispatchSemaphore(value: 0)
        // A thread of its own: a block on Dispatch's global queue can wait longer than the store's
        // 10 s busy timeout while other tests keep the queue's few threads busy (it did once in
        // 18 runs beside the toggle tests, which score chunks on that queue).
        Thread {
            usleep(300_000)
            let status = sqlite3_exec(connection.value, "COMMIT", nil, nil, nil)
            committed.update { $0 = status }
            released.signal()
        }.start()
        _ = try SQLStore(path: path)
        released.wait()
        #expect(committed.value == SQLITE_OK)
        sqlite3_close(holder)
        _ = try SQLStore(path: path)
    }

    /// Files that are not stores are refused by name, and left byte for byte as they were.
    @Test func badStoreFilesAreRefusedAndLeftAlone() throws {
        let folder = TemporaryFolder()
        let text = folder.write("notes.sqlite", "these are my notes, not a database\n" + String(repeating: "x", count: 5000))
        let before = try Data(contentsOf: URL(fileURLWithPath: text))
        #expect {
            try SQLStore(path: text)
        } throws: { error in
            let problem = "\(error)"
            return problem.hasPrefix(text) && problem.contains("not an analysis store")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: text)) == before)

        // A store written by another format version keeps everything it has.
        let path = folder.file("old.sqlite")
        let store = try SQLStore(path: path)
        let engine = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: store)
        let finished = try engine.runToEnd { _ in }
        try runSQLite(path, "UPDATE neurotop SET value = '0' WHERE key = 'version'")
        #expect {
            try SQLStore(path: path)
        } throws: { error in
            "\(error)".contains("format 0, this neurotop reads format \(SQLStore.format)")
        }
        try runSQLite(path, "UPDATE neurotop SET value = '\(SQLStore.format)' WHERE key = 'version'")
        let kept = try SQLStore(path: path).entries(engine.fingerprint)
        #expect(kept.sorted { ($0.concept, $0.ratio) < ($1.concept, $1.ratio) } == finished.score.entries)
    }

    /// A store made before the write times, the ablation estimate and the claims existed (format 2
    /// without their tables) is read as it is where it is read-only, and gains the tables, its
    /// results kept, when opened for writing. A SQLite database of something else is refused, and
    /// left as it was.
    @Test func anOlderStoreGainsTheLaterTablesAndAnotherDatabaseIsRefused() throws {
        let folder = TemporaryFolder()
        let path = folder.file("older.sqlite")
        let inputs = try Self.inputs()
        let engine = try AnalysisEngine(inputs: inputs, options: Self.options, store: SQLStore(path: path))
        let finished = try engine.runToEnd { _ in }
        let questions = inputs.probes.questions.count
        try runSQLite(path, "DROP TABLE written; DROP TABLE estimate; DROP TABLE claims")
        #expect(chmod(path, 0o444) == 0)
        let readOnly = try SQLStore(path: path)
        #expect(readOnly.isReadOnly)
        let listed = try #require(try readOnly.analyses().first)
        #expect(listed.fingerprint == engine.fingerprint.id && listed.written == nil && listed.baselineQuestions == questions)
        #expect(try readOnly.estimateChunks(engine.fingerprint).isEmpty && readOnly.claims(engine.fingerprint).isEmpty)
        #expect(chmod(path, 0o644) == 0)
        let writable = try SQLStore(path: path)
        #expect(try writable.baseline(engine.fingerprint, questions: questions) == finished.baseline?.results)
        #expect(try writable.claim(engine.fingerprint, unit: "baseline", worker: "a", lease: 600))
        try writable.save(engine.fingerprint, baseline: finished.baseline?.results ?? [], claim: UnitClaim(unit: "baseline", worker: "a", lease: 600))
        #expect(try writable.analyses().first?.written != nil)
        #expect(try writable.claims(engine.fingerprint)["baseline"]?.done == true)

        let other = folder.file("other.sqlite")
        try runSQLite(other, "CREATE TABLE notes (text TEXT)")
        let before = try Data(contentsOf: URL(fileURLWithPath: other))
        #expect {
            try SQLStore(path: other)
        } throws: { error in
            "\(error)" == "\(other): a SQLite database, but not a neurotop analysis store (tables: notes); choose another file with --store (this one was not changed)"
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: other)) == before)
    }

    /// A unit is one worker's until its lease runs out or it is done; a write under a claim another
    /// worker took over lands nothing; renewing and releasing touch only the worker's own claims.
    @Test func aClaimGivesAUnitToOneWorker() throws {
        let folder = TemporaryFolder()
        let store = try SQLStore(path: folder.file("claims.sqlite"))
        let fingerprint = try AnalysisFingerprint(inputs: Self.inputs(), options: Self.options)
        try store.register(fingerprint)
        #expect(try store.claim(fingerprint, unit: "pooled 0", worker: "a", lease: 600))
        #expect(try !store.claim(fingerprint, unit: "pooled 0", worker: "b", lease: 600))
        #expect(try store.claim(fingerprint, unit: "pooled 0", worker: "a", lease: 600))
        #expect(try store.renew(fingerprint, units: ["pooled 0", "pooled 1"], worker: "a", lease: 600) == ["pooled 1"])
        let left = try #require(try store.claims(fingerprint)["pooled 0"]?.expires) - Date().timeIntervalSince1970
        #expect(left > 590 && left <= 600, "\(left)")

        // b's lease ran out: a takes the unit over, and b's result is not written.
        #expect(try store.claim(fingerprint, unit: "pss 0", worker: "b", lease: -1))
        #expect(try store.claim(fingerprint, unit: "pss 0", worker: "a", lease: 600))
        let entry = SpecializationScore.Entry(concept: 0, ratio: 0.01, conceptAccuracy: 0.5, otherAccuracy: 0.75, baseline: 1)
        #expect(throws: ClaimLost.self) {
            try store.save(fingerprint, entries: [entry], claim: UnitClaim(unit: "pss 0", worker: "b", lease: 600))
        }
        #expect(try store.entries(fingerprint).isEmpty)
        try store.save(fingerprint, entries: [entry], claim: UnitClaim(unit: "pss 0", worker: "a", lease: 600))
        #expect(try store.entries(fingerprint) == [entry])
        #expect(try store.claims(fingerprint)["pss 0"]?.done == true)
        #expect(try !store.claim(fingerprint, unit: "pss 0", worker: "b", lease: 600))

        try store.release(fingerprint, units: ["pooled 0"], worker: "b")
        #expect(try store.claims(fingerprint)["pooled 0"]?.worker == "a")
        try store.release(fingerprint, units: ["pooled 0", "pss 0"], worker: "a")
        #expect(try store.claims(fingerprint)["pooled 0"] == nil && store.claims(fingerprint)["pss 0"]?.done == true)
    }

    /// Toggling an ablation gives the evaluator's answer for that ablation; the newest request wins.
    @Test func liveAblationAnswersTheNewestRequest() throws {
        let inputs = try Self.inputs()
        // Open accuracy: the live evaluation scores the answers only, as `expected` below.
        var options = Self.options
        options.metric = .open
        let engine = try AnalysisEngine(inputs: inputs, options: options, store: nil)
        engine.start()
        defer { engine.stop() }
        #expect(Self.waitUntil { engine.snapshot.baseline != nil })
        let first = Ablation(zeroing: [NeuronID(block: 0, neuron: 1)])
        let second = Ablation(zeroing: (0..<inputs.model.mlpWidth).map { NeuronID(block: 1, neuron: $0) })
        engine.setAblation(first)
        engine.setAblation(second)
        #expect(Self.waitUntil { engine.snapshot.currentAccuracy != nil })
        let snapshot = engine.snapshot
        #expect(snapshot.requestedAblation == second)
        #expect(snapshot.live?.ablation == second)
        let evaluator = try Evaluator(model: inputs.model, tokenizer: inputs.tokenizer, probes: inputs.probes)
        let expected = try evaluator.evaluate(ablation: second, candidates: .answers)
        #expect(sameResults(snapshot.currentAccuracy?.results, expected.results))

        // Inspecting a neuron: the tokens its value vector promotes most, by W_U · v.
        let neuron = NeuronID(block: 1, neuron: 3)
        engine.focus(.neuron(neuron))
        #expect(Self.waitUntil { engine.snapshot.details[neuron] != nil })
        let detail = try #require(engine.snapshot.details[neuron])
        let scores = inputs.model.unembed(inputs.model.valueVector(neuron), count: 1)
        let best = scores.indices.max { scores[$0] < scores[$1] }!
        #expect(detail.promoted.first?.token == inputs.tokenizer.displayString(best))
        #expect(detail.promoted.first?.value == scores[best])
        #expect(detail.promoted.count == 10 && detail.suppressed.count == 10)
        #expect(detail.suppressed.first?.value == scores.min())
    }

    /// A write the store refuses is an error naming the store, never a missing value: it is
    /// reported (the run goes on, unsaved), and nothing is half-written: a step's rows land
    /// together or not at all.
    @Test func aFailedWriteIsAnErrorNotAMissingValue() throws {
        let folder = TemporaryFolder()
        let path = folder.file("refusing.sqlite")
        let store = try SQLStore(path: path)
        let engine = try AnalysisEngine(inputs: Self.inputs(), options: Self.options, store: store)
        try runSQLite(path, "CREATE TRIGGER refuse BEFORE INSERT ON pattern_summary BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END")
        let snapshot = try engine.runToEnd { _ in }
        let why = try #require(snapshot.progress.notSaving)
        #expect(why.hasPrefix("not saving any more: \(path)") && why.contains("refused by a trigger"), "\(why)")
        #expect(try store.patterns(engine.fingerprint) == nil)
    }

    /// Changes a store behind neurotop's back, as another program (or version) would.
    func runSQLite(_ path: String, _ sql: String) throws {
        var db: OpaquePointer?
        #expect(sqlite3_open(path, &db) == SQLITE_OK)
        #expect(sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK)
        sqlite3_close(db)
    }
}
