/// A problem with something the user gave us: a file, a folder, an argument.
/// `description` is the one line printed on stderr: the path first, then what is wrong.
public struct InputError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let problem: String

    public init(_ path: String, _ problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { path.isEmpty ? problem : "\(path): \(problem)" }
}
