// The `allot` child processes a benchmark run starts, and the guarantee that each is reaped:
// `reapAll` kills and waits for every one still running, and the caller defers it, so no path
// (a thrown error, a failed precondition's unwinding aside) leaves one behind.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class ChildProcesses {
    private var children: [Process] = []
    /// Waiting for a one-shot command (`allot sim init`) to finish.
    static let commandSecondsMax = 120.0

    /// Starts `binary arguments…` with its output in `folder/name.out` and `.err`.
    func start(_ binary: String, _ arguments: [String], folder: URL, name: String,
               environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = try Self.outputFile(folder.appendingPathComponent("\(name).out"))
        process.standardError = try Self.outputFile(folder.appendingPathComponent("\(name).err"))
        try process.run()
        children.append(process)
        return process
    }

    /// Runs a one-shot command to its end, bounded; throws unless it exits 0.
    func run(_ binary: String, _ arguments: [String], folder: URL, name: String) throws {
        let process = try start(binary, arguments, folder: folder, name: name)
        let deadline = Date().addingTimeInterval(Self.commandSecondsMax)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        guard process.terminationReason == .exit && process.terminationStatus == 0 else {
            throw BenchError("`allot \(arguments.prefix(2).joined(separator: " "))` failed (status \(process.terminationStatus)); see \(name).err")
        }
    }

    /// SIGTERM (a graceful stop), then SIGKILL if it still runs after `seconds`; waits for it.
    func stop(_ process: Process, seconds: Double = 30) {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGKILL to every child still running, then waits for each: they are throwaway (their
    /// state is in the run's temporary folder), and one that ignored SIGTERM would hang a run.
    func reapAll() {
        for child in children where child.isRunning { kill(child.processIdentifier, SIGKILL) }
        for child in children { child.waitUntilExit() }
        children.removeAll()
    }

    private static func outputFile(_ url: URL) throws -> FileHandle {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return try FileHandle(forWritingTo: url)
    }
}
