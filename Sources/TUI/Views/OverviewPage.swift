import Foundation
import Analysis

/// The model card, what the engine is doing, and the headline figures of both analyses.
enum OverviewPage {
    static func draw(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let (left, right) = area.splitLeft(min(46, area.width / 3 + 6))
        var column = left
        column = card(snapshot, context, column, &frame)
        column = inputs(snapshot, context, column, &frame)
        engine(snapshot, context, column, &frame)
        let (top, bottom) = right.splitTop(min(right.height / 2 + 2, right.height))
        specialization(state, snapshot, context, top, &frame)
        patterns(snapshot, context, bottom, &frame)
    }

    /// Rows of `label  value` in a box, a value too long for its line wrapped onto the next;
    /// returns what is left below it.
    private static func table(_ title: String, _ rows: [(String, String)], _ context: RenderContext, _ area: Rect, _ frame: inout Frame) -> Rect {
        let labelWidth = (rows.map { DisplayWidth.of($0.0) }.max() ?? 0) + 2
        let valueWidth = area.width - 4 - labelWidth
        let lines = rows.flatMap { label, value in
            DisplayWidth.wrap(value, valueWidth).enumerated().map { ($0.offset == 0 ? label : "", $0.element) }
        }
        let (boxRect, rest) = area.splitTop(lines.count + 2)
        let inner = frame.buffer.box(boxRect, title: title, context: context)
        for (offset, (label, value)) in lines.enumerated() where offset < inner.height {
            frame.buffer.text(label, x: inner.x + 1, y: inner.y + offset, style: context[.dim], limit: inner.maxX)
            frame.buffer.text(value, x: inner.x + 1 + labelWidth, y: inner.y + offset, style: context[.text], limit: inner.maxX - 1)
        }
        return rest
    }

    private static func card(_ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) -> Rect {
        let card = snapshot.card
        return table("Model", [
            ("name", card.name), ("family", card.family), ("blocks", "\(card.blocks)"), ("hidden", "\(card.hidden)"),
            ("MLP width", "\(card.mlpWidth) (\(Format.count(card.blocks * card.mlpWidth)) neurons)"), ("heads", "\(card.heads)"),
            ("vocabulary", Format.count(card.vocab)), ("parameters", Format.count(card.parameters)), ("dtype", card.dtype),
        ], context, area, &frame)
    }

    private static func inputs(_ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) -> Rect {
        let probes = snapshot.probes
        var rows = [("probes", probes.name), ("", "\(probes.questions.count) questions, \(probes.concepts.count) concepts"),
                    ("", "\(probes.categories.count) categories")]
        if let patterns = snapshot.patterns {
            // Domain names wrapped to the box's width.
            var lines: [String] = [], current = ""
            for name in patterns.domains {
                let next = current.isEmpty ? name : current + ", " + name
                if DisplayWidth.of(next) > area.width - 14, !current.isEmpty {
                    lines.append(current + ",")
                    current = name
                } else {
                    current = next
                }
            }
            lines.append(current)
            rows += lines.enumerated().map { ($0.offset == 0 ? "domains" : "", $0.element) }
            rows.append(("samples", "\(patterns.samplesWanted) a domain"))
        } else {
            rows.append(("domains", "not loaded yet"))
        }
        return table("Inputs", rows, context, area, &frame)
    }

