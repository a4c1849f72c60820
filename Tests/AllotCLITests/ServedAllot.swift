import Foundation
import TestDeadlines

/// `allot serve` started by a test on any free port, and the base URL it said it serves on.
enum ServedAllot {
    /// Bounded: a node that never says it serves is killed, reaped and reported.
    static let startSecondsMax = 60.0

    /// Starts `allot serve ARGUMENTS…` in the workspace, its log in `log` there.
    static func start(_ workspace: Workspace, arguments: [String], environment extra: [String: String] = [:],
                      log: String = "serve.err") async throws -> (process: Process, base: String) {
        let logPath = workspace.path(log)
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AllotBinary.path)
        process.arguments = ["serve", "--port", "0"] + arguments
        process.environment = workspace.environment.merging(extra) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.runOneAtATime()
        let deadline = TestDeadlines.date(after: startSecondsMax)
        while Date() < deadline && process.isRunning {
            if let base = servingURL(logPath) { return (process, base) }
            try await Task.sleep(for: .milliseconds(100))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        await process.endedOrKilled()
        let text = String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
        throw ServeNeverStarted(log: text)
    }

    private static func servingURL(_ logPath: String) -> String? {
        let text = String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
        guard let range = text.range(of: #"serving the HTTP API on (http://[0-9.]+:[0-9]+)"#, options: .regularExpression) else { return nil }
        let match = String(text[range])
        return String(match[match.range(of: "http://")!.lowerBound...])
    }
}

struct ServeNeverStarted: Error, CustomStringConvertible {
    let log: String
    var description: String { "allot serve never said it was serving; its log: \(log)" }
}
