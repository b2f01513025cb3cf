import Foundation
import Model
import Tensors

/// An ablation set on disk: one `BLOCK:INDEX` a line, `#` comments; commas also separate, so a
/// `--neurons` list reads too.
public enum AblationFile {
    public static func write(_ neurons: [NeuronID], to path: String) throws {
        let path = (path as NSString).expandingTildeInPath
        let text = "# neurotop ablation set: BLOCK:INDEX, one a line\n" + neurons.map { "\($0)\n" }.joined()
        do { try text.write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw InputError(path, "cannot write the ablation set (\(error.localizedDescription))")
        }
    }

    public static func read(_ path: String) throws -> [NeuronID] {
        let path = (path as NSString).expandingTildeInPath
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw InputError(path, "cannot read the ablation set")
        }
        var neurons: [NeuronID] = []
        for (offset, line) in text.components(separatedBy: "\n").enumerated() {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !content.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            do { neurons += try NeuronID.parseList(content) } catch let error as InputError {
                throw InputError(path, "line \(offset + 1): \(error.problem)")
            }
        }
        return neurons
    }
}