    private static func engine(_ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let progress = snapshot.progress
        let (boxRect, _) = area.splitTop(progress.notSaving == nil ? 7 : 8)
        let inner = frame.buffer.box(boxRect, title: "Engine", context: context)
        guard inner.height >= 3 else { return }
        let state: String
        switch progress.state {
        case .working where progress.otherWorkers > 0:
            state = "working, with \(progress.otherWorkers) other worker\(progress.otherWorkers == 1 ? "" : "s") on its store"
        case .working: state = "working"
        case .finished: state = "finished: every figure computed"
        case .failed(let why): state = "failed: \(why)"
        }
        frame.buffer.words(state, x: inner.x + 1, y: inner.y, style: progress.state == .working ? context[.accent] : (progress.state == .finished ? context[.good] : context[.bad]), limit: inner.maxX - 1)
        if progress.state == .working { frame.buffer.words(progress.doing, x: inner.x + 1, y: inner.y + 1, style: context[.text], limit: inner.maxX - 1) }
        let fraction = progress.total > 0 ? Double(progress.done) / Double(progress.total) : 0
        let counts = " \(progress.done)/\(progress.total)"
        let barWidth = max(0, inner.width - 2 - DisplayWidth.of(counts))
        frame.buffer.bar(x: inner.x + 1, y: inner.y + 2, width: barWidth, fraction: fraction, style: context[.bar], context: context)
        frame.buffer.text(counts, x: inner.x + 1 + barWidth, y: inner.y + 2, style: context[.text], limit: inner.maxX)
        if inner.height >= 4 {
            let left = progress.state != .working ? "" : progress.secondsLeft.map { "\(Format.duration($0)) left" } ?? "estimating time left…"
            frame.buffer.words(left, x: inner.x + 1, y: inner.y + 3, style: context[.dim], limit: inner.maxX - 1)
        }
        if inner.height >= 5 {
            // Each kind's useful arithmetic against the sgemm peak measured at start (README, "Efficiency").
            let kinds = progress.efficiency.compactMap { kind in kind.ofPeak.map { "\(kind.name) \(Int((100 * $0).rounded())) %" } }
            let text = kinds.isEmpty || progress.sgemmPeak == nil ? "efficiency: no unit timed yet"
                : String(format: "of the sgemm peak (%.0f GFLOP/s): ", progress.sgemmPeak!) + kinds.joined(separator: ", ")
            frame.buffer.words(text, x: inner.x + 1, y: inner.y + 4, style: context[.dim], limit: inner.maxX - 1)
        }
        if let why = progress.notSaving, inner.height >= 6 {
            frame.buffer.words(why, x: inner.x + 1, y: inner.y + 5, style: context[.bad], limit: inner.maxX - 1)
        }
    }

