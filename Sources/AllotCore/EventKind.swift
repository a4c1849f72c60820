/// Every kind of event the ledger records (DESIGN.md: `events(kind)`). The spellings are a
/// contract: `allot events`, its `--kind` filter and the HTTP API publish them, so a case
/// keeps its raw value once released.
public enum EventKind: String, Sendable, Hashable, Codable, CaseIterable {
    // Tenants and devices
    case tenantCreated = "tenant_created"
    case apiKeyRotated = "api_key_rotated"
    case rosterImported = "roster_imported"
    case devicesRetired = "devices_retired"
    /// A roster of people imported (`allot users import`).
    case usersImported = "users_imported"
    case usersRetired = "users_retired"
    /// Apple changed a user's status at a location (registered, associated, retired).
    case userStatusChanged = "user_status_changed"
    case reconcileSettingChanged = "reconcile_setting_changed"

    // Batches and the outbox
    case assignBatch = "assign_batch"
    case revokeBatch = "revoke_batch"
    case appleOperationFailed = "apple_operation_failed"
    case licencesReleased = "licences_released"

    // Tokens
    case tokenAdded = "token_added"
    case tokenRenewed = "token_renewed"
    case tokenRemoved = "token_removed"
    case tokenStateChanged = "token_state_changed"
    case tokenTakenOver = "token_taken_over"
    case tokenCleanedUp = "token_cleaned_up"
    case tokenExpiryFromApple = "token_expiry_from_apple"
    case tokenHasNoLicences = "token_has_no_licences"

    // Sync
    case poolSynced = "pool_synced"
    /// Written by older versions on every sync that found Apple's total below what is in use.
    /// No longer written: the condition has one name, `overAllocated` (once per onset), and a
    /// filter by either name finds both (`filterNames`).
    case overAllocation = "over_allocation"
    case appleCountsDiffer = "apple_counts_differ"
    case assignmentsDrift = "assignments_drift"
    case driftRepaired = "drift_repaired"

    // Events people act on (issue 12, point 3): each once per occurrence, not per sync.
    /// A token reached 30, 15, 7 or 1 day(s) before its expiry (`ExpiryMilestones`).
    case tokenExpiring = "token_expiring"
    /// Another server or Apple Configurator took the location.
    case tokenClaimed = "token_claimed"
    case tokenExpired = "token_expired"
    case tokenRevoked = "token_revoked"
    /// A pool's total fell below the licences in use on it (a refund, a transfer).
    case overAllocated = "over_allocated"
    /// An app's available licences fell below one of the tenant's thresholds (`LicenceLevels`).
    case licencesLow = "licences_low"
    /// A subscription's available seats, merged across the tenant's tokens, fell below one of
    /// the tenant's thresholds (the `licences_low` percents).
    case subscriptionSeatsLow = "subscription_seats_low"

    // Apple's notifications (issue 12, point 2)
    /// Apple accepted this server's notification receiver for a token.
    case notificationsConfigured = "notifications_configured"
    /// Apple's `ASSET_COUNT`: a purchase, a transfer or a refund moved a pool's total.
    case appleCountChanged = "apple_count_changed"
    /// An `ASSET_COUNT` whose change no pool can hold (`PoolLimits`): not applied, refused
    /// with 400; the token is synced instead (issue 28, point 4).
    case appleCountRefused = "apple_count_refused"

    // Webhooks (issue 12, point 4)
    /// A URL registered for the tenant's events.
    case webhookAdded = "webhook_added"
    case webhookRemoved = "webhook_removed"
    /// Events a webhook's receiver did not take within their 24-hour window.
    case webhookGaveUp = "webhook_gave_up"

    // The queue of unmet demand and over-allocation resolved (issue 14)
    case queueServed = "queue_served"
    case queueCancelled = "queue_cancelled"
    case overAllocationResolved = "over_allocation_resolved"

    /// The stored kinds a filter by `name` finds: the name itself; for a kind that has two names,
    /// both (old events keep the name they were written with); for a token's state change, the
    /// alerts that stand for one (a transition is written once, as its alert when it has one).
    public static func filterNames(_ name: String) -> [String] {
        switch name {
        case overAllocation.rawValue, overAllocated.rawValue: [overAllocated.rawValue, overAllocation.rawValue]
        case tokenStateChanged.rawValue: [tokenStateChanged.rawValue, tokenClaimed.rawValue, tokenExpired.rawValue, tokenRevoked.rawValue]
        default:
            if let kind = EventKind(named: name), let alias = kind.licenseSpelling { [kind.rawValue, alias] } else { [name] }
        }
    }

    /// The contract spells new names as Apple does (`license`); the kinds published before that
    /// keep their spelling (scripts and webhook receivers match on it) and take Apple's as an
    /// alias that every filter accepts.
    public var licenseSpelling: String? {
        switch self {
        case .licencesLow: "licenses_low"
        case .licencesReleased: "licenses_released"
        default: nil
        }
    }

    /// The fields of this kind's `detail` that hold a moment as seconds since 1970, as the
    /// ledger recorded them. They keep that type (scripts read them); published views add
    /// beside each its RFC 3339 form, named with `momentSuffix` (`expiresAt` → `expiresAtTime`),
    /// so old events read the same as new ones. A new kind that records a moment names it here.
    public var detailMoments: [String] {
        switch self {
        case .tokenRenewed, .tokenExpiring: ["expiresAt"]
        case .tokenExpiryFromApple: ["from", "to"]
        default: []
        }
    }

    /// What a detail moment's RFC 3339 twin adds to its name: one rule for every kind.
    public static let momentSuffix = "Time"

    /// The kind a filter names, by its published spelling or its `license` alias.
    public init?(named name: String) {
        if let kind = EventKind(rawValue: name) {
            self = kind
        } else if let kind = EventKind.allCases.first(where: { $0.licenseSpelling == name }) {
            self = kind
        } else {
            return nil
        }
    }

    /// The event of a batch in one direction.
    public static func batch(_ direction: BatchDirection) -> EventKind {
        switch direction {
        case .assign: .assignBatch
        case .revoke: .revokeBatch
        }
    }

    /// The alert a token's move into `state` raises, written instead of `token_state_changed`
    /// (with the same from/to detail); nil for a state nobody needs to act on (active again,
    /// removed by an admin).
    public static func alert(enteringState state: TokenState) -> EventKind? {
        switch state {
        case .claimedElsewhere: .tokenClaimed
        case .expired: .tokenExpired
        case .revoked: .tokenRevoked
        case .active, .invalid, .removed: nil
        }
    }
}
