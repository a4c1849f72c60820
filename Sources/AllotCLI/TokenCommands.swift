import Allot
import AllotCore
import ArgumentParser
import Foundation

/// `allot token add|renew|remove|takeover|list`. A token file is a secret: it is read, handed
/// to the engine and never printed.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Add, renew, remove, take over and list a tenant's content tokens (one per Apple location).",
        subcommands: [Add.self, Renew.self, Remove.self, Takeover.self, List.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a .vpptoken file: claim its location for this tenant and sync its licences.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The .vpptoken file.", valueName: "file"))
        var file: String
        @Flag(help: "Take the location over when another server (or Apple Configurator) manages it.")
        var takeover = false
        @Option(help: "Order for the priority policy: lower goes first.")
        var priority = 0

        func run() async throws {
            throw CLIError("token add is not part of this build yet")
        }
    }

    struct Renew: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Renew a token with a fresh file for the same location; assignments are kept.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The token: its id or its location uId.", valueName: "token"))
        var token: String
        @Argument(help: ArgumentHelp("The new .vpptoken file.", valueName: "file"))
        var file: String

        func run() async throws {
            throw CLIError("token renew is not part of this build yet")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a token: its licences are revoked; lists the devices that need an uninstall.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The token: its id or its location uId.", valueName: "token"))
        var token: String

        func run() async throws {
            throw CLIError("token remove is not part of this build yet")
        }
    }

    struct Takeover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a location back from another server or Apple Configurator.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The token: its id or its location uId.", valueName: "token"))
        var token: String
        @Flag(help: "Also revoke the licences at that location that this server did not assign.")
        var cleanUp = false

        func run() async throws {
            throw CLIError("token takeover is not part of this build yet")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenant's tokens with their state and expiry.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var tenant: TenantOption

        func run() async throws {
            let tokens = try await global.openEngine().tokens(tenant: tenant.tenant)
            let now = Int64(Date().timeIntervalSince1970)
            if global.json {
                try JSONOutput.emit(["tokens": tokens.map { TokenJSON($0, now: now) }])
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

enum TokenText {
    static func state(_ token: TokenRecord) -> String {
        token.state == .claimedElsewhere ? "claimed by \(token.ownerName ?? "another server")" : token.state.rawValue
    }

    /// The expiry warning (DESIGN.md: within 30 days is a warning, not a state).
    static func note(_ token: TokenRecord, now: Int64) -> String {
        let days = Text.daysUntil(token.expiresAt, now: now)
        if token.expiresAt <= now { return "expired: renew it" }
        if days <= tokenExpiryWarningDays { return "expires in \(Text.count(days, "day")): renew it" }
        return "\(Text.count(days, "day")) left"
    }
}

struct TokenJSON: Encodable {
    let id: Int64
    let locationUid: String
    let locationName: String
    let orgName: String
    let expiresAt: String
    let expiresInDays: Int
    let state: String
    let ownerName: String?
    let priority: Int
    let usable: Bool
    let lastSyncAt: String?

    init(_ token: TokenRecord, now: Int64) {
        id = token.id.rawValue
        locationUid = token.locationUid
        locationName = token.locationName
        orgName = token.orgName
        expiresAt = Text.iso8601(token.expiresAt)
        expiresInDays = Text.daysUntil(token.expiresAt, now: now)
        state = token.state.rawValue
        ownerName = token.ownerName
        priority = token.priority
        usable = token.isUsable(now: now)
        lastSyncAt = token.lastSyncAt.map(Text.iso8601)
    }
}