    private static func specialization(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let inner = frame.buffer.box(area, title: "Knowledge specialization (Hong et al. 2025)", context: context)
        guard inner.height > 0 else { return }
        var y = inner.y
        let x = inner.x + 1, limit = inner.maxX - 1
        // The values' column: narrower in a narrow box, so that values need fewer lines.
        let valueX = x + (inner.width < 60 ? 12 : 18)
        func line(_ label: String, _ value: String, _ style: Style? = nil) {
            guard y < inner.maxY else { return }
            frame.buffer.text(label, x: x, y: y, style: context[.dim], limit: limit)
            y = frame.buffer.wrapped(value, x: valueX, y: y, style: style ?? context[.text], limit: limit, maxY: inner.maxY)
        }
        if let baseline = snapshot.baseline {
            let choice = baseline.overall.multipleChoice.map { "   multiple choice \(Format.percent($0))" } ?? ""
            line("accuracy", "open \(Format.percent(baseline.overall.open))\(choice)   (\(baseline.overall.questions) questions)")
        } else {
            line("accuracy", "computing… (the probe set with nothing ablated)", context[.dim])
        }
        let score = snapshot.score
        let measuredConcepts = score.plan?.measuredConcepts.count ?? snapshot.conceptCount
        let measured = score.entries.count, wanted = measuredConcepts * score.ratios.count
        if let peak = score.peak, measured > 0 {
            let partial = measured < wanted ? "  (\(measured) of \(wanted) runs so far)" : ""
            // The peak's 95 % bootstrap interval over the concepts measured at its ratio, and their n.
            let interval = score.peakInterval.map { " \($0.text()) from \($0.n) of \(measuredConcepts) concepts" + ($0.n < Intervals.fewestConcepts ? " (fewer than \(Intervals.fewestConcepts))" : "") } ?? ""
            line("peak PSS", String(format: "%.3f at r = %@%%", peak.score, Format.compact(peak.ratio * 100)) + interval + partial, context[.title])
        } else if score.plan != nil, wanted == 0 {
            line("peak PSS", "not measured: no concept has enough questions", context[.dim])
        } else {
            line("peak PSS", "computing… (0 of \(wanted) concept × ratio runs)", context[.dim])
        }
        if let plan = score.plan {
            // On two lines where one is too narrow: the count, then why concepts were left out.
            let summary = plan.summary
            if DisplayWidth.of(summary) > limit - valueX, let colon = summary.range(of: ": ") {
                line("PSS on", String(summary[..<colon.lowerBound]) + ":")
                line("", String(summary[colon.upperBound...]))
            } else {
                line("PSS on", summary)
            }
        }
        // Per popularity tier: accuracy and peak PSS (the study: popular concepts better known, more specialized).
        for figures in snapshot.tierFigures {
            let accuracy = figures.accuracy.map { "open " + Format.percent($0.open) } ?? "accuracy computing…"
            let pss = figures.peak.map { peak in
                String(format: "peak PSS %.3f at %@%%", peak.score, Format.compact(peak.ratio * 100))
                    + (figures.pssInterval(at: peak.ratio).map { " \($0.text()) " + Intervals.conceptCount($0.n) } ?? "")
            }
                ?? (figures.measured == 0 ? "PSS not measured" : "PSS computing…")
            line("tier " + figures.tier.rawValue, "\(accuracy)  \(pss)  (\(figures.concepts) concept\(figures.concepts == 1 ? "" : "s"))")
        }
        // PSS(r) across the sweep: ratio, value, and a bar a column.
        if y + 2 < inner.maxY {
            frame.buffer.text("PSS(r)", x: x, y: y, style: context[.dim])
            let peakValue = max(score.peak?.score ?? 0, 1e-9)
            // Seven columns of 7 fit the headline box at 120 columns (the whole sweep); in a
            // narrower one, columns of 6, as many as fit.
            let step = inner.width < 60 ? 6 : 7
            // When not every ratio fits, a run of them that holds the peak.
            let fitting = max(1, (limit - valueX + 1) / step)
            let peakIndex = score.peak.flatMap { peak in score.ratios.firstIndex(of: peak.ratio) } ?? 0
            let first = max(0, min(score.ratios.count - fitting, peakIndex - fitting + 2))
            for (index, ratio) in score.ratios.enumerated() where index >= first {
                let cx = valueX + (index - first) * step
                guard cx + step - 1 <= limit else { break }
                let count = score.entries.filter { $0.ratio == ratio }.count
                let value = score.modelScores[index].score ?? 0
                frame.buffer.text(DisplayWidth.padLeft(Format.compact(ratio * 100) + "%", step - 1), x: cx, y: y, style: context[.dim])
                frame.buffer.text(DisplayWidth.padLeft(count > 0 ? String(format: "%.3f", value) : "…", step - 1), x: cx, y: y + 1,
                                  style: count > 0 && count < measuredConcepts ? context[.dim] : context[.text])
                if count > 0 { frame.buffer.bar(x: cx + step - 6, y: y + 2, width: 5, fraction: value / peakValue, style: context[.bar], context: context) }
            }
            y += 3
        }
        y += 1
        if let specialization = snapshot.specialization, let s = snapshot.specializations {
            let layers = state.derived.layerSpecialization(specialization, specializations: s)
            if y < inner.maxY {
                frame.buffer.text("s by block", x: x, y: y, style: context[.dim])
                let sparkWidth = min(layers.count, max(0, limit - x - 40))
                frame.buffer.sparkline(Array(layers.prefix(sparkWidth)).map { $0 }, x: valueX, y: y, low: 0, high: max(layers.max() ?? 0, 1e-9), style: context[.accent])
                let numbers = layers.count <= 6 ? layers.map { String(format: "%.3f", $0) }.joined(separator: " ") : "\(Format.fixed(layers.min(), 3)) … \(Format.fixed(layers.max(), 3))"
                frame.buffer.words(numbers, x: valueX + 2 + sparkWidth, y: y, style: context[.text], limit: limit)
                y += 1
            }
            line("", "(mean s of each block's top 100 neurons by Δ)", context[.dim])
            line("max s", String(format: "%.3f", s.max() ?? 0) + "   (1: all of a neuron's focus on one concept)")
        } else {
            line("s by block", "computing… Δ needs every probe prompt run once", context[.dim])
        }
        // The concepts whose knowledge is most and least concentrated, at the peak ratio.
        if let peak = score.peak, y + 2 < inner.maxY {
            let atPeak = score.entries.filter { $0.ratio == peak.ratio }.sorted { $0.score > $1.score }
            let names = snapshot.probes.concepts
            // As many as fit the line.
            func list(_ label: String, _ entries: [SpecializationScore.Entry]) -> String {
                var text = label
                for (index, entry) in entries.prefix(3).enumerated() {
                    let item = (index == 0 ? " " : ", ") + "\(names[safe: entry.concept] ?? "?") \(String(format: "%.2f", entry.score))"
                    if DisplayWidth.of(text + item) > limit - valueX { break }
                    text += item
                }
                return text
            }
            y += 1
            line("PSS at \(Format.compact(peak.ratio * 100))%", list("highest", atPeak))
            if atPeak.count > 3 { line("", list("lowest ", atPeak.reversed())) }
        }
    }

