import Allot
import AllotStore
import AllotCore
import AllotViews
import ArgumentParser
import Foundation

/// `allot sync` and `allot push`: bring the ledger and Apple into step.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Read the tenant's tokens from Apple: totals, who manages each location, over-allocation, and assignments that differ from the ledger's."
    )
    @Option(name: .long, help: ArgumentHelp("The tenant's slug.", valueName: "slug"))
    var tenant: String?
    @Flag(help: "Every tenant's tokens (for cron; `allot serve` syncs on its own schedule).")
    var all = false
    @Option(help: ArgumentHelp("Only this token: its id or location uId.", valueName: "token"))
    var token: String?
    @Flag(help: "Repair the differences found: send Apple again what it lacks (through the outbox; `allot push` delivers it) and record what Apple holds that the ledger does not.")
    var repair = false
    // `--all` is every tenant here, so the rows of a token's differences take `--limit` alone.
    @Option(help: ArgumentHelp("Differences listed per token (default \(TextLimits.rowsShown), at most \(Text.count(RowLimit.rowsMax))); the JSON output is never cut by it.", valueName: "n"))
    var limit: Int?
    @OptionGroup(title: "Global options") var global: GlobalOptions

    func validate() throws {
        try RowLimit.validate(limit: limit, all: false)
        switch (tenant, all) {
        case (nil, false): throw ValidationError("name the tenant with --tenant SLUG, or sync every tenant with --all")
        case (.some, true): throw ValidationError("--tenant and --all cannot go together; give one")
        case (.some(let slug), false):
            try TenantOption.validate(slug)
        case (nil, true):
            if token != nil { throw ValidationError("--token names one tenant's token; give --tenant with it instead of --all") }
        }
    }

    func run() async throws {
        let allot = try await global.openEngine()
        guard let tenant else {
            let all = try await Progress.around("reading Apple") { try await allot.syncAll(repair: repair) }
            let attention = AppleAttention(tenants: all)
            if global.json {
                try JSONOutput.emit(AttentionAnswer(view: SyncAllView(all), needsAttention: attention.needed, attention: attention.reasons))
                try attention.exit()
                return
            }
            for tenantReport in all {
                Standard.output("Tenant \(tenantReport.tenant.printableExcerpt):")
                show(tenantReport.tokens, tenant: tenantReport.tenant)
            }
            Standard.output("Synced \(Text.count(all.count, "tenant")), \(Text.count(all.reduce(0) { $0 + $1.tokens.count }, "token")).")
            attention.reasons.forEach { Standard.output("Needs attention: \($0)") }
            try attention.exit()
            return
        }
        let reports = try await Progress.around("reading Apple") { try await allot.sync(tenant: tenant, token: token, repair: repair) }
        let attention = AppleAttention(sync: reports)
        if global.json {
            try JSONOutput.emit(AttentionAnswer(view: SyncView(reports), needsAttention: attention.needed, attention: attention.reasons))
            try attention.exit()
            return
        }
        show(reports, tenant: tenant)
        attention.reasons.forEach { Standard.output("Needs attention: \($0)") }
        try attention.exit()
    }

    private func show(_ reports: [TokenSyncReport], tenant: String) {
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
            Standard.output("Over-allocated: \(over.adamId):\(over.pricingParam) on token \(over.tokenId): Apple's total is \(Text.count(over.total)) but \(Text.count(over.assignedHere + over.assignedElsewhere)) are in use (\(Text.count(over.assignedHere)) by this server); buy more, or " + OverAllocationAdvice.resolve(tenant: tenant, tokens: [over.tokenId]) + ".")
        }
        for report in reports {
            let shown = RowLimit.shown(limit: limit, all: false, of: report.drift.count)
            for drift in report.drift.prefix(shown) {
                let what = drift.kind == .missingAtApple ? "the ledger holds it, Apple does not" : "Apple holds it, the ledger does not"
                Standard.output("Drift: \(drift.adamId):\(drift.pricingParam) on \(drift.serialNumber.printableExcerpt), token \(report.tokenId): \(what).")
            }
            if report.drift.count > shown {
                Standard.output(RowLimit.rest(report.drift.count - shown, " differences on token \(report.tokenId)",
                                              seeAll: "raise --limit to see more; --json lists every one"))
            }
            if let repair = report.repair {
                Standard.output("Repaired token \(report.tokenId): \(Text.count(repair.resent)) sent to Apple again, \(Text.count(repair.recorded)) recorded, \(Text.count(repair.givenBack)) given back (retired devices), \(Text.count(repair.left)) left.")
            }
        }
        Standard.output(Self.summary(reports))
    }
}

extension SyncCommand {
    /// The last line: how many tokens were synced and are active. A token Apple could not be
    /// reached for was not synced, so it is not counted as active or inactive: the line says so.
    static func summary(_ reports: [TokenSyncReport]) -> String {
        let usable = reports.count { $0.state == .active && $0.error == nil }
        let unreachable = reports.count(where: \.appleUnreachable)
        guard unreachable > 0 else { return "Synced \(Text.count(reports.count, "token")), \(Text.count(usable)) active." }
        let read = reports.count - unreachable
        let synced = read == 0 ? "Synced 0 of \(Text.count(reports.count, "token"))" : "Synced \(Text.count(read)) of \(Text.count(reports.count, "token")), \(Text.count(usable)) active"
        return "\(synced): Apple could not be reached for \(Text.count(unreachable))."
    }
}

