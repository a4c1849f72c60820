import Foundation
import TestDeadlines
import Testing

/// Roll-outs larger than one batch (issue 16.1): chunks that each commit whole, one transaction
/// for all-or-nothing and dry-run, one summary, Ctrl-C between chunks. Small chunk sizes stand in
/// for a million devices.
@Suite(.timeLimit(.minutes(5))) struct RollOutCLITests {
    @Test func aRollOutCommitsEachChunkAndSumsTheCounts() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 25)
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices",
                                       "--chunk-size", "10", "--json")
        #expect(result.status == 3, "committed with failures: \(result)")
        let answer = try result.json()
        #expect(answer[object: "counts"]["assigned"] as? Int == 15)
        #expect(answer[object: "counts"]["no_license"] as? Int == 10)
        #expect((answer["batchIds"] as? [Int])?.count == 3, "one batch per chunk of 10")
        #expect(answer["batchId"] as? Int == (answer["batchIds"] as? [Int])?.first)
        #expect(answer[int: "chunks"] == 3)
        #expect(answer[int: "total"] == 25)
        #expect(answer[int: "decided"] == 25)
        #expect(answer["interrupted"] as? Bool == false)
        #expect(answer[array: "items"].count == 25, "a selection within 100,000 lists every item")
        #expect(try await workspace.sharedPool()[int: "assigned"] == 15)
        #expect(try await workspace.appleAssignments().count == 15, "every chunk reached Apple")

        let text = try await workspace.run("revoke", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--chunk-size", "10")
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("(3 chunks): revoke 361309726:STDQ on 25 devices: 15 revoked, 10 not_assigned."), "\(text.stdout)")
        #expect(try await workspace.sharedPool()[int: "assigned"] == 0)
    }

    @Test func allOrNothingOverManyChunksCommitsWholeOrNotAtAll() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 16)
        let refused = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices",
                                        "--chunk-size", "5", "--all-or-nothing", "--json")
        #expect(refused.status == 1, "\(refused)")
        let answer = try refused.json()
        #expect(answer["batchId"] is NSNull)
        #expect(answer[object: "counts"]["no_license"] as? Int == 1, "the last chunk sees what the first three spent")
        #expect(answer[object: "counts"]["assigned"] as? Int == 15)
        #expect(try await workspace.sharedPool()[int: "assigned"] == 0, "chunks 1 to 3 rolled back with chunk 4")
        #expect(try await workspace.appleAssignments().isEmpty)

        let fits = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--group", "library",
                                     "--chunk-size", "3", "--all-or-nothing", "--json")
        #expect(fits.status == 0, "\(fits)")
        #expect((try fits.json()["batchIds"] as? [Int])?.count == 1, "one transaction, one batch")
        #expect(try await workspace.sharedPool()[int: "assigned"] == 8)
    }

    @Test func aDryRunOverManyChunksDecidesLikeOneBatchAndChangesNothing() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 20)
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices",
                                       "--chunk-size", "3", "--dry-run", "--json")
        #expect(result.status == 1, "a dry run with failures: \(result)")
        let answer = try result.json()
        #expect(answer[object: "counts"]["assigned"] as? Int == 15)
        #expect(answer[object: "counts"]["no_license"] as? Int == 5)
        #expect(answer[int: "chunks"] == 7)
        #expect(try await workspace.sharedPool()[int: "assigned"] == 0)
    }

    @Test func ctrlCStopsBetweenChunksAndSummarisesWhatCommitted() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 20_000)
        let running = try workspace.launch(["assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices",
                                            "--chunk-size", "2", "--no-push", "--json"])
        // Wait until some chunks have committed (their batch events are visible), then Ctrl-C.
        // The look is launched at once, not queued for a child slot: on a loaded run the queue
        // outlasted the whole roll-out, which then ended before the Ctrl-C.
        let deadline = TestDeadlines.date(after: 30)
        while Date() < deadline {
            let events = try await workspace.launch(["events", "--tenant", "springfield", "--kind", "assign_batch", "--limit", "1", "--json"]).wait()
            if events.status == 0, try !events.json()[array: "events"].isEmpty { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        running.process.interrupt()
        let result = try await running.wait()
        #expect(result.status == 130, "\(result)")
        let answer = try result.json()
        #expect(answer["interrupted"] as? Bool == true)
        let decided = try #require(answer[int: "decided"])
        #expect(decided > 0 && decided < 20_000, "stopped between chunks: \(decided)")
        #expect(decided % 2 == 0, "whole chunks only")
        #expect((answer["batchIds"] as? [Int])?.count == decided / 2)
        let assigned = answer[object: "counts"]["assigned"] as? Int ?? 0
        #expect(try await workspace.sharedPool()[int: "assigned"] == assigned, "the summary is what committed")
    }
}

/// A run of `allot` in the background.
struct RunningCLI {
    let process: Process
    let outPath: String
    let errPath: String

    /// Bounded: a run still going after the harness's limit is stopped, reaped and reported.
    func wait() async throws -> CLIResult {
        guard await process.endedOrKilled() else {
            throw ChildProcessStuck(arguments: process.arguments ?? [], seconds: TestDeadlines.childProcessSecondsMax)
        }
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        return CLIResult(status: process.terminationStatus,
                         stdout: String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self),
                         stderr: String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self))
    }
}

extension Workspace {
    /// Starts `allot ARGS…` without waiting for it.
    func launch(_ arguments: [String], stdin: Data? = nil) throws -> RunningCLI {
        let id = UUID().uuidString
        let outPath = path(".out-\(id)"), errPath = path(".err-\(id)")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AllotBinary.path)
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = folder
        if let stdin {
            let inPath = path(".in-\(id)")
            FileManager.default.createFile(atPath: inPath, contents: stdin)
            process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: inPath))
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        try process.runOneAtATime()
        return RunningCLI(process: process, outPath: outPath, errPath: errPath)
    }

    /// Runs `allot ARGS…` with `stdin` as its standard input.
    func run(_ arguments: [String], stdin: Data) async throws -> CLIResult {
        try await launch(arguments, stdin: stdin).wait()
    }
}
