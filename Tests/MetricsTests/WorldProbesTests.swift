import Foundation
import Analysis
import Testing

/// The world probe sets against the facts their generators took from data packages
/// (scripts/probes/make_world.py → data/probes/world-sources.tsv, make_world_mc.py →
/// world-mc-sources.tsv: `category concept field value` a line): every answer is the source's
/// value, every distractor another concept's value for the same field in the same category, every
/// tier the concept's third of its category ranked by the source's measure.
@Suite struct WorldProbesAgainstTheirSources {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/probes")

    struct Source {
        /// category → concept → field → value.
        var facts: [String: [String: [String: String]]] = [:]

        init(file: String) throws {
            let text = try String(contentsOf: WorldProbesAgainstTheirSources.data.appendingPathComponent(file), encoding: .utf8)
            var header = true
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                if header { header = false; continue }
                let cells = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
                precondition(cells.count == 4, "\(file): \(line)")
                facts[cells[0], default: [:]][cells[1], default: [:]][cells[2]] = cells[3]
            }
        }

        /// The field a category's popularity is measured by.
        static func measure(_ category: String) -> String { category == "element" ? "popularity" : "population" }
    }

    @Test func everyWorldAnswerDistractorAndTierComesFromTheSourceData() throws {
        let set = try ProbeSet.load(path: Self.data.appendingPathComponent("world.jsonl").path)
        #expect(set.name == "world")
        #expect(set.concepts.count >= 500)
        #expect(set.categories.count >= 6)
        try Self.checkAgainstSources(set, sources: "world-sources.tsv", questionsPerConcept: 5)
    }

    /// world-mc: the set for PSS, which averages over several questions of a concept.
    @Test func everyWorldMCAnswerDistractorAndTierComesFromTheSourceData() throws {
        let set = try ProbeSet.load(path: Self.data.appendingPathComponent("world-mc.jsonl").path)
        #expect(set.name == "world-mc")
        #expect(set.concepts.count >= 400)
        #expect(set.categories == ["country", "capital"])
        #expect(set.questions.count >= 8 * 400)
        let source = try Source(file: "world-mc-sources.tsv")
        #expect(source.facts["country"]?["Japan"]?["capital"] == "Tokyo")
        #expect(source.facts["capital"]?["Paris"]?["country"] == "France")
        #expect(source.facts["country"]?["France"]?["tier"] == "high")
        try Self.checkAgainstSources(set, sources: "world-mc-sources.tsv", questionsPerConcept: 8)
    }

    static func checkAgainstSources(_ set: ProbeSet, sources file: String, questionsPerConcept: Int) throws {
        let source = try Source(file: file)
        let path = data.appendingPathComponent(set.name + ".jsonl").path
        #expect(set.tiers == [.high, .medium, .low])
        for concept in set.concepts {
            #expect(set.questions(of: concept).count >= questionsPerConcept, "\(concept)")
            #expect(set.tier(of: concept) != nil, "\(concept)")
        }
        // The field each question asks is in the file as "attribute" (ProbeSet ignores it).
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == set.questions.count)
        for (line, question) in zip(lines, set.questions) {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let attribute = try #require(object["attribute"] as? String)
            let category = try #require(source.facts[question.category], "no sources for \(question.category)")
            let facts = try #require(category[question.concept], "no sources for \(question.concept)")
            #expect(question.answer == " " + (facts[attribute] ?? "-"), "\(question.prompt)")
            #expect(question.tier?.rawValue == facts["tier"], "\(question.concept)")
            #expect(question.prompt.lowercased().contains(question.concept.lowercased()), "\(question.prompt)")
            let choices = try #require(question.choices)
            #expect(choices.count == 4 && Set(choices).count == 4 && choices.contains(question.answer))
            for choice in choices where choice != question.answer {
                let others = category.filter { $0.key != question.concept && " " + ($0.value[attribute] ?? "-") == choice }
                #expect(!others.isEmpty, "\(question.prompt): distractor \(choice) is no other \(question.category)'s \(attribute)")
            }
        }
        // Tiers: the thirds of each category ranked by its measure, largest first (ties by name).
        for (name, category) in source.facts {
            let measure = Source.measure(name)
            let ranked = try category.keys.sorted { a, b in
                let (x, y) = (try #require(Double(category[a]?[measure] ?? "")), try #require(Double(category[b]?[measure] ?? "")))
                return x != y ? x > y : a < b
            }
            let third = Double(ranked.count) / 3
            for (i, concept) in ranked.enumerated() {
                let expected: ProbeTier = Double(i) < third ? .high : Double(i) < 2 * third ? .medium : .low
                #expect(set.tier(of: concept) == expected, "\(concept): \(i + 1) of \(ranked.count) by \(measure)")
                #expect(set.category(of: concept) == name)
            }
        }
        #expect(source.facts.values.map(\.count).reduce(0, +) == set.concepts.count)
    }
}