struct AttentionAnswer<View: Encodable>: Encodable {
    let view: View
    /// True when the exit code is 4: see `attention` for why.
    let needsAttention: Bool
    let attention: [String]

    enum CodingKeys: String, CodingKey { case needsAttention, attention }

    func encode(to encoder: any Encoder) throws {
        try view.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(needsAttention, forKey: .needsAttention)
        try container.encode(attention, forKey: .attention)
    }
}

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Deliver pending Apple operations now: one tenant's, or every tenant's without --tenant."
    )
    @Option(name: .long, help: ArgumentHelp("The tenant's slug (default: every tenant).", valueName: "slug"))
    var tenant: String?
    @OptionGroup(title: "Global options") var global: GlobalOptions

    func validate() throws {
        if let tenant, !Ledger.isValidSlug(tenant) {
            throw ValidationError("--tenant '\(tenant)' is not a tenant slug; slugs are lowercase letters, digits and dashes")
        }
    }

    func run() async throws {
        let allot = try await global.openEngine()
        let tenant = tenant
        let report = try await PushProgressLine.around { progress in try await allot.push(tenant: tenant, progress: progress) }
        // Tokens that cannot deliver (a removed one still drains its revocations).
        let now = Int64(Date().timeIntervalSince1970)
        var tokens: [TokenRecord] = []
        let slugs = if let tenant { [tenant] } else { try await allot.tenants().map(\.slug) }
        for slug in slugs { tokens += try await allot.tokens(tenant: slug) }
        let dead = tokens.filter { $0.state != .removed && !$0.isUsable(now: now) }.map(\.id)
        let attention = AppleAttention(push: report, deadTokens: dead)
        if global.json {
            try JSONOutput.emit(AttentionAnswer(view: PushView(report), needsAttention: attention.needed, attention: attention.reasons))
        } else {
            Standard.output(PushText.summary(report, tenant: tenant))
            attention.reasons.forEach { Standard.output("Needs attention: \($0)") }
        }
        try attention.exit()
    }
}

/// The push report's fields, then what a cron job acts on.
/// "Done, but Apple needs attention" (exit code 4): what a script or a cron job must act on
/// after a push or a sync that itself ran to the end.
struct AppleAttention {
    let reasons: [String]
    var needed: Bool { !reasons.isEmpty }

    /// Operations paused on dead or claimed tokens, waiting with no usable token, or given up:
    /// Apple does not have them.
    init(push report: PushReport, deadTokens: [TokenID]) {
        var reasons: [String] = []
        // Paused on an earlier push: the operations still wait, and a token cannot deliver.
        if report.pausedTokens.isEmpty && report.unfinished > 0 && !deadTokens.isEmpty {
            reasons.append("\(Text.count(report.unfinished, "operation")) still wait and token \(Text.list(deadTokens.map(\.description))) is revoked, expired or claimed elsewhere; renew or take it over (`allot token list`)")
        }
        if !report.pausedTokens.isEmpty {
            reasons.append("operations are paused on token \(Text.list(report.pausedTokens.map(\.description))), which is revoked, expired or claimed elsewhere; renew or take it over (`allot token list`)")
        }
        if !report.unreadableTokens.isEmpty {
            reasons.append("the stored file of token \(Text.list(report.unreadableTokens.map(\.description))) cannot be opened with this node's token key (\(SecretBox.environmentVariable)), so its operations wait; start with the key the token was added with")
        }
        if report.failed > 0 {
            reasons.append("Apple refused \(Text.count(report.failed, "operation")), which will not be sent again; see `allot events`")
        }
        self.reasons = reasons
    }

    /// No token that can supply licences, or an over-allocation (`SyncAttention` decides which).
    /// A single token that died is in its report (`state`, `error`) and in `token list`; while
    /// another supplies, the tenant works.
    init(sync reports: [TokenSyncReport]) {
        reasons = SyncAttention.reasons(reports.map(\.attentionRead)).map(Self.sentence)
    }

    /// The advice for each reason, with the command that acts on it.
    static func sentence(_ reason: SyncAttention.Reason) -> String {
        switch reason {
        case .noToken:
            "the tenant has no token; add one with `allot token add`"
        case .appleUnreachable(let failure):
            "Apple could not be reached: \(failure); check the network and the address of Apple's service (--apple or $ALLOT_APPLE), then sync again"
        case .activeTokensUnread(let tokens, let failure):
            "token \(Text.list(tokens.map(\.description))) could not be read (\(failure)); sync again later"
        case .noActiveToken:
            "no token is active; renew, take over or add one"
        case .overAllocated(let apps):
            "\(Text.count(apps, "app")) over-allocated; buy more, or give back the excess with `allot token resolve`"
        case .drift(let licences):
            "Apple and the ledger disagree on \(Text.count(licences, "licence")) (`drift`); send Apple what it lacks and record what it has with `allot sync --repair`"
        }
    }

    /// `sync --all`: each tenant's reasons, named by its slug.
    init(tenants: [TenantSyncReport]) {
        reasons = tenants.flatMap { tenant in
            AppleAttention(sync: tenant.tokens).reasons.map { "tenant \(tenant.tenant): \($0)" }
        }
    }

    func exit() throws {
        if needed { throw ExitCode(ExitStatus.appleAttention) }
    }
}