    private static func patterns(_ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let inner = frame.buffer.box(area, title: "Activation patterns (Wang, Dai, Sui 2025)", context: context)
        guard inner.height > 0 else { return }
        let x = inner.x + 1, limit = inner.maxX - 1
        var y = inner.y
        guard let patterns = snapshot.patterns else {
            frame.buffer.wrapped("computing… no sample's gradients are in yet", x: x, y: y, style: context[.dim], limit: limit, maxY: inner.maxY)
            return
        }
        let done = patterns.samplesDone
        let partial = done < patterns.samplesWanted
        frame.buffer.text("samples", x: x, y: y, style: context[.dim])
        // In a narrow box, no blank lines and no explanations: the figures first.
        let narrow = inner.width < 60
        let valueX = x + (narrow ? 12 : 18)
        y = frame.buffer.wrapped("\(done) of \(patterns.samplesWanted) a domain" + (partial ? " so far — partial" : ""),
                                 x: valueX, y: y, style: partial ? context[.accent] : context[.text], limit: limit, maxY: inner.maxY) + (narrow ? 0 : 1)
        let density = patterns.density.density
        let all = density.flatMap { $0 }
        let high = max(all.max() ?? 0, 1e-12)
        y = frame.buffer.wrapped("density by block 0 → \(snapshot.card.blocks - 1)" + (narrow ? "" : " (share of each block's weights activated)"), x: x, y: y,
                                 style: context[.dim], limit: limit, maxY: inner.maxY)
        let nameWidth = min(16, (patterns.domains.map { DisplayWidth.of($0) }.max() ?? 8) + 2)
        for (d, domain) in patterns.domains.enumerated() where y < inner.maxY - (narrow ? 2 : 3) {
            frame.buffer.text(DisplayWidth.fit(domain, nameWidth - 2), x: x + 1, y: y, style: context[.text])
            let values = density.map { $0[d] }
            let sparkWidth = min(values.count, max(0, limit - x - nameWidth - 20))
            frame.buffer.sparkline(Array(values.prefix(sparkWidth)).map { $0 }, x: x + nameWidth, y: y, low: 0, high: high, style: context[.accent])
            let first = values.first ?? 0, last = values.last ?? 0
            frame.buffer.words("\(Format.percent(first)) → \(Format.percent(last))", x: x + nameWidth + sparkWidth + 2, y: y, style: context[.text], limit: limit)
            y += 1
        }
        if !narrow { y += 1 }
        guard y < inner.maxY else { return }
        let matrix = patterns.domainMatrix
        var same: [Double] = [], different: [Double] = []
        var pairs: [(String, Double)] = []
        for a in matrix.indices {
            for b in a..<matrix.count {
                if a == b { same.append(matrix[a][b]) } else {
                    different.append(matrix[a][b])
                    pairs.append(("\(patterns.domains[a]) × \(patterns.domains[b])", matrix[a][b]))
                }
            }
        }
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        let blocks = patterns.deepBlocks
        y = frame.buffer.wrapped((narrow ? "deep blocks \(blocks.lowerBound)–\(blocks.upperBound - 1), mean cos" : "deep-block similarity (mean cos over blocks \(blocks.lowerBound)–\(blocks.upperBound - 1))"), x: x, y: y,
                                 style: context[.dim], limit: limit, maxY: inner.maxY)
        if y < inner.maxY {
            y = frame.buffer.wrapped("same domain \(Format.fixed(mean(same), 3))   different domains \(Format.fixed(mean(different), 3))", x: x + 1, y: y,
                                     style: context[.text], limit: limit, maxY: inner.maxY)
        }
        let sorted = pairs.sorted { $0.1 > $1.1 }
        if let most = sorted.first, let least = sorted.last {
            for (label, pair) in [("most alike ", most), ("least alike", least)] where y < inner.maxY {
                y = frame.buffer.wrapped("\(label) \(pair.0) \(Format.fixed(pair.1, 3))", x: x + 1, y: y, style: context[.text], limit: limit, maxY: inner.maxY)
            }
        }
    }
}
