import Allot
import AllotStore
import AllotCore
import AllotViews
import ArgumentParser
import Foundation

/// `allot users import|list|show|retire`: people, not only devices.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Import a roster of people, list them, show where they are registered and what they hold, retire them.",
        discussion: "People get licences from the same merged pools as devices (`allot assign --user`). Each person is registered at Apple lazily, at the location of every token that lends them a licence; `users show` tells their status there and, without a Managed Apple Account, the invitation to send them.",
        subcommands: [Import.self, List.self, Show.self, Retire.self]
    )

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a roster CSV of people: a header row with user_id (required), email, managed_apple_id, group (optional).",
            discussion: "Common header spellings are accepted (User ID, Email Address, Managed Apple Account, …); commas, semicolons or tabs. Good lines are imported in one transaction; bad lines are reported with their line number (the header is line 1). Exit code 3 when some lines were rejected. A retired person imported again is managed again."
        )
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The roster CSV file; - reads standard input.", valueName: "file.csv"))
        var file: String
        @OptionGroup var rows: RowLimitOptions
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let bytes = try InputFile.read(file, what: "roster")
            let allot = try await global.openEngine()
            let report = try await Progress.around("importing \(Text.printable(file))") {
                try await allot.importUsers(tenant: tenant.tenant, csv: bytes)
            }
            if global.json {
                try JSONOutput.emit(report)
            } else {
                if !report.rejected.isEmpty {
                    let shown = rows.shown(of: report.rejected.count)
                    var table = Table(.init("LINE", .right), .init("REJECTED BECAUSE"))
                    for rejection in report.rejected.prefix(shown) {
                        table.add(Text.count(rejection.line), rejection.reason)
                    }
                    Standard.output(table.render())
                    if report.rejected.count > shown {
                        Standard.output(RowLimit.rest(report.rejected.count - shown))
                    }
                }
                Standard.output("Imported \(Text.count(report.imported, "new user")), updated \(Text.count(report.updated)), rejected \(Text.count(report.rejected.count, "line")).")
            }
            if !report.rejected.isEmpty { throw ExitCode(ExitStatus.partial) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tenant's people.")
        @OptionGroup var tenant: TenantOption
        @Option(help: "Only the people of this group.")
        var group: String?
        @OptionGroup var rows: RowLimitOptions
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let users = try await global.openEngine().users(tenant: tenant.tenant, group: group)
            if global.json {
                try JSONOutput.emit(UserListView(users))
                return
            }
            let shown = rows.shown(of: users.count)
            var table = Table(.init("USER"), .init("EMAIL"), .init("MANAGED APPLE ACCOUNT"), .init("GROUP"), .init("STATE"))
            for user in users.prefix(shown) {
                table.add(Text.printable(user.userId), Text.printable(user.email ?? "-"), Text.printable(user.managedAppleId ?? "-"),
                          Text.printable(user.group ?? "-"), user.retired ? "retired" : "managed")
            }
            if !users.isEmpty { Standard.output(table.render()) }
            if users.count > shown { Standard.output(RowLimit.rest(users.count - shown)) }
            let retired = users.count { $0.retired }
            Standard.output(Text.count(users.count, "user") + (group.map { " in group \(Text.printable($0))" } ?? "") + (retired > 0 ? ", \(Text.count(retired)) retired." : "."))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a person: their status at each location they are registered at, the invitation to send them, the licences they hold."
        )
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The person's user id (the roster's user_id).", valueName: "user-id"))
        var userId: String
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let found = try await global.openEngine().user(tenant: tenant.tenant, userId: userId)
            let view = UserDetailView(found.user, locations: found.locations, holdings: found.holdings)
            if global.json {
                try JSONOutput.emit(view)
                return
            }
            let user = found.user
            Standard.output("\(Text.printable(user.userId)): \(Text.printable(user.email ?? "no email")), Managed Apple Account \(Text.printable(user.managedAppleId ?? "-")), group \(Text.printable(user.group ?? "-")), \(user.retired ? "retired" : "managed"); clientUserId \(user.clientUserId).")
            if !found.locations.isEmpty {
                var table = Table(.init("TOKEN", .right), .init("LOCATION"), .init("STATUS"), .init("INVITATION"))
                for location in found.locations {
                    // The invitation matters while the person has not accepted it.
                    let invitation = location.status == .registered ? location.inviteUrl ?? location.inviteCode : nil
                    table.add("\(location.tokenId)", Text.printable(location.locationName), location.status.rawValue, Text.printable(invitation ?? "-"))
                }
                Standard.output(table.render())
            }
            if user.managedAppleId == nil, let waiting = found.locations.first(where: { $0.status == .registered && ($0.inviteUrl ?? $0.inviteCode) != nil }) {
                Standard.output("Send \(Text.printable(user.userId)) the invitation \(Text.printable(waiting.inviteUrl ?? waiting.inviteCode!)) to accept with their Apple Account.")
            }
            if !found.holdings.isEmpty {
                var table = Table(.init("APP"), .init("TOKEN", .right), .init("LOCATION"), .init("APPLE"))
                for holding in found.holdings {
                    table.add("\(holding.adamId):\(holding.pricingParam)", "\(holding.tokenId)", holding.locationUid, holding.confirmed ? "confirmed" : "pending")
                }
                Standard.output(table.render())
            }
            Standard.output("Registered at \(Text.count(found.locations.count, "location")); holds \(Text.count(found.holdings.count, "licence")).")
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire people: every licence they hold is given back, then they are retired at every location they are registered at."
        )
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("User ids.", valueName: "user-id"))
        var userIds: [String] = []
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            guard !userIds.isEmpty else { throw ValidationError("name at least one user id to retire") }
        }

        func run() async throws {
            let allot = try await global.openEngine()
            let report = try await allot.retireUsers(tenant: tenant.tenant, userIds: userIds)
            let delivery = try await Delivery.push(allot: allot, tenant: tenant.tenant, when: true, global: global)
            if global.json {
                try JSONOutput.emit(Extended(UserRetirementView(report), "delivery", delivery))
                return
            }
            Standard.output("Retired \(Text.count(report.users.count, "user")); \(Text.count(report.revoked, "licence")) given back.")
            if let note = delivery.note { Standard.output(note) }
        }
    }
}
