import Allot
import AllotCore
import AllotViews
import ArgumentParser
import Foundation

/// `allot events`: the tenant's event log, newest first.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "The tenant's event log, newest first: batches, token changes, syncs, imports."
    )
    @OptionGroup var tenant: TenantOption
    @Option(help: "At most this many events (1 to \(Self.limitMax)).")
    var limit = 50
    @Option(help: ArgumentHelp("Only events of this kind, e.g. token_state_changed.", valueName: "kind"))
    var kind: String?

    @Option(help: ArgumentHelp("Only events at or after this moment: a date (2026-05-01), a time (2026-05-01T16:00:00Z), or an age (30m, 24h, 7d).", valueName: "when"))
    var since: String?
    @OptionGroup(title: "Global options") var global: GlobalOptions

    static let limitMax = 10_000

    func validate() throws {
        guard (1...Self.limitMax).contains(limit) else { throw ValidationError("--limit must be 1 to \(Text.count(Self.limitMax))") }
        if let kind, EventKind(named: kind) == nil { throw ValidationError(Self.unknownKind(kind)) }
        if let since, Self.moment(since, now: Date()) == nil {
            throw ValidationError("--since '\(Text.printable(since))' is not a moment; give a date (2026-05-01), a time (2026-05-01T16:00:00Z) or an age (30m, 24h, 7d)")
        }
    }

    /// The refusal of a `--kind` that is no event kind: a filter that can match nothing would
    /// answer "0 events" and hide the typo. It names the nearest kind (by spelling, else the
    /// kinds that contain the word: `assign` → assign_batch) and every kind.
    static func unknownKind(_ kind: String) -> String {
        let kinds = EventKind.allCases.map(\.rawValue)
        let names = kinds + EventKind.allCases.compactMap(\.licenseSpelling)
        let word = kind.lowercased().replacingOccurrences(of: "-", with: "_")
        let near = CommandLineWords.nearest(word, among: names).map { [$0] } ?? kinds.filter { !word.isEmpty && $0.contains(word) }
        let suggestion = near.isEmpty ? "" : "did you mean \(near.prefix(3).joined(separator: " or "))? "
        return "--kind '\(Text.printable(kind))' is not an event kind; \(suggestion)The kinds: \(kinds.joined(separator: ", "))"
    }

    /// Seconds since 1970 of a `--since` value, or nil when it is not one.
    static func moment(_ text: String, now: Date) -> Int64? {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        if let unit = text.last.flatMap({ units[$0] }), let count = Int64(text.dropLast()), count >= 0, count < 100 * 365 * 86_400 {
            return Int64(now.timeIntervalSince1970) - count * unit
        }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970) }
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }

    func run() async throws {
        let since = self.since.flatMap { Self.moment($0, now: Date()) }
        let (events, omitted) = try await global.openEngine().eventListing(tenant: tenant.tenant, limit: limit, kind: kind, since: since)
        if global.json {
            try JSONOutput.emit(EventListView(events, omitted: omitted))
            return
        }
        var table = Table(.init("AT (UTC)"), .init("KIND"), .init("TOKEN", .right), .init("DETAIL"))
        for event in events {
            table.add(Text.dateTime(event.at), event.kind, event.tokenId.map { "\($0)" } ?? "-", JSONValue(parsing: event.detail).summary)
        }
        if !events.isEmpty { Standard.output(table.render()) }
        if omitted > 0 {
            // The limit is what is read, not only what is shown: there is no --all, as 90 days
            // of events have no bound (STYLE: a limit on everything).
            Standard.output(RowLimit.rest(omitted, " events", seeAll: "raise --limit (at most \(Text.count(Self.limitMax))) or narrow with --since or --kind"))
        }
        Standard.output(Text.count(events.count, "event") + (kind.map { " of kind \(Text.printable($0))" } ?? "")
                        + (since.map { " since \(Text.dateTime($0))" } ?? "") + ", newest first.")
    }
}
