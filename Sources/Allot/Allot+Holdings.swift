import AllotCore
import AllotStore

extension Allot {
    /// A device and the licences it holds.
    public func device(tenant slug: String, serial: String) throws -> (device: Device, holdings: [Holding]) {
        try ledger.device(tenant: try tenant(slug).id, serial: serial)
    }

    /// The devices that hold an app, at most `limit`, and whether more do.
    public func holders(tenant slug: String, asset: AssetKey, limit: Int) throws -> (holdings: [Holding], more: Bool) {
        try ledger.holders(tenant: try tenant(slug).id, asset: asset, limit: limit)
    }

    /// The newest events first, those at or after `since` (seconds since 1970).
    public func events(tenant slug: String, limit: Int = 50, kind: String? = nil, since: Int64?) throws -> [Event] {
        try ledger.events(tenant: try tenant(slug).id, limit: limit, kind: kind, since: since)
    }
}
