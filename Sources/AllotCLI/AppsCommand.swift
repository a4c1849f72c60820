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
    @OptionGroup var global: GlobalOptions
    @OptionGroup var tenant: TenantOption

    func run() async throws {
        let pools = try await global.openEngine().apps(tenant: tenant.tenant)
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
        for pool in pools {
            table.add(cells: ["\(pool.adamId):\(pool.pricingParam)", pool.productType, amount(pool.total, unlimited: pool.unlimited), Text.count(pool.assigned),
                              amount(pool.available, unlimited: pool.unlimited), pool.overAllocated > 0 ? Text.count(pool.overAllocated) : "-",
                              pool.deviceAssignable ? "" : "not device-assignable"])
            for share in pool.tokens {
                table.add(cells: ["  token \(share.id) (\(share.locationUid))", "", amount(share.total, unlimited: share.unlimited), Text.count(share.assigned),
                                  amount(share.available, unlimited: share.unlimited), "", share.usable ? "" : "unusable: licences out of the pool"])
            }
        }
        Standard.output(table.render())
        let unlimited = pools.count(where: \.unlimited)
        let available = pools.filter { !$0.unlimited }.reduce(0) { $0 + $1.available }
        let over = pools.filter { $0.overAllocated > 0 }
        Standard.output("\(Text.count(pools.count, "app")), \(Text.count(available, "licence")) available"
                        + (unlimited > 0 ? " (and \(Text.count(unlimited, "app")) without limit)" : "")
                        + (over.isEmpty ? "." : "; \(Text.count(over.count, "app")) over-allocated (Apple's total fell below what is in use): run `allot sync`."))
    }
}
