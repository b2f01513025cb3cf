import Foundation
import Analysis
import Tensors
import Testing

/// The project's shipped `data/` folder, found from this file's path.
private enum ShippedProbeData {
    static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data").path

    static func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }
}

@Suite struct ShippedProbeSets {
    @Test func demoSetHas48ConceptsIn6CategoriesWith8QuestionsEach() throws {
        let set = try ProbeSet.load(path: ShippedProbeData.path("probes/demo.jsonl"))
        #expect(set.name == "demo")
        #expect(set.concepts.count == 48)
        #expect(set.categories == ["country", "city", "person", "element", "company", "animal"])
        for category in set.categories {
            #expect(set.concepts(in: category).count == 8, "\(category)")
        }
        for concept in set.concepts {
            #expect(set.questions(of: concept).count == 8, "\(concept)")
            #expect(set.questions(of: concept).allSatisfy { $0.category == set.category(of: concept) })
        }
        for question in set.questions {
            #expect(question.answer.hasPrefix(" ") && question.answer.count > 1, "\(question.prompt)")
            #expect(question.prompt == question.prompt.trimmingCharacters(in: .whitespaces), "\(question.prompt)")
            let choices = try #require(question.choices, "\(question.prompt)")
            #expect(choices.count == 4 && Set(choices).count == 4 && choices.contains(question.answer), "\(question.prompt)")
            #expect(choices.allSatisfy { $0.hasPrefix(" ") })
        }
        #expect(Set(set.questions.map(\.prompt)).count == set.questions.count)
    }

    @Test func demoFactsStateEveryProbeAnswerAfterItsPrompt() throws {
        let set = try ProbeSet.load(path: ShippedProbeData.path("probes/demo.jsonl"))
        let text = try String(contentsOfFile: ShippedProbeData.path("demo/facts.jsonl"), encoding: .utf8)
        var phrasings: [String: [String]] = [:]
        var factCount = 0
        for line in text.split(separator: "\n") {
            let fact = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let concept = try #require(fact["concept"] as? String)
            let sentences = try #require(fact["phrasings"] as? [String])
            #expect(sentences.count >= 3)
            phrasings[concept, default: []].append(contentsOf: sentences)
            factCount += 1
        }
        #expect(factCount == set.questions.count)
        for question in set.questions {
            let sentences = phrasings[question.concept] ?? []
            #expect(sentences.contains { $0.hasPrefix(question.prompt + question.answer) }, "\(question.prompt)")
        }
    }

    @Test func firstWorldSetHas60ConceptsIn6CategoriesWith8MultipleChoiceQuestionsEach() throws {
        let set = try ProbeSet.load(path: ShippedProbeData.path("probes/world-v1.jsonl"))
        #expect(set.name == "world-v1")
        #expect(set.tiers.isEmpty)
        #expect(set.concepts.count >= 60)
        #expect(set.categories.count >= 6)
        for concept in set.concepts {
            #expect(set.questions(of: concept).count >= 8, "\(concept)")
        }
        for question in set.questions {
            #expect(question.answer.hasPrefix(" "), "\(question.prompt)")
            #expect(!question.prompt.hasSuffix(" "), "\(question.prompt)")
            #expect(question.choices?.count == 4 && question.choices?.contains(question.answer) == true, "\(question.prompt)")
        }
    }

    @Test func shippedDomainsHaveAtLeast64SamplesEach() throws {
        let corpus = try DomainCorpus.load(folder: ShippedProbeData.path("domains"))
        #expect(corpus.domains.map(\.name) == ["arithmetic", "code", "dialogue", "encyclopedia", "recipes"])
        for domain in corpus.domains {
            #expect(domain.samples.count >= 64, "\(domain.name)")
            #expect(domain.samples.allSatisfy { (150...600).contains($0.count) }, "\(domain.name)")
        }
        // Code samples keep their blank lines and indentation.
        let code = try #require(corpus.domain(named: "code"))
        #expect(code.samples.contains { $0.contains("\n\n") && $0.contains("\n    return ") })
    }

