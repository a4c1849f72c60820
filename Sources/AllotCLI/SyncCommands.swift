import Allot
import AllotCore
import AllotViews
import ArgumentParser

/// `allot sync` and `allot push`: bring the ledger and Apple into step.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Read the tenant's tokens from Apple: totals, who manages each location, over-allocation, and assignments that differ from the ledger's."
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var tenant: TenantOption
    @Option(help: ArgumentHelp("Only this token: its id or location uId.", valueName: "token"))
    var token: String?
    @Flag(help: "Repair the differences found: send Apple again what it lacks (through the outbox; `allot push` delivers it) and record what Apple holds that the ledger does not.")
    var repair = false

    func run() async throws {
        let allot = try await global.openEngine()
        let reports = try await Progress.around("reading Apple") { try await allot.sync(tenant: tenant.tenant, token: token, repair: repair) }
        if global.json {
            try JSONOutput.emit(SyncView(reports))
            return
        }
        var table = Table(.init("TOKEN", .right), .init("LOCATION"), .init("STATE"), .init("APPS", .right), .init("NEW", .right),
                          .init("OVER-ALLOCATED", .right), .init("DRIFT", .right), .init("NOTE"))
        for report in reports {
            let notes = (report.error.map { [$0] } ?? []) + report.warnings
            table.add(cells: ["\(report.tokenId)", report.locationUid, report.state.rawValue, Text.count(report.assets),
                              Text.count(report.assetsAdded), report.overAllocated.isEmpty ? "-" : Text.count(report.overAllocated.count),
                              report.drift.isEmpty ? "-" : Text.count(report.drift.count), notes.joined(separator: "; ")])
        }
        if !reports.isEmpty { Standard.output(table.render()) }
        for over in reports.flatMap(\.overAllocated) {
            Standard.output("Over-allocated: \(over.adamId):\(over.pricingParam) on token \(over.tokenId): Apple's total is \(Text.count(over.total)) but \(Text.count(over.assignedHere + over.assignedElsewhere)) are in use (\(Text.count(over.assignedHere)) by this server); revoke \(Text.count(over.excess)) or buy more.")
        }
        for report in reports {
            for drift in report.drift.prefix(TextLimits.rowsShown) {
                let what = drift.kind == .missingAtApple ? "the ledger holds it, Apple does not" : "Apple holds it, the ledger does not"
                Standard.output("Drift: \(drift.adamId):\(drift.pricingParam) on \(drift.serialNumber.printableExcerpt), token \(report.tokenId): \(what).")
            }
            if report.drift.count > TextLimits.rowsShown {
                Standard.output("… and \(Text.count(report.drift.count - TextLimits.rowsShown)) more differences on token \(report.tokenId) (`--json` lists them all).")
            }
            if let repair = report.repair {
                Standard.output("Repaired token \(report.tokenId): \(Text.count(repair.resent)) sent to Apple again, \(Text.count(repair.recorded)) recorded, \(Text.count(repair.givenBack)) given back (retired devices), \(Text.count(repair.left)) left.")
            }
        }
        let usable = reports.count { $0.state == .active && $0.error == nil }
        Standard.output("Synced \(Text.count(reports.count, "token")), \(Text.count(usable)) active.")
    }
}

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Deliver pending Apple operations now: one tenant's, or every tenant's without --tenant."
    )
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: ArgumentHelp("The tenant's slug (default: every tenant).", valueName: "slug"))
    var tenant: String?

    func validate() throws {
        if let tenant, !Ledger.isValidSlug(tenant) {
            throw ValidationError("--tenant '\(tenant)' is not a tenant slug; slugs are lowercase letters, digits and dashes")
        }
    }

    func run() async throws {
        let allot = try await global.openEngine()
        let tenant = tenant
        let report = try await PushProgressLine.around { progress in try await allot.push(tenant: tenant, progress: progress) }
        if global.json {
            try JSONOutput.emit(PushView(report))
        } else {
            Standard.output(PushText.summary(report, tenant: tenant))
        }
    }
}
