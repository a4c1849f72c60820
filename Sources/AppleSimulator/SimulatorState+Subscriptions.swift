import AppleAppsAndBooks
import Foundation

// Auto-renewable subscription seats (Apple's "Managing subscriptions"). A location declares
// support first; seats are bought (here: seeded by a control operation) as renewing or
// expiring licences; users hold seats with an assignment that renews or not.
//
// Seats, as the simulator keeps them: each assignment occupies one licence, renewing or
// expiring. `renewing: true` takes a renewing licence; `renewing: false` takes an expiring
// licence when one is free, else a renewing one (Apple: "a renewing seat assigned with
// renewing false appears as assigned.expiring, but the underlying license remains in
// total.renewing"). A deferred disassociation keeps the seat until the period ends and answers
// it as expiring. At the period's end (`endSubscriptionPeriod`): deferred and non-renewing
// assignments end, expiring licences disappear, the period moves one month on.

extension SimulatorState {
    // MARK: Calls

    func setSubscriptionManagement(token: String, enabled: Bool, now: Date) throws -> SubscriptionManagementResponse {
        let location = try beginCall(token: token, now: now)
        if !enabled {
            // Apple: disabling only while the location has no subscriptions. A subscription
            // listed with every count 0 (its seats gone) no longer counts as one.
            let held = try store.subscriptions(location: location.uId).filter { $0.totalRenewing + $0.totalExpiring > 0 }
            guard held.isEmpty, try store.countSeats(location: location.uId) == 0 else {
                throw ServiceErrorCatalog.error(AppleErrorNumber.subscriptionsExist,
                                                detail: "location \(location.uId) has \(held.count) subscriptions with seats")
            }
        }
        try store.setSubscriptionsEnabled(location: location.uId, enabled)
        return SubscriptionManagementResponse(subscriptionManagement: enabled, mdmInfo: location.mdmInfo, uId: location.uId,
                                              tokenExpirationDate: location.answeredExpirationDate(now: now))
    }

    func subscriptions(token: String, query: SubscriptionsQuery, now: Date) throws -> SubscriptionsPage {
        let location = try beginCall(token: token, now: now)
        let key = "subscriptions?adamId=\(query.adamId.map(String.init) ?? "")&parentAdamId=\(query.parentAdamId.map(String.init) ?? "")"
        let after = try cursorStart(query.cursor, key: key, location: location.uId)
        let rows = try store.subscriptions(location: location.uId, adamId: query.adamId, parentAdamId: query.parentAdamId,
                                           afterPosition: after, limit: settings.pageSize + 1)
        let page = rows.prefix(settings.pageSize)
        let next = rows.count > settings.pageSize ? try cursorNext(key: key, afterId: page.last?.0 ?? after, location: location.uId) : nil
        return SubscriptionsPage(
            subscriptions: try page.map { try wire($0.1, location: location.uId) }, nextCursor: next, versionId: location.versionId,
            uId: location.uId, tokenExpirationDate: location.answeredExpirationDate(now: now), mdmInfo: location.mdmInfo)
    }

    func subscriptionAssignments(token: String, query: SubscriptionAssignmentsQuery, now: Date) throws -> SubscriptionAssignmentsPage {
        let location = try beginCall(token: token, now: now)
        let key = "subscriptions/assignments?adamId=\(query.adamId.map(String.init) ?? "")&parentAdamId=\(query.parentAdamId.map(String.init) ?? "")"
            + "&clientUserId=\(query.clientUserId.map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0 } ?? "")"
        let after = try cursorStart(query.cursor, key: key, location: location.uId)
        let rows = try store.seats(location: location.uId, adamId: query.adamId, parentAdamId: query.parentAdamId,
                                   clientUserId: query.clientUserId, afterId: after, limit: settings.pageSize + 1)
        let page = rows.prefix(settings.pageSize)
        let next = rows.count > settings.pageSize ? try cursorNext(key: key, afterId: page.last?.id ?? after, location: location.uId) : nil
        return SubscriptionAssignmentsPage(
            assignments: page.map { $0.wire() }, nextCursor: next, versionId: location.versionId, uId: location.uId,
            tokenExpirationDate: location.answeredExpirationDate(now: now), mdmInfo: location.mdmInfo)
    }

