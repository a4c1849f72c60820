import AppleAppsAndBooks
import Foundation

/// Apple's `maxRequestPerSecond`, per token (location): calls are counted in whole-second
/// windows, and a call over the limit answers 9646 (HTTP 429) with `Retry-After` up to the next
/// window. Counted in memory by each `AppleSimulator`: a served simulator sees every call of
/// the engines talking to it, which is what the limit is about; a CLI `sim` command is a
/// process of its own and is not counted with them.
final class RequestRateLimiter {
    private var windows: [String: (second: Int, calls: Int)] = [:]
    /// Apple says a client that ignores `Retry-After` is blocked longer; one second is the
    /// shortest wait that always reaches the next window.
    static let retryAfterSeconds = 1

    func admit(location uId: String, perSecond: Int, now: Date) throws {
        let second = Int(now.timeIntervalSince1970.rounded(.down))
        var window: (second: Int, calls: Int) = (second, 0)
        if let current = windows[uId], current.second == second { window = current }
        guard window.calls < perSecond else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.tooManyRequests,
                                            detail: "more than \(perSecond) requests in one second for this token",
                                            retryAfterSeconds: Self.retryAfterSeconds)
        }
        window.calls += 1
        windows[uId] = window
    }
}
