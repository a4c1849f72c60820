import AllotCore
import AllotStore
import AppleAppsAndBooks
import Foundation

/// What `allot token subscriptions` did: the location's opt-in as Apple now records it, and the
/// subscriptions read there right after.
public struct SubscriptionManagementChange: Sendable, Hashable, Codable {
    public let tokenId: TokenID
    public let locationUid: String
    public let locationName: String
    public let subscriptionManagement: Bool
    /// The subscriptions Apple lists at the location now (0 after a disable).
    public let subscriptions: Int
}

extension Allot {
    // MARK: The token's opt-in

    /// Declares (or withdraws) at a token's location that this server manages subscription
    /// seats, as Apple requires before any seat (`POST /subscriptions/enable|disable`). Apple
    /// refuses to disable while the location holds seats (9818): one sentence, nothing changed. On
    /// enable, the location's subscriptions are read at once, so the list answers without
    /// waiting for a sync.
    public func setSubscriptionManagement(tenant slug: String, token reference: String, enabled: Bool) async throws -> SubscriptionManagementChange {
        let tenant = try tenant(slug)
        let token = try ledger.requireToken(tenant: tenant.id, reference)
        guard token.state == .active || token.state == .expired else {
            throw AllotError.conflict("token \(token.id) is \(token.state.rawValue) and cannot speak for its location; renew it or take it over first")
        }
        let service = try subscriptionsService()
        let bearer = try bearer(of: token)
        let answer = try await callApple(token) { () async throws -> SubscriptionManagementResponse in
            do {
                return enabled ? try await service.enableSubscriptions(token: bearer) : try await service.disableSubscriptions(token: bearer)
            } catch let error as AppleServiceError where error.errorNumber == AppleErrorNumber.subscriptionsExist {
                throw AllotError.conflict("Apple refuses to turn subscriptions off at token \(token.id) (\(token.locationName)) while its location holds subscription seats (9818); the seats must end or be refunded first")
            }
        }
        // Apple's answer is the truth; an answer without the field is taken as what was asked.
        let state = answer.subscriptionManagement ?? enabled
        try ledger.write(tenant: tenant.id) {
            try ledger.setSubscriptionManagement(tenant: tenant.id, token: token.id, enabled: state)
        }
        var count = 0
        if state {
            count = try await readSubscriptionSeats(tenant: tenant, token: token, bearer: bearer).count
        } else {
            try changeSubscriptionSeats(tenant: tenant) { try ledger.replaceSubscriptionSeats(tenant: tenant.id, token: token.id, []) }
        }
        return SubscriptionManagementChange(tokenId: token.id, locationUid: token.locationUid, locationName: token.locationName,
                                            subscriptionManagement: state, subscriptions: count)
    }

    /// The tenant's subscriptions, merged across its tokens, as last read from Apple.
    public func subscriptions(tenant slug: String) throws -> [SubscriptionSeats] {
        SubscriptionSeats.merge(try ledger.subscriptionSeats(tenant: try tenant(slug).id))
    }

    // MARK: Reading Apple's seats

    func subscriptionsService() throws -> any AppleSubscriptionsService {
        guard let service = try requireApple() as? any AppleSubscriptionsService else {
            throw AllotError(.invalidInput, "the Apple service given to this engine does not manage subscriptions")
        }
        return service
    }

    /// Reads every page of a location's subscriptions (`GET /subscriptions`, cursor paging, one
    /// page at a time as Apple requires) and keeps them. Bounded like the other paged reads.
    @discardableResult
    func readSubscriptionSeats(tenant: Tenant, token: TokenRecord, bearer: String) async throws -> [TokenSubscriptionSeats] {
        let service = try subscriptionsService()
        var found: [ResponseSubscription] = []
        var cursor: String?
        var pages = 0
        repeat {
            pages += 1
            guard pages <= settings.pagesMax else {
                throw AllotError(.apple, "Apple answered more than \(settings.pagesMax) pages of subscriptions for location \(token.locationUid); giving up")
            }
            let page = try await callApple(token) { [cursor] in try await service.subscriptions(token: bearer, query: SubscriptionsQuery(cursor: cursor)) }
            found += page.subscriptions
            cursor = page.nextCursor
        } while cursor != nil
        let readAt = now
        let seats = found.map { subscription in
            let counts = subscription.counts
            return TokenSubscriptionSeats(
                tokenId: token.id, locationUid: token.locationUid, adamId: subscription.adamId, parentAdamId: subscription.parentAdamId,
                status: subscription.status, periodEnd: subscription.periodEndDate,
                total: SeatCount(counts?.total), assigned: SeatCount(counts?.assigned), available: SeatCount(counts?.available), readAt: readAt)
        }
        try changeSubscriptionSeats(tenant: tenant) { try ledger.replaceSubscriptionSeats(tenant: tenant.id, token: token.id, seats) }
        return seats
    }

