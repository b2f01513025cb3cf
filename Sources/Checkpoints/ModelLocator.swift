import Foundation
import Tensors

/// Turns what the user typed into a model folder: a path, or a model id (`Qwen/Qwen2.5-0.5B`)
/// found in the local Hugging Face cache. Never downloads.
public enum ModelLocator {
    /// Where the Hugging Face hub cache is: `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`.
    public static func hubCache(environment: [String: String]) -> String {
        if let cache = environment["HF_HUB_CACHE"], !cache.isEmpty { return cache }
        if let home = environment["HF_HOME"], !home.isEmpty { return (home as NSString).appendingPathComponent("hub") }
        let userHome = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return (userHome as NSString).appendingPathComponent(".cache/huggingface/hub")
    }

    /// The folder holding the model named by `location`.
    public static func folder(for location: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return location }
            if PickleRefusal.isPickle(location) { throw PickleRefusal.error(location) }
            // A file inside a model folder (config.json, model.safetensors) names its folder.
            return (location as NSString).deletingLastPathComponent.isEmpty ? "." : (location as NSString).deletingLastPathComponent
        }
        guard let (organisation, name) = modelID(location) else {
            throw InputError(location, "no such file or folder")
        }
        let cache = hubCache(environment: environment)
        let repository = (cache as NSString).appendingPathComponent("models--\(organisation)--\(name)")
        let snapshots = (repository as NSString).appendingPathComponent("snapshots")
        if let revision = try? String(contentsOfFile: (repository as NSString).appendingPathComponent("refs/main"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !revision.isEmpty {
            let folder = (snapshots as NSString).appendingPathComponent(revision)
            if FileManager.default.fileExists(atPath: folder) { return folder }
        }
        let revisions = (try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? []
        let newest = revisions
            .map { (snapshots as NSString).appendingPathComponent($0) }
            .max { modificationDate($0) < modificationDate($1) }
        guard let newest else {
            throw InputError(location, "not a folder, and not in the Hugging Face cache (looked for \(snapshots)/*); neurotop never downloads: put the model there or pass its folder")
        }
        return newest
    }

    /// `ORG/NAME` (one slash, no path-like prefix), as model ids are written.
    static func modelID(_ text: String) -> (String, String)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[0] != ".", parts[0] != "..", parts[0] != "~" else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    private static func modificationDate(_ path: String) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date) ?? .distantPast
    }
}

/// PyTorch pickles are never opened: unpickling runs arbitrary code.
enum PickleRefusal {
    static let suffixes = [".bin", ".pt", ".pth", ".ckpt", ".pkl"]

    static func isPickle(_ path: String) -> Bool { suffixes.contains { path.hasSuffix($0) } }

    static func error(_ path: String) -> InputError {
        InputError(path, "PyTorch pickle files are not read (unpickling runs code); convert the model to safetensors, e.g. in Python: AutoModelForCausalLM.from_pretrained(DIR).save_pretrained(DIR, safe_serialization=True)")
    }
}
