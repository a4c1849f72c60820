import AllotCore

public struct Tenant: Sendable, Hashable, Codable {
    public let id: TenantID
    public let slug: String
    public let name: String
    public let policy: AllocationPolicy
    /// Our `mdmInfo.id` on this tenant's locations.
    public let mdmId: String
}

public struct TokenRecord: Sendable, Hashable {
    public let id: TokenID
    public let tenantId: TenantID
    public let locationUid: String
    public let locationName: String
    public let orgName: String
    /// Seconds since 1970.
    public let expiresAt: Int64
    public let state: TokenState
    public let ownerName: String?
    public let priority: Int
    public let lastSyncAt: Int64?
    public let hasSecret: Bool

    public func isUsable(now: Int64) -> Bool { state.isUsable(expiresAt: expiresAt, now: now) }
}

public struct Device: Sendable, Hashable, Codable {
    public let id: DeviceID
    public let serialNumber: String
    public let name: String?
    public let model: String?
    public let group: String?
    public let retired: Bool
}

/// A device to register; nil fields are left as stored.
public struct DeviceInput: Sendable, Hashable {
    public let serial: SerialNumber
    public let name: String?
    public let model: String?
    public let group: String?
    public init(serial: SerialNumber, name: String? = nil, model: String? = nil, group: String? = nil) {
        self.serial = serial
        self.name = name
        self.model = model
        self.group = group
    }
}

public struct ImportReport: Sendable, Hashable, Codable {
    public var imported = 0
    public var updated = 0
    public var rejected: [Roster.Rejection] = []
    public init() {}
}

/// One asset of a token as Apple counts it: what a sync feeds into the ledger.
public struct SnapshotAsset: Sendable, Hashable {
    public let asset: AssetKey
    public let productType: String
    public let deviceAssignable: Bool
    public let revocable: Bool
    public let total: Int
    /// Apple's `assignedCount`: every licence of this asset in use at this location, ours or not.
    public let appleAssigned: Int
    /// Apple's `availableCount` and `retiredCount`, compared with the ledger's arithmetic when given.
    public let appleAvailable: Int?
    public let appleRetired: Int
    public init(asset: AssetKey, productType: String = "App", deviceAssignable: Bool = true, revocable: Bool = true,
                total: Int, appleAssigned: Int, appleAvailable: Int? = nil, appleRetired: Int = 0) {
        self.asset = asset
        self.productType = productType
        self.deviceAssignable = deviceAssignable
        self.revocable = revocable
        self.total = total
        self.appleAssigned = appleAssigned
        self.appleAvailable = appleAvailable
        self.appleRetired = appleRetired
    }
}

/// An asset of a token whose licences in use exceed Apple's total.
public struct OverAllocation: Sendable, Hashable, Codable {
    public let adamId: String
    public let pricingParam: String
    public let tokenId: TokenID
    public let total: Int
    public let assignedHere: Int
    public let assignedElsewhere: Int
    public var excess: Int { assignedHere + assignedElsewhere - total }
}

public struct SnapshotReport: Sendable, Hashable, Codable {
    public var assetsAdded = 0
    public var overAllocated: [OverAllocation] = []
    /// Assets whose `availableCount` at Apple differs from what the ledger computes.
    public var countDifferences: [CountDifference] = []
}

/// An app of a tenant across its tokens: shown once, counts summed over the usable tokens.
public struct MergedPool: Sendable, Hashable, Codable {
    public struct TokenShare: Sendable, Hashable, Codable {
        public let id: TokenID
        public let locationUid: String
        public let total: Int
        public let assigned: Int
        public let assignedHere: Int
        public let available: Int
        public let usable: Bool
        /// An unlimited free asset: `total` and `available` are Apple's marker, not a count.
        public let unlimited: Bool
    }
    public let adamId: String
    public let pricingParam: String
    public let productType: String
    public let deviceAssignable: Bool
    /// Over usable tokens only: an unusable token's licences are out of the pool.
    public let total: Int
    public let assigned: Int
    public let available: Int
    /// Licences in use beyond Apple's totals, over every token.
    public let overAllocated: Int
    /// Assignments this server holds on tokens that are not usable: still counted, never renewed.
    public let assignedOnUnusableTokens: Int
    /// A usable token holds the asset without limit (Apple's free assets): never show `total`
    /// or `available` to a person as a count.
    public let unlimited: Bool
    public let tokens: [TokenShare]
}

public struct Event: Sendable, Hashable, Codable {
    public let id: Int64
    /// Seconds since 1970.
    public let at: Int64
    public let kind: String
    public let tokenId: TokenID?
    /// A JSON object.
    public let detail: String
}

/// What taking licences back from devices did: for the MDM to send uninstall commands.
public struct RevocationReport: Sendable, Hashable, Codable {
    public var revoked = 0
    /// Serials that lost at least one app, sorted.
    public var devices: [String] = []
    public init() {}
}
