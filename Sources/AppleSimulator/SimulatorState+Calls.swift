import AppleAppsAndBooks
import Foundation

// What every call to the service does first, in Apple's order: the service may refuse the call
// outright (injected fault), then the token decides who is calling, then the location's
// finished background work becomes visible.

extension SimulatorState {
    /// Starts a call made with a token; answers the index of the caller's location.
    mutating func beginCall(token: String, now: Date) throws -> Int {
        try consumeFault()
        let index = try authenticate(token, now: now)
        settleDueEvents(locationUid: locations[index].uId)
        return index
    }

    /// Starts `GET /service/config`, the one call without a token.
    mutating func beginUnauthenticatedCall() throws {
        try consumeFault()
    }

    /// The Bearer string must be the whole current token file of some location. The simulator
    /// never decodes it: Apple holds the secret server-side, so the string is compared, not parsed.
    func authenticate(_ bearer: String, now: Date) throws -> Int {
        let presented = bearer.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !presented.isEmpty else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.badAuthorizationHeader, detail: "no Bearer token")
        }
        // A renewed token's old string is no longer anywhere, so it lands here like a forged one.
        guard let index = locations.firstIndex(where: { $0.currentToken == presented }) else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.loginRequired, detail: "unknown token")
        }
        let location = locations[index]
        switch location.tokenStatus {
        case .revoked: throw ServiceErrorCatalog.error(AppleErrorNumber.tokenRevoked)
        case .expired: throw ServiceErrorCatalog.error(AppleErrorNumber.tokenExpired)
        case .active: break
        }
        guard location.expires > now else { throw ServiceErrorCatalog.error(AppleErrorNumber.tokenExpired) }
        return index
    }

    mutating func consumeFault() throws {
        guard let first = settings.pendingFaults.first else { return }
        precondition(first.remainingCalls > 0, "a spent fault was kept")
        settings.pendingFaults[0].remainingCalls -= 1
        if settings.pendingFaults[0].remainingCalls == 0 { settings.pendingFaults.removeFirst() }
        throw first.fault.answer
    }

    mutating func addFaults(_ fault: SimulatedFault, count: Int) {
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
        }
    }
}

extension SimulatedLocation {
    /// Apple's `tokenExpirationDate`, in the token file's date form.
    var tokenExpirationDate: String { VPPTokenFileFormat.formatExpirationDate(expires) }
}
