/// When the reconcile schedule syncs each token (issue 12, point 1): a pure function of the
/// token, the interval and the last sync, so every node of a cluster computes the same time and
/// the ledger only stores it.
///
/// Each token owns a fixed place in every interval: the fractional part of its id times the
/// golden ratio (a Weyl sequence). By the three-gap theorem, tokens 1…N land at most three
/// distinct gap sizes apart, so any number of tokens is spread evenly over the interval and a
/// fleet of 10,000 never syncs at once. A small jitter (a hash of the token and the interval's
/// number, at most `jitterFraction` of the interval either side) keeps tokens from locking
/// into step with anything periodic at Apple.
public enum ReconcileSchedule {
    /// The jitter either side of a token's place, as a fraction of the interval: two syncs of one
    /// token are never more than an interval and 0.2% apart. Small on purpose: a jitter as wide
    /// as 1% of the interval already turns the even spread into a random one at that scale
    /// (measured over 10,000 tokens: 36 s windows from 53 to 135 syncs instead of 95 to 106).
    public static let jitterFraction = 0.001

    /// The token's place in every interval, in [0, 1).
    public static func phase(of token: TokenID) -> Double {
        // 2^64 / golden ratio, the multiplier of Fibonacci hashing: frac(id × φ) in fixed point.
        let scaled = UInt64(bitPattern: token.rawValue) &* 0x9E37_79B9_7F4A_7C15
        return Double(scaled >> 11) / Double(UInt64(1) << 53)
    }

    /// When the token's sync of interval number `round` is due (seconds since 1970).
    public static func slot(token: TokenID, interval: SyncInterval, round: Int64) -> Int64 {
        let length = interval.seconds
        let offset = Int64(phase(of: token) * Double(length))
        let jitterMax = Int64(Double(length) * jitterFraction)
        var jitter: Int64 = 0
        if jitterMax > 0 {
            var random = SplitMix64(seed: UInt64(bitPattern: token.rawValue) &* 31 &+ UInt64(bitPattern: round))
            jitter = Int64(random.next() % UInt64(2 * jitterMax + 1)) - jitterMax
        }
        return round * length + offset + jitter
    }

    /// The token's next sync strictly after `after` (its last sync, or now for a token never
    /// synced): the first of its slots past that time, so two syncs are at most one interval and
    /// twice the jitter apart.
    public static func nextDue(token: TokenID, interval: SyncInterval, after: Int64) -> Int64 {
        let length = interval.seconds
        let offset = Int64(phase(of: token) * Double(length))
        // Floor division: the round whose unjittered slot is at or before `after`.
        let base = after - offset
        let round = base >= 0 ? base / length : -((-base + length - 1) / length)
        // Jitter moves a slot by less than half an interval, so the answer is one of these.
        for candidate in (round - 1)...(round + 2) {
            let due = slot(token: token, interval: interval, round: candidate)
            if due > after { return due }
        }
        preconditionFailure("a slot within two intervals of any time lies after it")
    }
}
