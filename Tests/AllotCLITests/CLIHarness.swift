import Foundation
import TestDeadlines
import Testing

/// The built `allot` binary: beside the test bundle (`swift build --build-tests` puts both in
/// the same folder), or `$ALLOT_BINARY`.
enum AllotBinary {
    static let path: String = {
        if let explicit = ProcessInfo.processInfo.environment["ALLOT_BINARY"], !explicit.isEmpty { return explicit }
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var folder = URL(fileURLWithPath: runner).deletingLastPathComponent()
        // On macOS the runner sits inside a bundle: climb out of it.
        while folder.path.contains(".xctest") { folder.deleteLastPathComponent() }
        return folder.appendingPathComponent("allot").path
    }()
}

/// What one run of `allot` did.
struct CLIResult: CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String
    /// From the child's start to its exit: not the wait for a slot to start it in.
    var seconds = 0.0

    /// stdout as the one JSON object `--json` promises.
    func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        return try #require(object as? [String: Any], "stdout is not one JSON object: \(stdout)", sourceLocation: sourceLocation)
    }

    /// A refusal speaks once: one line on stderr, a sentence with a capital and a full stop.
    func expectOneSentence(containing fragment: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "stderr should be one sentence: \(stderr)", sourceLocation: sourceLocation)
        let line = lines.first.map(String.init) ?? ""
        #expect(line.first?.isUppercase == true, "starts with a capital: \(line)", sourceLocation: sourceLocation)
        #expect(line.hasSuffix("."), "ends with a full stop: \(line)", sourceLocation: sourceLocation)
        if let fragment { #expect(line.contains(fragment), "mentions '\(fragment)': \(line)", sourceLocation: sourceLocation) }
    }

    var description: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
}

/// A temporary folder with its own database: each test runs `allot` there, alone.
final class Workspace: @unchecked Sendable {
    let folder: URL
    var environment: [String: String]

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("allot-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ALLOT_") }
        environment["ALLOT_DB"] = path("allot.sqlite")
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// Runs `allot ARGS…` in the folder. Output goes through files, so a large answer cannot
    /// fill a pipe and stall the child. The wait for the child runs off Swift's cooperative
    /// pool (`OffThePool`), so a slow child never holds a thread another test needs, and a few
    /// children run at once (`ChildProcessSlots`).
    @discardableResult
    func run(_ arguments: String..., environment extra: [String: String] = [:]) async throws -> CLIResult {
        try await run(arguments: arguments, environment: extra)
    }

    @discardableResult
    func run(arguments: [String], environment extra: [String: String] = [:]) async throws -> CLIResult {
        try await ChildProcessSlots.shared.withSlot {
            try await OffThePool.run { try self.runWaiting(arguments: arguments, environment: extra) }
        }
    }

    private func runWaiting(arguments: [String], environment extra: [String: String]) throws -> CLIResult {
        let id = UUID().uuidString
        let outPath = path(".out-\(id)"), errPath = path(".err-\(id)")
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        // Bounded: a child that hangs is stopped and reaped, and the test fails saying so,
        // instead of the run hanging with a stuck process.
        let started = Date()
        let ending = try ChildProcess.run(AllotBinary.path, arguments, environment: environment.merging(extra) { $1 },
                                          directory: folder.path, standardOutput: outPath, standardError: errPath,
                                          secondsMax: TestDeadlines.childProcessSecondsMax)
        let status: Int32
        switch ending {
        case .exited(let code): status = code
        // As Foundation's `terminationStatus` says it: the signal's number.
        case .signalled(let signal): status = signal
        case .stoppedAfterBound: throw ChildProcessStuck(arguments: arguments, seconds: TestDeadlines.childProcessSecondsMax)
        }
        return CLIResult(status: status,
                         stdout: String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self),
                         stderr: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self),
                         seconds: Date().timeIntervalSince(started))
    }

    /// Runs and requires exit 0, returning the JSON object printed.
    func json(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let result = try await run(arguments: arguments + ["--json"])
        #expect(result.status == 0, "\(arguments.joined(separator: " ")) failed: \(result)", sourceLocation: sourceLocation)
        return try result.json(sourceLocation: sourceLocation)
    }

    /// A tenant with a roster of `count` devices SER00000001…, half in group `lab`.
    func tenantWithDevices(_ slug: String = "springfield", count: Int) async throws {
        let created = try await run("tenant", "create", slug)
        #expect(created.status == 0, "\(created)")
        var csv = "serial_number,name,model,group\n"
        for index in 1...count { csv += "\(Self.serial(index)),Device \(index),iPad,\(index % 2 == 0 ? "lab" : "library")\n" }
        let imported = try await run("devices", "import", "--tenant", slug, write("roster-\(slug).csv", csv))
        #expect(imported.status == 0, "\(imported)")
    }

    static func serial(_ index: Int) -> String { "SER" + String(format: "%08d", index) }
}

extension [String: Any] {
    subscript(int key: String) -> Int? { self[key] as? Int }
    subscript(array key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
    subscript(object key: String) -> [String: Any] { self[key] as? [String: Any] ?? [:] }
}

/// A child `allot` that did not exit within its bound; it was stopped and reaped.
struct ChildProcessStuck: Error, CustomStringConvertible {
    let arguments: [String]
    let seconds: Double
    var description: String { "allot \(arguments.joined(separator: " ")) was still running after \(Int(seconds)) s; it was stopped" }
}
