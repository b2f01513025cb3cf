import Foundation
import Analysis

/// Every concept with its accuracy before and now (under the current ablation), its PSS, and its
/// knowledge vectors with how many other concepts share; above them PSS(r) at the chosen ratio
/// with its interval and signs, and the median share; the chosen one's questions and live PSS below.
enum ConceptsPage {
    static func draw(_ state: AppState, _ snapshot: AnalysisSnapshot, _ context: RenderContext, _ area: Rect, _ frame: inout Frame) {
        let probes = snapshot.probes
        let ratios = snapshot.score.ratios
        let ratio = state.ratio(ratios)
        let x0 = area.x + 1, limit = area.maxX - 1
        let now = state.accuracyNow(snapshot)
        let specialization = state.shownSpecialization(snapshot)
        let by = specialization.map { " by " + AppState.name($0.association) + " (s)" } ?? ""
        let heading = "\(probes.concepts.count) concepts of \(probes.name) · knowledge vectors at r = \(Format.compact(ratio * 100))%\(by)"
        var ablation = ""
        if !state.ablated.isEmpty { ablation = now == nil ? " · evaluating \(state.ablated.count) ablated…" : " · now: with \(state.ablated.count) ablated" }
        if let estimated = state.estimatedNow(snapshot, Array(probes.questions.indices)) {
            ablation += " · ≈ exact \(estimated.exact)/\(estimated.of)"
        }
        var titleLimit = limit

        let detailHeight = min(12, area.height / 3)
        // The title, PSS(r) and the shared knowledge vectors, the columns' headers, and a gap above the detail box.
        let tableRows = max(1, area.height - 5 - detailHeight)
        let nameWidth = min(20, max(10, (probes.concepts.map { DisplayWidth.of($0) }.max() ?? 10) + 2))
        let categoryWidth = min(12, max(9, (probes.categories.map { DisplayWidth.of($0) }.max() ?? 8) + 2))
        let barWidth = 12
        // Columns that do not fit the width are left out whole, the least needed first: the tier
        // (the detail box names it too), the bar, multiple choice (shown when the engine evaluates
        // it), how many questions are exact so far (shown while neurons are ablated; the title
        // counts them too), the category, the share of K_c other concepts hold too (the line above
        // the table gives their median), K_c. The signed PSS is left out first.
        var room = limit - x0 - nameWidth - 4 - 22 - 10
        func fits(_ width: Int) -> Bool {
            guard width <= room else { return false }
            room -= width
            return true
        }
        let sharedWidth = 8
        let showsKc = fits(12), showsShared = fits(sharedWidth), showsCategory = fits(categoryWidth)
        let exactWidth = 7
        let showsExact = !state.ablated.isEmpty && fits(exactWidth)
        let showsChoice = snapshot.baseline?.overall.multipleChoice != nil && fits(22)
        let showsBar = fits(barWidth + 2)
        let tierWidth = 7
        let showsTier = !probes.tiers.isEmpty && fits(tierWidth)
        let signedWidth = 9
        let showsSigned = fits(signedWidth)
        let columns: [(String, Int)] = [("concept", nameWidth)] + (showsCategory ? [("category", categoryWidth)] : [])
            + (showsTier ? [("tier", tierWidth)] : []) + [("q", 4), ("open before → now", 22)]
            + (showsBar ? [("", barWidth + 2)] : []) + (showsChoice ? [("choice before → now", 22)] : [])
            + (showsExact ? [("exact", exactWidth)] : []) + [("PSS(c,r)", 10)] + (showsSigned ? [("signed", signedWidth)] : [])
            + (showsKc ? [("K_c ablated", 12)] : []) + (showsShared ? [("shared", sharedWidth)] : [])
        let shared = specialization.map { state.derived.sharedKnowledgeVectors($0, ratio: ratio) }
        summaries(snapshot.score, shared, ratio, context, x: x0, y: area.y + 1, limit: limit, &frame)
        var x = x0
        for (header, width) in columns {
            frame.buffer.text(header, x: x, y: area.y + 3, style: context[.dim], limit: min(x + width, limit))
            x += width
        }
        let row = min(state.conceptRow, max(probes.concepts.count - 1, 0))
        let first = min(max(row - tableRows / 2, 0), max(probes.concepts.count - tableRows, 0))
        for (offset, concept) in probes.concepts.enumerated().dropFirst(first).prefix(tableRows) {
            let y = area.y + 4 + offset - first
            let selected = offset == row
            if selected { frame.buffer.fill(Rect(x: area.x, y: y, width: area.width, height: 1), style: context[.selection]) }
            frame.region(Rect(x: area.x, y: y, width: area.width, height: 1), .concept(offset))
            let text = selected ? context[.selection] : context[.text]
            var x = x0
            let lit = state.litConcept == offset
            frame.buffer.text(DisplayWidth.fit((lit ? "• " : "") + concept, nameWidth - 1), x: x, y: y, style: lit ? context[.lit] : text)
            x += nameWidth
            if showsCategory {
                frame.buffer.text(DisplayWidth.fit(probes.category(of: concept), categoryWidth - 1), x: x, y: y, style: selected ? text : context[.dim])
                x += categoryWidth
            }
            if showsTier {
                frame.buffer.text(probes.tier(of: concept)?.rawValue ?? "–", x: x, y: y, style: selected ? text : context[.dim])
                x += tierWidth
            }
            let before = snapshot.baseline?.concept(concept), after = now?.concept(concept)
            let questions = probes.questionIndices[concept] ?? []
            let estimated = state.estimatedNow(snapshot, questions)
            frame.buffer.text(DisplayWidth.padLeft("\(before?.questions ?? probes.questionIndices[concept]?.count ?? 0)", 3), x: x, y: y, style: text)
            x += 4
            x = change(before?.open, after?.open, x: x, y: y, width: 22, text: text, context: context, &frame, estimated: estimated != nil)
            if let after, showsBar {
                frame.buffer.bar(x: x, y: y, width: barWidth, fraction: after.open, style: (before.map { after.open < $0.open } ?? false) ? context[.bad] : context[.bar], context: context)
            }
            if showsBar { x += barWidth + 2 }
            if showsChoice {
                x = change(before?.multipleChoice, after?.multipleChoice, x: x, y: y, width: 22, text: text, context: context, &frame,
                           missing: before?.multipleChoice == nil, estimated: estimated != nil)
            }
            if showsExact {
                let exact = estimated.map { "\($0.exact)/\($0.of)" } ?? (after == nil ? "…" : "\(questions.count)/\(questions.count)")
                frame.buffer.text(DisplayWidth.fit(exact, exactWidth - 1), x: x, y: y, style: estimated == nil ? text : context[.dim])
                x += exactWidth
            }
            let entry = snapshot.score.entries.first { $0.ratio == ratio && probes.concepts[safe: $0.concept] == concept }
            let leftOut = snapshot.score.plan.map { !$0.measured(offset) } ?? false
            frame.buffer.text(leftOut ? "left out" : entry.map { String(format: "%.3f", $0.score) } ?? "…", x: x, y: y,
                              style: entry == nil ? context[.dim] : text)
            x += 10
            if showsSigned {
                // Positive: the concept lost more than its controls; negative: the mask hurt the controls more.
                if !leftOut {
                    frame.buffer.text(entry.map { String(format: "%+.3f", $0.signedScore) } ?? "…", x: x, y: y,
                                      style: entry.map { $0.signedScore < 0 ? context[.bad] : text } ?? context[.dim])
                }
                x += signedWidth
            }
            if !showsKc {
            } else if let specialization {
                // Ranking every neuron for K_c is only needed when something is ablated.
                let count = specialization.knowledgeNeuronCount(ratio: ratio)
                let marked = state.ablated.isEmpty ? 0 : state.derived.knowledgeNeurons(specialization, concept: offset, ratio: ratio).filter(state.isAblated).count
                frame.buffer.text("\(marked)/\(count)", x: x, y: y, style: marked > 0 ? context[.marked] : text, limit: limit)
            } else {
                frame.buffer.text("…", x: x, y: y, style: context[.dim])
            }
            if showsKc { x += 12 }
            if showsShared {
                let share = shared?.concepts[safe: offset].map { Format.percent($0.sharedFraction, digits: 0) } ?? "…"
                frame.buffer.text(DisplayWidth.padLeft(share, 4), x: x, y: y, style: shared == nil ? context[.dim] : text, limit: limit)
            }
        }
        if probes.concepts.count > tableRows {
            let range = "rows \(first + 1)–\(min(first + tableRows, probes.concepts.count)) of \(probes.concepts.count)"
            titleLimit = limit - DisplayWidth.of(range) - 2
            frame.buffer.text(range, x: limit - DisplayWidth.of(range), y: area.y, style: context[.dim])
        }
        // The keys' hint (the help lists them too) gives way to the ablation's state.
        let hinted = heading + " (+ - to change)" + ablation
        let title = DisplayWidth.of(hinted) <= titleLimit - x0 ? hinted : heading + ablation
        frame.buffer.words(title, x: x0, y: area.y, style: context[.title], limit: titleLimit)
        let detail = Rect(x: area.x, y: area.maxY - detailHeight, width: area.width, height: detailHeight)
        selectedConcept(state, snapshot, row, ratio, context, detail, &frame)
    }

