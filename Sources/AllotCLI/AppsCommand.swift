import Allot
import AllotCore
import AllotViews
import ArgumentParser

/// `allot apps`: the merged pools, one line per app with its tokens beneath.
struct AppsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apps",
        abstract: "The tenant's merged pools: each app once, its licences summed over the usable tokens."
    )
    @OptionGroup var tenant: TenantOption
    @Option(help: ArgumentHelp("Only this app: ADAMID or ADAMID:PRICING.", valueName: "adamid[:pricing]"))
    var app: String?
    @Flag(help: "With --app: list the devices that hold it (serial, token, confirmed by Apple).")
    var devices = false
    @Option(help: ArgumentHelp("With --devices: at most this many devices (1 to \(Self.devicesListedMax)).", valueName: "n"))
    var limit = 1_000
    @OptionGroup(title: "Global options") var global: GlobalOptions

    /// Devices one listing shows; a larger pool is read in several (or with `allot events`).
    static let devicesListedMax = 100_000

    func validate() throws {
        if let app, AssetKey(parsing: app) == nil { throw ValidationError("--app '\(app)' is not an app; \(AssetKey.formatHelp)") }
        if devices && app == nil { throw ValidationError("--devices lists the holders of one app; add --app ADAMID") }
        guard (1...Self.devicesListedMax).contains(limit) else { throw ValidationError("--limit must be 1 to \(Text.count(Self.devicesListedMax))") }
    }

    func run() async throws {
        let allot = try await global.openEngine()
        let asset = app.flatMap(AssetKey.init(parsing:))
        if devices, let asset {
            try await listHolders(allot, asset: asset)
            return
        }
        let pools = try await allot.apps(tenant: tenant.tenant).filter { pool in
            asset.map { pool.adamId == $0.adamId && pool.pricingParam == $0.pricingParam.rawValue } ?? true
        }
        if global.json {
            try JSONOutput.emit(AppListView(pools))
            return
        }
        guard !pools.isEmpty else {
            Standard.output("No apps yet: add a token with `allot token add --tenant \(tenant.tenant) FILE`.")
            return
        }
        var table = Table(.init("APP"), .init("TYPE"), .init("TOTAL", .right), .init("ASSIGNED", .right),
                          .init("AVAILABLE", .right), .init("OVER", .right), .init("NOTE"))
        // Apple's marker for a free asset without limit is a number (2147483647), never a count
        // to show a person.
        func amount(_ count: Int, unlimited: Bool) -> String { unlimited ? "unlimited" : Text.count(count) }
        // Devices waiting in each app's queue (`assign --queue`).
        var waiting: [String: Int] = [:]
        for entry in try await allot.queue(tenant: tenant.tenant) { waiting["\(entry.adamId):\(entry.pricingParam)", default: 0] += 1 }
        for pool in pools {
            table.add(cells: ["\(pool.adamId):\(pool.pricingParam)", pool.productType, amount(pool.total, unlimited: pool.unlimited), Text.count(pool.assigned),
                              amount(pool.available, unlimited: pool.unlimited), pool.overAllocated > 0 ? Text.count(pool.overAllocated) : "-",
                              pool.deviceAssignable ? waiting["\(pool.adamId):\(pool.pricingParam)"].map { "\(Text.count($0)) waiting (`allot queue list`)" } ?? ""
                                                    : "not device-assignable"])
            for share in pool.tokens {
                table.add(cells: ["  token \(share.id) (\(share.locationUid))", "", amount(share.total, unlimited: share.unlimited), Text.count(share.assigned),
                                  amount(share.available, unlimited: share.unlimited), "", share.usable ? "" : "unusable: licences out of the pool"])
            }
        }
        Standard.output(table.render())
        // Books and apps that cannot go to devices are not licences a batch could give.
        let unlimited = pools.count(where: \.unlimited)
        let available = pools.filter { $0.deviceAssignable && !$0.unlimited }.reduce(0) { $0 + $1.available }
        let over = pools.filter { $0.overAllocated > 0 }
        Standard.output("\(Text.count(pools.count, "app")), \(Text.count(available, "licence")) available to devices"
                        + (unlimited > 0 ? " (and \(Text.count(unlimited, "app")) without limit)" : "")
                        + (over.isEmpty ? "." : "; \(Text.count(over.count, "app")) over-allocated (Apple's total fell below what is in use): "
                           + OverAllocationAdvice.resolve(tenant: tenant.tenant, tokens: over.flatMap { $0.tokens.filter { $0.assigned > $0.total }.map(\.id) }) + "."))
    }
}

extension AppsCommand {
    struct HoldersJSON: Encodable {
        let adamId: String
        let pricingParam: String
        let devices: [Holder]
        /// More devices hold the app than --limit let through.
        let more: Bool
        /// How many more: the devices that hold the app beyond --limit.
        let devicesOmitted: Int
    }

    struct Holder: Encodable {
        let serialNumber: String
        let tokenId: Int64
        let locationUid: String
        let confirmed: Bool
    }

    func listHolders(_ allot: Allot, asset: AssetKey) async throws {
        let found = try await allot.holders(tenant: tenant.tenant, asset: asset, limit: limit)
        if global.json {
            try JSONOutput.emit(HoldersJSON(adamId: asset.adamId, pricingParam: asset.pricingParam.rawValue, devices: found.holdings.map {
                Holder(serialNumber: $0.serialNumber, tokenId: $0.tokenId.rawValue, locationUid: $0.locationUid, confirmed: $0.confirmed)
            }, more: found.omitted > 0, devicesOmitted: found.omitted))
            return
        }
        var table = Table(.init("SERIAL"), .init("TOKEN", .right), .init("LOCATION"), .init("APPLE"))
        for holding in found.holdings {
            table.add(holding.serialNumber, "\(holding.tokenId)", holding.locationUid, holding.confirmed ? "confirmed" : "pending")
        }
        if !found.holdings.isEmpty { Standard.output(table.render()) }
        Standard.output("\(Text.count(found.holdings.count, "device")) \(found.holdings.count == 1 ? "holds" : "hold") \(asset)"
                        + (found.omitted > 0 ? "; \(Text.count(found.omitted)) more do, raise --limit to see them." : "."))
    }
}
