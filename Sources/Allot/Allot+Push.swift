import AllotCore
import AppleAppsAndBooks
import Foundation

/// What one push delivered.
public struct PushReport: Sendable, Hashable, Codable {
    /// Requests Apple accepted.
    public var sent = 0
    /// Operations Apple finished.
    public var completed = 0
    /// Serials whose licence Apple refused (9709) and that were released here.
    public var released: [String] = []
    /// Operations to be tried again later (Apple busy, or a failed event).
    public var retrying = 0
    /// Operations given up on (Apple refused the request itself).
    public var failed = 0
    /// Operations still waiting (sent and PENDING, backing off, or paused).
    public var unfinished = 0
    /// Tokens found dead or claimed elsewhere, their operations paused.
    public var pausedTokens: [TokenID] = []
}

extension Allot {
    /// Delivers the operations due for Apple (one tenant's, or all), polls the events already
    /// sent, applies their results, and repeats while something is due, a bounded number of
    /// rounds. Re-sending after a crash is harmless: associate and disassociate are idempotent.
    public func push(tenant slug: String? = nil) async throws -> PushReport {
        let tenant = try slug.map { try self.tenant($0) }
        while pushing { try await Task.sleep(for: .milliseconds(20)) }
        pushing = true
        defer { pushing = false }

        let apple = try requireApple()
        var report = PushReport()
        var tokensToResync = Set<TokenID>()
        let limits = await liveLimits(apple)
        try ledger.splitOversizedOperations(serialsMax: limits.maxSerialNumbers)
        for _ in 0..<settings.pushRoundsMax {
            let due = try ledger.dueOperations(tenant: tenant?.id)
            if due.isEmpty { break }
            // Looked up once a round: a delivery may change a token's state, and the next
            // round reads it again.
            let tokens = Dictionary(uniqueKeysWithValues: try ledger.allTokens().map { ($0.id, $0) })
            let tenants = Dictionary(uniqueKeysWithValues: try ledger.tenants().map { ($0.id, $0) })
            for operation in due {
                guard let token = tokens[operation.tokenId], let owner = tenants[operation.tenantId] else { continue }
                // A token paused or claimed earlier in this round waits for the next one.
                let current = try ledger.requireToken(tenant: owner.id, String(token.id.rawValue))
                try await deliver(operation, token: current, tenant: owner, apple: apple, report: &report, resync: &tokensToResync)
            }
        }
        if !tokensToResync.isEmpty {
            let tenants = Dictionary(uniqueKeysWithValues: try ledger.tenants().map { ($0.id, $0) })
            for record in try ledger.allTokens() where tokensToResync.contains(record.id) {
                if let owner = tenants[record.tenantId] { _ = try await syncToken(tenant: owner, token: record) }
            }
        }
        try ledger.eraseDrainedSecrets()
        report.unfinished = try ledger.unfinishedOperationCount(tenant: tenant?.id)
        return report
    }

    /// One step of one operation: send it, or poll it, and record what Apple said.
    private func deliver(_ operation: OutboxOperation, token: TokenRecord, tenant: Tenant, apple: any AppsAndBooksService,
                         report: inout PushReport, resync: inout Set<TokenID>) async throws {
        // A removed token still delivers its revocations: that is how it drains.
        let deliverable = token.state == .active || token.state == .removed
        guard deliverable else {
            try ledger.pauseOperations(token: token.id)
            if !report.pausedTokens.contains(token.id) { report.pausedTokens.append(token.id) }
            return
        }
        let bearer: String
        do { bearer = try self.bearer(of: token) } catch {
            try ledger.failOperation(operation, error: "the token's file is gone")
            report.failed += 1
            return
        }
        await pace(token.id)
        do {
            switch operation.state {
            case .pending:
                let request = AssociationRequest(assets: [WireAssetKey(adamId: operation.asset.adamId, pricingParam: operation.asset.pricingParam.rawValue)],
                                                 serialNumbers: operation.serials)
                let answer = operation.kind == .associate
                    ? try await apple.associate(token: bearer, request)
                    : try await apple.disassociate(token: bearer, request)
                guard try noteOwnership(answer.mdmInfo, token: token, tenant: tenant) else {
                    report.pausedTokens.append(token.id)
                    return
                }
                try ledger.markSent(operation.id, eventId: answer.eventId, pollAt: now + settings.firstPollDelaySeconds)
                report.sent += 1
            case .sent:
                guard let eventId = operation.eventId else {
                    try ledger.reschedule(operation.id, at: now, resend: true, error: "sent without an event id", countsAsAttempt: false)
                    return
                }
                let status = try await apple.eventStatus(token: bearer, eventId: eventId)
                guard try noteOwnership(status.mdmInfo, token: token, tenant: tenant) else {
                    report.pausedTokens.append(token.id)
                    return
                }
                try apply(status, to: operation, report: &report, resync: &resync)
            case .done, .failed, .paused:
                return
            }
        } catch let error as AppleServiceError {
            try handle(error, operation: operation, token: token, report: &report)
        } catch let error as AllotError {
            throw error
        } catch {
            // The network or the client failed: try again, backing off.
            let delay = settings.backoff.delaySeconds(afterAttempt: operation.attempts + 1, retryAfterSeconds: nil)
            try ledger.reschedule(operation.id, at: now + delay, resend: operation.state == .pending, error: "\(type(of: error))", countsAsAttempt: true)
            report.retrying += 1
        }
    }

