import Allot
import AllotCore
import AllotStore
import AllotViews
import ArgumentParser
import Foundation

/// `allot queue list|cancel`: the devices waiting for an app (`assign --queue`), served first in,
/// first out when licences appear.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "The devices waiting for licences (assign --queue): list them with their places, or take them out.",
        subcommands: [List.self, Cancel.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the waiting devices, app by app, in the order they will be served.",
            discussion: "A queue is served, in order, the moment licences appear: a revocation, a retired device, a sync that raised a total, a new, renewed or taken-over token."
        )
        @OptionGroup var tenant: TenantOption
        @Option(help: ArgumentHelp("Only this app: ADAMID or ADAMID:PRICING.", valueName: "adamid[:pricing]"))
        var app: String?
        @OptionGroup var rows: RowLimitOptions
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            if let app, AssetKey(parsing: app) == nil { throw ValidationError("--app '\(app)' is not an app; \(AssetKey.formatHelp)") }
        }

        func run() async throws {
            let allot = try await global.openEngine()
            let entries = try await allot.queue(tenant: tenant.tenant, asset: app.flatMap(AssetKey.init(parsing:)))
            let users = try await allot.userQueue(tenant: tenant.tenant, asset: app.flatMap(AssetKey.init(parsing:)))
            if global.json {
                try JSONOutput.emit(QueueView(entries, users: users))
                return
            }
            guard !entries.isEmpty else {
                Standard.output("No device is waiting" + (app.map { " for \(Text.printable($0))" } ?? "") + ".")
                listUsers(users)
                return
            }
            defer { listUsers(users) }
            let shown = rows.shown(of: entries.count)
            var table = Table(.init("APP"), .init("POSITION", .right), .init("SERIAL"), .init("QUEUED (UTC)"))
            for entry in entries.prefix(shown) {
                table.add("\(entry.adamId):\(entry.pricingParam)", Text.count(entry.position), entry.serialNumber, Text.dateTime(entry.queuedAt))
            }
            Standard.output(table.render())
            if entries.count > shown {
                Standard.output(RowLimit.rest(entries.count - shown))
            }
            let apps = Set(entries.map { "\($0.adamId):\($0.pricingParam)" }).count
            Standard.output("\(Text.count(entries.count, "device")) waiting for \(Text.count(apps, "app")).")
        }

        /// The people waiting (`assign --user … --queue`), after the devices.
        private func listUsers(_ users: [UserQueueEntry]) {
            guard !users.isEmpty else { return }
            let shown = rows.shown(of: users.count)
            var table = Table(.init("APP"), .init("POSITION", .right), .init("USER"), .init("QUEUED (UTC)"))
            for entry in users.prefix(shown) {
                table.add("\(entry.adamId):\(entry.pricingParam)", Text.count(entry.position), Text.printable(entry.userId), Text.dateTime(entry.queuedAt))
            }
            Standard.output(table.render())
            if users.count > shown { Standard.output(RowLimit.rest(users.count - shown)) }
            let apps = Set(users.map { "\($0.adamId):\($0.pricingParam)" }).count
            Standard.output("\(Text.count(users.count, "user")) waiting for \(Text.count(apps, "app")), served after the devices.")
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take devices out of an app's queue; they keep nothing and get nothing.")
        @OptionGroup var tenant: TenantOption
        @Option(help: ArgumentHelp("The app: ADAMID or ADAMID:PRICING.", valueName: "adamid[:pricing]"))
        var app: String
        @Argument(help: ArgumentHelp("Serial numbers.", valueName: "serial"))
        var serials: [String] = []
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            guard AssetKey(parsing: app) != nil else { throw ValidationError("--app '\(app)' is not an app; \(AssetKey.formatHelp)") }
            guard !serials.isEmpty else { throw ValidationError("name at least one serial number to take out of the queue") }
        }

        func run() async throws {
            let report = try await global.openEngine().cancelQueued(tenant: tenant.tenant, asset: AssetKey(parsing: app)!, serials: serials)
            if global.json {
                try JSONOutput.emit(QueueCancelView(report))
                return
            }
            if !report.notQueued.isEmpty {
                Standard.output("Not waiting for \(Text.printable(app)): " + report.notQueued.prefix(TextLimits.serialsShown).joined(separator: " ")
                                + (report.notQueued.count > TextLimits.serialsShown ? " … (--json lists all)" : ""))
            }
            Standard.output("Took \(Text.count(report.cancelled.count, "device")) out of the queue of \(Text.printable(app)).")
        }
    }
}
