import Foundation
import Tensors

/// A concept's popularity tier, fixed from the data's own popularity measure before any model
/// runs (METHODS.md, method 1, "Data").
public enum ProbeTier: String, Sendable, CaseIterable {
    case high, medium, low
}

/// One probe question: a prompt that a model should continue with `answer`, about `concept`.
public struct ProbeQuestion: Sendable, Equatable {
    public let concept: String
    public let category: String
    /// The concept's popularity tier; nil in a probe set without tiers.
    public let tier: ProbeTier?
    /// A sentence prefix with no trailing space ("The capital of France is").
    public let prompt: String
    /// The continuation, normally with its leading space (" Paris").
    public let answer: String
    /// Multiple-choice options, the answer among them; nil for an open question only.
    public let choices: [String]?
    /// The line of the probe-set file the question came from (1-based; 0 if made in code).
    public let line: Int

    public init(concept: String, category: String, tier: ProbeTier? = nil, prompt: String, answer: String, choices: [String]? = nil,
                line: Int = 0) {
        self.concept = concept
        self.category = category
        self.tier = tier
        self.prompt = prompt
        self.answer = answer
        self.choices = choices
        self.line = line
    }
}

/// A probe set: concepts, each with its questions and a category (METHODS.md, "Formats").
/// The file is JSON Lines, one question a line:
/// `{"concept": "France", "category": "country", "tier": "high", "prompt": "The capital of France is",
///   "answer": " Paris", "choices": [" Paris", " Berlin", " Madrid", " Rome"]}` (`tier` and
/// `choices` optional).
/// Blank lines are skipped; other keys are ignored.
public struct ProbeSet: Sendable {
    /// The file name without its extension ("demo" for `data/probes/demo.jsonl`).
    public let name: String
    public let path: String
    /// How the user named it, for captions and exports: a shipped set's name, a file's path as
    /// given (never made absolute, so that nothing written names the machine's folders).
    public private(set) var label: String
    public let questions: [ProbeQuestion]
    /// Concepts in order of first appearance.
    public let concepts: [String]
    /// Categories in order of first appearance.
    public let categories: [String]
    /// For each concept, the indices of its questions in `questions`, in file order.
    public let questionIndices: [String: [Int]]
    /// The tiers some concept has, in the order high, medium, low (empty without tiers).
    public let tiers: [ProbeTier]
    private let categoryOfConcept: [String: String]
    private let tierOfConcept: [String: ProbeTier]

    /// A probe set from questions already in memory (assumed consistent: one category a concept).
    public init(name: String, path: String = "", questions: [ProbeQuestion]) {
        self.name = name
        self.path = path
        label = path
        self.questions = questions
        var concepts: [String] = []
        var categories: [String] = []
        var indices: [String: [Int]] = [:]
        var categoryOf: [String: String] = [:]
        var tierOf: [String: ProbeTier] = [:]
        var seenCategories = Set<String>()
        for (index, question) in questions.enumerated() {
            if indices[question.concept] == nil {
                concepts.append(question.concept)
                categoryOf[question.concept] = question.category
                tierOf[question.concept] = question.tier
            }
            indices[question.concept, default: []].append(index)
            if seenCategories.insert(question.category).inserted { categories.append(question.category) }
        }
        self.concepts = concepts
        self.categories = categories
        self.questionIndices = indices
        self.categoryOfConcept = categoryOf
        self.tierOfConcept = tierOf
        self.tiers = ProbeTier.allCases.filter { tier in tierOf.values.contains(tier) }
    }

    /// The questions about `concept`, in file order (empty for an unknown concept).
    public func questions(of concept: String) -> [ProbeQuestion] {
        (questionIndices[concept] ?? []).map { questions[$0] }
    }

    /// The category of `concept` ("" for an unknown concept).
    public func category(of concept: String) -> String {
        categoryOfConcept[concept] ?? ""
    }

    /// The tier of `concept` (nil without one).
    public func tier(of concept: String) -> ProbeTier? {
        tierOfConcept[concept]
    }

    /// The concepts of `tier`, in order of first appearance.
    public func concepts(inTier tier: ProbeTier) -> [String] {
        concepts.filter { tierOfConcept[$0] == tier }
    }

    /// The concepts of `category`, in order of first appearance.
    public func concepts(in category: String) -> [String] {
        concepts.filter { categoryOfConcept[$0] == category }
    }

