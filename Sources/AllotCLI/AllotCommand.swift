import ArgumentParser
import Foundation

/// `allot`: the command line of the engine (DESIGN.md, "CLI contract").
@main
struct AllotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allot",
        abstract: "Apple Apps and Books (VPP) licences for many tenants: merged pools, batches by serial number, tokens kept in step with Apple.",
        discussion: """
            Global options on every command: --db PATH (default $ALLOT_DB, else ./allot.sqlite), \
            --apple SPEC (default $ALLOT_APPLE; sim:PATH or an https:// URL), --json.
            Exit codes: 0 all done; 1 refused or failed, nothing changed; 2 usage; 3 batch committed but some items failed.
            Start with `allot demo`.
            """,
        subcommands: [
            TenantCommand.self, TokenCommand.self, SyncCommand.self, DevicesCommand.self, AppsCommand.self,
            AssignCommand.self, RevokeCommand.self, PushCommand.self, EventsCommand.self,
            SimCommand.self, ServeCommand.self, DemoCommand.self,
        ]
    )

    /// Parses, runs, and maps whatever went wrong to the documented exit codes (ExitCodes.swift).
    static func main() async {
        let code: Int32
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            code = ExitStatus.done
        } catch {
            code = ExitStatus.report(error)
        }
        Foundation.exit(code)
    }
}
