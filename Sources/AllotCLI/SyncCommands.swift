import Allot
import AllotCore
import ArgumentParser
import Foundation

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
        let attention = AppleAttention(sync: reports)
        if global.json {
            try JSONOutput.emit(SyncAnswerJSON(tokens: reports.map(SyncJSON.init), needsAttention: attention.needed, attention: attention.reasons))
            try attention.exit()
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
        attention.reasons.forEach { Standard.output("Needs attention: \($0)") }
        try attention.exit()
    }
}

struct SyncAnswerJSON: Encodable {
    let tokens: [SyncJSON]
    /// True when the exit code is 4: see `attention` for why.
    let needsAttention: Bool
    let attention: [String]
}

struct SyncJSON: Encodable {
    let tokenId: Int64
    let locationUid: String
    let state: String
    let assets: Int
    let assetsAdded: Int
    let overAllocated: [OverAllocation]
    let warnings: [String]
    let error: String?

    init(_ report: TokenSyncReport) {
        tokenId = report.tokenId.rawValue
        locationUid = report.locationUid
        state = report.state.rawValue
        assets = report.assets
        assetsAdded = report.assetsAdded
        overAllocated = report.overAllocated
        warnings = report.warnings
        error = report.error
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
        // Tokens that cannot deliver (a removed one still drains its revocations).
        let now = Int64(Date().timeIntervalSince1970)
        let dead = try await allot.tokens(tenant: tenant.tenant).filter { $0.state != .removed && !$0.isUsable(now: now) }.map(\.id)
        let attention = AppleAttention(push: report, deadTokens: dead)
        if global.json {
            try JSONOutput.emit(PushAnswerJSON(report: report, needsAttention: attention.needed, attention: attention.reasons))
        } else {
            Standard.output(PushText.summary(report, tenant: tenant.tenant))
            attention.reasons.forEach { Standard.output("Needs attention: \($0)") }
        }
        try attention.exit()
    }
}

/// The push report's fields, then what a cron job acts on.
struct PushAnswerJSON: Encodable {
    let report: PushReport
    let needsAttention: Bool
    let attention: [String]

    enum CodingKeys: String, CodingKey { case needsAttention, attention }

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(needsAttention, forKey: .needsAttention)
        try container.encode(attention, forKey: .attention)
    }
}

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
        if report.failed > 0 {
            reasons.append("Apple refused \(Text.count(report.failed, "operation")), which will not be sent again; see `allot events`")
        }
        self.reasons = reasons
    }

    /// No token that can supply licences, or an over-allocation. A single token that died is in
    /// its report (`state`, `error`) and in `token list`; while another supplies, the tenant works.
    init(sync reports: [TokenSyncReport]) {
        var reasons: [String] = []
        if !reports.contains(where: { $0.state == .active && $0.error == nil }) {
            reasons.append(reports.isEmpty ? "the tenant has no token; add one with `allot token add`"
                                           : "no token is active; renew, take over or add one")
        }
        let over = reports.flatMap(\.overAllocated)
        if !over.isEmpty {
            reasons.append("\(Text.count(over.count, "app")) over-allocated; revoke licences or buy more")
        }
        self.reasons = reasons
    }

    func exit() throws {
        if needed { throw ExitCode(ExitStatus.appleAttention) }
    }
}
