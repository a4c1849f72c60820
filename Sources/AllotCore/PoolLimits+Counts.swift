/// What a pool can hold (issue 28, point 4). Apple's counts are Int32 on the wire (an
/// unlimited free asset reads 2,147,483,647), but no organisation buys ten million licences of
/// one app at one location: a total or a change beyond this is a forged or broken notification,
/// not a purchase, and applying it would zero a pool and raise false alerts.
extension PoolLimits {
    /// Licences of one asset at one location that a count change may leave. An unlimited free
    /// asset's marker total (`unlimitedTotal`) is above it: a change to such a pool is not
    /// applied, and a sync reads the asset again instead.
    public static let totalMax = 10_000_000

    /// Whether some pool could see this change of its total (a refund of all of it, at most).
    public static func isPossible(countDelta: Int) -> Bool {
        countDelta >= -totalMax && countDelta <= totalMax
    }
}
