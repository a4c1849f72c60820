import AppleAppsAndBooks
import Foundation

// What every call to the service does first, in Apple's order: the service may refuse the call
// outright (injected fault), then the token decides who is calling, then the token's request
// rate, then the location's finished background work becomes visible.

extension SimulatorState {
    /// Starts a call made with a token; answers the caller's location, due events applied.
    func beginCall(token: String, now: Date) throws -> SimulatedLocation {
        try consumeFault()
        let location = try authenticate(token, now: now)
        if settings.enforceRequestRate {
            try rateLimiter.admit(location: location.uId, perSecond: settings.limits.maxRequestPerSecond, now: now)
        }
        guard try settleDueEvents(locationUid: location.uId) > 0 else { return location }
        // Settling may have moved the version: answer the row as it is now.
        guard let settled = try store.location(uId: location.uId) else {
            preconditionFailure("location \(location.uId) vanished inside its own transaction")
        }
        return settled
    }

    /// Starts `GET /service/config`, the one call without a token.
    func beginUnauthenticatedCall() throws {
        try consumeFault()
    }

    /// The Bearer string must be the whole current token file of some location. The simulator
    /// never decodes it: Apple holds the secret server-side, so the string is compared, not parsed.
    func authenticate(_ bearer: String, now: Date) throws -> SimulatedLocation {
        let presented = bearer.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !presented.isEmpty else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.badAuthorizationHeader, detail: "no Bearer token")
        }
        // A renewed token's old string is no longer anywhere, so it lands here like a forged one.
        guard let location = try store.location(token: presented) else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.loginRequired, detail: "unknown token")
        }
        switch location.tokenStatus {
        case .revoked: throw ServiceErrorCatalog.error(AppleErrorNumber.tokenRevoked)
        case .expired: throw ServiceErrorCatalog.error(AppleErrorNumber.tokenExpired)
        case .active: break
        }
        guard location.expires > now else { throw ServiceErrorCatalog.error(AppleErrorNumber.tokenExpired) }
        return location
    }

    func consumeFault() throws {
        guard let first = settings.pendingFaults.first else { return }
        precondition(first.remainingCalls > 0, "a spent fault was kept")
        settings.pendingFaults[0].remainingCalls -= 1
        if settings.pendingFaults[0].remainingCalls == 0 { settings.pendingFaults.removeFirst() }
        throw first.fault.answer
    }

    func addFaults(_ fault: SimulatedFault, count: Int) {
        guard count > 0 else { return }
        settings.pendingFaults.append(PendingFault(fault: fault, remainingCalls: count))
    }
}

extension SimulatedFault {
    var answer: AppleServiceError {
        switch self {
        case .temporarilyUnavailable(let seconds):
            ServiceErrorCatalog.error(AppleErrorNumber.temporarilyUnavailable, retryAfterSeconds: seconds)
        case .tooManyRequests:
            ServiceErrorCatalog.error(AppleErrorNumber.tooManyRequests)
        case .internalError:
            ServiceErrorCatalog.error(AppleErrorNumber.internalError)
        case .maintenance(let seconds):
            ServiceErrorCatalog.error(AppleErrorNumber.maintenance, retryAfterSeconds: seconds)
        case .gone:
            ServiceErrorCatalog.error(ServiceErrorCatalog.gone)
        case .forbidden:
            ServiceErrorCatalog.error(ServiceErrorCatalog.forbidden)
        case .forbiddenForToken:
            ServiceErrorCatalog.error(ServiceErrorCatalog.forbiddenForToken)
        }
    }
}

extension SimulatedLocation {
    /// Apple's `tokenExpirationDate`, in the token file's date form.
    var tokenExpirationDate: String { VPPTokenFileFormat.formatExpirationDate(expires) }

    /// What the answers other than client/config carry: Apple shows the date only within
    /// 15 days of the expiry, so an engine must not rely on it being there.
    func answeredExpirationDate(now: Date) -> String? {
        expires.timeIntervalSince(now) <= SimulatorDefaults.tokenExpirationShownSeconds ? tokenExpirationDate : nil
    }
}