    /// Applies an event's status: confirm, release refused licences (9709), or poll again.
    private func apply(_ status: EventStatus, to operation: OutboxOperation, report: inout PushReport, resync: inout Set<TokenID>) throws {
        switch status.eventStatus.uppercased() {
        case "PENDING":
            let stale = (operation.sentAt ?? now) + settings.resendAfterSeconds <= now
            try ledger.reschedule(operation.id, at: now + (stale ? 0 : settings.pollIntervalSeconds), resend: stale,
                                  error: stale ? "still PENDING after \(settings.resendAfterSeconds) s; sent again" : nil, countsAsAttempt: false)
        case "COMPLETE", "FAILED":
            let failures = status.failures ?? []
            // 9616 "already assigned" and 9610 "not found" on a disassociate are the outcome we
            // wanted: re-sent operations meet them.
            let refused = failures.filter { failure in
                !(failure.errorNumber == AppleErrorNumber.licenseAlreadyAssigned
                  || (failure.errorNumber == AppleErrorNumber.licenseNotFound && operation.kind != .associate))
            }
            let passing = refused.contains { failure in
                AppleServiceError(errorNumber: failure.errorNumber, message: failure.errorMessage, httpStatus: 200).classification == .retryLater
            }
            if status.eventStatus.uppercased() == "FAILED" && (passing || failures.isEmpty) {
                // Apple failed for a passing reason (9603, 9644…) or named no item: send it
                // again later. Re-sending is harmless, since associations are idempotent.
                let delay = settings.backoff.delaySeconds(afterAttempt: operation.attempts + 1, retryAfterSeconds: nil)
                try ledger.reschedule(operation.id, at: now + delay, resend: true, error: "Apple's event failed", countsAsAttempt: true)
                report.retrying += 1
                return
            }
            var refusedSerials = Set<String>()
            for failure in refused {
                let serials = failure.errorInfo?.serialNumbers ?? operation.serials
                refusedSerials.formUnion(serials)
                if failure.errorNumber == AppleErrorNumber.notEnoughLicenses { resync.insert(operation.tokenId) }
            }
            let reason = refused.first.map { "Apple \($0.errorNumber): \($0.errorMessage)" }
            let released = try ledger.completeOperation(operation, refusedSerials: refusedSerials, refusal: reason)
            report.released += released
            report.completed += 1
        default:
            try ledger.reschedule(operation.id, at: now + settings.pollIntervalSeconds, resend: false,
                                  error: "unknown event status \(status.eventStatus.printableExcerpt)", countsAsAttempt: true)
        }
    }

    private func handle(_ error: AppleServiceError, operation: OutboxOperation, token: TokenRecord, report: inout PushReport) throws {
        switch error.classification {
        case .tokenExpired, .tokenRevoked, .tokenInvalid:
            try noteTokenDeath(error, token: token)
            if !report.pausedTokens.contains(token.id) { report.pausedTokens.append(token.id) }
        case .retryLater, .other:
            if operation.attempts + 1 >= settings.backoff.attemptsMax {
                try ledger.failOperation(operation, error: "gave up after \(operation.attempts + 1) attempts: \(error)")
                report.failed += 1
                return
            }
            let delay = settings.backoff.delaySeconds(afterAttempt: operation.attempts + 1, retryAfterSeconds: error.retryAfterSeconds)
            try ledger.reschedule(operation.id, at: now + delay, resend: operation.state == .pending, error: error.description, countsAsAttempt: true)
            report.retrying += 1
        case .ourBug, .itemRefused:
            // Apple refused the request itself (a limit, a duplicate, a non-assignable asset):
            // retrying cannot help. Recorded as an event for an engineer to read.
            try ledger.failOperation(operation, error: error.description)
            report.failed += 1
        }
    }

    /// Apple's limits, re-read from service/config every few minutes; Apple's published
    /// defaults when it cannot be read.
    func liveLimits(_ apple: any AppsAndBooksService) async -> ServiceLimits {
        if let cached = limitsCache, cached.readAt + settings.serviceConfigRefreshSeconds > now { return cached.limits }
        let limits = (try? await apple.serviceConfig().limits) ?? ServiceLimits.appleDefaults
        limitsCache = (limits, now)
        return limits
    }

    /// Pushes continuously until cancelled: the worker that `allot serve` runs.
    public func runOutboxWorker(idleSeconds: Double = 1) async {
        while !Task.isCancelled {
            let report = try? await push()
            let busy = (report?.sent ?? 0) + (report?.completed ?? 0) > 0
            try? await Task.sleep(for: .seconds(busy ? 0.05 : idleSeconds))
        }
    }
}
