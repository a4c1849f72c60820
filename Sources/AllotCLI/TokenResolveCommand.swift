import Allot
import AllotCore
import AllotViews
import ArgumentParser
import Foundation

extension TokenCommand {
    /// `allot token resolve`: gives back what a token holds beyond Apple's total.
    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give back the licences a token holds beyond Apple's total (a refund, a transfer, the wrong location's token).",
            discussion: "The newest assignments go first (the devices of --keep-group last). Each device moves to another token of the same app with a free licence when one has it (no uninstall needed); otherwise its licence is revoked and it is listed for an uninstall. Apple is told straight after (the outbox)."
        )
        @OptionGroup var tenant: TenantOption
        @Argument(help: ArgumentHelp("The token: its id or its location uId.", valueName: "token"))
        var token: String
        @Option(help: ArgumentHelp("Only this app: ADAMID or ADAMID:PRICING.", valueName: "adamid[:pricing]"))
        var app: String?
        @Option(help: ArgumentHelp("The devices of this group give back last.", valueName: "group"))
        var keepGroup: String?
        @Flag(help: "Say what would be moved and revoked; change nothing.")
        var dryRun = false
        @OptionGroup(title: "Global options") var global: GlobalOptions

        func validate() throws {
            if let app, AssetKey(parsing: app) == nil { throw ValidationError("--app '\(app)' is not an app; \(AssetKey.formatHelp)") }
        }

        func run() async throws {
            let allot = try await global.openEngine()
            let resolution = try await allot.resolveOverAllocation(tenant: tenant.tenant, token: token, asset: app.flatMap(AssetKey.init(parsing:)),
                                                                   keepGroup: keepGroup, dryRun: dryRun)
            let changed = !resolution.moved.isEmpty || resolution.revocation.revoked > 0
            let delivery = try await Delivery.push(allot: allot, tenant: tenant.tenant, when: !dryRun && changed, global: global)
            if global.json {
                try JSONOutput.emit(Extended(ResolutionView(resolution), "delivery", delivery))
                return
            }
            let name = "token \(resolution.tokenId)"
            guard !resolution.apps.isEmpty else {
                Standard.output("Nothing to resolve: \(name) holds no more licences" + (app.map { " of \(Text.printable($0))" } ?? "") + " than Apple's total.")
                return
            }
            var table = Table(.init("APP"), .init("TOTAL", .right), .init("IN USE", .right), .init("EXCESS", .right),
                              .init("MOVED", .right), .init("REVOKED", .right), .init("HELD BY OTHERS", .right))
            for entry in resolution.apps {
                table.add(cells: ["\(entry.adamId):\(entry.pricingParam)", Text.count(entry.total), Text.count(entry.assignedHere + entry.assignedElsewhere),
                                  Text.count(entry.excess), Text.count(entry.moved), Text.count(entry.revoked), Text.count(entry.unresolved)])
            }
            Standard.output(table.render())
            let would = dryRun ? "would " : ""
            if !resolution.moved.isEmpty {
                let targets = Set(resolution.moved.map(\.toTokenId)).sorted().map { "token \($0)" }
                Standard.output("\(dryRun ? "Would move" : "Moved") \(Text.count(resolution.moved.count, "device")) to \(Text.list(targets)) (no uninstall needed): "
                                + resolution.moved.prefix(TextLimits.serialsShown).map(\.serialNumber).joined(separator: " ")
                                + (resolution.moved.count > TextLimits.serialsShown ? " … (--json lists all)" : ""))
            }
            if !resolution.revocation.devices.isEmpty {
                Standard.output("\(dryRun ? "Would need" : "Send") an uninstall to \(Text.count(resolution.revocation.devices.count, "device")): "
                                + resolution.revocation.devices.prefix(TextLimits.serialsShown).joined(separator: " ")
                                + (resolution.revocation.devices.count > TextLimits.serialsShown ? " … (--json lists all)" : ""))
            }
            let unresolved = resolution.apps.reduce(0) { $0 + $1.unresolved }
            Standard.output((dryRun ? "Dry run, nothing changed: \(name) " : "Resolved \(name): ")
                            + "\(would)\(dryRun ? "move" : "moved") \(Text.count(resolution.moved.count)), \(would)\(dryRun ? "revoke" : "revoked") \(Text.count(resolution.revocation.revoked)).")
            if unresolved > 0 {
                Standard.output("\(Text.count(unresolved, "licence")) beyond the total \(unresolved == 1 ? "is" : "are") held at the location by another server, not this one: `allot token takeover --tenant \(tenant.tenant) \(resolution.tokenId) --clean-up` revokes those.")
            }
            if let note = delivery.note { Standard.output(note) }
        }
    }
}

/// The sentence that says what fixes an over-allocation: shared by `apps`, `token takeover` and `sync`.
enum OverAllocationAdvice {
    static func resolve(tenant: String, tokens: [TokenID]) -> String {
        let ids = Set(tokens).sorted()
        let token = ids.count == 1 ? "\(ids[0])" : "TOKEN"
        return "`allot token resolve --tenant \(tenant) \(token)` gives back the excess (moving devices to another token with free licences first)"
            + (ids.count > 1 ? " on each of tokens \(Text.list(ids.map(\.description)))" : "")
    }
}
