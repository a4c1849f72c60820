import AppleAppsAndBooks
import Foundation

// Writes are asynchronous, as at Apple: a request only records an event. Its effect is applied
// when the event completes, and exactly once: `outcome` is set at that moment and an event with
// an outcome is never applied again, however often its status is read.
//
// When an event completes: it is "due" once it has answered PENDING to `pendingPolls` status
// reads (0 by default, so at once). Due events of a location are applied, oldest first, at the
// start of the next call that touches that location — a status poll, a read of assets or
// assignments, another write, or a control operation — which is how Apple's background
// processing looks from outside. An event never polled still completes when the location is
// next used; an event with polls left stays PENDING however many other calls are made.

extension SimulatorState {
    /// `serialNumbers` are the event's subjects: serials, or client user ids (`details`).
    func recordEvent(type: EventType, location uId: String, assets: [WireAssetKey], serialNumbers: [String],
                     details: EventDetails? = nil) throws -> String {
        let numRequested: Int
        switch type {
        case .revoke, .createUsers, .updateUsers, .retireUsers: numRequested = serialNumbers.count
        case .associate, .disassociate: numRequested = assets.count * serialNumbers.count
        case .associateSubscriptions, .disassociateSubscriptions: numRequested = (details?.adamIds?.count ?? 0) * serialNumbers.count
        }
        let forcedFailure = settings.eventsToFail > 0
        if forcedFailure { settings.eventsToFail -= 1 }
        let eventId = UUID().uuidString.lowercased()
        let event = SimulatedEvent(
            eventId: eventId, sequence: nextSequence(),
            locationUid: uId, type: type, assets: assets,
            serialNumbers: EventSerials(serialNumbers, eventId: eventId), numRequested: numRequested,
            pollsRemaining: settings.pendingPolls, forcedFailure: forcedFailure, outcome: nil, details: details
        )
        try store.insert(event)
        // Counting the finished events costs a scan of their index: do it now and then, not
        // on every write; the bound is then exceeded by at most this many.
        if event.sequence % SimulatorDefaults.pruneEverySequences == 0 {
            try store.pruneEvents(keptMax: SimulatorDefaults.eventsKeptMax)
        }
        return event.eventId
    }

