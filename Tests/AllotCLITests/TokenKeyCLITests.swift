import Foundation
import PostgresTestCluster
import TestDeadlines
import Testing

/// The token key is the ledger's: a node started with another one refuses to start in one
/// sentence, before it commits anything Apple would never hear of; a token file that cannot be
/// opened holds its operations (pending, not given up) until it can.
@Suite(.timeLimit(.minutes(5))) struct TokenKeyCLITests {
    static let sqlite3 = "/usr/bin/sqlite3"

    /// A fresh random key in Base64, as `openssl rand -base64 32` makes one.
    static func anotherKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }

    /// The key beside the workspace's SQLite ledger, in Base64 (what `ALLOT_SECRET_KEY` takes).
    static func ledgerKey(_ workspace: Workspace) throws -> String {
        try #require(FileManager.default.contents(atPath: workspace.path("allot.sqlite.key"))).base64EncodedString()
    }

    @Test(.timeLimit(.minutes(5)))
    func aNodeWithAnotherKeyRefusesToStartAndCommitsNothing() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 4)
        let wrong = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices",
                                      environment: ["ALLOT_SECRET_KEY": Self.anotherKey()])
        #expect(wrong.status == 1, "\(wrong)")
        wrong.expectOneSentence(containing: "ALLOT_SECRET_KEY is not the token key this ledger was opened with")
        #expect(wrong.stdout.isEmpty)
        // Nothing committed: the ledger assigned nothing, Apple holds nothing.
        #expect(try await workspace.sharedPool()[int: "assigned"] == 0)
        #expect(try await workspace.appleAssignments().isEmpty)
        // Even a command that reads only is refused: the node would serve with a key it cannot use.
        let listing = try await workspace.run("tenant", "list", environment: ["ALLOT_SECRET_KEY": Self.anotherKey()])
        #expect(listing.status == 1, "\(listing)")

        // The ledger's own key, given the same way, is accepted.
        let right = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices",
                                      environment: ["ALLOT_SECRET_KEY": try Self.ledgerKey(workspace)])
        #expect(right.status == 0, "\(right)")
        #expect(try await workspace.appleAssignments().count == 4)
    }

    @Test(.timeLimit(.minutes(5)))
    func aLedgerWhoseKeyIsMissingIsRefusedInsteadOfGivenANewKey() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        let key = try Self.ledgerKey(workspace)
        try FileManager.default.removeItem(atPath: workspace.path("allot.sqlite.key"))
        let refused = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        #expect(refused.status == 1, "\(refused)")
        refused.expectOneSentence(containing: "set ALLOT_SECRET_KEY to the ledger's key")
        // No new key file was made: it would never open the stored tokens.
        #expect(!FileManager.default.fileExists(atPath: workspace.path("allot.sqlite.key")))
        let restored = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices",
                                         environment: ["ALLOT_SECRET_KEY": key])
        #expect(restored.status == 0, "\(restored)")
    }

    /// The mistake as it happens: a second node on the shared PostgreSQL ledger with its own key.
    @Test(.timeLimit(.minutes(5)))
    func aSecondNodeOnPostgreSQLWithAnotherKeyRefusesToStart() async throws {
        guard let server = PostgresTestServer.server else { return }
        let database = try server.createDatabase("tokenkey")
        defer { server.dropDatabase(database) }
        let workspace = try Workspace()
        workspace.environment["ALLOT_DB"] = server.url(database)
        workspace.environment["ALLOT_SECRET_KEY"] = Self.anotherKey()
        try await workspace.simulator()
        try await workspace.tenantWithDevices(count: 2)
        let added = try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("1001"))
        #expect(added.status == 0, "\(added)")

        let second = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices",
                                       environment: ["ALLOT_SECRET_KEY": Self.anotherKey()])
        #expect(second.status == 1, "\(second)")
        second.expectOneSentence(containing: "ALLOT_SECRET_KEY is not the token key this ledger was opened with")
        #expect(try await workspace.sharedPool()[int: "assigned"] == 0)
        let first = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices")
        #expect(first.status == 0, "\(first)")
        #expect(try await workspace.appleAssignments().count == 2)
    }

    @Test(.timeLimit(.minutes(5)), .enabled(if: FileManager.default.isExecutableFile(atPath: sqlite3)))
    func aLedgerWithoutACheckValueRecordsOnlyAKeyThatOpensItsTokens() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        // A ledger from before the check: no check value recorded.
        try await sql(workspace, "DELETE FROM key_check")
        let wrong = try await workspace.run("tenant", "list", environment: ["ALLOT_SECRET_KEY": Self.anotherKey()])
        #expect(wrong.status == 1, "\(wrong)")
        wrong.expectOneSentence(containing: "ALLOT_SECRET_KEY")
        #expect(try await sql(workspace, "SELECT count(*) FROM key_check") == "0")
        #expect(try await workspace.run("tenant", "list").status == 0)
        #expect(try await sql(workspace, "SELECT count(*) FROM key_check") == "1")
    }

    @Test(.timeLimit(.minutes(5)), .enabled(if: FileManager.default.isExecutableFile(atPath: sqlite3)))
    func aTokenFileThatCannotBeOpenedHoldsItsOperationsUntilItCan() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 4)
        let assigned = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--all-devices", "--no-push")
        #expect(assigned.status == 0, "\(assigned)")
        // Every stored token file replaced by bytes no key opens (a file sealed under another key).
        let stored = try await sql(workspace, "SELECT id || ':' || hex(secret) FROM tokens ORDER BY id").split(separator: "\n")
        try await sql(workspace, "UPDATE tokens SET secret = randomblob(64)")

        let held = try await workspace.run("push", "--tenant", "springfield", "--json")
        #expect(held.status == 4, "\(held)")
        let answer = try held.json()
        #expect(answer["needsAttention"] as? Bool == true)
        #expect((answer["attention"] as? [String] ?? []).contains { $0.contains("cannot be opened") && $0.contains("ALLOT_SECRET_KEY") })
        #expect(!(answer["unreadableTokens"] as? [Int] ?? []).isEmpty)
        #expect(answer[int: "failed"] == 0)
        #expect((answer[int: "unfinished"] ?? 0) >= 1)
        #expect(try await workspace.appleAssignments().isEmpty)
        let text = try await workspace.run("push", "--tenant", "springfield")
        #expect(text.status == 4, "\(text)")
        #expect(!text.stdout.contains("given up"))

        // The right file (the right key) back: the same operations go out.
        for row in stored {
            let parts = row.split(separator: ":")
            try await sql(workspace, "UPDATE tokens SET secret = X'\(parts[1])' WHERE id = \(parts[0])")
        }
        let delivered = try await workspace.run("push", "--tenant", "springfield", "--json")
        #expect(delivered.status == 0, "\(delivered)")
        #expect(try await workspace.appleAssignments().count == 4)
    }

    /// Runs one statement on the workspace's ledger with the sqlite3 shell; returns its output.
    @discardableResult
    func sql(_ workspace: Workspace, _ statement: String) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.sqlite3)
        process.arguments = [workspace.path("allot.sqlite"), statement]
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.runOneAtATime()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        await process.endedOrKilled()
        #expect(process.terminationStatus == 0, "sqlite3 failed on \(statement)")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
