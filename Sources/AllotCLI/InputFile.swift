import Foundation

/// Files named on the command line.
enum InputFile {
    /// A file's bytes at most this size; a roster of two million lines fits.
    static let bytesMax = 256 * 1024 * 1024

    static func read(_ path: String, what: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CLIError("cannot read the \(what) file '\(path)'; check the path and its permissions")
        }
        defer { try? handle.close() }
        let data = try handle.read(upToCount: bytesMax + 1) ?? Data()
        guard data.count <= bytesMax else {
            throw CLIError("the \(what) file '\(path)' is larger than \(bytesMax / 1024 / 1024) MB; split it")
        }
        return [UInt8](data)
    }
}
