import Foundation
import Tensors

/// The data that ships with neurotop (the default model, probe sets, domains; the themes beside
/// it), found from `NEUROTOP_DATA`, or from the executable's folder upwards: an installed
/// `PREFIX/bin/neurotop` reads `PREFIX/share/neurotop/data` (as `scripts/install` lays it out),
/// a build in the checkout reads the project's `data/`.
public enum ShippedData {
    public static func root(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let explicit = environment["NEUROTOP_DATA"], !explicit.isEmpty { return explicit }
        // The running executable itself: its name alone when it was found on the PATH.
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            for candidate in [folder.appendingPathComponent("share/neurotop/data"), folder.appendingPathComponent("data")]
            where FileManager.default.fileExists(atPath: candidate.appendingPathComponent("README.md").path) {
                return candidate.path
            }
            folder.deleteLastPathComponent()
        }
        throw InputError("", "cannot find neurotop's shipped data folder (PREFIX/share/neurotop/data beside an installed PREFIX/bin/neurotop, "
                         + "or the project's data/ above a build of it); set NEUROTOP_DATA to it")
    }

    /// The model every command opens when none is named: the built-in demo model.
    public static func defaultModel(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        (try root(environment: environment) as NSString).appendingPathComponent("models/demo")
    }
}
