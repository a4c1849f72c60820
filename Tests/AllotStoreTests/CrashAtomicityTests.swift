import AllotCore
import AllotStore
import Foundation
import TestDeadlines
import Testing

/// Invariant 4: a crash at any instant leaves every batch whole or absent. A child process writes
/// batches and is killed with SIGKILL at random moments; after each kill the database is
/// reopened and checked.
@Suite(.timeLimit(.minutes(5))) struct CrashAtomicityTests {
    static let rounds = 25
    /// How long the writer runs before it is killed, at most, once set up.
    static let runMillisecondsMax = 400
    static let readyWaitSeconds = 60.0

    /// `swift test` builds every executable next to the test bundle.
    static func writerURL() throws -> URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var candidates = [exe.deletingLastPathComponent()]
        if let first = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: first).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        // On Linux the test binary may sit in the build folder itself or one level below.
        candidates += candidates.map { $0.deletingLastPathComponent() }
        for folder in candidates {
            let url = folder.appendingPathComponent("LedgerCrashWriter")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw WriterMissing(searched: candidates.map(\.path))
    }

    struct WriterMissing: Error, CustomStringConvertible {
        let searched: [String]
        var description: String { "LedgerCrashWriter is not built; looked in \(searched)" }
    }

    @Test func killingAWriterAtRandomMomentsLeavesEveryBatchWholeOrAbsent() async throws {
        let writer = try Self.writerURL()
        let folder = try TemporaryFolder()
        let path = folder.path("crash.sqlite")
        var rng = SplitMix64(seed: 0xC0FFEE)
        var batchesSeen: [Int] = []

        for round in 0..<Self.rounds {
            try? FileManager.default.removeItem(atPath: path + ".ready")
            let process = Process()
            process.executableURL = writer
            process.arguments = [path, String(rng.next() % 1_000_000)]
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.runOneAtATime()

            let deadline = TestDeadlines.date(after: Self.readyWaitSeconds)
            while !FileManager.default.fileExists(atPath: path + ".ready") && process.isRunning && Date() < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            guard process.isRunning else {
                let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                Issue.record("round \(round): the writer stopped on its own (status \(process.terminationStatus)): \(message)")
                return
            }
            // Some rounds kill during setup too (no ready file yet after the deadline is not a failure).
            try await Task.sleep(for: .milliseconds(Int(rng.next() % UInt64(Self.runMillisecondsMax))))
            kill(process.processIdentifier, SIGKILL)
            await process.endedOrKilled(within: 30)
            #expect(process.terminationReason == .uncaughtSignal, "round \(round)")

            let ledger = try Ledger(path: path)
            let problems = try ledgerInvariantViolations(ledger.database)
            #expect(problems == [], "round \(round)")
            // Each committed batch has exactly one event, written in its transaction.
            let unmatched = try ledger.database.query("""
                SELECT b.id, b.kind FROM batches b
                LEFT JOIN (SELECT CAST(json_extract(detail, '$.batchId') AS INTEGER) AS batch_id, kind, count(*) AS n FROM events
                           WHERE kind IN ('assign_batch', 'revoke_batch') GROUP BY 1, 2) e
                       ON e.batch_id = b.id AND e.kind = b.kind || '_batch'
                WHERE b.kind IN ('assign', 'revoke') AND coalesce(e.n, 0) != 1
                """) { "\($0.int64(0)) \($0.string(1))" }
            #expect(unmatched == [], "round \(round): batches without exactly one event")
            // The assignments that survive are exactly the inserts less the deletes of all committed batches.
            let surviving = try ledger.database.queryFirst("SELECT count(*) FROM assignments") { $0.int(0) } ?? 0
            let net = try ledger.database.queryFirst("""
                SELECT coalesce(sum(CASE kind WHEN 'assign' THEN changed_count ELSE -changed_count END), 0) FROM batches
                """) { $0.int(0) } ?? 0
            #expect(surviving == net, "round \(round): \(surviving) assignments but the batches add up to \(net)")
            batchesSeen.append(try ledger.database.queryFirst("SELECT count(*) FROM batches") { $0.int(0) } ?? 0)
            if !problems.isEmpty { return }
        }
        // The writer did write between kills: the test tested something.
        #expect((batchesSeen.last ?? 0) > Self.rounds, "batches after each round: \(batchesSeen)")
    }
}