    func manageSubscriptions(token: String, _ request: ManageSubscriptionsRequest, type: EventType, now: Date) throws -> EventResponse {
        precondition(type == .associateSubscriptions || type == .disassociateSubscriptions, "not a subscriptions event")
        let location = try beginCall(token: token, now: now)
        let (adamIds, users) = try RequestValidation.manageSubscriptions(request, location: location.uId,
                                                                         held: try store.subscriptions(location: location.uId),
                                                                         limits: settings.limits)
        let details = type == .associateSubscriptions
            ? EventDetails(adamIds: adamIds, renewing: request.renewing ?? true)
            : EventDetails(adamIds: adamIds, deferred: request.deferred ?? false)
        let eventId = try recordEvent(type: type, location: location.uId, assets: [], serialNumbers: users, details: details)
        return EventResponse(eventId: eventId, uId: location.uId, tokenExpirationDate: location.answeredExpirationDate(now: now),
                             mdmInfo: location.mdmInfo)
    }

    // MARK: Cursors

    /// Where a read resumes: 0 without a cursor. A cursor is good for one read of the same list
    /// with the same filters, at the same location: a cursor read twice (two pages in parallel,
    /// or an older page read again, out of order), unknown, or of another list answers 9602.
    private func cursorStart(_ cursor: String?, key: String, location uId: String) throws -> Int {
        guard let cursor else { return 0 }
        guard let row = try store.cursor(cursor), row.location == uId else {
            throw RequestValidation.invalid("cursor \(cursor) is not one this location handed out")
        }
        guard row.query == key else { throw RequestValidation.invalid("cursor \(cursor) belongs to another list or other filters") }
        guard !row.used else {
            throw RequestValidation.invalid("cursor \(cursor) was already read: cursor pages are read once each, in order, never in parallel")
        }
        try store.markUsed(cursor: cursor)
        return row.afterId
    }

    private func cursorNext(key: String, afterId: Int, location uId: String) throws -> String {
        let bytes = (0..<18).map { _ in UInt8.random(in: .min ... .max) }
        let cursor = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        try store.insert(SimulatedCursor(cursor: cursor, location: uId, query: key, afterId: afterId, used: false), sequence: nextSequence())
        try store.pruneCursors(location: uId, keptMax: SubscriptionDefaults.cursorsKeptMax)
        return cursor
    }

    // MARK: Counts

    /// Apple's counts of one subscription, from its seats.
    func counts(_ subscription: SimulatedSubscription, location uId: String) throws -> SubscriptionCounts {
        let seats = try store.seats(location: uId, adamId: subscription.adamId)
        let assignedRenewing = seats.filter(\.answeredRenewing).count
        let usedRenewing = seats.filter(\.renewingSeat).count
        // Every seat occupies a licence of its kind: only a bug could hand out more than there are
        // (seeding refuses to go below what is held; a period's end empties expiring licences).
        precondition(usedRenewing <= subscription.totalRenewing, "more renewing seats held than owned")
        precondition(seats.count - usedRenewing <= subscription.totalExpiring, "more expiring seats held than owned")
        return SubscriptionCounts(
            assigned: SubscriptionCountsBreakdown(renewing: assignedRenewing, expiring: seats.count - assignedRenewing),
            available: SubscriptionCountsBreakdown(renewing: subscription.totalRenewing - usedRenewing,
                                                   expiring: subscription.totalExpiring - (seats.count - usedRenewing)),
            total: SubscriptionCountsBreakdown(renewing: subscription.totalRenewing, expiring: subscription.totalExpiring))
    }

    private func wire(_ subscription: SimulatedSubscription, location uId: String) throws -> ResponseSubscription {
        ResponseSubscription(adamId: subscription.adamId, parentAdamId: subscription.parentAdamId, status: subscription.status.rawValue,
                             periodEndDate: subscription.periodEnd, counts: try counts(subscription, location: uId))
    }

    // MARK: Applying subscriptions' events