    /// Reads and checks a probe-set file; every problem names the file and, where there is
    /// one, the line.
    public static func load(path: String) throws -> ProbeSet {
        let lines = try DataText.lines(of: path, kind: "probe set")
        var questions: [ProbeQuestion] = []
        var firstCategory: [String: (category: String, line: Int)] = [:]
        var firstTier: [String: (tier: ProbeTier?, line: Int)] = [:]
        var firstAsked: [String: Int] = [:]
        for (offset, text) in lines.enumerated() where !DataText.isBlank(text) {
            let line = offset + 1
            let object = try DataText.object(text, number: line, path: path)
            func field(_ key: String) throws -> String {
                try DataText.string(key, in: object, line: line, path: path)
            }
            let concept = try field("concept")
            let category = try field("category")
            let prompt = try field("prompt")
            let answer = try field("answer")
            let choices = try readChoices(object["choices"], answer: answer, line: line, path: path)
            let tier = try readTier(object["tier"], line: line, path: path)
            if let first = firstCategory[concept], first.category != category {
                throw InputError(path, "line \(line): concept \"\(concept)\" has category \"\(category)\", but line \(first.line) gave it \"\(first.category)\"")
            }
            firstCategory[concept] = firstCategory[concept] ?? (category, line)
            if let first = firstTier[concept], first.tier != tier {
                throw InputError(path, "line \(line): concept \"\(concept)\" has tier \(tier.map { "\"\($0.rawValue)\"" } ?? "none"), but line \(first.line) gave it \(first.tier.map { "\"\($0.rawValue)\"" } ?? "none")")
            }
            firstTier[concept] = firstTier[concept] ?? (tier, line)
            let key = concept + "\u{0}" + prompt
            if let earlier = firstAsked[key] {
                throw InputError(path, "line \(line): repeats the question on line \(earlier) (same concept and prompt)")
            }
            firstAsked[key] = line
            questions.append(ProbeQuestion(concept: concept, category: category, tier: tier, prompt: prompt,
                                           answer: answer, choices: choices, line: line))
        }
        if questions.isEmpty {
            throw InputError(path, "no questions: the file is empty (a probe set has one JSON question a line)")
        }
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        return ProbeSet(name: name, path: path, questions: questions)
    }

    private static func readTier(_ value: Any?, line: Int, path: String) throws -> ProbeTier? {
        guard let value, !(value is NSNull) else { return nil }
        guard let text = value as? String, let tier = ProbeTier(rawValue: text) else {
            throw InputError(path, "line \(line): field \"tier\" is \((value as? String).map(quoted) ?? "not a string"); a tier is \"high\", \"medium\" or \"low\"")
        }
        return tier
    }

    private static func readChoices(_ value: Any?, answer: String, line: Int, path: String) throws -> [String]? {
        guard let value, !(value is NSNull) else { return nil }
        guard let list = value as? [Any] else {
            throw InputError(path, "line \(line): field \"choices\" is not a list")
        }
        var choices: [String] = []
        for item in list {
            guard let choice = item as? String else {
                throw InputError(path, "line \(line): field \"choices\" holds something that is not a string")
            }
            if choices.contains(choice) {
                throw InputError(path, "line \(line): choice \(quoted(choice)) is listed twice")
            }
            choices.append(choice)
        }
        if choices.count < 2 {
            throw InputError(path, "line \(line): field \"choices\" needs at least two choices")
        }
        if !choices.contains(answer) {
            throw InputError(path, "line \(line): the choices do not include the answer \(quoted(answer))")
        }
        return choices
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// The probe sets shipped in `dataRoot/probes`, by name.
    public static func shippedNames(dataRoot: String) -> [String] {
        let folder = DataText.join(dataRoot, "probes")
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return entries.filter { $0.hasSuffix(".jsonl") && !$0.hasPrefix(".") }
            .map { String($0.dropLast(".jsonl".count)) }
            .sorted()
    }

    /// The file for `nameOrPath`: the path itself if it is a file, else the shipped probe set
    /// of that name (`dataRoot/probes/NAME.jsonl`).
    /// The shipped probe set `nameOrPath` names, or the file it is, labelled as the user named it.
    public static func load(named nameOrPath: String, dataRoot: String) throws -> ProbeSet {
        var probes = try load(path: locate(nameOrPath, dataRoot: dataRoot))
        probes.label = nameOrPath
        return probes
    }

    public static func locate(_ nameOrPath: String, dataRoot: String) throws -> String {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isFolder) {
            if isFolder.boolValue { throw InputError(nameOrPath, "is a folder, not a probe set file") }
            return nameOrPath
        }
        let looksLikePath = nameOrPath.contains("/") || nameOrPath.hasSuffix(".jsonl")
        if !looksLikePath && !nameOrPath.isEmpty {
            let shipped = DataText.join(DataText.join(dataRoot, "probes"), nameOrPath + ".jsonl")
            if FileManager.default.fileExists(atPath: shipped) { return shipped }
        }
        if looksLikePath { throw InputError(nameOrPath, "no such file") }
        let names = shippedNames(dataRoot: dataRoot)
        let shipped = names.isEmpty ? "none found in \(DataText.join(dataRoot, "probes"))" : names.joined(separator: ", ")
        throw InputError(nameOrPath, "no such file, and not a shipped probe set (shipped: \(shipped))")
    }
}
