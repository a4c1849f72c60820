import Allot
import AllotStore
import AllotCore
import AllotViews
import ArgumentParser
import Foundation

/// `allot token add|renew|remove|takeover|list`. A token file is a secret: it is read, handed
/// to the engine and never printed.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Add, renew, remove, take over and list a tenant's content tokens (one per Apple location).",
        subcommands: [Add.self, Renew.self, Remove.self, Takeover.self, List.self, Inspect.self, Resolve.self, Subscriptions.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a .vpptoken file: claim its location for this tenant and sync its licences.")
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The .vpptoken file.", valueName: "file"))
        var file: String
        @Flag(help: "Take the location over when another server (or Apple Configurator) manages it.")
        var takeover = false
        @Option(help: "Order for the priority policy: lower goes first.")
        var priority = 0
        @Flag(help: "Say what adding would do (as `token inspect`) and change nothing; exit 1 if it would be refused.")
        var dryRun = false
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            if dryRun {
                let inspection = try await TokenInspection.report(file: file, tenant: tenant.tenant, renewing: nil, takeover: takeover, global: global)
                if inspection.isRefused { throw ExitCode(ExitStatus.refused) }
                return
            }
            let contents = try TokenFileInput.read(file)
            let allot = try await global.openEngine()
            let token = try await allot.addToken(tenant: tenant.tenant, fileContents: contents, takeover: takeover, priority: priority)
            try TokenText.emitOne(token, json: global.json,
                                  summary: "Added token \(token.id): \(token.locationName) (\(token.locationUid)) of \(token.orgName), expires \(Text.date(token.expiresAt))"
                                      + (takeover ? ", taken over" : "") + "; its licences are synced into the pool (`allot apps --tenant \(tenant.tenant)`).")
        }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Renew a token with a fresh file for the same location; assignments are kept.")
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The token: its id or its location uId.", valueName: "token"))
        var token: String
        @Argument(help: ArgumentHelp("The new .vpptoken file.", valueName: "file"))
        var file: String
        @Flag(help: "Say what renewing would do (as `token inspect --renewing`) and change nothing; exit 1 if it would be refused.")
        var dryRun = false
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            if dryRun {
                let inspection = try await TokenInspection.report(file: file, tenant: tenant.tenant, renewing: token, takeover: false, global: global)
                if inspection.isRefused { throw ExitCode(ExitStatus.refused) }
                return
            }
            let contents = try TokenFileInput.read(file)
            let allot = try await global.openEngine()
            let renewed = try await allot.renewToken(tenant: tenant.tenant, token: token, fileContents: contents)
            try TokenText.emitOne(renewed, json: global.json,
                                  summary: "Renewed token \(renewed.id): \(renewed.locationName) (\(renewed.locationUid)) now expires \(Text.date(renewed.expiresAt)), state \(TokenText.state(renewed)); every assignment is kept.")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a token: its licences are revoked; lists the devices that need an uninstall.")
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The token: its id or its location uId.", valueName: "token"))
        var token: String
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let allot = try await global.openEngine()
            let named = try await allot.tokenList(tenant: tenant.tenant).first { "\($0.id)" == token || $0.locationUid == token }
            let report = try await allot.removeToken(tenant: tenant.tenant, token: token)
            let delivery = try await Delivery.push(allot: allot, tenant: tenant.tenant, when: report.revoked > 0, global: global)
            let name = named.map { "token \($0.id) (\($0.locationName), \($0.locationUid))" } ?? "token \(token)"
            try RevocationOutput.emit(report, delivery: delivery, json: global.json,
                                      summary: "Removed \(name): \(Text.count(report.revoked, "licence")) revoked from \(Text.count(report.devices.count, "device")).")
        }
    }

    struct Takeover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a location back from another server or Apple Configurator.")
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The token: its id or its location uId.", valueName: "token"))
        var token: String
        @Flag(help: "Also revoke the licences at that location that this server did not assign.")
        var cleanUp = false
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let allot = try await global.openEngine()
            let report = try await allot.takeOver(tenant: tenant.tenant, token: token, cleanUp: cleanUp)
            let delivery = try await Delivery.push(allot: allot, tenant: tenant.tenant, when: report.revoking > 0, global: global)
            if global.json {
                try JSONOutput.emit(Extended(TakeoverView(report), "delivery", delivery))
                return
            }
            var summary = "Took over token \(report.tokenId)" + (report.previousOwner.map { " from \($0)" } ?? "")
                + ": Apple lists \(Text.count(report.appleAssignments, "assignment")) at the location, \(Text.count(report.notOurs)) not made by this server"
            if cleanUp {
                summary += report.revoking > 0 ? "; \(Text.count(report.revoking)) of those are being revoked." : "; nothing to clean up."
            } else {
                summary += report.notOurs > 0 ? "; run again with --clean-up to revoke them." : "."
            }
            Standard.output(summary)
            // Clean-up revokes only what other servers assigned; what this server holds beyond
            // Apple's total needs `token resolve`, and a sync cannot fix it.
            for over in try await allot.overAllocations(tenant: tenant.tenant, token: "\(report.tokenId)") {
                Standard.output("Needs attention: app \(over.adamId):\(over.pricingParam) has \(Text.count(over.assignedHere + over.assignedElsewhere, "licence")) in use against Apple's total of \(Text.count(over.total)); "
                                + OverAllocationAdvice.resolve(tenant: tenant.tenant, tokens: [over.tokenId]) + ".")
            }
            if let note = delivery.note { Standard.output(note) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenant's tokens with their state and expiry.")
        @OptionGroup var tenant: TenantOption
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let tokens = try await global.openEngine().tokenList(tenant: tenant.tenant)
            let now = Int64(Date().timeIntervalSince1970)
            if global.json {
                try JSONOutput.emit(TokenListView(tokens, now: now))
                return
            }
            guard !tokens.isEmpty else {
                Standard.output("No tokens yet: add one with `allot token add --tenant \(tenant.tenant) FILE`.")
                return
            }
            var table = Table(.init("ID", .right), .init("LOCATION"), .init("NAME"), .init("ORGANISATION"), .init("EXPIRES"),
                              .init("STATE"), .init("NOTE"))
            for token in tokens {
                table.add(cells: ["\(token.id)", token.locationUid, token.locationName, token.orgName, Text.date(token.expiresAt),
                                  TokenText.state(token), TokenText.note(token, now: now)])
            }
            Standard.output(table.render())
            let usable = tokens.count { $0.isUsable(now: now) }
            Standard.output("\(Text.count(tokens.count, "token")), \(Text.count(usable)) usable.")
        }
    }
}

