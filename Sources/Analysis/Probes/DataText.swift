import Foundation
import Tensors

/// Reading the line-based text files neurotop takes as data (probe sets, domain corpora):
/// UTF-8 with or without a byte-order mark, LF or CRLF line ends. Problems are reported
/// against the file, with the line number where there is one.
enum DataText {
    /// The bytes of the file at `path`; `kind` names what the file should be ("probe set").
    static func contents(of path: String, kind: String) throws -> [UInt8] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw InputError(path, "no such file")
        }
        if isFolder.boolValue { throw InputError(path, "is a folder, not a \(kind) file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw InputError(path, "cannot read the file")
        }
        return [UInt8](data)
    }

    /// The file's lines, without their line ends; line `n` of the file is element `n - 1`.
    /// A leading byte-order mark is dropped and a carriage return before a line feed removed.
    static func lines(of path: String, kind: String) throws -> [String] {
        let bytes = try contents(of: path, kind: kind)
        var start = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var lines: [String] = []
        var index = start
        while index <= bytes.count {
            if index == bytes.count || bytes[index] == 0x0A {
                var end = index
                if end > start && bytes[end - 1] == 0x0D { end -= 1 }
                guard let line = String(validating: bytes[start..<end], as: UTF8.self) else {
                    throw InputError(path, "line \(lines.count + 1): not valid UTF-8 text")
                }
                lines.append(line)
                start = index + 1
            }
            index += 1
        }
        return lines
    }

    static func isBlank(_ line: String) -> Bool {
        line.allSatisfy { $0.isWhitespace }
    }

    /// The JSON object on a line of a JSON Lines file.
    static func object(_ line: String, number: Int, path: String) throws -> [String: Any] {
        guard let value = try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed]) else {
            throw InputError(path, "line \(number): not valid JSON")
        }
        guard let object = value as? [String: Any] else {
            throw InputError(path, "line \(number): not a JSON object")
        }
        return object
    }

    /// A required, non-blank string field of a JSON Lines record.
    static func string(_ key: String, in object: [String: Any], line: Int, path: String) throws -> String {
        guard let value = object[key] else { throw InputError(path, "line \(line): missing field \"\(key)\"") }
        guard let text = value as? String else { throw InputError(path, "line \(line): field \"\(key)\" is not a string") }
        if isBlank(text) { throw InputError(path, "line \(line): field \"\(key)\" is empty") }
        return text
    }

    static func exists(folder path: String) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
    }

    static func join(_ folder: String, _ name: String) -> String {
        (folder as NSString).appendingPathComponent(name)
    }
}