    /// Seats to users. A user not registered here fails with 9609; no free licence of the kind
    /// asked fails with 9709; a user who holds the seat already is done (a deferred
    /// disassociation of it is called off).
    func associateSubscriptions(_ event: SimulatedEvent) throws -> EventEffect {
        let uId = event.locationUid
        let renewing = event.details?.renewing ?? true
        let (active, unknown) = try activeUsers(event)
        var completed = 0
        var failures: [EventFailure] = []
        var done: [ResponseSubscriptionAssignment] = []
        for adamId in event.details?.adamIds ?? [] {
            guard let subscription = try store.subscription(location: uId, adamId: adamId) else {
                preconditionFailure("a subscriptions event names a subscription validation should have refused")
            }
            let seats = try store.seats(location: uId, adamId: adamId)
            var freeRenewing = subscription.totalRenewing - seats.filter(\.renewingSeat).count
            var freeExpiring = subscription.totalExpiring - seats.filter { !$0.renewingSeat }.count
            var unserved: [String] = []
            for user in active {
                if var held = seats.first(where: { $0.clientUserId == user.clientUserId }) {
                    if held.deferredEvent != nil {
                        try store.setSeatDeferral(id: held.id, eventId: nil)
                        held.deferredEvent = nil
                    }
                    done.append(held.wire())
                    completed += 1
                    continue
                }
                let renewingSeat: Bool
                if renewing, freeRenewing > 0 {
                    renewingSeat = true
                } else if !renewing, freeExpiring > 0 {
                    renewingSeat = false
                } else if !renewing, freeRenewing > 0 {
                    renewingSeat = true
                } else {
                    unserved.append(user.clientUserId)
                    continue
                }
                if renewingSeat { freeRenewing -= 1 } else { freeExpiring -= 1 }
                try store.insertSeat(location: uId, adamId: adamId, clientUserId: user.clientUserId, renewing: renewing, renewingSeat: renewingSeat)
                done.append(ResponseSubscriptionAssignment(adamId: adamId, clientUserId: user.clientUserId, renewing: renewing))
                completed += 1
            }
            if !unserved.isEmpty {
                failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.notEnoughLicenses, clientUserIds: unserved, adamIds: [adamId]))
            }
        }
        if !unknown.isEmpty {
            failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.userNotFound, clientUserIds: unknown, adamIds: event.details?.adamIds))
        }
        let outcome = EventOutcome(failed: !failures.isEmpty, numCompleted: completed, failures: failures)
        return EventEffect(outcome: outcome, done: { [] }, notify: { [unowned self] applied in
            try self.queueSubscriptionManagement(location: uId, eventId: applied.eventId, type: applied.type, failed: outcome.failed,
                                                 error: outcome.failures.first, assignments: done)
        })
    }

    /// Seats back from users: now, or `deferred` to the period's end (the seat is kept, answered
    /// as expiring, and the notification comes when the period ends). A user without the seat
    /// is done; a user not registered here fails with 9609.
    func disassociateSubscriptions(_ event: SimulatedEvent) throws -> EventEffect {
        let uId = event.locationUid
        let deferred = event.details?.deferred ?? false
        let (active, unknown) = try activeUsers(event)
        var completed = 0
        var done: [ResponseSubscriptionAssignment] = []
        for adamId in event.details?.adamIds ?? [] {
            for user in active {
                completed += 1
                guard let seat = try store.seat(location: uId, adamId: adamId, clientUserId: user.clientUserId) else { continue }
                if deferred {
                    if seat.deferredEvent == nil { try store.setSeatDeferral(id: seat.id, eventId: event.eventId) }
                } else {
                    try store.deleteSeat(id: seat.id)
                    done.append(seat.wire())
                }
            }
        }
        let failures = unknown.isEmpty ? [] : [
            ServiceErrorCatalog.failure(AppleErrorNumber.userNotFound, clientUserIds: unknown, adamIds: event.details?.adamIds),
        ]
        let outcome = EventOutcome(failed: !failures.isEmpty, numCompleted: completed, failures: failures)
        return EventEffect(outcome: outcome, done: { [] }, notify: { [unowned self] applied in
            // A deferred disassociation tells of its seats when the period ends.
            guard !deferred || outcome.failed else { return }
            try self.queueSubscriptionManagement(location: uId, eventId: applied.eventId, type: applied.type, failed: outcome.failed,
                                                 error: outcome.failures.first, assignments: done)
        })
    }

    // MARK: Control

    /// A content manager buys (or refunds) seats: the subscription's licences become
    /// `renewing` + `expiring`, never fewer than its assignments hold of each kind. Refused
    /// until the location declared subscription management (Apple: nothing can be bought into
    /// it before). A SUBSCRIPTION_COUNT tells the receiver.
    func setSubscriptionSeats(location uId: String, adamId: Int64, parentAdamId: Int64?, renewing: Int, expiring: Int,
                              periodEnd: String?, status: AppleSubscriptionStatus?, now: Date) throws -> ResponseSubscription {
        _ = try controlledLocation(uId)
        guard try store.subscriptionsEnabled(location: uId) else {
            throw AppleSimulatorError.invalidArgument("location \(uId) has not enabled subscription management (POST /subscriptions/enable)")
        }
        guard renewing >= 0, expiring >= 0 else { throw AppleSimulatorError.invalidArgument("seat counts cannot be negative") }
        if let periodEnd, !SubscriptionDefaults.isCalendarDate(periodEnd) {
            throw AppleSimulatorError.invalidArgument("periodEnd \(periodEnd) is not YYYY-MM-DD")
        }
        let seats = try store.seats(location: uId, adamId: adamId)
        let usedRenewing = seats.filter(\.renewingSeat).count
        guard renewing >= usedRenewing, expiring >= seats.count - usedRenewing else {
            throw AppleSimulatorError.invalidArgument(
                "subscription \(adamId) has \(usedRenewing) renewing and \(seats.count - usedRenewing) expiring seats assigned; disassociate first")
        }
        let existing = try store.subscription(location: uId, adamId: adamId)
        let subscription = SimulatedSubscription(
            adamId: adamId, parentAdamId: parentAdamId ?? existing?.parentAdamId, status: status ?? existing?.status ?? .active,
            periodEnd: periodEnd ?? existing?.periodEnd ?? SubscriptionDefaults.monthLater(now),
            totalRenewing: renewing, totalExpiring: expiring)
        try store.save(subscription, location: uId)
        try store.setVersion(location: uId, nextSequence())
        let counts = try counts(subscription, location: uId)
        try queueSubscriptionCount(location: uId, subscription, counts: counts)
        return ResponseSubscription(adamId: adamId, parentAdamId: subscription.parentAdamId, status: subscription.status.rawValue,
                                    periodEndDate: subscription.periodEnd, counts: counts)
    }

    /// The billing period of one subscription (or of every one of the location) ends now.
    /// Deferred disassociations and non-renewing assignments end (SUBSCRIPTION_MANAGEMENT for
    /// the deferred ones, per event), expiring licences disappear (SUBSCRIPTION_COUNT), and
    /// the period moves one month on.
    func endSubscriptionPeriod(location uId: String, adamId: Int64?) throws -> [ResponseSubscription] {
        _ = try controlledLocation(uId)
        var subscriptions = try store.subscriptions(location: uId)
        if let adamId {
            subscriptions = subscriptions.filter { $0.adamId == adamId }
            guard !subscriptions.isEmpty else { throw AppleSimulatorError.invalidArgument("location \(uId) has no subscription \(adamId)") }
        }
        var ended: [String: [ResponseSubscriptionAssignment]] = [:]
        var answered: [ResponseSubscription] = []
        for var subscription in subscriptions {
            for seat in try store.seats(location: uId, adamId: subscription.adamId) where seat.deferredEvent != nil || !seat.renewing {
                try store.deleteSeat(id: seat.id)
                if let eventId = seat.deferredEvent { ended[eventId, default: []].append(seat.wire()) }
            }
            subscription.totalExpiring = 0
            subscription.periodEnd = SubscriptionDefaults.monthLater(subscription.periodEnd)
            try store.save(subscription, location: uId)
            let counts = try counts(subscription, location: uId)
            try queueSubscriptionCount(location: uId, subscription, counts: counts)
            answered.append(ResponseSubscription(adamId: subscription.adamId, parentAdamId: subscription.parentAdamId,
                                                 status: subscription.status.rawValue, periodEndDate: subscription.periodEnd, counts: counts))
        }
        for (eventId, seats) in ended.sorted(by: { $0.key < $1.key }) {
            try queueSubscriptionManagement(location: uId, eventId: eventId, type: .disassociateSubscriptions, failed: false, error: nil,
                                            assignments: seats)
        }
        try store.setVersion(location: uId, nextSequence())
        return answered
    }
}

enum SubscriptionDefaults {
    /// Cursors kept per location; older ones answer 9602 like unknown ones.
    static let cursorsKeptMax = 1000

    static func isCalendarDate(_ text: String) -> Bool { date(text) != nil }

    private static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        return calendar
    }

    static func date(_ text: String) -> Date? {
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        let components = DateComponents(year: year, month: month, day: day)
        guard let date = calendar.date(from: components), calendar.dateComponents([.year, .month, .day], from: date) == components else { return nil }
        return date
    }

    static func format(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    static func monthLater(_ date: Date) -> String {
        format(calendar.date(byAdding: .month, value: 1, to: date)!)
    }

    static func monthLater(_ text: String) -> String {
        monthLater(date(text) ?? Date())
    }
}