    /// `GET /status`: PENDING while polls remain, then the outcome, the same on every later read.
    func pollEvent(eventId: String, location: SimulatedLocation, now: Date) throws -> EventStatus {
        // Another location's event is as unknown to this token as a made-up id.
        guard var event = try store.event(eventId: eventId), event.locationUid == location.uId else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.invalidArgument, detail: "unknown eventId \(eventId)")
        }
        if event.outcome == nil, event.pollsRemaining > 0 {
            event.pollsRemaining -= 1
            try store.update(event)
            return status(of: event, location: location, now: now)
        }
        guard event.outcome == nil else { return status(of: event, location: location, now: now) }
        // `beginCall` settles due events first; this covers a call made without it.
        event = try apply(event)
        guard let current = try store.location(uId: location.uId) else {
            preconditionFailure("location \(location.uId) vanished inside its own transaction")
        }
        return status(of: event, location: current, now: now)
    }

    /// Applies the location's due events; how many there were (none: the location's row is
    /// as the caller read it).
    @discardableResult
    func settleDueEvents(locationUid: String) throws -> Int {
        let due = try store.dueEvents(location: locationUid)
        for event in due {
            _ = try apply(event)
        }
        return due.count
    }

    func settleAllDueEvents() throws {
        for uId in try store.locationUids() { try settleDueEvents(locationUid: uId) }
    }

    /// A control operation: the event will end FAILED and change nothing. Too late once applied.
    func forceFailure(eventId: String) throws {
        guard var event = try store.event(eventId: eventId) else {
            throw AppleSimulatorError.unknownEvent(eventId)
        }
        guard event.outcome == nil else {
            throw AppleSimulatorError.invalidArgument("event \(eventId) has already completed")
        }
        event.forcedFailure = true
        try store.update(event)
    }

    /// Applies the event's effect and records its outcome, in this transaction.
    private func apply(_ event: SimulatedEvent) throws -> SimulatedEvent {
        precondition(event.outcome == nil, "an event is applied at most once")
        let effect: EventEffect
        if event.forcedFailure {
            let subjects = try event.serialNumbers.decoded()
            let failure = event.type.isOfDevicesOrUsersLicences && !event.forUsers
                ? ServiceErrorCatalog.failure(AppleErrorNumber.internalError, assets: event.assets, serialNumbers: subjects)
                : ServiceErrorCatalog.failure(AppleErrorNumber.internalError, assets: event.assets.isEmpty ? nil : event.assets,
                                              clientUserIds: subjects, adamIds: event.details?.adamIds)
            effect = EventEffect(outcome: EventOutcome(failed: true, numCompleted: 0, failures: [failure]), done: { [] },
                                 notify: try forcedFailureNotification(event))
        } else {
            let version = nextSequence()
            switch event.type {
            case .associate: effect = event.forUsers ? try associateUsers(event, version: version) : try associate(event, version: version)
            case .disassociate: effect = event.forUsers ? try disassociateUsers(event) : try disassociate(event)
            case .revoke: effect = event.forUsers ? try revokeUsers(event) : try revoke(event)
            case .createUsers, .updateUsers, .retireUsers: effect = try manageUsers(event, version: version)
            case .associateSubscriptions: effect = try associateSubscriptions(event)
            case .disassociateSubscriptions: effect = try disassociateSubscriptions(event)
            }
            try store.setVersion(location: event.locationUid, version)
        }
        precondition(effect.outcome.numCompleted <= event.numRequested, "completed more than requested")
        var applied = event
        applied.outcome = effect.outcome
        try store.update(applied)
        if let notify = effect.notify {
            try notify(applied)
        } else {
            try queueAssetManagement(applied, done: effect.done)
        }
        return applied
    }

    private func status(of event: SimulatedEvent, location: SimulatedLocation, now: Date) -> EventStatus {
        let eventStatus: String
        switch event.outcome {
        case nil: eventStatus = "PENDING"
        case let outcome?: eventStatus = outcome.failed ? "FAILED" : "COMPLETE"
        }
        return EventStatus(
            eventStatus: eventStatus, eventType: event.type.appleName, numRequested: event.numRequested,
            numCompleted: event.outcome?.numCompleted ?? 0,
            failures: event.outcome.flatMap { $0.failures.isEmpty ? nil : $0.failures },
            uId: location.uId, tokenExpirationDate: location.answeredExpirationDate(now: now), mdmInfo: location.mdmInfo
        )
    }
}

/// What applying an event did: its outcome, and the (asset, serial) pairs it completed, which
/// its ASSET_MANAGEMENT notification lists. The pairs are listed on demand: only a location with
/// a receiver reads them, and listing them may mean decoding the event's serials.
struct EventEffect {
    var outcome: EventOutcome
    var done: () throws -> [WireAssignment]
    /// The event's own notification when it is not ASSET_MANAGEMENT (users, subscriptions);
    /// called with the applied event.
    var notify: ((SimulatedEvent) throws -> Void)? = nil
}

extension EventType {
    /// Associate, disassociate or revoke of assets' licences.
    var isOfDevicesOrUsersLicences: Bool { self == .associate || self == .disassociate || self == .revoke }
}

extension SimulatorState {
    /// What a forced failure tells: the notification of the event's kind, with no element.
    func forcedFailureNotification(_ event: SimulatedEvent) throws -> ((SimulatedEvent) throws -> Void)? {
        switch event.type {
        case .associate, .disassociate, .revoke: return nil
        case .createUsers, .updateUsers, .retireUsers: return { [unowned self] in try self.queueUserManagement($0, users: []) }
        case .associateSubscriptions, .disassociateSubscriptions:
            return { [unowned self] applied in
                try self.queueSubscriptionManagement(location: applied.locationUid, eventId: applied.eventId, type: applied.type, failed: true,
                                                     error: applied.outcome?.failures.first, assignments: [])
            }
        }
    }
}