    /// Changes the tenant's stored seats in one write, and records `subscription_seats_low` for
    /// each subscription that went below a threshold (the tenant's `licences_low` percents).
    func changeSubscriptionSeats(tenant: Tenant, _ change: () throws -> Void) throws {
        try ledger.write(tenant: tenant.id) {
            let before = try ledger.subscriptionSeats(tenant: tenant.id)
            try change()
            let after = try ledger.subscriptionSeats(tenant: tenant.id)
            for low in SubscriptionSeats.lowCrossings(before: before, after: after, thresholds: try ledger.licenceThresholds(tenant: tenant.id)) {
                try ledger.recordEvent(tenant: tenant.id, kind: .subscriptionSeatsLow, detail: low)
            }
        }
    }

    /// The sync's part: a token whose location manages subscriptions has its seats read again.
    /// A failure is a warning: the licences read already stand.
    func syncSubscriptionSeats(tenant: Tenant, token: TokenRecord, report: inout TokenSyncReport) async throws {
        guard apple is any AppleSubscriptionsService, try ledger.subscriptionManagement(token: token.id) else { return }
        do {
            try await readSubscriptionSeats(tenant: tenant, token: token, bearer: try bearer(of: token))
        } catch let error as AllotError {
            report.warnings.append("the subscriptions of token \(token.id) could not be read: \(error.message)")
        }
    }
}

extension SeatCount {
    /// Apple's count, absent fields read as 0 (Apple marks them optional).
    init(_ apple: SubscriptionCountsBreakdown?) {
        self.init(renewing: max(0, apple?.renewing ?? 0), expiring: max(0, apple?.expiring ?? 0))
    }
}

// MARK: Apple's notifications about seats

extension Allot {
    /// Why a SUBSCRIPTION_COUNT or SUBSCRIPTION_MANAGEMENT cannot be taken (nil: it can).
    static func subscriptionNotificationProblem(_ type: AppleUserNotificationType, body: [UInt8]) -> String? {
        switch type {
        case .subscriptionCount:
            guard let event = try? JSONDecoder().decode(AppleNotification<SubscriptionCountBody>.self, from: Data(body)).notification,
                  event.adamId > 0, event.counts.total != nil, event.counts.available != nil else {
                return "a SUBSCRIPTION_COUNT needs notification{adamId, counts{available, total}}"
            }
            let counts = [event.counts.total, event.counts.available].compactMap { $0 }
            guard counts.allSatisfy({ (0...PoolLimits.totalMax).contains($0.renewing) && (0...PoolLimits.totalMax).contains($0.expiring) }) else {
                return "the SUBSCRIPTION_COUNT's counts must be whole numbers from 0 to \(PoolLimits.totalMax)"
            }
            return nil
        case .subscriptionManagement:
            guard let event = try? JSONDecoder().decode(AppleNotification<SubscriptionManagementBody>.self, from: Data(body)).notification,
                  !event.eventId.isEmpty, event.eventId.utf8.count <= 200 else {
                return "a SUBSCRIPTION_MANAGEMENT needs notification{eventId, type, result}"
            }
            return nil
        case .userManagement, .userAssociated:
            return nil
        }
    }

    /// SUBSCRIPTION_COUNT moves the stored counts of one subscription at the token's location
    /// (a subscription not known yet is kept with the counts alone; the next read of the list
    /// fills in its period and status). SUBSCRIPTION_MANAGEMENT (seats associated or
    /// disassociated, a deferred one at the period's end) carries no counts: the location's
    /// list is read again, best effort, when the token still opts in.
    func processSubscriptionNotification(_ type: AppleUserNotificationType, body: String, token: TokenRecord, tenant: Tenant) async throws {
        guard try ledger.subscriptionManagement(token: token.id) else { return }
        switch type {
        case .subscriptionCount:
            guard let event = try? JSONDecoder().decode(AppleNotification<SubscriptionCountBody>.self, from: Data(body.utf8)).notification,
                  let total = event.counts.total, let available = event.counts.available else { return }
            let stored = try ledger.subscriptionSeats(tenant: tenant.id).first { $0.tokenId == token.id && $0.adamId == event.adamId }
                ?? TokenSubscriptionSeats(tokenId: token.id, locationUid: token.locationUid, adamId: event.adamId, parentAdamId: event.parentAdamId,
                                          status: nil, periodEnd: nil, total: .zero, assigned: .zero, available: .zero, readAt: now)
            let moved = stored.applyingCount(total: SeatCount(total), available: SeatCount(available), readAt: now)
            try changeSubscriptionSeats(tenant: tenant) { try ledger.putSubscriptionSeats(tenant: tenant.id, moved) }
        case .subscriptionManagement:
            guard let bearer = try? bearer(of: token) else { return }
            _ = try? await readSubscriptionSeats(tenant: tenant, token: token, bearer: bearer)
        case .userManagement, .userAssociated:
            return
        }
    }
}
