import Allot
import AllotCore
import AllotViews
import ArgumentParser
import Foundation

/// `allot token subscriptions TOKEN --enable|--disable`: a location's opt-in to subscription
/// seats, which Apple requires before any seat is given there.
extension TokenCommand {
    struct Subscriptions: AsyncParsableCommand {
        enum Switch: String, EnumerableFlag {
            case enable, disable
            static func help(for value: Switch) -> ArgumentHelp? {
                switch value {
                case .enable: "Tell Apple this server manages the location's subscription seats."
                case .disable: "Withdraw that; Apple refuses while the location holds seats."
                }
            }
        }

        static let configuration = CommandConfiguration(
            abstract: "Turn subscription seats on or off at a token's location (Apple requires the opt-in).",
            discussion: "Enabling reads the location's subscriptions at once, so `allot subscriptions list` shows them; every sync reads them again.")
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The token: its id or its location uId.", valueName: "token"))
        var token: String
        @Flag var choice: Switch
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let allot = try await global.openEngine()
            let change = try await allot.setSubscriptionManagement(tenant: tenant.tenant, token: token, enabled: choice == .enable)
            if global.json {
                try JSONOutput.emit(SubscriptionManagementView(change))
                return
            }
            let name = "token \(change.tokenId) (\(Text.printable(change.locationName)), \(change.locationUid))"
            Standard.output(change.subscriptionManagement
                ? "Subscriptions are on at \(name): Apple lists \(Text.count(change.subscriptions, "subscription")) there (`allot subscriptions list --tenant \(tenant.tenant)`)."
                : "Subscriptions are off at \(name).")
        }
    }
}

/// `allot subscriptions list`: subscription seats merged across the tenant's tokens.
struct SubscriptionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscriptions",
        abstract: "List the tenant's auto-renewable subscription seats, merged across its tokens.",
        discussion: "Seats go to people only. A location holds seats once its token opted in (`allot token subscriptions TOKEN --enable`); the numbers are Apple's as last read (at sync, or when Apple tells of a change).",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List each subscription's seats: total, assigned (renewing / expiring), available, period end, status.")
        @OptionGroup var tenant: TenantOption
        @OptionGroup var rows: RowLimitOptions
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func run() async throws {
            let subscriptions = try await global.openEngine().subscriptions(tenant: tenant.tenant)
            if global.json {
                try JSONOutput.emit(SubscriptionListView(subscriptions))
                return
            }
            guard !subscriptions.isEmpty else {
                Standard.output("No subscription seats yet: turn them on at a token (`allot token subscriptions TOKEN --enable --tenant \(tenant.tenant)`), then sync.")
                return
            }
            let shown = rows.shown(of: subscriptions.count)
            var table = Table(.init("SUBSCRIPTION", .right), .init("TOTAL", .right), .init("RENEWING", .right), .init("EXPIRING", .right),
                              .init("AVAILABLE", .right), .init("PERIOD END"), .init("STATUS"), .init("TOKENS"))
            for seats in subscriptions.prefix(shown) {
                table.add(cells: ["\(seats.adamId)", Text.count(seats.total.sum), Text.count(seats.assigned.renewing), Text.count(seats.assigned.expiring),
                                  Text.count(seats.available.sum), seats.periodEnd ?? "-", Text.printable(seats.status ?? "-"),
                                  seats.locations.map { "\($0.tokenId)" }.joined(separator: ",")])
            }
            Standard.output(table.render())
            if subscriptions.count > shown { Standard.output(RowLimit.rest(subscriptions.count - shown)) }
            let seats = subscriptions.reduce(0) { $0 + $1.total.sum }
            let free = subscriptions.reduce(0) { $0 + $1.available.sum }
            Standard.output("\(Text.count(subscriptions.count, "subscription")), \(Text.count(seats, "seat")), \(Text.count(free)) available.")
        }
    }
}
