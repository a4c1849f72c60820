import Foundation

/// Files named on the command line.
enum InputFile {
    /// A file's bytes at most this size; a roster of two million lines fits.
    static let bytesMax = 256 * 1024 * 1024

    /// The bytes of `path`, or of standard input for `-`. Never echoes what it read: a file
    /// given by mistake may be a secret.
    static func read(_ path: String, what: String) throws -> [UInt8] {
        let shown = Text.printable(path)
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                throw CLIError("the path '\(shown)' is a folder, not a \(what) file; name the file inside it")
            }
            guard let opened = FileHandle(forReadingAtPath: path) else {
                throw CLIError("cannot read the \(what) file '\(shown)'; check the path and its permissions")
            }
            handle = opened
        }
        defer { if path != "-" { try? handle.close() } }
        let data: Data
        do {
            data = try handle.read(upToCount: bytesMax + 1) ?? Data()
        } catch {
            throw CLIError("cannot read the \(what) file '\(shown)' (\(error.localizedDescription)); check that it is a file")
        }
        guard data.count <= bytesMax else {
            throw CLIError("the \(what) file '\(shown)' is larger than \(bytesMax / 1024 / 1024) MB; split it")
        }
        return [UInt8](data)
    }

    /// Whether bytes are text: UTF-8 with no NUL. Binary data (an image, a token's decoded
    /// bytes, random bytes) is not.
    static func isText(_ bytes: [UInt8]) -> Bool {
        !bytes.contains(0) && String(validating: bytes, as: UTF8.self) != nil
    }
}
