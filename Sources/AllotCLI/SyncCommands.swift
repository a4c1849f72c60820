import Allot
import AllotCore
import ArgumentParser

/// `allot sync` and `allot push`: bring the ledger and Apple into step.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Read the tenant's tokens from Apple: totals, who manages each location, over-allocation."
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var tenant: TenantOption
    @Option(help: ArgumentHelp("Only this token: its id or location uId.", valueName: "token"))
    var token: String?

    func run() async throws {
        throw CLIError("sync is not part of this build yet")
    }
}

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Deliver the tenant's pending Apple operations now."
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var tenant: TenantOption

    func run() async throws {
        throw CLIError("push is not part of this build yet")
    }
}
