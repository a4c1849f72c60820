import Allot
import AllotStore

/// What `token resolve` did (or, dry, would do), as published: per app the excess and how it
/// was given back, the devices moved to another token, and those that need an uninstall.
public struct ResolutionView: Encodable, Sendable {
    public struct App: Encodable, Sendable {
        public let adamId: String
        public let pricingParam: String
        public let total: Int
        public let assignedHere: Int
        public let assignedElsewhere: Int
        public let excess: Int
        public let moved: Int
        public let revoked: Int
        /// Held by others at the location: not this server's to give back.
        public let unresolved: Int
    }
    public struct Move: Encodable, Sendable {
        public let serialNumber: String
        public let adamId: String
        public let pricingParam: String
        public let fromTokenId: Int64
        public let toTokenId: Int64
    }
    public let tokenId: Int64
    public let dryRun: Bool
    public let apps: [App]
    public let moved: [Move]
    public let revoked: Int
    /// Serials that lost an app: they need an uninstall.
    public let devices: [String]

    public init(_ resolution: ExcessResolution) {
        tokenId = resolution.tokenId.rawValue
        dryRun = resolution.dryRun
        apps = resolution.apps.map {
            App(adamId: $0.adamId, pricingParam: $0.pricingParam, total: $0.total, assignedHere: $0.assignedHere,
                assignedElsewhere: $0.assignedElsewhere, excess: $0.excess, moved: $0.moved, revoked: $0.revoked, unresolved: $0.unresolved)
        }
        moved = resolution.moved.map {
            Move(serialNumber: $0.serialNumber, adamId: $0.adamId, pricingParam: $0.pricingParam,
                 fromTokenId: $0.fromTokenId.rawValue, toTokenId: $0.toTokenId.rawValue)
        }
        revoked = resolution.revocation.revoked
        devices = resolution.revocation.devices
    }
}