/// A `.vpptoken` file: read as text, never echoed.
enum TokenFileInput {
    static let bytesMax = 64 * 1024

    static func read(_ path: String) throws -> String {
        let bytes = try InputFile.read(path, what: "token")
        guard bytes.count <= bytesMax else {
            throw CLIError("'\(path)' is larger than a token file can be (\(bytesMax / 1024) KB); download the .vpptoken file again from Apple Business Manager or Apple School Manager")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

enum TokenText {
    /// One token: its JSON object, or a sentence for people.
    static func emitOne(_ token: TokenRecord, json: Bool, summary: String) throws {
        let now = Int64(Date().timeIntervalSince1970)
        if json {
            try JSONOutput.emit(TokenView(token, now: now))
            return
        }
        Standard.output(summary)
        let note = note(token, now: now)
        if token.state != .active { Standard.output("Note: the token is \(state(token)); it supplies no new licences until that is resolved.") }
        if note.contains("renew") { Standard.output("Note: \(note).") }
    }

    static func state(_ token: TokenRecord) -> String {
        // The state word of the documentation, the owner beside it.
        token.state == .claimedElsewhere ? "claimed_elsewhere (\(token.ownerName ?? "another server"))" : token.state.rawValue
    }

    /// The expiry warning (DESIGN.md: within 30 days is a warning, not a state).
    static func note(_ token: TokenRecord, now: Int64) -> String {
        let days = TokenExpiry.daysLeft(expiresAt: token.expiresAt, now: now)
        if token.expiresAt <= now || token.state == .expired { return "expired: renew it" }
        // Days left mean something only for a token that supplies licences.
        guard token.isUsable(now: now) else { return "-" }
        if TokenExpiry.isExpiringSoon(expiresAt: token.expiresAt, now: now) { return "expires in \(Text.count(days, "day")): renew it" }
        return "\(Text.count(days, "day")) left"
    }
}
