import Foundation

/// Correlations of two paired lists of values, as the study reports PSS against accuracy across
/// models: Pearson's r on the values, Spearman's ρ on their ranks.
public enum Correlation {
    /// Pearson's r; nil with fewer than 2 pairs or when either list is constant (r is undefined).
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "paired lists")
        guard x.count >= 2 else { return nil }
        let n = Double(x.count)
        let meanX = x.reduce(0, +) / n, meanY = y.reduce(0, +) / n
        var covariance = 0.0, varianceX = 0.0, varianceY = 0.0
        for (a, b) in zip(x, y) {
            covariance += (a - meanX) * (b - meanY)
            varianceX += (a - meanX) * (a - meanX)
            varianceY += (b - meanY) * (b - meanY)
        }
        guard varianceX > 0, varianceY > 0 else { return nil }
        return covariance / (varianceX * varianceY).squareRoot()
    }

    /// Spearman's ρ: Pearson's r of the ranks, tied values sharing their average rank.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        pearson(averageRanks(x), averageRanks(y))
    }

    /// Ranks from 1, each group of equal values given the mean of the ranks it spans.
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, values[order[end + 1]] == values[order[start]] { end += 1 }
            let rank = Double(start + end) / 2 + 1
            for position in start...end { ranks[order[position]] = rank }
            start = end + 1
        }
        return ranks
    }
}

/// The study's central comparison across the models compared: peak PSS against the accuracy PSS
/// is computed from, over the models that have both.
public struct Rise: Sendable, Equatable {
    /// Fewer models than this give no correlation worth printing.
    public static let fewestModels = 3

    public let metric: AccuracyMetric
    /// Models with both a peak PSS and that accuracy.
    public let n: Int
    public let pearson: Double?
    public let spearman: Double?

    public init(_ summaries: [AnalysisSummary]) {
        let metric = summaries.first?.metric ?? .mcq
        self.metric = metric
        let pairs = summaries.compactMap { s -> (Double, Double)? in
            guard let peak = s.peak, let accuracy = s.accuracy(metric) else { return nil }
            return (peak.score, accuracy)
        }
        n = pairs.count
        let enough = n >= Self.fewestModels
        pearson = enough ? Correlation.pearson(pairs.map(\.0), pairs.map(\.1)) : nil
        spearman = enough ? Correlation.spearman(pairs.map(\.0), pairs.map(\.1)) : nil
    }

    /// "Pearson 0.920", "Spearman 0.800", "n = 4 models": short enough for a column of the
    /// Compare page; "–" for a correlation there is none of.
    public var lines: [String] {
        func value(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? Comparison.absent }
        let undefined = n >= Self.fewestModels && pearson == nil ? ["–: a correlation with a constant is undefined"] : []
        return ["Pearson \(value(pearson))", "Spearman \(value(spearman))",
                "n = \(n) model\(n == 1 ? "" : "s")" + (n < Self.fewestModels ? " (fewer than \(Self.fewestModels))" : "")] + undefined
    }

    /// "Pearson 0.920, Spearman 0.800, n = 4 models".
    public var text: String { lines.joined(separator: ", ") }

    public var json: [String: Any] {
        ["pearson": pearson.map { $0 as Any } ?? NSNull(), "spearman": spearman.map { $0 as Any } ?? NSNull(), "n": n,
         "accuracy": metric.rawValue]
    }
}
