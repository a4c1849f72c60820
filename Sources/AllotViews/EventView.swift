import Allot
import AllotCore
import AllotStore

/// An entry of the event log as published (`events`, `GET /v1/tenants/{slug}/events`).
public struct EventView: Encodable, Sendable {
    public let id: Int64
    public let at: String
    public let kind: String
    @AlwaysPresent public var tokenId: Int64?
    public let detail: JSONValue

    public init(_ event: Event) {
        id = event.id
        at = Moments.iso8601(event.at)
        kind = event.kind
        tokenId = event.tokenId?.rawValue
        detail = Self.withMomentTimes(JSONValue(parsing: event.detail), kind: EventKind(rawValue: event.kind))
    }

    /// The detail with, beside each moment its kind records as seconds since 1970
    /// (`EventKind.detailMoments`), the same moment in RFC 3339 UTC, as every other moment in
    /// JSON: `{"expiresAt": 1788220800, "expiresAtTime": "2026-09-01T00:00:00Z"}`. The seconds
    /// stay, deprecated, for the scripts that read them.
    public static func withMomentTimes(_ detail: JSONValue, kind: EventKind?) -> JSONValue {
        guard let kind, case .object(var fields) = detail else { return detail }
        for name in kind.detailMoments {
            guard case .number(let seconds)? = fields[name], seconds == seconds.rounded(), abs(seconds) < 1e15 else { continue }
            fields[name + EventKind.momentSuffix] = .string(Moments.iso8601(Int64(seconds)))
        }
        return .object(fields)
    }
}

public struct EventListView: Encodable, Sendable {
    public let events: [EventView]
    /// Events the filter finds beyond the limit (older than the last one listed); 0 when none.
    public let eventsOmitted: Int
    public init(_ events: [Event], omitted: Int) {
        self.events = events.map(EventView.init)
        eventsOmitted = omitted
    }
}
