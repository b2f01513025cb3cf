import Foundation
import Model

/// The tables `export` writes, one per file, as rows of cells: the same content as CSV and JSON.
public struct AnalysisExport {
    public struct Table {
        public let name: String
        public let columns: [String]
        public let rows: [[Any]]

        public var csv: String {
            func cell(_ value: Any) -> String {
                let text: String
                switch value {
                case let number as Double: text = number.isFinite ? String(number) : ""
                case is NSNull: text = ""
                default: text = "\(value)"
                }
                return text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                    ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
            }
            return ([columns.joined(separator: ",")] + rows.map { $0.map(cell).joined(separator: ",") }).joined(separator: "\n") + "\n"
        }

        /// Rows as objects; a number that is not finite (a figure not computed yet) is null.
        public var json: [[String: Any]] {
            rows.map { row in
                Dictionary(uniqueKeysWithValues: zip(columns, row.map { value -> Any in
                    if let number = value as? Double, !number.isFinite { return NSNull() }
                    return value
                }))
            }
        }
    }

    public let specialization: Specialization
    public let specializations: [Double]
    public let score: SpecializationScore
    public let patterns: PatternResults
    /// Accuracy and PSS per popularity tier (empty without tiers).
    public let tiers: [TierFigures]
    /// Accuracy over every question with nothing masked (nil until the unmasked evaluation exists).
    public let accuracy: ProbeAccuracy.Score?
    /// K_c(r) of all concepts per block at `knowledgeRatio`.
    public let knowledgeByBlock: [Int]
    public static let knowledgeRatio = KnowledgeVectorsByBlock.ratio
    /// At every ratio of the sweep: how many of each concept's K_c(r) other concepts hold too.
    public let sharedKnowledgeVectors: [SharedKnowledgeVectors]
    /// Model, probe set, domains and every option, as the `options` table records them.
    public let settings: [(String, String)]

    /// The export of a finished analysis; nil when the snapshot still lacks a method's results.
    public init?(snapshot: AnalysisSnapshot, settings: [(String, String)]) {
        guard let specialization = snapshot.specialization, let specializations = snapshot.specializations,
              let patterns = snapshot.patterns else { return nil }
        self.specialization = specialization
        self.specializations = specializations
        score = snapshot.score
        self.patterns = patterns
        tiers = snapshot.tierFigures
        accuracy = snapshot.baseline?.overall
        knowledgeByBlock = snapshot.knowledgeVectorsByBlock(ratio: Self.knowledgeRatio) ?? []
        sharedKnowledgeVectors = SharedKnowledgeVectors.sweep(specialization: specialization, ratios: snapshot.score.ratios)
        self.settings = settings
    }