    /// Two lines above the table: PSS(r) at the chosen ratio with its 95 % bootstrap interval, n and
    /// signs; and how many of a concept's knowledge vectors other concepts hold too, with the
    /// neuron in the most concepts' sets.
    private static func summaries(_ score: SpecializationScore, _ shared: SharedKnowledgeVectors?, _ ratio: Double, _ context: RenderContext,
                                  x: Int, y: Int, limit: Int, _ frame: inout Frame) {
        let percent = Format.compact(ratio * 100) + "%"
        var pss = "PSS(\(percent)) "
        if let mean = score.modelScores.first(where: { $0.ratio == ratio })?.score,
           let signed = score.modelSignedScores.first(where: { $0.ratio == ratio })?.score,
           let signs = score.signCounts.first(where: { $0.ratio == ratio })?.counts {
            let interval = score.modelIntervals.first { $0.ratio == ratio }?.interval
            pss += String(format: "%.3f", mean) + (interval.map { " " + $0.text() + " " + Intervals.conceptCount($0.n) } ?? "")
            pss += " · signed " + Format.signed(signed) + ": \(signs.positive) +, \(signs.negative) −" + (signs.zero > 0 ? ", \(signs.zero) zero" : "")
        } else {
            pss += score.plan.map { $0.measuredConcepts.isEmpty ? "not measured: no concept has enough questions" : "…" } ?? "…"
        }
        frame.buffer.words(pss, x: x, y: y, style: context[.text], limit: limit)
        guard let shared else { return }
        var line = "knowledge vectors at r = \(percent): median " + Format.percent(shared.medianSharedFraction, digits: 0) + " shared with other concepts"
        if let top = shared.genericNeurons.first {
            line += " · most shared: \(top.neuron) in \(top.concepts) of \(shared.concepts.count) sets"
        } else {
            line += " · no neuron in two concepts' sets"
        }
        frame.buffer.words(line, x: x, y: y + 1, style: context[.dim], limit: limit)
    }

