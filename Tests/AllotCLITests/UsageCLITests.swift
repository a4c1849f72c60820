import Foundation
import Testing

/// Exit code 2: the command line is wrong, and nothing was looked at or changed.
@Suite(.timeLimit(.minutes(5))) struct UsageCLITests {
    @Test(arguments: [
        ["assign", "--tenant", "springfield", "--app", "361309726"],
        ["assign", "--tenant", "springfield", "--app", "361309726", "--group", "lab", "--all-devices"],
        ["assign", "--tenant", "springfield", "--app", "36130x726", "--all-devices"],
        ["assign", "--tenant", "springfield", "--app", "361309726:GOLD", "--all-devices"],
        ["assign", "--tenant", "springfield", "--app", "361309726", "--all-devices", "--dry-run", "--all-or-nothing"],
        ["revoke", "--tenant", "springfield", "--all-devices"],
        ["assign", "--tenant", "Spring Field", "--app", "361309726", "--all-devices"],
        ["events", "--tenant", "springfield", "--limit", "0"],
        ["devices", "retire", "--tenant", "springfield"],
        ["devices", "import", "--tenant", "springfield"],
        ["tenant", "list", "--apple", "ftp://example.com"],
        ["tenant", "list", "--apple", "sim:"],
        ["frobnicate"],
        ["tenant", "create"],
    ])
    func aWrongCommandLineExitsWithTwo(_ arguments: [String]) async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "springfield")
        let result = try await workspace.run(arguments: arguments)
        #expect(result.status == 2, "\(arguments): \(result)")
        #expect(result.stdout.isEmpty)
        #expect(!result.stderr.isEmpty)
    }

    @Test func aBadAppleSpecInTheEnvironmentIsAUsageError() async throws {
        let workspace = try Workspace()
        let result = try await workspace.run("tenant", "list", environment: ["ALLOT_APPLE": "carrier-pigeon"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("sim:PATH"))
    }

    @Test func helpExitsWithZeroOnStdout() async throws {
        let workspace = try Workspace()
        let result = try await workspace.run("assign", "--help")
        #expect(result.status == 0)
        #expect(result.stdout.contains("--all-or-nothing"))
        #expect(result.stderr.isEmpty)
    }

    @Test func helpListsTheCommandsOwnOptionsBeforeTheGlobalOnes() async throws {
        let workspace = try Workspace()
        for command in [["assign"], ["revoke"], ["events"], ["token", "inspect"], ["tenant", "create"]] {
            let result = try await workspace.run(arguments: command + ["--help"])
            #expect(result.status == 0, "\(command): \(result)")
            let help = result.stdout
            let own = try #require(help.range(of: "\nOPTIONS:\n"), "\(command): \(help)")
            let global = try #require(help.range(of: "\nGLOBAL OPTIONS:\n"), "\(command): \(help)")
            #expect(own.lowerBound < global.lowerBound, "\(command): the command's own options come first")
            let globalSection = help[global.upperBound...]
            for name in ["--db", "--key-file", "--apple", "--json"] {
                #expect(globalSection.contains(name), "\(command): \(name) is a global option")
                #expect(!help[own.upperBound..<global.lowerBound].contains(name + " "), "\(command): \(name) is not among the own options")
            }
        }
    }

    @Test func onlyAssignOffersTheQueue() async throws {
        let workspace = try Workspace()
        #expect(try await workspace.run("assign", "--help").stdout.contains("--queue"))
        #expect(try await !workspace.run("revoke", "--help").stdout.contains("--queue"))
    }

    @Test func theDatabaseComesFromDbThenTheEnvironment() async throws {
        let workspace = try Workspace()
        try await workspace.run("tenant", "create", "in-env")
        try await workspace.run("tenant", "create", "in-flag", "--db", workspace.path("other.sqlite"))
        let fromEnvironment = try await workspace.json("tenant", "list")[array: "tenants"].compactMap { $0["slug"] as? String }
        let fromFlag = try await workspace.json("tenant", "list", "--db", workspace.path("other.sqlite"))[array: "tenants"].compactMap { $0["slug"] as? String }
        #expect(fromEnvironment == ["in-env"])
        #expect(fromFlag == ["in-flag"])
    }

    @Test func aDatabaseThatCannotBeOpenedIsRefused() async throws {
        let workspace = try Workspace()
        let result = try await workspace.run("tenant", "list", "--db", workspace.path("no/such/folder/allot.sqlite"))
        #expect(result.status == 1)
        result.expectOneSentence(containing: "database")
    }
}

@Suite(.timeLimit(.minutes(5))) struct ServeLogOptionsCLITests {
    @Test func aLogLevelOrFormatThatDoesNotExistIsAUsageError() async throws {
        let workspace = try Workspace()
        for arguments in [["--log-level", "loud"], ["--log-format", "xml"]] {
            let result = try await workspace.run(arguments: ["serve", "--port", "0"] + arguments)
            #expect(result.status == 2, "\(result)")
            #expect(result.stderr.contains(arguments[0]), "\(result)")
        }
    }
}