    public var tables: [Table] {
        let s = specialization, p = patterns
        var neurons: [[Any]] = []
        var focus: [[Any]] = []
        for index in 0..<s.neurons {
            let neuron = NeuronID(block: index / s.width, neuron: index % s.width)
            for (c, concept) in s.concepts.enumerated() { neurons.append([neuron.block, neuron.neuron, concept, Double(s.delta[c * s.neurons + index])]) }
            let top = s.focus(neuron).conceptShares.first
            focus.append([neuron.block, neuron.neuron, top.map { s.concepts[$0.concept] } ?? "", top?.share ?? 0, specializations[index]])
        }
        // In probe-file order of concepts, each over the sweep (the engine computes them in a seeded random order).
        let entries = score.entries.sorted { ($0.concept, $0.ratio) < ($1.concept, $1.ratio) }
        let pss: [[Any]] = entries.map {
            [s.concepts[$0.concept], $0.ratio, $0.conceptAccuracy, $0.otherAccuracy, $0.baseline, $0.score, $0.signedScore]
        }
        // Each concept's sign: at the model's peak ratio, and over the sweep.
        let peakRatio = score.peak?.ratio
        let entriesOfConcept = Dictionary(grouping: entries, by: \.concept)
        // Which questions each concept's PSS rests on, and why a concept has none.
        var concepts: [[Any]] = []
        if let plan = score.plan {
            let kind = plan.questions == .known ? "known questions" : "questions"
            for (c, name) in s.concepts.enumerated() {
                let status = plan.measured(c) ? "measured"
                    : plan.own[c].count < SpecializationScore.fewestOwnQuestions ? "left out: fewer than \(SpecializationScore.fewestOwnQuestions) \(kind)"
                    : "left out: control set with fewer than \(SpecializationScore.fewestControlQuestions) \(kind)"
                let own = entriesOfConcept[c] ?? []
                let atPeak = own.first { $0.ratio == peakRatio }.map { $0.signedScore as Any } ?? NSNull()
                concepts.append([name, s.categories[s.conceptCategory[c]], plan.own[c].count,
                                 plan.controlConcepts[c].map { s.concepts[$0] }.joined(separator: ";"), plan.control[c].count, status,
                                 atPeak, own.filter { $0.signedScore > 0 }.count, own.filter { $0.signedScore < 0 }.count])
            }
        }
        let density = p.density
        var densityRows: [[Any]] = []
        for block in 0..<density.activated.count {
            for (d, domain) in p.domains.enumerated() {
                densityRows.append([block, domain, density.activated[block][d], density.weights[block], density.density[block][d]])
            }
        }
        var similarity: [[Any]] = []
        for (block, perPair) in p.similarity.enumerated() {
            for pair in p.pairs {
                guard let spread = perPair[pair] else { continue }
                similarity.append([block, p.domains[pair.a], p.domains[pair.b], spread.count, spread.mean, spread.minimum,
                                   spread.lowerQuartile, spread.median, spread.upperQuartile, spread.maximum])
            }
        }
        let matrix = p.domainMatrix
        let domains: [[Any]] = p.domains.indices.flatMap { a in p.domains.indices.map { [p.domains[a], p.domains[$0], matrix[a][$0]] } }
        let pruning: [[Any]] = p.pruning.enumerated().map { [$0.offset, $0.element] }
        let options: [[Any]] = settings.map { [$0.0, $0.1] }
        // Per tier and ratio; an empty cell is a figure not computed yet.
        // Intervals: 95 % bootstrap over concepts for PSS (with n concepts), 95 % Wilson for accuracy.
        func bounds(_ interval: Interval?) -> [Any] { [interval?.low ?? Double.nan, interval?.high ?? Double.nan] }
        let tierRows: [[Any]] = tiers.flatMap { t in
            zip(t.pss, t.pssIntervals).map { item, interval -> [Any] in
                var row: [Any] = [t.tier.rawValue, t.concepts, t.questions, t.accuracy?.open ?? Double.nan, t.accuracy?.multipleChoice ?? Double.nan,
                                  t.measured.map { $0 as Any } ?? NSNull(), item.ratio, item.score ?? Double.nan]
                row += bounds(interval)
                row.append(interval?.n ?? 0)
                row += bounds(t.accuracy?.openInterval)
                row += bounds(t.accuracy?.multipleChoiceInterval)
                row.append(t.accuracy?.choiceQuestions ?? 0)
                return row
            }
        }
        let wins = Dictionary(uniqueKeysWithValues: score.peakRatioWins.map { ($0.ratio, $0.wins) })
        let pssByRatio: [[Any]] = zip(score.modelScores, score.modelIntervals).map { item, interval -> [Any] in
            let row: [Any] = [item.ratio, item.score ?? Double.nan]
            let counts: [Any] = [interval.interval?.n ?? 0, item.ratio == peakRatio, wins[item.ratio] ?? 0]
            return row + bounds(interval.interval) + counts
        }
        var accuracyRows: [[Any]] = []
        let scopes = (accuracy.map { [("all", $0)] } ?? []) + tiers.compactMap { t in t.accuracy.map { ("tier " + t.tier.rawValue, $0) } }
        for (scope, a) in scopes {
            let open: [Any] = [scope, "open", a.open]
            accuracyRows.append(open + bounds(a.openInterval) + [a.questions as Any])
            if let mcq = a.multipleChoice {
                let row: [Any] = [scope, "mcq", mcq]
                accuracyRows.append(row + bounds(a.multipleChoiceInterval) + [a.choiceQuestions as Any])
            }
        }
        let signRows: [[Any]] = zip(score.modelSignedScores, score.signCounts).map { signed, signs in
            [signed.ratio, signs.counts.positive + signs.counts.negative + signs.counts.zero, signed.score ?? Double.nan,
             signs.counts.positive, signs.counts.negative, signs.counts.zero]
        }
        let byBlock: [[Any]] = knowledgeByBlock.enumerated().map { [$0.offset, Self.knowledgeRatio, $0.element] }
        let sharedRows: [[Any]] = sharedKnowledgeVectors.flatMap { shared in
            zip(s.concepts, shared.concepts).map { [$0, shared.ratio, $1.knowledgeVectors, $1.shared, $1.sharedFraction] }
        }
        let genericRows: [[Any]] = sharedKnowledgeVectors.flatMap { shared in
            shared.genericNeurons.map { [shared.ratio, $0.neuron.block, $0.neuron.neuron, $0.concepts] }
        }
        return [
            Table(name: "options", columns: ["setting", "value"], rows: options),
            Table(name: "neurons", columns: ["layer", "neuron", "concept", s.association == .raw ? "delta" : "delta_over_sigma"], rows: neurons),
            Table(name: "focus", columns: ["layer", "neuron", "top_concept", "top_share", "specialization"], rows: focus),
            Table(name: "pss", columns: ["concept", "ratio", "acc_concept_after", "acc_other_after", "acc_before", "pss", "signed_pss"], rows: pss),
            Table(name: "pss_concepts", columns: ["concept", "category", "questions_used", "control_concepts", "control_questions_used", "status",
                                                  "signed_pss_at_peak_ratio", "ratios_positive", "ratios_negative"],
                  rows: concepts),
            Table(name: "pss_sign", columns: ["ratio", "concepts", "signed_pss", "positive", "negative", "zero"], rows: signRows),
            Table(name: "pss_by_ratio", columns: ["ratio", "pss", "low", "high", "n", "peak", "peak_wins"], rows: pssByRatio),
            Table(name: "accuracy", columns: ["scope", "metric", "accuracy", "low", "high", "questions"], rows: accuracyRows),
            Table(name: "tiers", columns: ["tier", "concepts", "questions", "open_accuracy", "mcq_accuracy", "pss_measured_concepts", "ratio", "pss",
                                           "pss_low", "pss_high", "pss_n", "open_low", "open_high", "mcq_low", "mcq_high", "mcq_questions"],
                  rows: tierRows),
            Table(name: "knowledge_by_block", columns: ["layer", "ratio", "knowledge_vectors"], rows: byBlock),
            Table(name: "shared_knowledge_vectors", columns: ["concept", "ratio", "knowledge_vectors", "shared", "shared_fraction"], rows: sharedRows),
            Table(name: "generic_neurons", columns: ["ratio", "layer", "neuron", "concepts"], rows: genericRows),
            Table(name: "density", columns: ["layer", "domain", "activated", "weights", "density"], rows: densityRows),
            Table(name: "similarity", columns: ["layer", "domain_a", "domain_b", "n", "mean", "min", "q1", "median", "q3", "max"], rows: similarity),
            Table(name: "domains", columns: ["domain_a", "domain_b", "mean"], rows: domains),
            Table(name: "pruning", columns: ["layer", "ratio"], rows: pruning),
        ]
    }

