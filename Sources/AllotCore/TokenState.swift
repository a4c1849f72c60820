import Foundation

/// The life of a location's content token in the engine (DESIGN.md, Tokens).
public enum TokenState: String, Sendable, Codable, CaseIterable, Hashable {
    case active
    /// The date passed, or Apple answered 9621.
    case expired
    /// Apple answered 9625: "The server has revoked the sToken."
    case revoked
    /// Apple answered 9601/9622/9722, or the file could not be read.
    case invalid
    /// Another server (or Apple Configurator) wrote its `mdmInfo` on the location.
    case claimedElsewhere = "claimed_elsewhere"
    /// Being drained after an admin removed it.
    case removed

    /// A token that keeps its assignments counted but supplies no new ones.
    public var suppliesNewAssignments: Bool { self == .active }

    /// The reconcile schedule syncs this token: an active one (to notice a claim, an expiry, a
    /// refund) and a claimed one (to notice the location is free again). Dead and removed
    /// tokens only answer with the error that killed them. Its SQL twin is
    /// `TokenState.scheduledSQL` in the ledger, tested to agree.
    public var isScheduled: Bool { self == .active || self == .claimedElsewhere }
}

extension TokenState {
    /// The rule of invariant 6, the one place it is written in Swift: only active tokens not
    /// past their expiry (seconds since 1970) supply new assignments. Its SQL twin is
    /// `TokenState.usableSQL` in the ledger, tested to agree.
    public func isUsable(expiresAt: Int64, now: Int64) -> Bool {
        suppliesNewAssignments && expiresAt > now
    }
}

/// A token expiring within this many days is shown with a warning (not a state).
public let tokenExpiryWarningDays = 30

/// The expiry warning, one rule for the CLI, the HTTP views and sync's warnings.
public enum TokenExpiry {
    /// Whole days until `expiresAt`, rounded towards zero; negative once passed.
    public static func daysLeft(expiresAt: Int64, now: Int64) -> Int { Int((expiresAt - now) / 86_400) }

    /// Not yet expired, and at most `tokenExpiryWarningDays` whole days left ("within 30 days").
    public static func isExpiringSoon(expiresAt: Int64, now: Int64) -> Bool {
        expiresAt > now && daysLeft(expiresAt: expiresAt, now: now) <= tokenExpiryWarningDays
    }
}
