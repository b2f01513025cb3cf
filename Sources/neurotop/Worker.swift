import ArgumentParser
import Foundation
import Engine

struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute one analysis together with other processes sharing its store: claim a unit, compute it, store it, until the analysis is complete.",
        discussion: """
            Start as many workers as there are machines (or cores) on one store; each prints a line per unit it starts and \
            finishes on stderr and exits 0 once every unit of the analysis is stored. A unit whose worker died is taken over \
            when its lease runs out (at once on the same machine).
            """)

    @OptionGroup var inputs: AnalysisArguments

    @Option(help: "Seconds a claimed unit stays this worker's without a renewal (renewed every third of it while the unit runs); other workers take over a unit whose lease ran out.")
    var lease = 60.0

    func validate() throws {
        if inputs.noStore { throw ValidationError("a worker shares its work through a store: --no-store does not apply") }
        if !(lease >= 1) { throw ValidationError("--lease is at least 1 second") }
    }

    func run() throws {
        let name = WorkerID.current
        @Sendable func say(_ line: String) { FileHandle.standardError.write(Data("worker \(name): \(line)\n".utf8)) }
        let computed = Counter()
        let (engine, _) = try inputs.compute { engine in
            engine.leaseSeconds = lease
            engine.onUnit = { event in
                switch event {
                case .started(let unit): say("started \(unit)")
                case .finished(let unit, let seconds):
                    computed.add()
                    say(String(format: "finished %@ in %.2f s", unit, seconds))
                case .lost(let unit): say("lost \(unit): another worker took it over, its result was not written")
                }
            }
        }
        let coordination = engine.coordination
        say("the analysis \(engine.fingerprint.id) is complete in \(engine.store?.location ?? "the store"); \(computed.value) units computed here"
            + String(format: "; claiming and writing took %.1f ms a unit", 1000 * coordination.seconds / Double(max(coordination.units, 1))))
    }
}

/// A count the analysis thread adds to.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add() { lock.withLock { count += 1 } }
}
