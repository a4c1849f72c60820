import Foundation
import TestDeadlines
import Testing

/// Bad input (issue 10.4) and the files' modes (issue 10.5): one clear sentence, nothing changed,
/// nothing from the input reaching the terminal raw.
@Suite(.timeLimit(.minutes(5))) struct BadInputCLITests {
    @Test func anImpossibleExpiryDateIsNamedOnce() async throws {
        let workspace = try Workspace()
        try await workspace.simulator()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        let json = #"{"token": "c2VjcmV0", "expDate": "2030-02-30T00:00:00+0000", "orgName": "Springfield"}"#
        let file = try workspace.write("bad.vpptoken", Data(json.utf8).base64EncodedString())
        let result = try await workspace.run("token", "add", "--tenant", "springfield", file)
        #expect(result.status == 1)
        result.expectOneSentence(containing: "(found '2030-02-30T00:00:00+0000')")
        #expect(!result.stderr.contains("printableExcerpt"))
    }

    @Test func aFolderGivenAsAFileIsOneSentence() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 1)
        let folder = workspace.path("tokens")
        for arguments in [["devices", "import", "--tenant", "springfield", folder],
                          ["assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--roster", folder],
                          ["token", "renew", "--tenant", "springfield", "1001", folder]] {
            let result = try await workspace.run(arguments: arguments)
            #expect(result.status == 1, "\(arguments): \(result)")
            result.expectOneSentence(containing: "is a folder")
            #expect(!result.stderr.contains("NSCocoaErrorDomain"))
        }
    }

    @Test func rosterLinesThatAreNotUTF8OrHoldNULAreRejectedWithTheirLineNumber() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        var bytes = Array("serial_number,name\nSER00000001,good\nSER00000002,caf".utf8) + [0xE9] + Array("\nSER00000003,nul".utf8) + [0]
        bytes += Array("byte\nSER00000004,fine\n".utf8)
        let file = workspace.path("roster.csv")
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let result = try await workspace.run("devices", "import", "--tenant", "springfield", file, "--json")
        #expect(result.status == 3, "\(result)")
        let answer = try result.json()
        #expect(answer[int: "imported"] == 2)
        #expect(answer[array: "rejected"].map { $0["line"] as? Int } == [3, 4])
        let names = try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"].compactMap { $0["name"] as? String }
        #expect(names == ["good", "fine"], "nothing stored as U+FFFD or with a NUL")
    }

    @Test func aRosterSeparatedBySemicolonsOrTabsIsRead() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        let semicolons = try workspace.write("export.csv", "Serial Number;Device Name;Group\r\nSER00000001;Room 4, north;lab\r\nSER00000002;Library;lab\r\n")
        let imported = try await workspace.run("devices", "import", "--tenant", "springfield", semicolons, "--json")
        #expect(imported.status == 0, "\(imported)")
        #expect(try imported.json()[int: "imported"] == 2)
        let names = try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"].compactMap { $0["name"] as? String }
        #expect(Set(names) == ["Room 4, north", "Library"])

        // A token that has the app: a batch of an app no token has is refused before its roster counts.
        try await workspace.simulator()
        #expect(try await workspace.run("token", "add", "--tenant", "springfield", workspace.tokenFile("1001")).status == 0)
        let tabs = try workspace.write("roster.tsv", "serial_number\tname\nSER00000001\tx\n")
        let dryRun = try await workspace.run("revoke", "--tenant", "springfield", "--app", "361309726", "--roster", tabs, "--dry-run", "--json")
        #expect(try dryRun.json()[int: "total"] == 1, "the tab roster names one device: \(dryRun)")
    }

    @Test func controlCharactersFromInputAreEscapedForPeople() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("tenant", "create", "springfield").status == 0)
        let file = try workspace.write("roster.csv", "serial_number,name\nSER00000001,\u{1B}]0;pwned\u{07}\n")
        #expect(try await workspace.run("devices", "import", "--tenant", "springfield", file).status == 0)
        let listed = try await workspace.run("devices", "list", "--tenant", "springfield")
        #expect(!listed.stdout.contains("\u{1B}") && !listed.stdout.contains("\u{07}"), "\(listed.stdout.debugDescription)")
        #expect(listed.stdout.contains("\\x1b]0;pwned\\x07"))
        let json = try await workspace.json("devices", "list", "--tenant", "springfield")[array: "devices"]
        #expect(json.first?["name"] as? String == "\u{1B}]0;pwned\u{07}", "JSON keeps the stored value exactly")
    }

    @Test func binaryGivenAsARosterIsRefusedAndNothingCommits() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<4_096).map { _ in UInt8.random(in: 0...255, using: &generator) } + [0]
        let file = workspace.path("noise.bin")
        try Data(noise).write(to: URL(fileURLWithPath: file))
        let result = try await workspace.run("assign", "--tenant", "springfield", "--app", Workspace.sharedApp, "--roster", file)
        #expect(result.status == 1)
        result.expectOneSentence(containing: "is not text")
        #expect(try await workspace.json("events", "--tenant", "springfield", "--kind", "assign_batch")[array: "events"].isEmpty)
    }

    @Test func theDatabaseAndItsFilesAreOwnerOnly() async throws {
        let workspace = try Workspace()
        try await workspace.world(devices: 2)
        let running = try workspace.launch(["serve", "--host", "127.0.0.1", "--port", String(Int.random(in: 20_000...60_000))])
        defer { running.process.stopInTheBackground() }
        // While the server holds the database open, its WAL and shared-memory files exist.
        let deadline = TestDeadlines.date(after: 10)
        while Date() < deadline && !FileManager.default.fileExists(atPath: workspace.path("allot.sqlite-shm")) {
            try await Task.sleep(for: .milliseconds(50))
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: workspace.folder.path).filter { $0.hasPrefix("allot.sqlite") }
        #expect(files.contains("allot.sqlite") && files.contains("allot.sqlite.key") && files.contains("allot.sqlite-wal"), "\(files)")
        for name in files {
            let mode = try FileManager.default.attributesOfItem(atPath: workspace.path(name))[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name) has mode \(String(mode ?? 0, radix: 8))")
        }
    }
}
