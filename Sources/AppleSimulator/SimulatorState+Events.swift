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
    mutating func recordEvent(type: EventType, locationIndex: Int, assets: [WireAssetKey], serialNumbers: [String]) -> String {
        let numRequested = type == .revoke ? serialNumbers.count : assets.count * serialNumbers.count
        let forcedFailure = settings.eventsToFail > 0
        if forcedFailure { settings.eventsToFail -= 1 }
        let event = SimulatedEvent(
            eventId: UUID().uuidString.lowercased(), sequence: nextSequence(),
            locationUid: locations[locationIndex].uId, type: type, assets: assets,
            serialNumbers: serialNumbers, numRequested: numRequested,
            pollsRemaining: settings.pendingPolls, forcedFailure: forcedFailure, outcome: nil
        )
        events.append(event)
        pruneEvents()
        return event.eventId
    }

    /// `GET /status`: PENDING while polls remain, then the outcome, the same on every later read.
    mutating func pollEvent(eventId: String, locationIndex: Int) throws -> EventStatus {
        let location = locations[locationIndex]
        // Another location's event is as unknown to this token as a made-up id.
        guard let index = events.firstIndex(where: { $0.eventId == eventId && $0.locationUid == location.uId }) else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.invalidArgument, detail: "unknown eventId \(eventId)")
        }
        if events[index].outcome == nil, events[index].pollsRemaining > 0 {
            events[index].pollsRemaining -= 1
            return status(of: events[index], location: location)
        }
        if events[index].outcome == nil {
            // `beginCall` settles due events first; this covers a call made without it.
            applyEvent(at: index)
        }
        return status(of: events[index], location: locations[locationIndex])
    }

    mutating func settleDueEvents(locationUid: String) {
        for index in events.indices
        where events[index].locationUid == locationUid && events[index].outcome == nil && events[index].pollsRemaining == 0 {
            applyEvent(at: index)
        }
    }

    mutating func settleAllDueEvents() {
        for location in locations { settleDueEvents(locationUid: location.uId) }
    }

    /// A control operation: the event will end FAILED and change nothing. Too late once applied.
    mutating func forceFailure(eventId: String) throws {
        guard let index = events.firstIndex(where: { $0.eventId == eventId }) else {
            throw AppleSimulatorError.unknownEvent(eventId)
        }
        guard events[index].outcome == nil else {
            throw AppleSimulatorError.invalidArgument("event \(eventId) has already completed")
        }
        events[index].forcedFailure = true
    }

    private mutating func applyEvent(at index: Int) {
        precondition(events[index].outcome == nil, "an event is applied at most once")
        let event = events[index]
        guard let locationIndex = locationIndex(uId: event.locationUid) else {
            preconditionFailure("event \(event.eventId) refers to a location the state does not have")
        }
        let outcome: EventOutcome
        if event.forcedFailure {
            outcome = EventOutcome(failed: true, numCompleted: 0, failures: [
                ServiceErrorCatalog.failure(AppleErrorNumber.internalError, assets: event.assets,
                                            serialNumbers: event.serialNumbers),
            ])
        } else {
            switch event.type {
            case .associate: outcome = locations[locationIndex].associate(event)
            case .disassociate: outcome = locations[locationIndex].disassociate(event)
            case .revoke: outcome = locations[locationIndex].revoke(event)
            }
            locations[locationIndex].version = nextSequence()
        }
        precondition(outcome.numCompleted <= event.numRequested, "completed more than requested")
        events[index].outcome = outcome
    }

    private mutating func pruneEvents() {
        guard events.count > SimulatorDefaults.eventsKeptMax else { return }
        let excess = events.count - SimulatorDefaults.eventsKeptMax
        var dropped = 0
        events.removeAll { event in
            guard dropped < excess, event.outcome != nil else { return false }
            dropped += 1
            return true
        }
    }

    private func status(of event: SimulatedEvent, location: SimulatedLocation) -> EventStatus {
        let eventStatus: String
        switch event.outcome {
        case nil: eventStatus = "PENDING"
        case let outcome?: eventStatus = outcome.failed ? "FAILED" : "COMPLETE"
        }
        return EventStatus(
            eventStatus: eventStatus, eventType: event.type.rawValue, numRequested: event.numRequested,
            numCompleted: event.outcome?.numCompleted ?? 0,
            failures: event.outcome.flatMap { $0.failures.isEmpty ? nil : $0.failures },
            uId: location.uId, tokenExpirationDate: location.tokenExpirationDate, mdmInfo: location.mdmInfo
        )
    }
}

// The effects themselves. Counters move by what actually changed: an (asset, serial) already
// held costs nothing and counts as done, as Apple treats it (v1's 9616 "already assigned").
extension SimulatedLocation {
    mutating func associate(_ event: SimulatedEvent) -> EventOutcome {
        var held = Set(assignments)
        var completed = 0
        var failures: [EventFailure] = []
        for asset in event.assets {
            guard let assetIndex = assetIndex(asset) else {
                preconditionFailure("an associate event names an asset validation should have refused")
            }
            var available = max(0, assets[assetIndex].total - assignedCount(asset))
            var unserved: [String] = []
            for serial in event.serialNumbers {
                let assignment = SimulatedAssignment(adamId: asset.adamId, pricingParam: asset.pricingParam, serialNumber: serial)
                if held.contains(assignment) {
                    completed += 1
                } else if available > 0 {
                    assignments.append(assignment)
                    held.insert(assignment)
                    available -= 1
                    completed += 1
                } else {
                    unserved.append(serial)
                }
            }
            if !unserved.isEmpty {
                failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.notEnoughLicenses, assets: [asset], serialNumbers: unserved))
            }
        }
        precondition(held.count == assignments.count, "a device holds an asset at most once")
        return EventOutcome(failed: !failures.isEmpty, numCompleted: completed, failures: failures)
    }

    /// Frees each held (asset, serial). One not held counts as done (idempotent); a held licence
    /// of a non-revocable asset stays and fails the item with 9706.
    mutating func disassociate(_ event: SimulatedEvent) -> EventOutcome {
        var toRemove = Set<SimulatedAssignment>()
        let held = Set(assignments)
        var completed = 0
        var failures: [EventFailure] = []
        for asset in event.assets {
            guard let assetIndex = assetIndex(asset) else {
                preconditionFailure("a disassociate event names an asset validation should have refused")
            }
            var kept: [String] = []
            for serial in event.serialNumbers {
                let assignment = SimulatedAssignment(adamId: asset.adamId, pricingParam: asset.pricingParam, serialNumber: serial)
                if !held.contains(assignment) {
                    completed += 1
                } else if assets[assetIndex].revocable {
                    toRemove.insert(assignment)
                    completed += 1
                } else {
                    kept.append(serial)
                }
            }
            if !kept.isEmpty {
                failures.append(ServiceErrorCatalog.failure(AppleErrorNumber.notRevocable, assets: [asset], serialNumbers: kept))
            }
        }
        assignments.removeAll { toRemove.contains($0) }
        return EventOutcome(failed: !failures.isEmpty, numCompleted: completed, failures: failures)
    }

    /// Frees every revocable asset of the serials; non-revocable licences stay without failing
    /// the event, since Apple's revoke is defined as "every revocable asset".
    mutating func revoke(_ event: SimulatedEvent) -> EventOutcome {
        let serials = Set(event.serialNumbers)
        let revocable = Set(assets.filter(\.revocable).map(\.key))
        assignments.removeAll { serials.contains($0.serialNumber) && revocable.contains($0.key) }
        return EventOutcome(failed: false, numCompleted: event.serialNumbers.count, failures: [])
    }
}
