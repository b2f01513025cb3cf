import Foundation
import Tensors

/// Text samples grouped by domain, for the parameter-activation analysis (METHODS.md,
/// "Formats"): a folder with one file a domain, `NAME.txt` (samples separated by one or more
/// blank lines, each sample trimmed) or `NAME.jsonl` (`{"text": ...}` a line, blank lines
/// skipped, the text taken exactly as written). Other files, subfolders and hidden files are
/// ignored.
public struct DomainCorpus: Sendable {
    public struct Domain: Sendable, Equatable {
        public let name: String
        public let path: String
        public let samples: [String]

        public init(name: String, path: String = "", samples: [String]) {
            self.name = name
            self.path = path
            self.samples = samples
        }
    }

    public let path: String
    /// How the user named it, for captions and exports: "default" for the shipped corpora, a
    /// folder's path as given (never made absolute).
    public private(set) var label: String
    /// Sorted by name.
    public let domains: [Domain]

    public init(path: String = "", domains: [Domain]) {
        self.path = path
        label = path
        self.domains = domains.sorted { $0.name < $1.name }
    }

    public func domain(named name: String) -> Domain? {
        domains.first { $0.name == name }
    }

    /// The name that stands for the shipped corpora, `dataRoot/domains`.
    public static let defaultName = "default"

    /// Reads every domain file of `folder`; every problem names the file (and line).
    public static func load(folder: String) throws -> DomainCorpus {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw InputError(folder, "no such folder")
        }
        guard isFolder.boolValue else {
            throw InputError(folder, "not a folder: domain corpora are a folder with one NAME.txt or NAME.jsonl file a domain")
        }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
            throw InputError(folder, "cannot list the folder")
        }
        var files: [(name: String, file: String)] = []
        for entry in entries.sorted() where !entry.hasPrefix(".") {
            let ext = (entry as NSString).pathExtension.lowercased()
            guard ext == "txt" || ext == "jsonl" else { continue }
            let file = DataText.join(folder, entry)
            var entryIsFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &entryIsFolder), !entryIsFolder.boolValue else { continue }
            let name = (entry as NSString).deletingPathExtension
            if let other = files.first(where: { $0.name == name }) {
                throw InputError(folder, "domain \"\(name)\" is given twice (\((other.file as NSString).lastPathComponent) and \(entry))")
            }
            files.append((name, file))
        }
        if files.isEmpty {
            throw InputError(folder, "no domain files: the folder should hold one NAME.txt or NAME.jsonl file a domain")
        }
        let domains = try files.map { name, file in
            let samples = file.lowercased().hasSuffix(".jsonl") ? try jsonlSamples(file) : try textSamples(file)
            if samples.isEmpty { throw InputError(file, "no samples: the file is empty") }
            return Domain(name: name, path: file, samples: samples)
        }
        return DomainCorpus(path: folder, domains: domains)
    }

    static func textSamples(_ file: String) throws -> [String] {
        var samples: [String] = []
        var current: [String] = []
        func finish() {
            let sample = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
            if !sample.isEmpty { samples.append(sample) }
            current.removeAll()
        }
        for line in try DataText.lines(of: file, kind: "domain") {
            if DataText.isBlank(line) { finish() } else { current.append(line) }
        }
        finish()
        return samples
    }

    static func jsonlSamples(_ file: String) throws -> [String] {
        var samples: [String] = []
        for (offset, line) in try DataText.lines(of: file, kind: "domain").enumerated() where !DataText.isBlank(line) {
            let object = try DataText.object(line, number: offset + 1, path: file)
            samples.append(try DataText.string("text", in: object, line: offset + 1, path: file))
        }
        return samples
    }

    /// The folder for `nameOrPath`: "default" is the shipped corpora (`dataRoot/domains`),
    /// anything else a folder path.
    /// The shipped corpora (`default`) or the folder `nameOrPath`, labelled as the user named it.
    public static func load(named nameOrPath: String, dataRoot: String) throws -> DomainCorpus {
        var corpus = try load(folder: locate(nameOrPath, dataRoot: dataRoot))
        corpus.label = nameOrPath
        return corpus
    }

    public static func locate(_ nameOrPath: String, dataRoot: String) throws -> String {
        if nameOrPath == defaultName { return DataText.join(dataRoot, "domains") }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isFolder) else {
            throw InputError(nameOrPath, "no such folder (\"\(defaultName)\" names the shipped corpora in \(DataText.join(dataRoot, "domains")))")
        }
        guard isFolder.boolValue else {
            throw InputError(nameOrPath, "not a folder: domain corpora are a folder with one NAME.txt or NAME.jsonl file a domain")
        }
        return nameOrPath
    }
}
