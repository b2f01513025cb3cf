import Foundation

/// A folder of checkpoints of one training run, each a model folder named by its step: `step-N`
/// (as `neurotop train-demo --checkpoints` writes them) or `checkpoint-N` (as Hugging Face's
/// Trainer does).
public enum CheckpointRun {
    static let prefixes = ["step-", "checkpoint-"]

    /// The step a checkpoint folder's name gives, or nil for any other name.
    public static func step(folderName: String) -> Int? {
        for prefix in prefixes where folderName.hasPrefix(prefix) {
            let digits = folderName.dropFirst(prefix.count)
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let step = Int(digits) { return step }
        }
        return nil
    }

    /// The checkpoint folders directly inside `folder`, in step order (empty when `folder` is not
    /// a folder or holds none).
    public static func checkpoints(in folder: String) -> [(step: Int, folder: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.compactMap { name -> (step: Int, folder: String)? in
            let path = (folder as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard let step = step(folderName: name), FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
                  isDirectory.boolValue else { return nil }
            return (step, path)
        }.sorted { ($0.step, $0.folder) < ($1.step, $1.folder) }
    }
}
