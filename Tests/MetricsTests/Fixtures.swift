import Foundation
import Analysis

/// Where the committed fixtures live, found from this file's path so tests run from any directory.
enum Fixtures {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }
}

/// Whether a live (streamed) evaluation gives a single pass's results: right and wrong identical,
/// log-probabilities equal to rounding. The live pass restarts from the first ablated block in
/// slices of questions, so its products have other shapes than the single pass's and round
/// differently (debug and release builds too).
func sameResults(_ live: [QuestionResult]?, _ single: [QuestionResult]) -> Bool {
    guard let live, live.count == single.count else { return false }
    return zip(live, single).allSatisfy { a, b in
        a.openCorrect == b.openCorrect && a.multipleChoiceCorrect == b.multipleChoiceCorrect
            && a.logProbabilities.count == b.logProbabilities.count
            && zip(a.logProbabilities, b.logProbabilities).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }
    }
}
