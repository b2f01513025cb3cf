import Foundation
import Tensors

/// GGUF files where people already have them: a path, an Ollama model by name (through Ollama's
/// manifests), or a model in LM Studio's folder. Never downloads.
extension ModelLocator {
    /// The GGUF file `location` names, or nil when it names something else (a model folder or id).
    /// `ollama:NAME[:TAG]` and `lmstudio:PUBLISHER/REPO[/FILE.gguf]` always name a GGUF file; an
    /// `ORG/NAME` id names one when it is not in the Hugging Face cache but in LM Studio's folder.
    public static func ggufFile(for location: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if location.hasPrefix("ollama:") { return try ollamaModel(String(location.dropFirst("ollama:".count)), environment: environment) }
        if location.hasPrefix("lmstudio:") {
            let name = String(location.dropFirst("lmstudio:".count))
            guard let file = try lmStudioModel(name, environment: environment) else {
                throw InputError(location, "not in LM Studio's models folder (looked in \(lmStudioFolders(environment: environment).joined(separator: ", ")))")
            }
            return file
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else { return nil }
            // Ollama's blobs have no extension: the magic says what they are.
            let magic = FileHandle(forReadingAtPath: location).flatMap { try? $0.read(upToCount: 4) }
            return location.lowercased().hasSuffix(".gguf") || magic == Data("GGUF".utf8) ? location : nil
        }
        if location.lowercased().hasSuffix(".gguf") { throw InputError(location, "no such file") }
        // An id in the Hugging Face cache is a folder; only when it is not there, LM Studio's.
        if modelID(location) != nil, (try? folder(for: location, environment: environment)) == nil {
            return try lmStudioModel(location, environment: environment)
        }
        return nil
    }

    private static func home(_ environment: [String: String]) -> String {
        environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
    }

    // MARK: Ollama

    /// Ollama's models folder: `OLLAMA_MODELS`, else `~/.ollama/models`.
    public static func ollamaFolder(environment: [String: String]) -> String {
        if let folder = environment["OLLAMA_MODELS"], !folder.isEmpty { return folder }
        return (home(environment) as NSString).appendingPathComponent(".ollama/models")
    }

    /// The GGUF blob of an Ollama model. `NAME[:TAG]` (tag `latest` by default) is looked up as
    /// Ollama does: `manifests/registry.ollama.ai/library/NAME/TAG`, or with a namespace
    /// (`USER/NAME`) or a host (`HOST/USER/NAME`) in place of the default ones. The manifest's
    /// layer of media type `application/vnd.ollama.image.model` names the blob by its digest.
    static func ollamaModel(_ reference: String, environment: [String: String]) throws -> String {
        let root = ollamaFolder(environment: environment)
        let shown = "ollama:\(reference)"
        var name = reference, tag = "latest"
        if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
            name = String(reference[..<colon])
            tag = String(reference[reference.index(after: colon)...])
        }
        var parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !name.isEmpty, !tag.isEmpty, parts.count <= 3, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }), !tag.contains("/") else {
            throw InputError(shown, "not an Ollama model name (NAME[:TAG], USER/NAME[:TAG] or HOST/USER/NAME[:TAG])")
        }
        if parts.count == 1 { parts.insert("library", at: 0) }
        if parts.count == 2 { parts.insert("registry.ollama.ai", at: 0) }
        let manifest = ([root, "manifests"] + parts + [tag]).joined(separator: "/")
        guard let data = FileManager.default.contents(atPath: manifest) else {
            throw InputError(shown, "no Ollama manifest at \(manifest); neurotop never downloads: `ollama pull \(reference)` first, or set OLLAMA_MODELS")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let layers = object["layers"] as? [[String: Any]] else {
            throw InputError(manifest, "not an Ollama manifest (a JSON object with layers)")
        }
        guard let layer = layers.first(where: { $0["mediaType"] as? String == "application/vnd.ollama.image.model" }) else {
            throw InputError(manifest, "no model layer (application/vnd.ollama.image.model)")
        }
        guard let digest = layer["digest"] as? String, digest.hasPrefix("sha256:"),
              digest.dropFirst(7).allSatisfy({ $0.isHexDigit }) else {
            throw InputError(manifest, "the model layer has no sha256 digest")
        }
        let blob = (root as NSString).appendingPathComponent("blobs/sha256-\(digest.dropFirst(7))")
        guard FileManager.default.fileExists(atPath: blob) else {
            throw InputError(manifest, "names blob \(blob), which is missing")
        }
        return blob
    }

    // MARK: LM Studio

    /// LM Studio's models folders that exist: `~/.lmstudio/models`, `~/.cache/lm-studio/models`.
    public static func lmStudioFolders(environment: [String: String]) -> [String] {
        [".lmstudio/models", ".cache/lm-studio/models"].map { (home(environment) as NSString).appendingPathComponent($0) }
    }

    /// `PUBLISHER/REPO/FILE.gguf`, or `PUBLISHER/REPO` when that folder holds one model file
    /// (vision projectors, `mmproj-*.gguf`, are not models).
    static func lmStudioModel(_ name: String, environment: [String: String]) throws -> String? {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw InputError("lmstudio:\(name)", "not an LM Studio model name (PUBLISHER/REPO or PUBLISHER/REPO/FILE.gguf)")
        }
        for root in lmStudioFolders(environment: environment) {
            let path = (root as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if !isDirectory.boolValue { return path }
            let models = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
                .filter { $0.lowercased().hasSuffix(".gguf") && !$0.lowercased().hasPrefix("mmproj") }.sorted()
            if models.count == 1 { return (path as NSString).appendingPathComponent(models[0]) }
            if models.isEmpty { throw InputError(path, "no .gguf file in this LM Studio model folder") }
            throw InputError(path, "several GGUF files (\(models.joined(separator: ", "))): name one, e.g. lmstudio:\(name)/\(models[0])")
        }
        return nil
    }
}
