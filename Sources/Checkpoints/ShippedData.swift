import Foundation
import Tensors

/// The data that ships with neurotop (the default model, later probe sets and domains),
/// found from `NEUROTOP_DATA` or by walking up from the executable to the project's `data/`.
public enum ShippedData {
    public static func root(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let explicit = environment["NEUROTOP_DATA"], !explicit.isEmpty { return explicit }
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = folder.appendingPathComponent("data")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("README.md").path) {
                return candidate.path
            }
            folder.deleteLastPathComponent()
        }
        throw InputError("", "cannot find neurotop's shipped data folder; set NEUROTOP_DATA to the project's data/ folder")
    }

    /// The model every command opens when none is named: the built-in demo model.
    public static func defaultModel(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        (try root(environment: environment) as NSString).appendingPathComponent("models/demo")
    }
}
