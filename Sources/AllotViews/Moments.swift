import AllotCore
import Foundation

/// How moments and expiry appear in published views: one formatter and one rule for both faces.
public enum Moments {
    /// ISO 8601 in UTC, e.g. "2026-05-01T16:44:51Z".
    public static func iso8601(_ secondsSince1970: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(secondsSince1970)).formatted(.iso8601)
    }

    /// Whole days from `now` until a moment, rounded towards zero; negative once passed.
    public static func daysUntil(_ secondsSince1970: Int64, now: Int64) -> Int {
        TokenExpiry.daysLeft(expiresAt: secondsSince1970, now: now)
    }


    /// Seconds since 1970, now.
    public static var now: Int64 { Int64(Date().timeIntervalSince1970) }
}
