import Allot
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
        detail = JSONValue(parsing: event.detail)
    }
}

public struct EventListView: Encodable, Sendable {
    public let events: [EventView]
    public init(_ events: [Event]) { self.events = events.map(EventView.init) }
}
