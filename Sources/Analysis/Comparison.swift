import Foundation

/// Models side by side: one row a figure, one column a model, for `compare`'s text and the Compare
/// page. Per-block figures are put on the relative depth (`RelativeDepth`) so that models of
/// different depths line up; the domain × domain matrices become one row a domain pair.
public struct Comparison: Sendable {
    public enum RowKind: Sendable, Equatable {
        /// A section's title.
        case heading
        /// A figure, one cell a model.
        case figure
        /// A figure across all the models: its label says it, no cells.
        case note
    }

    public struct Row: Sendable, Equatable {
        public let kind: RowKind
        public let label: String
        public let cells: [String]
        /// The cells' numbers (nil where there is none), for a front end's shading.
        public let values: [Double?]
    }

    public let names: [String]
    public let rows: [Row]
    /// Peak PSS against accuracy across the models.
    public let rise: Rise

    /// What a cell shows for a figure not computed yet.
    public static let notComputed = "…"
    /// What a cell shows for a figure that does not exist (no choices, no such domain).
    public static let absent = "–"

    public init(_ summaries: [AnalysisSummary]) {
        names = summaries.map(\.label)
        rise = Rise(summaries)
        var rows: [Row] = []
        func heading(_ text: String) { rows.append(Row(kind: .heading, label: text, cells: summaries.map { _ in "" }, values: summaries.map { _ in nil })) }
        /// `binned`: a relative-depth bin, left out where no model has a block in it.
        func figure(_ label: String, binned: Bool = false, _ cell: (AnalysisSummary) -> (String, Double?)) {
            let made = summaries.map(cell)
            if binned, made.allSatisfy({ $0.1 == nil && $0.0 == Self.absent }) { return }
            rows.append(Row(kind: .figure, label: label, cells: made.map(\.0), values: made.map(\.1)))
        }
        func percent(_ x: Double?) -> (String, Double?) { (x.map { String(format: "%.1f%%", 100 * $0) } ?? Self.notComputed, x) }
        func fixed(_ x: Double?, pending: Bool) -> (String, Double?) {
            (x.map { String(format: "%.3f", $0) } ?? (pending ? Self.notComputed : Self.absent), x)
        }

        heading("knowledge specialization")
        figure("blocks") { ("\($0.blocks)", Double($0.blocks)) }
        figure("accuracy open") { percent($0.accuracy?.open) }
        figure("accuracy mcq") { s in
            guard let accuracy = s.accuracy else { return (Self.notComputed, nil) }
            return accuracy.multipleChoice.map { percent($0) } ?? (Self.absent, nil)
        }
        func percentInterval(_ interval: Interval?, pending: Bool) -> (String, Double?) {
            (interval.map { String(format: "[%.1f, %.1f]", 100 * $0.low, 100 * $0.high) } ?? (pending ? Self.notComputed : Self.absent), nil)
        }
        /// A mean over concepts' 95 % bootstrap interval and n, which says so below `Intervals.fewestConcepts`.
        func meanInterval(_ interval: Interval?, pending: Bool) -> (String, Double?) {
            guard let interval else { return (pending ? Self.notComputed : Self.absent, nil) }
            return (interval.text() + " n=\(interval.n)" + (interval.n < Intervals.fewestConcepts ? " (<\(Intervals.fewestConcepts))" : ""), nil)
        }
        figure("  open 95 %") { percentInterval($0.accuracy?.openInterval, pending: $0.accuracy == nil) }
        figure("  mcq 95 %") { percentInterval($0.accuracy?.multipleChoiceInterval, pending: $0.accuracy == nil) }
        figure("questions") { ($0.accuracy.map { "\($0.questions)" } ?? Self.notComputed, $0.accuracy.map { Double($0.questions) }) }
        figure("PSS on") { s in
            guard let plan = s.plan else { return (Self.notComputed, nil) }
            return ("\(plan.measuredConcepts.count) of \(plan.own.count)", Double(plan.measuredConcepts.count))
        }
        figure("peak PSS") { s in
            guard let peak = s.peak else { return (s.pssRuns.wanted == 0 ? Self.absent : Self.notComputed, nil) }
            return (String(format: "%.3f", peak.score), peak.score)
        }
        figure("  peak 95 %") { meanInterval($0.peakInterval, pending: $0.pssRuns.wanted != 0) }
        // PSS's sign at the peak ratio: a high PSS where the controls lost more is not specialization.
        func peakIndex(_ s: AnalysisSummary) -> Int? { s.peak.flatMap { s.ratios.firstIndex(of: $0.ratio) } }
        figure("  signed at peak") { s in
            guard let signed = peakIndex(s).flatMap({ s.signedPSS[$0] }) else { return (s.pssRuns.wanted == 0 ? Self.absent : Self.notComputed, nil) }
            return (String(format: "%+.3f", signed), signed)
        }
        figure("  signs at peak") { s in
            guard let signs = peakIndex(s).map({ s.pssSigns[$0] }) else { return (s.pssRuns.wanted == 0 ? Self.absent : Self.notComputed, nil) }
            return ("+\(signs.positive) −\(signs.negative) =\(signs.zero)", nil)
        }
        figure("peak at r") { s in (s.peak.map { Self.ratio($0.ratio) } ?? (s.pssRuns.wanted == 0 ? Self.absent : Self.notComputed), s.peak?.ratio) }
        figure("PSS runs") { s in ("\(s.pssRuns.done)/" + (s.pssRuns.wanted.map(String.init) ?? "?"), Double(s.pssRuns.done)) }
        let ratios = summaries.first?.ratios ?? SpecializationScore.defaultRatios
        for (index, ratio) in ratios.enumerated() {
            figure("PSS(\(Self.ratio(ratio)))") { s in
                let value = s.ratios == ratios ? s.pss[index] : s.ratios.firstIndex(of: ratio).flatMap { s.pss[$0] }
                return fixed(value, pending: s.pssRuns.wanted != 0)
            }
        }

        heading("peak PSS against \(rise.metric.rawValue) accuracy across the models")
        for line in rise.lines { rows.append(Row(kind: .note, label: line, cells: summaries.map { _ in "" }, values: summaries.map { _ in nil })) }

        var tierNames: [String] = []
        for s in summaries { for figures in s.tiers where !tierNames.contains(figures.tier.rawValue) { tierNames.append(figures.tier.rawValue) } }
        if !tierNames.isEmpty {
            heading("by popularity tier (PSS at each model's peak ratio)")
            for name in tierNames {
                func tier(_ s: AnalysisSummary) -> TierFigures? { s.tiers.first { $0.tier.rawValue == name } }
                figure("\(name): concepts") { s in (tier(s).map { "\($0.concepts)" } ?? Self.absent, tier(s).map { Double($0.concepts) }) }
                figure("\(name): open") { s in tier(s).map { percent($0.accuracy?.open) } ?? (Self.absent, nil) }
                figure("\(name): mcq") { s in tier(s).map { t in t.accuracy?.multipleChoice.map { percent($0) } ?? (t.accuracy == nil ? Self.notComputed : Self.absent, nil) } ?? (Self.absent, nil) }
                figure("\(name): PSS") { s in tier(s).map { fixed($0.pss(at: s.peak?.ratio), pending: s.pssRuns.wanted != 0) } ?? (Self.absent, nil) }
                figure("\(name): PSS 95 %") { s in tier(s).map { meanInterval($0.pssInterval(at: s.peak?.ratio), pending: s.pssRuns.wanted != 0) } ?? (Self.absent, nil) }
            }
        }

        heading("s by relative depth (mean of the layer summaries in each tenth)")
        for bin in 0..<RelativeDepth.bins {
            figure(Self.binLabel(bin), binned: true) { s in
                guard let layers = s.layerSpecialization else { return (Self.notComputed, nil) }
                return fixed(RelativeDepth.binned(layers)[bin], pending: false)
            }
        }

        heading("deep-block similarity (mean cos over each model's deep blocks)")
        figure("deep blocks") { s in
            guard let p = s.patterns else { return (Self.notComputed, nil) }
            return ("\(p.deepBlocks.lowerBound)–\(p.deepBlocks.upperBound - 1)", nil)
        }
        figure("same domain") { fixed($0.patterns?.deepBlockSimilarity.same, pending: $0.patterns == nil) }
        figure("other domains") { fixed($0.patterns?.deepBlockSimilarity.different, pending: $0.patterns == nil) }
        figure("samples") { s in
            (s.patterns.map { "\($0.samplesDone)/\($0.samplesWanted)" } ?? Self.notComputed, s.patterns.map { Double($0.samplesDone) })
        }

        // Domains in order of first appearance across the models.
        var domains: [String] = []
        for s in summaries { for d in s.patterns?.domains ?? [] where !domains.contains(d) { domains.append(d) } }
        for domain in domains {
            heading("activated density by relative depth: \(domain)")
            for bin in 0..<RelativeDepth.bins {
                figure(Self.binLabel(bin), binned: true) { s in
                    guard let p = s.patterns else { return (Self.notComputed, nil) }
                    guard let d = p.domains.firstIndex(of: domain) else { return (Self.absent, nil) }
                    let value = RelativeDepth.binned(p.density.density.map { $0[d] })[bin]
                    return (value.map { String(format: "%.2f%%", 100 * $0) } ?? Self.absent, value)
                }
            }
        }

        heading("domain × domain (mean cos over the deep blocks)")
        for a in domains.indices {
            for b in a..<domains.count {
                figure("\(domains[a]) × \(domains[b])") { s in
                    guard let p = s.patterns else { return (Self.notComputed, nil) }
                    guard let i = p.domains.firstIndex(of: domains[a]), let j = p.domains.firstIndex(of: domains[b]) else { return (Self.absent, nil) }
                    return fixed(p.domainMatrix[i][j], pending: false)
                }
            }
        }
        self.rows = rows
    }