// The effects themselves, row by row. Counters move by what actually changed: an (asset, serial)
// already held costs nothing and counts as done, as Apple treats it (v1's 9616 "already
// assigned"). A FAILED event may still have completed part of its items (`numCompleted`).
extension SimulatorState {
    func associate(_ event: SimulatedEvent, version: Int) throws -> EventEffect {
        var completed = 0
        var failures: [EventFailure] = []
        // Per asset, the serials done; nil: every serial of the event.
        var done: [(key: WireAssetKey, serials: [String]?)] = []
        // Decoded at most once, and only when an asset is short of licences.
        var decoded: [String]?
        for key in event.assets {
            guard let asset = try store.asset(location: event.locationUid, key) else {
                preconditionFailure("an associate event names an asset validation should have refused")
            }
            // Enough licences for every serial (the common case): one statement inserts them
            // all, and every serial is done, as the row-by-row loop below would find.
            if asset.available >= event.serialNumbers.count {
                let inserted = try store.insertAssignments(location: event.locationUid, key, serials: event.serialNumbers, version: version)
                try store.addAssigned(location: event.locationUid, key, inserted)
                completed += event.serialNumbers.count
                done.append((key, nil))
                continue
            }
            var available = asset.available
            var inserted = 0
            var served: [String] = []
            var unserved: [String] = []
            let serials = try decoded ?? event.serialNumbers.decoded()
            decoded = serials
            for serial in serials {
                if available > 0 {
                    // An insert that did nothing found the licence already held: done, for free.
                    if try store.insertAssignment(location: event.locationUid, key, serial: serial, version: version) {
                        inserted += 1
                        available -= 1
                    }
                    served.append(serial)
                } else if try store.holds(location: event.locationUid, key, serial: serial) {
                    served.append(serial)
                } else {
                    unserved.append(serial)
                }
            }
            completed += served.count
            done.append((key, served))
            try store.addAssigned(location: event.locationUid, key, inserted)
            if !unserved.isEmpty {
                failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.notEnoughLicenses, assets: [key], serialNumbers: unserved))
            }
        }
        let outcome = EventOutcome(failed: !failures.isEmpty, numCompleted: completed, failures: failures)
        return EventEffect(outcome: outcome) { [decoded] in
            let every = try decoded ?? event.serialNumbers.decoded()
            return done.flatMap { part in
                (part.serials ?? every).map { WireAssignment(adamId: part.key.adamId, pricingParam: part.key.pricingParam, serialNumber: $0) }
            }
        }
    }

    /// Frees each held (asset, serial). One not held counts as done (idempotent); a held licence
    /// of a non-revocable asset stays and fails the item with 9706.
    func disassociate(_ event: SimulatedEvent) throws -> EventEffect {
        let serials = try event.serialNumbers.decoded()
        var completed = 0
        var failures: [EventFailure] = []
        var done: [WireAssignment] = []
        for key in event.assets {
            guard let asset = try store.asset(location: event.locationUid, key) else {
                preconditionFailure("a disassociate event names an asset validation should have refused")
            }
            var kept: [String] = []
            var deleted = 0
            for serial in serials {
                let wire = WireAssignment(adamId: key.adamId, pricingParam: key.pricingParam, serialNumber: serial)
                if asset.revocable {
                    if try store.deleteAssignment(location: event.locationUid, key, serial: serial) { deleted += 1 }
                    completed += 1
                    done.append(wire)
                } else if try store.holds(location: event.locationUid, key, serial: serial) {
                    kept.append(serial)
                } else {
                    completed += 1
                    done.append(wire)
                }
            }
            try store.addAssigned(location: event.locationUid, key, -deleted)
            if !kept.isEmpty {
                failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.notRevocable, assets: [key], serialNumbers: kept))
            }
        }
        return EventEffect(outcome: EventOutcome(failed: !failures.isEmpty, numCompleted: completed, failures: failures), done: { done })
    }

    /// Frees every revocable asset of the serials; non-revocable licences stay without failing
    /// the event, since Apple's revoke is defined as "every revocable asset".
    func revoke(_ event: SimulatedEvent) throws -> EventEffect {
        let serials = try event.serialNumbers.decoded()
        var done: [WireAssignment] = []
        for asset in try store.assets(location: event.locationUid) where asset.revocable && asset.assigned > 0 {
            var deleted = 0
            for serial in serials {
                guard try store.deleteAssignment(location: event.locationUid, asset.key, serial: serial) else { continue }
                deleted += 1
                done.append(WireAssignment(adamId: asset.adamId, pricingParam: asset.pricingParam, serialNumber: serial))
            }
            try store.addAssigned(location: event.locationUid, asset.key, -deleted)
        }
        return EventEffect(outcome: EventOutcome(failed: false, numCompleted: serials.count, failures: []), done: { done })
    }
}