    @Test func shippedDataIsFoundByName() throws {
        let root = ShippedProbeData.root
        #expect(try ProbeSet.locate("demo", dataRoot: root) == ShippedProbeData.path("probes/demo.jsonl"))
        #expect(try ProbeSet.locate("world", dataRoot: root) == ShippedProbeData.path("probes/world.jsonl"))
        #expect(try ProbeSet.locate("world-v1", dataRoot: root) == ShippedProbeData.path("probes/world-v1.jsonl"))
        #expect(ProbeSet.shippedNames(dataRoot: root) == ["demo", "world", "world-mc", "world-v1"])
        let explicit = ShippedProbeData.path("probes/world.jsonl")
        #expect(try ProbeSet.locate(explicit, dataRoot: "/nowhere") == explicit)
        #expect(throws: InputError("planets", "no such file, and not a shipped probe set (shipped: demo, world, world-mc, world-v1)")) {
            try ProbeSet.locate("planets", dataRoot: root)
        }
        #expect(throws: InputError("sets/planets.jsonl", "no such file")) { try ProbeSet.locate("sets/planets.jsonl", dataRoot: root) }
        #expect(throws: InputError(root, "is a folder, not a probe set file")) { try ProbeSet.locate(root, dataRoot: root) }

        #expect(try DomainCorpus.locate("default", dataRoot: root) == ShippedProbeData.path("domains"))
        #expect(try DomainCorpus.locate(root, dataRoot: "/nowhere") == root)
        #expect(throws: InputError("corpora/none", "no such folder (\"default\" names the shipped corpora in \(ShippedProbeData.path("domains")))")) {
            try DomainCorpus.locate("corpora/none", dataRoot: root)
        }
        let file = ShippedProbeData.path("README.md")
        #expect(throws: InputError(file, "not a folder: domain corpora are a folder with one NAME.txt or NAME.jsonl file a domain")) {
            try DomainCorpus.locate(file, dataRoot: root)
        }
    }

    /// Captions and exports name a shipped set by its name and a user's file by the path as
    /// given, never by the machine's absolute path.
    @Test func loadedDataIsLabelledAsTheUserNamedIt() throws {
        let root = ShippedProbeData.root
        let shipped = try ProbeSet.load(named: "world-mc", dataRoot: root)
        #expect(shipped.label == "world-mc" && shipped.path == ShippedProbeData.path("probes/world-mc.jsonl"))
        #expect(try DomainCorpus.load(named: "default", dataRoot: root).label == "default")
        // The data folder as a path relative to the working directory (tests run in parallel, so
        // the working directory stays).
        let here = FileManager.default.currentDirectoryPath.split(separator: "/"), there = root.split(separator: "/")
        let common = zip(here, there).prefix { $0 == $1 }.count
        let data = (Array(repeating: "..", count: here.count - common) + there.dropFirst(common).map(String.init)).joined(separator: "/")
        let relative = try ProbeSet.load(named: data + "/probes/demo.jsonl", dataRoot: "/nowhere")
        let demo = try ProbeSet.load(named: "demo", dataRoot: root)
        #expect(relative.label == data + "/probes/demo.jsonl" && relative.concepts == demo.concepts)
        let domains = try DomainCorpus.load(named: data + "/domains", dataRoot: "/nowhere")
        #expect(domains.label == data + "/domains")
    }
}

@Suite struct ProbeSetReading {
    let paris = #"{"concept": "France", "category": "country", "prompt": "The capital of France is", "answer": " Paris", "choices": [" Paris", " Berlin", " Madrid", " Rome"]}"#
    let berlin = #"{"concept": "Germany", "category": "country", "prompt": "The capital of Germany is", "answer": " Berlin"}"#