    /// The order `compare` shows models in: families in the order first named, a family's models
    /// by parameter count, models of one size (a run's checkpoints, named in step order) as named.
    public static func order(families: [String], parameters: [Int]) -> [Int] {
        var familyOrder: [String] = []
        for family in families where !familyOrder.contains(family) { familyOrder.append(family) }
        return families.indices.sorted {
            (familyOrder.firstIndex(of: families[$0])!, parameters[$0], $0) < (familyOrder.firstIndex(of: families[$1])!, parameters[$1], $1)
        }
    }

    static func ratio(_ r: Double) -> String { String(format: "%g%%", r * 100) }

    /// "0.0–0.1", …, "0.9–1.0".
    public static func binLabel(_ bin: Int) -> String {
        String(format: "%.1f–%.1f", Double(bin) / Double(RelativeDepth.bins), Double(bin + 1) / Double(RelativeDepth.bins))
    }

    /// The table as plain text, the labels in a column and a column a model, each as wide as its
    /// widest cell.
    public var text: String {
        let labelWidth = max(20, (rows.map { $0.kind == .figure ? $0.label.count + 4 : 0 }.max() ?? 0))
        let widths = names.indices.map { m in max(names[m].count, rows.map { $0.cells[m].count }.max() ?? 0) + 2 }
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var lines = [pad("", labelWidth) + names.indices.map { pad(names[$0], widths[$0]) }.joined()]
        for row in rows {
            switch row.kind {
            case .heading: lines.append("\n" + row.label)
            case .figure: lines.append(pad("  " + row.label, labelWidth) + row.cells.indices.map { pad(row.cells[$0], widths[$0]) }.joined())
            case .note: lines.append("  " + row.label)
            }
        }
        return lines.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }.joined(separator: "\n") + "\n"
    }
}
