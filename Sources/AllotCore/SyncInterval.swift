/// `--sync-interval DURATION`: how often the reconcile schedule syncs each token.
public struct SyncInterval: Sendable, Hashable, CustomStringConvertible {
    public let seconds: Int64

    /// Apple's guidance is a periodic full read; an hour keeps 10,000 tokens at ~3 syncs/s.
    public static let defaultSeconds: Int64 = 3_600
    /// Shorter than this would sync a token faster than its own sync takes.
    public static let secondsMin: Int64 = 1
    /// A week: past it, a claim or a refund would go unnoticed for too long to be a safety net.
    public static let secondsMax: Int64 = 7 * 86_400

    public init(seconds: Int64) {
        precondition(seconds >= Self.secondsMin, "a sync interval is at least \(Self.secondsMin) s")
        precondition(seconds <= Self.secondsMax, "a sync interval is at most \(Self.secondsMax) s")
        self.seconds = seconds
    }

    public static let `default` = SyncInterval(seconds: defaultSeconds)

    /// Parses `45s`, `10m`, `1h` or `1d` (a whole number and one unit).
    public init(parsing text: String) throws(SyncIntervalError) {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]
        guard let unit = text.last, let multiplier = units[unit],
              let count = Int64(text.dropLast()), count > 0, count <= Self.secondsMax / multiplier,
              count * multiplier >= Self.secondsMin else {
            throw SyncIntervalError(text: text)
        }
        self.init(seconds: count * multiplier)
    }

    public var description: String {
        if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds % 3_600 == 0 { return "\(seconds / 3_600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}

public struct SyncIntervalError: Error, Sendable, Hashable, CustomStringConvertible {
    public let text: String
    public init(text: String) { self.text = text }
    public var description: String {
        "the sync interval '\(text.printableExcerpt)' is not a duration; write a whole number and a unit, s, m, h or d, between 1s and 7d (e.g. 45s, 10m, 1h)"
    }
}
