import Foundation

/// The figures the two papers draw, as SVG: PSS against the masking ratio (one line a model),
/// accuracy and PSS by popularity tier, activated density by block (one line a domain), and box
/// plots of cos_l by block for a domain pair. Each has axes with ticks, a legend, and a caption of
/// the settings it was made with. Every point carries its value in a `<title>`.
public enum Figures {
    /// Okabe–Ito: told apart with any colour vision.
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]

    /// The figures of one analysis (`export --format svg`).
    public static func analysis(_ summary: AnalysisSummary, settings: [(String, String)]) -> [(name: String, text: String)] {
        var figures = [("pss_by_ratio", pssByRatio([summary], settings: settings)), ("tiers", tiers([summary], settings: settings)),
                       ("density_by_block", density([summary], settings: settings))]
        if let patterns = summary.patterns {
            for pair in patterns.pairs where pair.a != pair.b {
                figures.append(("cos_\(patterns.domains[pair.a])_\(patterns.domains[pair.b])",
                                cosineBoxes([summary], pair: (patterns.domains[pair.a], patterns.domains[pair.b]), settings: settings)))
            }
        }
        return figures
    }

    /// The figures of a comparison (`compare --svg`): one line (or panel) a model, per-block
    /// figures on the relative depth; the box plots for the first pair of different domains all
    /// models have; the rise, model by model (`runs`: the training run each model is a checkpoint
    /// of, nil for a model named on its own).
    public static func comparison(_ summaries: [AnalysisSummary], runs: [String?], settings: [(String, String)]) -> [(name: String, text: String)] {
        var figures = [("pss_by_ratio", pssByRatio(summaries, settings: settings)), ("tiers", tiers(summaries, settings: settings)),
                       ("density_by_depth", density(summaries, settings: settings)), ("rise", rise(summaries, runs: runs, settings: settings))]
        let shared = summaries.compactMap(\.patterns).map(\.domains)
        if let first = shared.first, shared.count == summaries.count {
            let common = first.filter { name in shared.allSatisfy { $0.contains(name) } }
            if common.count >= 2 {
                figures.append(("cos_\(common[0])_\(common[1])", cosineBoxes(summaries, pair: (common[0], common[1]), settings: settings)))
            }
        }
        return figures
    }

    /// The settings a caption states: the inputs and the options that change the figures.
    static func caption(_ settings: [(String, String)], models: [String]) -> [String] {
        let shown = ["probes", "domains", "pss_accuracy", "pss_control_set", "pss_questions", "ratios", "samples_per_domain",
                     "activation_threshold", "association", "fingerprint"]
        var items = ["models: " + models.joined(separator: ", ")]
        for key in shown { if let value = settings.first(where: { $0.0 == key })?.1 { items.append("\(key): \(value)") } }
        // Lines of at most 110 characters.
        var lines: [String] = [], current = ""
        for item in items {
            if !current.isEmpty, current.count + item.count + 3 > 110 {
                lines.append(current)
                current = item
            } else {
                current = current.isEmpty ? item : current + " · " + item
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    // MARK: The figures

    static func pssByRatio(_ summaries: [AnalysisSummary], settings: [(String, String)]) -> String {
        let ratios = summaries.first?.ratios ?? SpecializationScore.defaultRatios
        let values = summaries.flatMap { $0.pss.compactMap { $0 } }
        var plot = Plot(title: "PSS against the masking ratio r (mean over the measured concepts, 95 % bootstrap interval)", xLabel: "masking ratio r (share of all MLP neurons, log scale)",
                        yLabel: "PSS(r)", x: (log10(ratios.first ?? 0.001), log10(ratios.last ?? 0.1)),
                        y: (0, Plot.niceTop(values.max() ?? 1)), caption: caption(settings, models: summaries.map(\.name)))
        plot.xTicks = ratios.map { (log10($0), String(format: "%g%%", $0 * 100)) }
        plot.yTicks = Plot.ticks(upTo: plot.y.1)
        for (m, s) in summaries.enumerated() {
            let colour = palette[m % palette.count]
            let points = zip(zip(s.ratios, s.pss), s.pssIntervals).compactMap { item, interval in
                item.1.map { (log10(item.0), $0, "\(s.name): PSS(\(String(format: "%g%%", item.0 * 100))) = \(String(format: "%.4f", $0)) "
                              + (interval.map { $0.text("%.4f") + ", " + Intervals.conceptCount($0.n) } ?? "")) }
            }
            for (ratio, interval) in zip(s.ratios, s.pssIntervals) {
                if let interval { plot.errorBar(x: log10(ratio), interval: interval, colour: colour) }
            }
            let n = s.peakInterval.map { ", " + Intervals.conceptCount($0.n) } ?? ""
            plot.line(points, colour: colour, label: s.name + (s.peak.map { String(format: " (peak %.3f", $0.score) + n + ")" } ?? ""))
            if points.isEmpty { plot.note("\(s.name): no PSS measured (\(s.pssRuns.wanted == 0 ? "no concept has enough questions" : "not computed yet"))") }
        }
        return plot.svg
    }

    static func tiers(_ summaries: [AnalysisSummary], settings: [(String, String)]) -> String {
        var names: [String] = []
        for s in summaries { for figures in s.tiers where !names.contains(figures.tier.rawValue) { names.append(figures.tier.rawValue) } }
        // The accuracy PSS is computed from (the first model's metric: compare runs one set of options).
        let metric = summaries.first?.metric ?? .mcq
        var plot = Plot(title: "Accuracy (\(metric.rawValue)) and PSS at the peak ratio, by popularity tier (95 % intervals, n concepts)", xLabel: "popularity tier",
                        yLabel: "accuracy · PSS", x: (0, Double(max(names.count, 1))), y: (0, 1),
                        caption: caption(settings, models: summaries.map(\.name)))
        guard !names.isEmpty else {
            plot.empty("No tiers: the probe set gives no question a `tier` (high, medium, low), so there is nothing to split by.")
            return plot.svg
        }
        plot.yTicks = Plot.ticks(upTo: 1)
        plot.xTicks = names.enumerated().map { (Double($0.offset) + 0.5, $0.element) }
        // Per tier: a bar a model for accuracy (solid) and one for PSS (hatched with a lighter fill).
        let slots = Double(summaries.count * 2), groupWidth = 0.8
        for (m, s) in summaries.enumerated() {
            let colour = palette[m % palette.count]
            for (t, name) in names.enumerated() {
                guard let tier = s.tiers.first(where: { $0.tier.rawValue == name }) else { continue }
                let start = Double(t) + 0.1 + groupWidth * Double(2 * m) / slots
                let width = groupWidth / slots
                let accuracy = metric == .open ? tier.accuracy?.open : tier.accuracy?.multipleChoice
                let interval = metric == .open ? tier.accuracy?.openInterval : tier.accuracy?.multipleChoiceInterval
                if let accuracy, let interval {
                    plot.bar(x: start, width: width, value: accuracy, colour: colour, opacity: 1,
                             title: "\(s.name) \(name): accuracy \(String(format: "%.4f", accuracy)) (\(interval.n) questions)")
                    plot.errorBar(x: start + width / 2, interval: interval, colour: "#333333")
                }
                if let pss = tier.pss(at: s.peak?.ratio), let interval = tier.pssInterval(at: s.peak?.ratio) {
                    plot.bar(x: start + width, width: width, value: pss, colour: colour, opacity: 0.45,
                             title: "\(s.name) \(name): PSS \(String(format: "%.4f", pss)) \(interval.text("%.4f")) (\(Intervals.conceptCount(interval.n)))")
                    plot.errorBar(x: start + 1.5 * width, interval: interval, colour: "#333333")
                    plot.label(x: start + 1.5 * width, y: interval.high, text: "n=\(interval.n)")
                    if interval.n < Intervals.fewestConcepts {
                        plot.note("\(s.name), tier \(name): PSS rests on \(interval.n) concept\(interval.n == 1 ? "" : "s") (fewer than \(Intervals.fewestConcepts))")
                    }
                }
            }
            plot.legend(colour: colour, label: "\(s.name) accuracy", opacity: 1)
            plot.legend(colour: colour, label: "\(s.name) PSS", opacity: 0.45)
        }
        return plot.svg
    }

    /// Peak PSS and the accuracy PSS is computed from, model by model in compare's order, each
    /// with its interval: points joined within a run's checkpoints or a family's models, n printed
    /// where a peak rests on fewer than `Intervals.fewestConcepts` concepts, the correlation across
    /// the models in the caption.
    static func rise(_ summaries: [AnalysisSummary], runs: [String?], settings: [(String, String)]) -> String {
        let rise = Rise(summaries)
        let metric = rise.metric.rawValue
        // PSS is at least 0 but can pass 1 (a difference of accuracies over a small overall accuracy).
        let highs = summaries.compactMap { $0.peakInterval?.high } + summaries.compactMap { $0.peak?.score }
        let top = max(1, Plot.niceTop(highs.max() ?? 1))
        var plot = Plot(title: "Peak PSS and \(metric) accuracy, model by model (95 % intervals, n concepts)",
                        xLabel: "model (a family's by size, a run's checkpoints by step)", yLabel: "peak PSS · accuracy",
                        x: (-0.5, Double(summaries.count) - 0.5), y: (0, top),
                        caption: caption(settings, models: summaries.map(\.label))
                            + ["peak PSS against \(metric) accuracy across the models: " + rise.text])
        plot.xTicks = summaries.enumerated().map { (Double($0.offset), $0.element.label) }
        plot.yTicks = Plot.ticks(upTo: top)
        let pssColour = palette[0], accuracyColour = palette[1]
        // Consecutive models of one run, or of one family named on their own, make one line.
        precondition(runs.count == summaries.count, "a run (or nil) a model")
        let keys = summaries.indices.map { runs[$0].map { "run " + $0 } ?? "family " + summaries[$0].family }
        var series: [Range<Int>] = []
        for index in summaries.indices {
            if let last = series.last, keys[last.upperBound - 1] == keys[index] {
                series[series.count - 1] = last.lowerBound..<index + 1
            } else {
                series.append(index..<index + 1)
            }
        }
        // The accuracy's points and bars sit a little right of the peak's, so that the bars do not cover each other.
        let shift = 0.08
        for range in series {
            var peaks: [(Double, Double, String)] = [], accuracies: [(Double, Double, String)] = []
            for index in range {
                let s = summaries[index], x = Double(index)
                if let peak = s.peak {
                    let interval = s.peakInterval
                    peaks.append((x - shift, peak.score, "\(s.label): peak PSS \(String(format: "%.4f", peak.score)) at r = \(String(format: "%g%%", peak.ratio * 100))"
                                  + (interval.map { " " + $0.text("%.4f") + ", " + Intervals.conceptCount($0.n) } ?? "")))
                    if let interval {
                        plot.errorBar(x: x - shift, interval: interval, colour: pssColour)
                        if interval.n < Intervals.fewestConcepts {
                            plot.label(x: x - shift, y: interval.high, text: "n=\(interval.n)")
                            plot.note("\(s.label): peak PSS rests on \(Intervals.conceptCount(interval.n))")
                        }
                    }
                    if let wanted = s.pssRuns.wanted, s.pssRuns.done < wanted {
                        plot.note("\(s.label): partial, peak PSS from \(s.pssRuns.done) of \(wanted) PSS runs (the first concepts of a fair order)")
                    }
                } else {
                    plot.note("\(s.label): no peak PSS (\(s.pssRuns.wanted == 0 ? "no concept has enough questions" : "not computed yet"))")
                }
                if let accuracy = s.accuracy(rise.metric) {
                    let interval = s.accuracyInterval(rise.metric)
                    accuracies.append((x + shift, accuracy, "\(s.label): \(metric) accuracy \(String(format: "%.4f", accuracy))"
                                       + (interval.map { " " + $0.text("%.4f") + " (\($0.n) questions)" } ?? "")))
                    if let interval { plot.errorBar(x: x + shift, interval: interval, colour: accuracyColour) }
                }
            }
            let first = range == series.first
            plot.line(peaks, colour: pssColour, label: first ? "peak PSS (bootstrap 95 %)" : nil)
            plot.line(accuracies, colour: accuracyColour, label: first ? "\(metric) accuracy (Wilson 95 %)" : nil)
        }
        return plot.svg
    }

    /// One line a domain; with several models, a panel a model on the relative depth.
    static func density(_ summaries: [AnalysisSummary], settings: [(String, String)]) -> String {
        let single = summaries.count == 1
        let all = summaries.compactMap(\.patterns).flatMap { $0.density.density.flatMap { $0 } }
        let top = Plot.niceTop(100 * (all.max() ?? 0.01))
        var panels: [Plot] = []
        for s in summaries {
            let blocks = s.blocks
            var plot = Plot(title: "Activated density by block: \(s.name)",
                            xLabel: single ? "block" : "relative depth (block / (blocks − 1))", yLabel: "weights activated (%)",
                            x: single ? (0, Double(max(blocks - 1, 1))) : (0, 1), y: (0, top), caption: [])
            plot.xTicks = single ? Plot.blockTicks(blocks) : (0...5).map { (Double($0) / 5, String(format: "%.1f", Double($0) / 5)) }
            plot.yTicks = Plot.ticks(upTo: top)
            if let p = s.patterns {
                for (d, domain) in p.domains.enumerated() {
                    let points = p.density.density.enumerated().map { block, row in
                        (single ? Double(block) : RelativeDepth.position(block: block, of: blocks), 100 * row[d],
                         "\(s.name) \(domain) block \(block): \(String(format: "%.4f", 100 * row[d]))%")
                    }
                    plot.line(points, colour: palette[d % palette.count], label: domain)
                }
                if p.samplesDone < p.samplesWanted { plot.note("partial: from \(p.samplesDone) of \(p.samplesWanted) samples a domain") }
            } else {
                plot.empty("Not computed yet: no sample's gradients are in.")
            }
            panels.append(plot)
        }
        return Plot.stack(panels, caption: caption(settings, models: summaries.map(\.name)))
    }

    /// Box plots of cos_l by block for one domain pair: whiskers from the minimum to the maximum,
    /// the box from the lower to the upper quartile, a line at the median; a panel a model.
    static func cosineBoxes(_ summaries: [AnalysisSummary], pair: (String, String), settings: [(String, String)]) -> String {
        var panels: [Plot] = []
        for s in summaries {
            var plot = Plot(title: "cos_l of \(pair.0) × \(pair.1) samples by block: \(s.name)", xLabel: "block",
                            yLabel: "cos_l", x: (-0.5, Double(s.blocks) - 0.5), y: (0, 1), caption: [])
            plot.xTicks = Plot.blockTicks(s.blocks)
            plot.yTicks = Plot.ticks(upTo: 1)
            guard let p = s.patterns, let a = p.domains.firstIndex(of: pair.0), let b = p.domains.firstIndex(of: pair.1),
                  let key = p.pairs.first(where: { ($0.a, $0.b) == (a, b) || ($0.a, $0.b) == (b, a) }) else {
                plot.empty(s.patterns == nil ? "Not computed yet: no sample's gradients are in." : "This model has no \(pair.0) × \(pair.1) pair.")
                panels.append(plot)
                continue
            }
            for (block, perPair) in p.similarity.enumerated() {
                guard let spread = perPair[key], spread.count > 0 else { continue }
                plot.box(x: Double(block), spread: spread, colour: palette[0],
                         title: "\(s.name) block \(block): n \(spread.count), min \(Plot.number(spread.minimum)), q1 \(Plot.number(spread.lowerQuartile)), median \(Plot.number(spread.median)), q3 \(Plot.number(spread.upperQuartile)), max \(Plot.number(spread.maximum)), mean \(Plot.number(spread.mean))")
            }
            plot.legend(colour: palette[0], label: "quartiles, median", opacity: 0.35)
            plot.legend(colour: "#333333", label: "min–max", opacity: 1)
            if p.samplesDone < p.samplesWanted { plot.note("partial: from \(p.samplesDone) of \(p.samplesWanted) samples a domain") }
            panels.append(plot)
        }
        return Plot.stack(panels, caption: caption(settings, models: summaries.map(\.name)))
    }
}

/// One chart: a plotting area with axes, ticks, labels and a legend on the right, drawn into SVG.
struct Plot {
    let title: String
    let xLabel: String
    let yLabel: String
    let x: (Double, Double)
    let y: (Double, Double)
    var caption: [String]
    var xTicks: [(Double, String)] = []
    var yTicks: [(Double, String)] = []
    private var body = ""
    private var legendItems: [(colour: String, label: String, opacity: Double)] = []
    private var notes: [String] = []

    init(title: String, xLabel: String, yLabel: String, x: (Double, Double), y: (Double, Double), caption: [String]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.x = x
        self.y = y
        self.caption = caption
    }

    static let width = 760.0, plotLeft = 70.0, plotWidth = 480.0, plotTop = 40.0, plotHeight = 260.0

    var height: Double { Self.plotTop + Self.plotHeight + 50 + 15 * Double(notes.count) + (caption.isEmpty ? 0 : 10 + 14 * Double(caption.count)) }

    func px(_ value: Double) -> Double { Self.plotLeft + (x.1 > x.0 ? (value - x.0) / (x.1 - x.0) : 0.5) * Self.plotWidth }
    func py(_ value: Double) -> Double { Self.plotTop + Self.plotHeight - (y.1 > y.0 ? (min(max(value, y.0), y.1) - y.0) / (y.1 - y.0) : 0) * Self.plotHeight }

    static func number(_ value: Double) -> String { String(format: "%.4f", value) }

    /// The smallest of 1, 2, 2.5, 5 × 10^k at or above `value` (1 for nothing).
    static func niceTop(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let power = pow(10, floor(log10(value)))
        return ([1, 2, 2.5, 5, 10].first { $0 * power >= value * (1 - 1e-12) } ?? 10) * power
    }

    /// Five intervals from 0 to `top`, labelled with as few digits as they need.
    static func ticks(upTo top: Double) -> [(Double, String)] {
        (0...5).map { i in
            let value = top * Double(i) / 5
            var text = String(format: "%.3f", value)
            while text.contains("."), text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return (value, text)
        }
    }

    /// Every block when few, else about ten evenly spaced.
    static func blockTicks(_ blocks: Int) -> [(Double, String)] {
        let step = max(1, Int((Double(blocks) / 10).rounded(.up)))
        var ticks = Array(stride(from: 0, to: blocks, by: step))
        if let last = ticks.last, last != blocks - 1, blocks > 1 { ticks.append(blocks - 1) }
        return ticks.map { (Double($0), "\($0)") }
    }

    static func escape(_ text: String) -> String { Heatmap.escape(text).replacingOccurrences(of: "\"", with: "&quot;") }

    /// Points joined by a line; `label` nil for a line whose legend entry another line gave already.
    mutating func line(_ points: [(Double, Double, String)], colour: String, label: String?) {
        let path = points.map { String(format: "%.2f,%.2f", px($0.0), py($0.1)) }.joined(separator: " ")
        if points.count > 1 { body += "<polyline class=\"series\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(path)\"/>\n" }
        for point in points {
            body += String(format: "<circle class=\"point\" cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%@\"><title>%@</title></circle>\n",
                           px(point.0), py(point.1), colour, Self.escape(point.2))
        }
        if let label { legendItems.append((colour, label, 1)) }
    }

    mutating func bar(x start: Double, width: Double, value: Double, colour: String, opacity: Double, title: String) {
        let top = py(value), left = px(start), right = px(start + width)
        body += String(format: "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%@\" fill-opacity=\"%.2f\" stroke=\"%@\"><title>%@</title></rect>\n",
                       left, top, right - left, py(y.0) - top, colour, opacity, colour, Self.escape(title))
    }

    /// A vertical line from the interval's low to its high end, with short caps.
    mutating func errorBar(x: Double, interval: Interval, colour: String) {
        let cx = px(x), low = py(interval.low), high = py(interval.high)
        body += String(format: "<path class=\"errorbar\" d=\"M%.2f %.2f V%.2f M%.2f %.2f H%.2f M%.2f %.2f H%.2f\" stroke=\"%@\" fill=\"none\"/>\n",
                       cx, low, high, cx - 3, low, cx + 3, cx - 3, high, cx + 3, colour)
    }

    /// A small text just above a point (an n over a bar).
    mutating func label(x: Double, y value: Double, text: String) {
        body += String(format: "<text class=\"label\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"9\">%@</text>\n",
                       px(x), py(value) - 4, Self.escape(text))
    }

    mutating func box(x centre: Double, spread: ActivationPatterns.Spread, colour: String, title: String) {
        let cx = px(centre), half = min(14, Self.plotWidth / max(x.1 - x.0, 1) * 0.3)
        var out = "<g class=\"box\"><title>\(Self.escape(title))</title>"
        out += String(format: "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333333\"/>", cx, py(spread.minimum), cx, py(spread.maximum))
        out += String(format: "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%@\" fill-opacity=\"0.35\" stroke=\"%@\"/>",
                      cx - half, py(spread.upperQuartile), 2 * half, py(spread.lowerQuartile) - py(spread.upperQuartile), colour, colour)
        out += String(format: "<line class=\"median\" x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%@\" stroke-width=\"2\"/>",
                      cx - half, py(spread.median), cx + half, py(spread.median), colour)
        body += out + "</g>\n"
    }

    mutating func legend(colour: String, label: String, opacity: Double) { legendItems.append((colour, label, opacity)) }

    mutating func note(_ text: String) { notes.append(text) }

    /// Instead of data: a sentence in the middle of the empty plotting area.
    mutating func empty(_ text: String) {
        // Lines of at most 70 characters, so that the sentence stays inside the plotting area.
        var lines: [String] = [], current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty, current.count + word.count + 1 > 70 {
                lines.append(current)
                current = String(word)
            } else {
                current = current.isEmpty ? String(word) : current + " " + word
            }
        }
        lines.append(current)
        for (index, line) in lines.enumerated() {
            body += String(format: "<text class=\"empty\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555555\">%@</text>\n",
                           Self.plotLeft + Self.plotWidth / 2, Self.plotTop + Self.plotHeight / 2 + 16 * Double(index), Self.escape(line))
        }
    }

    /// The chart's elements, shifted down by `offset` (for stacked panels).
    func elements(offset: Double) -> String {
        var out = "<g class=\"plot\" transform=\"translate(0 \(offset))\">\n"
        out += "<text class=\"title\" x=\"10\" y=\"22\" font-size=\"15\">\(Self.escape(title))</text>\n"
        let (left, top, right, bottom) = (Self.plotLeft, Self.plotTop, Self.plotLeft + Self.plotWidth, Self.plotTop + Self.plotHeight)
        for (value, label) in yTicks {
            let yy = py(value)
            out += String(format: "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"#e4e4e4\"/>", left, yy, right, yy)
            out += String(format: "<text class=\"ytick\" x=\"%.1f\" y=\"%.2f\" text-anchor=\"end\">%@</text>\n", left - 6, yy + 4, Self.escape(label))
        }
        for (value, label) in xTicks {
            let xx = px(value)
            out += String(format: "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#333333\"/>", xx, bottom, xx, bottom + 5)
            out += String(format: "<text class=\"xtick\" x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", xx, bottom + 18, Self.escape(label))
        }
        out += String(format: "<path class=\"axes\" d=\"M%.1f %.1f V%.1f H%.1f\" fill=\"none\" stroke=\"#333333\"/>\n", left, top, bottom, right)
        out += String(format: "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%@</text>\n", left + Self.plotWidth / 2, bottom + 38, Self.escape(xLabel))
        out += String(format: "<text class=\"ylabel\" transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">%@</text>\n", top + Self.plotHeight / 2, Self.escape(yLabel))
        out += body
        for (index, item) in legendItems.enumerated() {
            let ly = top + 8 + 18 * Double(index)
            out += String(format: "<g class=\"legend\"><rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%@\" fill-opacity=\"%.2f\"/><text x=\"%.1f\" y=\"%.1f\">%@</text></g>\n",
                          right + 20, ly - 9, item.colour, item.opacity, right + 40, ly, Self.escape(item.label))
        }
        for (index, text) in notes.enumerated() {
            out += String(format: "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" fill=\"#aa3300\">%@</text>\n", left, bottom + 56 + 15 * Double(index), Self.escape(text))
        }
        for (index, text) in caption.enumerated() {
            out += String(format: "<text class=\"caption\" x=\"10\" y=\"%.1f\" font-size=\"10\" fill=\"#444444\">%@</text>\n",
                          bottom + 60 + 15 * Double(notes.count) + 14 * Double(index), Self.escape(text))
        }
        return out + "</g>\n"
    }

    var svg: String { Self.document([self]) }

    /// Panels one under the other, the shared caption under the last.
    static func stack(_ panels: [Plot], caption: [String]) -> String {
        var panels = panels
        if !panels.isEmpty { panels[panels.count - 1].caption = caption }
        return document(panels)
    }

    private static func document(_ panels: [Plot]) -> String {
        let total = panels.reduce(0) { $0 + $1.height }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(total.rounded(.up)))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        var offset = 0.0
        for panel in panels {
            out += panel.elements(offset: offset)
            offset += panel.height
        }
        return out + "</svg>\n"
    }
}