    /// Heatmaps as SVG: specialization (layers × neurons), density (layers × domains), similarity
    /// (layers × domain pairs) and the domain × domain matrix, each with its scale.
    public var svgs: [(name: String, text: String)] {
        let s = specialization, p = patterns
        let specializationGrid = (0..<s.blocks).map { block in (0..<s.width).map { specializations[block * s.width + $0] } }
        let density = p.density.density
        let similarity = p.similarity
        let pairs = p.pairs
        let similarityGrid = similarity.map { perPair in pairs.map { perPair[$0]?.mean ?? .nan } }
        let pairNames = pairs.map { "\(p.domains[$0.a])–\(p.domains[$0.b])" }
        return [
            ("specialization", Heatmap(title: "Specialization s per neuron", rows: (0..<s.blocks).map { "block \($0)" },
                                       columns: [], values: specializationGrid).svg),
            ("density", Heatmap(title: "Activated weight density", rows: (0..<density.count).map { "block \($0)" },
                                columns: p.domains, values: density).svg),
            ("similarity", Heatmap(title: "Mean cos_l between domains' activations", rows: (0..<similarityGrid.count).map { "block \($0)" },
                                   columns: pairNames, values: similarityGrid).svg),
            ("domains", Heatmap(title: "Domain similarity over blocks \(p.deepBlocks.lowerBound)..<\(p.deepBlocks.upperBound)",
                                rows: p.domains, columns: p.domains, values: p.domainMatrix).svg),
        ]
    }
}

