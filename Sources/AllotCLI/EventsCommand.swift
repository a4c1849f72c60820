import Allot
import AllotCore
import AllotViews
import ArgumentParser

/// `allot events`: the tenant's event log, newest first.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "The tenant's event log, newest first: batches, token changes, syncs, imports."
    )
    @OptionGroup var global: GlobalOptions
    @OptionGroup var tenant: TenantOption
    @Option(help: "At most this many events (1 to \(Self.limitMax)).")
    var limit = 50
    @Option(help: ArgumentHelp("Only events of this kind, e.g. token_state_changed.", valueName: "kind"))
    var kind: String?

    static let limitMax = 10_000

    func validate() throws {
        guard (1...Self.limitMax).contains(limit) else { throw ValidationError("--limit must be 1 to \(Text.count(Self.limitMax))") }
    }

    func run() async throws {
        let events = try await global.openEngine().events(tenant: tenant.tenant, limit: limit, kind: kind)
        if global.json {
            try JSONOutput.emit(EventListView(events))
            return
        }
        var table = Table(.init("AT (UTC)"), .init("KIND"), .init("TOKEN", .right), .init("DETAIL"))
        for event in events {
            table.add(Text.dateTime(event.at), event.kind, event.tokenId.map { "\($0)" } ?? "-", JSONValue(parsing: event.detail).summary)
        }
        if !events.isEmpty { Standard.output(table.render()) }
        Standard.output(Text.count(events.count, "event") + (kind.map { " of kind \($0)" } ?? "") + ", newest first.")
    }
}