    /// "before → now  change", a missing figure shown as … (not computed) or — (does not apply),
    /// an estimated one as ≈ and dim.
    private static func change(_ before: Double?, _ after: Double?, x: Int, y: Int, width: Int, text: Style, context: RenderContext,
                               _ frame: inout Frame, missing: Bool = false, estimated: Bool = false) -> Int {
        if missing {
            frame.buffer.text("— no choices", x: x, y: y, style: context[.dim])
            return x + width
        }
        var cx = frame.buffer.text(DisplayWidth.padLeft(Format.percent(before, digits: 0), 5) + " → ", x: x, y: y, style: text)
        let now = (estimated && after != nil ? "≈" : "") + Format.percent(after, digits: 0)
        cx = frame.buffer.text(DisplayWidth.padLeft(now, 5), x: cx, y: y, style: estimated ? context[.dim] : text)
        if let before, let after, abs(after - before) > 1e-9 {
            cx = frame.buffer.text(" " + Format.points(after - before), x: cx, y: y, style: estimated ? context[.dim] : (after < before ? context[.bad] : context[.good]))
        }
        return x + width
    }

    private static func selectedConcept(_ state: AppState, _ snapshot: AnalysisSnapshot, _ row: Int, _ ratio: Double, _ context: RenderContext,
                                        _ area: Rect, _ frame: inout Frame) {
        guard let concept = snapshot.probes.concepts[safe: row] else { return }
        let summary = snapshot.score.plan.map { " · PSS on " + $0.summary } ?? ""
        let tier = snapshot.probes.tier(of: concept).map { ", tier " + $0.rawValue } ?? ""
        let inner = frame.buffer.box(area, title: "\(concept) (\(snapshot.probes.category(of: concept))\(tier))" + summary, context: context)
        guard inner.height > 0 else { return }
        let x = inner.x + 1, limit = inner.maxX - 1
        var y = inner.y
        let specialization = state.shownSpecialization(snapshot)
        if let specialization {
            let neurons = state.derived.knowledgeNeurons(specialization, concept: row, ratio: ratio)
            let marked = neurons.filter(state.isAblated).count
            let cx = frame.buffer.words("knowledge vectors K_c at r = \(Format.compact(ratio * 100))%: \(neurons.count) neurons, \(marked) ablated:", x: x, y: y, style: context[.dim], limit: limit) + 1
            var nx = cx
            for neuron in neurons {
                let label = neuron.description + " "
                if nx + DisplayWidth.of(label) + 2 > limit {
                    frame.buffer.text("…", x: nx, y: y, style: context[.dim])
                    break
                }
                nx = frame.buffer.text(label, x: nx, y: y, style: state.isAblated(neuron) ? context[.marked] : context[.text])
            }
            // Where they sit: a count per block, as a sparkline, and the share in the deepest quarter.
            y += 1
            var counts = [Int](repeating: 0, count: specialization.blocks)
            for neuron in neurons { counts[neuron.block] += 1 }
            let deepest = max(counts.count / 4, 1)
            let share = Double(counts.suffix(deepest).reduce(0, +)) / Double(max(neurons.count, 1))
            let tail = String(format: " %d%% in the last %d of %d blocks", Int((100 * share).rounded()), deepest, counts.count)
            // The long label where the line has room for it, every block and the tail; else the short one.
            let long = "by block (\(AppState.name(specialization.association)), s switches): "
            let label = DisplayWidth.of(long) + counts.count + DisplayWidth.of(tail) <= limit - x ? long
                : "by block (" + (specialization.association == .raw ? "Δ" : "Δ/σ") + "): "
            let hx = frame.buffer.text(label, x: x, y: y, style: context[.dim], limit: limit)
            let sparkWidth = min(counts.count, max(0, limit - hx - DisplayWidth.of(tail)))
            frame.buffer.sparkline(counts.prefix(sparkWidth).map { Double($0) }, x: hx, y: y, low: 0, high: Double(max(counts.max() ?? 0, 1)), style: context[.accent])
            if hx + sparkWidth + DisplayWidth.of(tail) <= limit {
                frame.buffer.text(tail, x: hx + sparkWidth, y: y, style: context[.text])
            }
        } else {
            frame.buffer.words("knowledge vectors: computing… (Δ needs every probe prompt run once)", x: x, y: y, style: context[.dim], limit: limit)
        }
        y += 1
        // PSS(c, r) over the sweep, as measured by the engine (by its association).
        let engineBy = snapshot.specialization.map { $0.association != specialization?.association ? " by " + AppState.name($0.association) : "" } ?? ""
        var px = frame.buffer.text("PSS(c, r)\(engineBy): ", x: x, y: y, style: context[.dim])
        let index = snapshot.specialization?.concepts.firstIndex(of: concept)
        for r in snapshot.score.ratios {
            let entry = snapshot.score.entries.first { $0.concept == index && $0.ratio == r }
            let label = "\(Format.compact(r * 100))%: ", value = entry.map { String(format: "%.3f", $0.score) } ?? "…"
            // A ratio and its value together, or neither.
            guard px + DisplayWidth.of(label + value) <= limit else { break }
            px = frame.buffer.text(label, x: px, y: y, style: context[.dim])
            px = frame.buffer.text(value + "  ", x: px, y: y, style: r == ratio ? context[.title] : context[.text], limit: limit)
        }
        y += 1
        // PSS under the current ablation, from the live accuracy, on the questions the engine's
        // PSS uses: the concept's and its control set's (known ones by default).
        if let plan = snapshot.score.plan {
            let metric = snapshot.score.metric
            if !plan.measured(row) {
                let kind = plan.questions == .known ? "known questions" : "questions"
                frame.buffer.words("PSS: left out (\(plan.own[row].count) \(kind) of its own, \(plan.control[row].count) in its control set; at least \(SpecializationScore.fewestOwnQuestions) and \(SpecializationScore.fewestControlQuestions) needed)",
                                   x: x, y: y, style: context[.dim], limit: limit)
            } else if let now = state.accuracyNow(snapshot) {
                func accuracy(_ questions: [Int]) -> Double {
                    let right = questions.filter { q in metric == .open ? now.results[safe: q]?.openCorrect == true : now.results[safe: q]?.multipleChoiceCorrect == true }
                    return Double(right.count) / Double(max(questions.count, 1))
                }
                let own = accuracy(plan.own[row]), others = accuracy(plan.control[row])
                let pss = plan.baseline > 0 ? abs(others - own) / plan.baseline : 0
                let long = String(format: "PSS now: |Acc(control set) %.2f − Acc(%@) %.2f| / Acc(all, nothing ablated) %.2f = ",
                                  others, concept, own, plan.baseline)
                let short = String(format: "PSS now: |%.2f − %.2f| / %.2f = ", others, own, plan.baseline)
                let formula = DisplayWidth.of(long) + 5 <= limit - x ? long : short
                let fx = frame.buffer.text(formula, x: x, y: y, style: context[.dim], limit: limit)
                if let estimated = state.estimatedNow(snapshot, plan.own[row] + plan.control[row]) {
                    frame.buffer.words(String(format: "≈%.3f (estimated, exact %d/%d questions)", pss, estimated.exact, estimated.of), x: fx, y: y, style: context[.dim], limit: limit)
                } else {
                    frame.buffer.text(String(format: "%.3f", pss), x: fx, y: y, style: context[.title], limit: limit)
                }
                let controls = plan.controlSet == .all ? "every other concept" : plan.controlConcepts[row].compactMap { snapshot.probes.concepts[safe: $0] }.joined(separator: ", ")
                let kind = plan.questions == .known ? "known questions" : "questions"
                frame.buffer.words("control set: \(controls) (\(kind): \(plan.own[row].count) of its own, \(plan.control[row].count) of theirs)",
                                   x: x, y: y + 1, style: context[.dim], limit: limit)
            } else {
                frame.buffer.words("PSS now: evaluating the current ablation…", x: x, y: y, style: context[.dim], limit: limit)
            }
        }
        y += 2
        // Its questions, right or wrong before and now under the accuracy PSS is computed from (a
        // question without choices by its open answer); those that changed first.
        let now = state.accuracyNow(snapshot)
        let all = snapshot.probes.questionIndices[concept] ?? []
        let scoredOpen = snapshot.score.metric == .open
        func right(_ result: QuestionResult?) -> Bool? {
            result.map { scoredOpen ? $0.openCorrect : $0.multipleChoiceCorrect ?? $0.openCorrect }
        }
        func changed(_ q: Int) -> Bool { right(snapshot.baseline?.results[safe: q]) != right(now?.results[safe: q]) }
        let questions = all.filter(changed) + all.filter { !changed($0) }
        for q in questions where y < inner.maxY {
            let question = snapshot.probes.questions[q]
            let before = right(snapshot.baseline?.results[safe: q])
            let after = right(now?.results[safe: q])
            let guessed = state.estimatedNow(snapshot, [q]) != nil
            func mark(_ right: Bool?) -> String { right.map { $0 ? "✓" : "✗" } ?? "…" }
            var qx = frame.buffer.text(mark(before), x: x, y: y, style: before == false ? context[.bad] : context[.good])
            qx = frame.buffer.text(" → ", x: qx, y: y, style: context[.dim])
            qx = frame.buffer.text((guessed ? "≈" : "") + mark(after) + (guessed ? " " : "  "), x: qx, y: y,
                                   style: guessed || after == nil ? context[.dim] : (after == false ? context[.bad] : context[.good]))
            frame.buffer.words("\(question.prompt) →\(question.answer)", x: qx, y: y, style: context[.text], limit: limit)
            y += 1
        }
    }
}