/// A grid of values drawn as coloured cells (viridis-like ramp), with row labels, column labels
/// (when there are few enough) and a legend with the scale's numbers.
struct Heatmap {
    let title: String
    let rows: [String]
    let columns: [String]
    let values: [[Double]]

    static let ramp: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]

    static func colour(_ t: Double) -> String {
        guard t.isFinite else { return "#dddddd" }
        let x = min(max(t, 0), 1) * Double(ramp.count - 1)
        let i = min(Int(x), ramp.count - 2), f = x - Double(i)
        let (a, b) = (ramp[i], ramp[i + 1])
        return String(format: "#%02x%02x%02x", Int(a.0 + (b.0 - a.0) * f), Int(a.1 + (b.1 - a.1) * f), Int(a.2 + (b.2 - a.2) * f))
    }

    var svg: String {
        let finite = values.joined().filter(\.isFinite)
        let low = finite.min() ?? 0, high = finite.max() ?? 1
        let span = high > low ? high - low : 1
        let columnCount = values.map(\.count).max() ?? 0
        let cell = columnCount > 64 ? max(1.0, 900.0 / Double(columnCount)) : 28.0
        let left = 110.0, top = 40.0
        let width = left + cell * Double(columnCount) + 120, height = top + 24 * Double(rows.count) + (columns.isEmpty ? 20 : 110)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<text x=\"10\" y=\"20\" font-size=\"14\">\(Self.escape(title))</text>\n"
        for (r, row) in values.enumerated() {
            let y = top + 24 * Double(r)
            out += "<text x=\"10\" y=\"\(y + 16)\">\(Self.escape(rows[r]))</text>\n"
            for (c, value) in row.enumerated() {
                out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"22\" fill=\"%@\"><title>%@</title></rect>\n",
                              left + cell * Double(c), y, cell, Self.colour((value - low) / span), String(format: "%.4g", value))
            }
        }
        for (c, name) in columns.enumerated() where columns.count <= 64 {
            let x = left + cell * (Double(c) + 0.5), y = top + 24 * Double(rows.count) + 6
            out += "<text x=\"\(x)\" y=\"\(y)\" transform=\"rotate(60 \(x) \(y))\">\(Self.escape(name))</text>\n"
        }
        let legendX = left + cell * Double(columnCount) + 20
        for step in 0...10 {
            out += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"12\" fill=\"%@\"/>\n", legendX, top + 12 * Double(10 - step), Self.colour(Double(step) / 10))
        }
        out += String(format: "<text x=\"%.1f\" y=\"%.1f\">%.4g</text>\n", legendX + 22, top + 10, high)
        out += String(format: "<text x=\"%.1f\" y=\"%.1f\">%.4g</text>\n", legendX + 22, top + 130, low)
        return out + "</svg>\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
