import ArgumentParser
import Foundation

/// `neurotop bench …`: the benchmarks, one subcommand each.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure neurotop: the engine's passes, activation patterns, live ablation, the front end, and how far partial results can be trusted.",
        subcommands: [BenchEngine.self, BenchFloor.self, BenchPartial.self, BenchPatterns.self, BenchToggle.self, BenchUI.self])
}

/// A fixed pseudo-random token sequence, the same on every run and machine (scripts/bench/*.py
/// reproduce it to feed PyTorch the same ids).
func benchmarkSequence(seed: Int, tokens: Int, vocab: Int) -> [Int] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(seed)
    return (0..<tokens).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(vocab))
    }
}

/// The process's peak resident set so far (VmHWM: getrusage's maxrss would include the parent's
/// at the time of fork, which a benchmark run from Python inflates).
func peakResidentBytes() -> Int {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
    return kilobytes * 1024
}
