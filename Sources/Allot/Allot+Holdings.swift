import AllotCore
import AllotStore

extension Allot {
    /// A device and the licences it holds.
    public func device(tenant slug: String, serial: String) throws -> (device: Device, holdings: [Holding]) {
        try ledger.device(tenant: try tenant(slug).id, serial: serial)
    }

    /// The devices that hold an app, at most `limit`, and how many more do.
    public func holders(tenant slug: String, asset: AssetKey, limit: Int) throws -> (holdings: [Holding], omitted: Int) {
        try ledger.holders(tenant: try tenant(slug).id, asset: asset, limit: limit)
    }

    /// The newest events first, those at or after `since` (seconds since 1970).
    public func events(tenant slug: String, limit: Int = 50, kind: String? = nil, since: Int64?) throws -> [Event] {
        try ledger.events(tenant: try tenant(slug).id, limit: limit, kind: kind, since: since)
    }

    /// The newest events first, at most `limit`, and how many more the same filter finds: what
    /// both faces list, so that a cut list says what it left out.
    public func eventListing(tenant slug: String, limit: Int, kind: String? = nil, since: Int64? = nil) throws -> (events: [Event], omitted: Int) {
        let id = try tenant(slug).id
        let events = try ledger.events(tenant: id, limit: limit, kind: kind, since: since)
        guard events.count == limit else { return (events, 0) }
        // Counted only when the limit was reached. The two reads are not one snapshot: an event
        // recorded between them is counted among the omitted, never listed twice.
        return (events, max(0, try ledger.eventCount(tenant: id, kind: kind, since: since) - events.count))
    }
}
