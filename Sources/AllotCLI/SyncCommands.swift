import Allot
import AllotCore
import AllotViews
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
        let allot = try await global.openEngine()
        let reports = try await Progress.around("reading Apple") { try await allot.sync(tenant: tenant.tenant, token: token) }
        if global.json {
            try JSONOutput.emit(SyncView(reports))
            return
        }
        var table = Table(.init("TOKEN", .right), .init("LOCATION"), .init("STATE"), .init("APPS", .right), .init("NEW", .right),
                          .init("OVER-ALLOCATED", .right), .init("NOTE"))
        for report in reports {
            let notes = (report.error.map { [$0] } ?? []) + report.warnings
            table.add(cells: ["\(report.tokenId)", report.locationUid, report.state.rawValue, Text.count(report.assets),
                              Text.count(report.assetsAdded), report.overAllocated.isEmpty ? "-" : Text.count(report.overAllocated.count),
                              notes.joined(separator: "; ")])
        }
        if !reports.isEmpty { Standard.output(table.render()) }
        for over in reports.flatMap(\.overAllocated) {
            Standard.output("Over-allocated: \(over.adamId):\(over.pricingParam) on token \(over.tokenId): Apple's total is \(Text.count(over.total)) but \(Text.count(over.assignedHere + over.assignedElsewhere)) are in use (\(Text.count(over.assignedHere)) by this server); revoke \(Text.count(over.excess)) or buy more.")
        }
        let usable = reports.count { $0.state == .active && $0.error == nil }
        Standard.output("Synced \(Text.count(reports.count, "token")), \(Text.count(usable)) active.")
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
        let allot = try await global.openEngine()
        let report = try await Progress.around("telling Apple") { try await allot.push(tenant: tenant.tenant) }
        if global.json {
            try JSONOutput.emit(PushView(report))
        } else {
            Standard.output(PushText.summary(report, tenant: tenant.tenant))
        }
    }
}