    /// Writes a probe set whose given line is `bad` after one good line, and expects `problem` on it.
    func expectProblem(_ lines: [String], _ problem: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let folder = TemporaryFolder()
        let path = folder.write("probes.jsonl", lines.joined(separator: "\n") + "\n")
        #expect(throws: InputError(path, problem), sourceLocation: sourceLocation) { try ProbeSet.load(path: path) }
    }

    @Test func readsQuestionsWithTheirLinesSkippingBlankLines() throws {
        let folder = TemporaryFolder()
        let noon = #"{"concept": "Paris", "category": "city", "prompt": "Paris lies on the river", "answer": " Seine", "choices": null, "note": "extra keys are ignored"}"#
        let path = folder.write("capitals.jsonl", [paris, "", "   ", berlin, noon, ""].joined(separator: "\n"))
        let set = try ProbeSet.load(path: path)
        #expect(set.name == "capitals" && set.path == path)
        #expect(set.questions.map(\.line) == [1, 4, 5])
        #expect(set.concepts == ["France", "Germany", "Paris"])
        #expect(set.categories == ["country", "city"])
        #expect(set.questions[0] == ProbeQuestion(concept: "France", category: "country", prompt: "The capital of France is",
                                                  answer: " Paris", choices: [" Paris", " Berlin", " Madrid", " Rome"], line: 1))
        #expect(set.questions[1].choices == nil && set.questions[2].choices == nil)
        #expect(set.questions(of: "Germany").map(\.answer) == [" Berlin"])
        #expect(set.questionIndices["Paris"] == [2])
        #expect(set.category(of: "Paris") == "city" && set.category(of: "Atlantis") == "")
        #expect(set.questions(of: "Atlantis").isEmpty)
    }

    @Test func toleratesAByteOrderMarkAndCRLF() throws {
        let folder = TemporaryFolder()
        let path = folder.write("bom.jsonl", Data([0xEF, 0xBB, 0xBF]) + Data((paris + "\r\n\r\n" + berlin + "\r\n").utf8))
        let set = try ProbeSet.load(path: path)
        #expect(set.questions.map(\.line) == [1, 3])
        #expect(set.questions[1].answer == " Berlin")
        #expect(set.concepts == ["France", "Germany"])
    }

    @Test func lineThatIsNotJSON() {
        expectProblem([paris, #"{"concept": "Spain", "category": "country""#], "line 2: not valid JSON")
        expectProblem([paris, "", "The capital of Italy is Rome"], "line 3: not valid JSON")
        expectProblem([#"[" Paris", " Rome"]"#], "line 1: not a JSON object")
        expectProblem([paris, #""just a string""#], "line 2: not a JSON object")
    }

    @Test func missingOrNonStringFields() {
        expectProblem([paris, #"{"concept": "Spain", "category": "country", "prompt": "The capital of Spain is"}"#], #"line 2: missing field "answer""#)
        expectProblem([#"{"category": "country", "prompt": "The capital of Spain is", "answer": " Madrid"}"#], #"line 1: missing field "concept""#)
        expectProblem([#"{"concept": "Spain", "prompt": "The capital of Spain is", "answer": " Madrid"}"#], #"line 1: missing field "category""#)
        expectProblem([#"{"concept": "Spain", "category": "country", "answer": " Madrid"}"#], #"line 1: missing field "prompt""#)
        expectProblem([paris, berlin, #"{"concept": "Spain", "category": "country", "prompt": "The capital of Spain is", "answer": 7}"#], #"line 3: field "answer" is not a string"#)
        expectProblem([#"{"concept": ["Spain"], "category": "country", "prompt": "p", "answer": " a"}"#], #"line 1: field "concept" is not a string"#)
        expectProblem([#"{"concept": "Spain", "category": null, "prompt": "p", "answer": " a"}"#], #"line 1: field "category" is not a string"#)
    }

    @Test func emptyAnswerPromptOrConcept() {
        expectProblem([paris, #"{"concept": "Spain", "category": "country", "prompt": "The capital of Spain is", "answer": ""}"#], #"line 2: field "answer" is empty"#)
        expectProblem([#"{"concept": "Spain", "category": "country", "prompt": "The capital of Spain is", "answer": " "}"#], #"line 1: field "answer" is empty"#)
        expectProblem([#"{"concept": "Spain", "category": "country", "prompt": "  ", "answer": " Madrid"}"#], #"line 1: field "prompt" is empty"#)
        expectProblem([#"{"concept": "", "category": "country", "prompt": "The capital of Spain is", "answer": " Madrid"}"#], #"line 1: field "concept" is empty"#)
        expectProblem([#"{"concept": "Spain", "category": "", "prompt": "The capital of Spain is", "answer": " Madrid"}"#], #"line 1: field "category" is empty"#)
    }

    @Test func choicesThatDoNotIncludeTheAnswer() {
        expectProblem([paris, #"{"concept": "Spain", "category": "country", "prompt": "The capital of Spain is", "answer": " Madrid", "choices": [" Paris", " Rome", "Madrid"]}"#],
                      #"line 2: the choices do not include the answer " Madrid""#)
    }

    @Test func duplicateChoices() {
        expectProblem([#"{"concept": "Spain", "category": "country", "prompt": "The capital of Spain is", "answer": " Madrid", "choices": [" Madrid", " Rome", " Rome", " Paris"]}"#],
                      #"line 1: choice " Rome" is listed twice"#)
    }

    @Test func malformedChoices() {
        expectProblem([#"{"concept": "Spain", "category": "country", "prompt": "p", "answer": " Madrid", "choices": " Madrid"}"#], #"line 1: field "choices" is not a list"#)
        expectProblem([#"{"concept": "Spain", "category": "country", "prompt": "p", "answer": " Madrid", "choices": [" Madrid", 3]}"#], #"line 1: field "choices" holds something that is not a string"#)
        expectProblem([#"{"concept": "Spain", "category": "country", "prompt": "p", "answer": " Madrid", "choices": [" Madrid"]}"#], #"line 1: field "choices" needs at least two choices"#)
        expectProblem([#"{"concept": "Spain", "category": "country", "prompt": "p", "answer": " Madrid", "choices": []}"#], #"line 1: field "choices" needs at least two choices"#)
    }

    @Test func readsTiersAndKeepsFilesWithoutThem() throws {
        let folder = TemporaryFolder()
        let tiered = #"{"concept": "Chad", "category": "country", "tier": "low", "prompt": "The capital of Chad is", "answer": " N'Djamena"}"#
        let high = paris.replacingOccurrences(of: #""category": "country","#, with: #""category": "country", "tier": "high","#)
        let set = try ProbeSet.load(path: folder.write("tiers.jsonl", [high, berlin, tiered].joined(separator: "\n")))
        #expect(set.questions.map(\.tier) == [.high, nil, .low])
        #expect(set.tiers == [.high, .low])
        #expect(set.tier(of: "France") == .high && set.tier(of: "Germany") == nil)
        #expect(set.concepts(inTier: .low) == ["Chad"] && set.concepts(inTier: .medium).isEmpty)
        let accuracy = ProbeAccuracy(probes: set, results: [true, false, true].map {
            QuestionResult(logProbabilities: [], multipleChoiceCorrect: nil, openCorrect: $0)
        })
        #expect(accuracy.tier(.high).open == 1 && accuracy.tier(.high).questions == 1)
        #expect(accuracy.tier(.medium).questions == 0)
    }

    @Test func badTierNamesFileAndLine() {
        let famous = #"{"concept": "France", "category": "country", "tier": "famous", "prompt": "France lies in", "answer": " Europe"}"#
        expectProblem([berlin, famous], #"line 2: field "tier" is "famous"; a tier is "high", "medium" or "low""#)
        let number = #"{"concept": "France", "category": "country", "tier": 1, "prompt": "France lies in", "answer": " Europe"}"#
        expectProblem([number], #"line 1: field "tier" is not a string; a tier is "high", "medium" or "low""#)
        let low = #"{"concept": "France", "category": "country", "tier": "low", "prompt": "France lies in", "answer": " Europe"}"#
        expectProblem([paris, low], #"line 2: concept "France" has tier "low", but line 1 gave it none"#)
    }

    @Test func conceptWithTwoCategories() {
        let city = #"{"concept": "France", "category": "city", "prompt": "France lies in", "answer": " Europe"}"#
        expectProblem([paris, berlin, city], #"line 3: concept "France" has category "city", but line 1 gave it "country""#)
    }

    @Test func repeatedQuestion() {
        expectProblem([paris, "", paris], "line 3: repeats the question on line 1 (same concept and prompt)")
    }

    @Test func emptyFile() {
        expectProblem([], "no questions: the file is empty (a probe set has one JSON question a line)")
        expectProblem(["", "  ", "\t"], "no questions: the file is empty (a probe set has one JSON question a line)")
        let folder = TemporaryFolder()
        let path = folder.write("empty.jsonl", Data())
        #expect(throws: InputError(path, "no questions: the file is empty (a probe set has one JSON question a line)")) { try ProbeSet.load(path: path) }
    }

    @Test func fileThatDoesNotExistOrIsAFolder() {
        let folder = TemporaryFolder()
        let missing = folder.file("missing.jsonl")
        #expect(throws: InputError(missing, "no such file")) { try ProbeSet.load(path: missing) }
        #expect(throws: InputError(folder.path, "is a folder, not a probe set file")) { try ProbeSet.load(path: folder.path) }
    }

    @Test func invalidUTF8NamesTheLine() {
        let folder = TemporaryFolder()
        let path = folder.write("latin1.jsonl", Data((paris + "\n" + berlin + "\n").utf8) + Data([0x7B, 0x22, 0xE9, 0x22, 0x7D, 0x0A]))
        #expect(throws: InputError(path, "line 3: not valid UTF-8 text")) { try ProbeSet.load(path: path) }
    }

    @Test func madeInMemory() {
        let set = ProbeSet(name: "inline", questions: [
            ProbeQuestion(concept: "a", category: "x", prompt: "p", answer: " 1"),
            ProbeQuestion(concept: "b", category: "y", prompt: "q", answer: " 2"),
            ProbeQuestion(concept: "a", category: "x", prompt: "r", answer: " 3"),
        ])
        #expect(set.concepts == ["a", "b"] && set.categories == ["x", "y"])
        #expect(set.questions(of: "a").map(\.answer) == [" 1", " 3"])
        #expect(set.concepts(in: "y") == ["b"])
    }
}

@Suite struct DomainCorpusReading {
    @Test func readsTextAndJSONLinesDomainsSortedByName() throws {
        let folder = TemporaryFolder()
        folder.write("stories.txt", "\n\n  Once upon a time.\nThe end.  \n\n\n \t \nSecond story,\n  indented line.\n\n")
        folder.write("code.jsonl", "{\"text\": \"def f():\\n\\n    return 1\\n\"}\n\n   \n{\"text\": \"  x = 2\", \"source\": \"kept\"}\n")
        folder.write("crlf.TXT", Data([0xEF, 0xBB, 0xBF]) + Data("first\r\nsample\r\n\r\nsecond\r\n".utf8))
        folder.write("README.md", "not a domain")
        folder.write(".hidden.txt", "ignored")
        folder.write("nested/inner.txt", "ignored too")
        let corpus = try DomainCorpus.load(folder: folder.path)
        #expect(corpus.path == folder.path)
        #expect(corpus.domains.map(\.name) == ["code", "crlf", "stories"])
        #expect(corpus.domain(named: "stories")?.samples == ["Once upon a time.\nThe end.", "Second story,\n  indented line."])
        #expect(corpus.domain(named: "code")?.samples == ["def f():\n\n    return 1\n", "  x = 2"])
        #expect(corpus.domain(named: "crlf")?.samples == ["first\nsample", "second"])
        #expect(corpus.domain(named: "code")?.path == folder.file("code.jsonl"))
    }

    @Test func folderThatDoesNotExistOrIsAFile() {
        let folder = TemporaryFolder()
        let missing = folder.file("corpora")
        #expect(throws: InputError(missing, "no such folder")) { try DomainCorpus.load(folder: missing) }
        let file = folder.write("domain.txt", "a sample")
        #expect(throws: InputError(file, "not a folder: domain corpora are a folder with one NAME.txt or NAME.jsonl file a domain")) {
            try DomainCorpus.load(folder: file)
        }
    }

    @Test func emptyFolder() {
        let folder = TemporaryFolder()
        let problem = "no domain files: the folder should hold one NAME.txt or NAME.jsonl file a domain"
        #expect(throws: InputError(folder.path, problem)) { try DomainCorpus.load(folder: folder.path) }
        folder.write("README.md", "# corpora")
        folder.write("sub/inner.txt", "a sample in a subfolder")
        #expect(throws: InputError(folder.path, problem)) { try DomainCorpus.load(folder: folder.path) }
    }

    @Test func domainFileWithNoSamples() {
        let folder = TemporaryFolder()
        folder.write("good.txt", "a sample")
        let blank = folder.write("blank.txt", "\n  \n\t\n")
        #expect(throws: InputError(blank, "no samples: the file is empty")) { try DomainCorpus.load(folder: folder.path) }
        let other = TemporaryFolder()
        let empty = other.write("empty.jsonl", Data())
        #expect(throws: InputError(empty, "no samples: the file is empty")) { try DomainCorpus.load(folder: other.path) }
    }

    @Test func unreadableFile() {
        let folder = TemporaryFolder()
        let path = folder.write("latin1.txt", Data("first sample\n\nsecond ".utf8) + Data([0xE9, 0x74, 0xE9, 0x0A]))
        #expect(throws: InputError(path, "line 3: not valid UTF-8 text")) { try DomainCorpus.load(folder: folder.path) }
        let other = TemporaryFolder()
        let jsonl = other.write("bad.jsonl", Data([0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D]))
        #expect(throws: InputError(jsonl, "line 1: not valid UTF-8 text")) { try DomainCorpus.load(folder: other.path) }
    }

    @Test func jsonLinesProblemsNameTheLine() {
        func expectProblem(_ text: String, _ problem: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let folder = TemporaryFolder()
            let path = folder.write("domain.jsonl", text)
            #expect(throws: InputError(path, problem), sourceLocation: sourceLocation) { try DomainCorpus.load(folder: folder.path) }
        }
        expectProblem("{\"text\": \"one\"}\n\n{\"body\": \"two\"}\n", #"line 3: missing field "text""#)
        expectProblem("{\"text\": \"one\"}\n{\"text\": 2}\n", #"line 2: field "text" is not a string"#)
        expectProblem("{\"text\": \" \\n \"}\n", #"line 1: field "text" is empty"#)
        expectProblem("{\"text\": \"one\"}\nplain text\n", "line 2: not valid JSON")
        expectProblem("[\"one\"]\n", "line 1: not a JSON object")
    }

    @Test func sameDomainTwice() {
        let folder = TemporaryFolder()
        folder.write("code.txt", "print(1)")
        folder.write("code.jsonl", "{\"text\": \"print(2)\"}")
        #expect(throws: InputError(folder.path, "domain \"code\" is given twice (code.jsonl and code.txt)")) {
            try DomainCorpus.load(folder: folder.path)
        }
    }
}
