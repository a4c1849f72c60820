/// One licence as Apple or the ledger holds it on a token: an asset granted to a serial.
public struct HeldLicence: Sendable, Hashable, Comparable {
    public let asset: AssetKey
    public let serial: String
    public init(asset: AssetKey, serial: String) {
        self.asset = asset
        self.serial = serial
    }
    public static func < (lhs: HeldLicence, rhs: HeldLicence) -> Bool {
        (lhs.asset.description, lhs.serial) < (rhs.asset.description, rhs.serial)
    }
}

/// A difference between Apple's assignments of a token and the ledger's (issue 10: drift).
public struct AssignmentDrift: Sendable, Hashable, Codable {
    /// Stable spellings: published in `allot sync --json` and in events.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// The ledger holds the licence, Apple does not (a lost delivery, an admin in Apple's portal).
        case missingAtApple = "missing_at_apple"
        /// Apple holds the licence, the ledger does not (another server, a restore from backup).
        case unknownToLedger = "unknown_to_ledger"
    }
    public let kind: Kind
    public let adamId: String
    public let pricingParam: String
    public let serialNumber: String

    public init(_ kind: Kind, _ licence: HeldLicence) {
        self.kind = kind
        adamId = licence.asset.adamId
        pricingParam = licence.asset.pricingParam.rawValue
        serialNumber = licence.serial
    }
}

public enum DriftCheck {
    /// Apple's licences of a token against the ledger's, leaving out those an unfinished
    /// operation is still carrying to Apple (their difference is expected until it lands).
    /// Sorted, so the same state always reports the same list.
    public static func differences(apple: Set<HeldLicence>, ledger: Set<HeldLicence>, inFlight: Set<HeldLicence>) -> [AssignmentDrift] {
        let missing = ledger.subtracting(apple).subtracting(inFlight).sorted().map { AssignmentDrift(.missingAtApple, $0) }
        let unknown = apple.subtracting(ledger).subtracting(inFlight).sorted().map { AssignmentDrift(.unknownToLedger, $0) }
        return missing + unknown
    }
}

/// Apple's counts of one asset against the ledger's arithmetic (issue 17: `availableCount` and
/// `retiredCount` are read, not ignored).
public struct CountDifference: Sendable, Hashable, Codable {
    public let adamId: String
    public let pricingParam: String
    /// Apple's `availableCount`.
    public let appleAvailable: Int
    /// Apple's total less the licences the ledger believes Apple counts as in use.
    public let ledgerAvailable: Int
    /// Apple's `retiredCount`, which may explain the difference.
    public let retired: Int

    public init(asset: AssetKey, appleAvailable: Int, ledgerAvailable: Int, retired: Int) {
        adamId = asset.adamId
        pricingParam = asset.pricingParam.rawValue
        self.appleAvailable = appleAvailable
        self.ledgerAvailable = ledgerAvailable
        self.retired = retired
    }

    /// Nil when Apple's `availableCount` is what the ledger computes.
    public static func check(asset: AssetKey, total: Int, inUseAtApple: Int, appleAvailable: Int, retired: Int) -> CountDifference? {
        guard total < PoolLimits.unlimitedTotal else { return nil }
        let ledgerAvailable = max(0, total - inUseAtApple)
        guard appleAvailable != ledgerAvailable else { return nil }
        return CountDifference(asset: asset, appleAvailable: appleAvailable, ledgerAvailable: ledgerAvailable, retired: retired)
    }
}

public enum PoolLimits {
    /// Apple's `totalCount` of an unlimited free asset read without the `unlimited` parameter
    /// (Int32.max): a marker, never a count to show a person.
    public static let unlimitedTotal = 2_147_483_647
}
