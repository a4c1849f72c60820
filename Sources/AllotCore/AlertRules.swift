/// The decisions behind the events people act on (issue 12, point 3): which expiry milestone
/// to announce, and when an app's available licences cross a tenant's thresholds. Pure: the
/// ledger remembers what was announced, the engine records the events.

/// `token_expiring` at 30, 15, 7 and 1 day(s) before expiry, each once per token and expiry date.
public enum ExpiryMilestones {
    /// Days before expiry, the farthest first.
    public static let days = [30, 15, 7, 1]

    /// The milestone to announce now: the nearest one reached (at most that many days left,
    /// not yet expired), unless it or a nearer one was already announced for this expiry date.
    /// A token first seen 10 days before expiry announces 15, not 30 as well.
    public static func due(expiresAt: Int64, now: Int64, announced: Set<Int>) -> Int? {
        let secondsLeft = expiresAt - now
        guard secondsLeft > 0 else { return nil }
        guard let nearest = days.filter({ secondsLeft <= Int64($0) * 86_400 }).min() else { return nil }
        if announced.contains(where: { $0 <= nearest }) { return nil }
        return nearest
    }
}

/// A tenant's thresholds for `licences_low`: percents of an app's total, e.g. 20 and 10.
public struct LicenceThresholds: Sendable, Hashable, CustomStringConvertible {
    /// Distinct percents, the highest first.
    public let percents: [Int]

    /// Zentral's incidents: 20% and 10% of the total.
    public static let `default` = LicenceThresholds(validated: [20, 10])
    public static let countMax = 5

    private init(validated: [Int]) { percents = validated }

    /// Parses `20,10` (1 to 5 distinct whole percents from 1 to 99; `none` for no alert).
    public init(parsing text: String) throws(LicenceThresholdsError) {
        if text == "none" {
            percents = []
            return
        }
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int(String($0).trimmingWhitespace()) }
        guard !parts.isEmpty, parts.count <= Self.countMax, parts.allSatisfy({ $0.map { (1...99).contains($0) } ?? false }) else {
            throw LicenceThresholdsError(text: text)
        }
        let values = parts.compactMap { $0 }
        guard Set(values).count == values.count else { throw LicenceThresholdsError(text: text) }
        percents = values.sorted(by: >)
    }

    /// As stored and shown: `20,10`, or `none`.
    public var description: String { percents.isEmpty ? "none" : percents.map(String.init).joined(separator: ",") }

    /// The lowest threshold the app is below (`available < percent% of total`), nil when it is
    /// above them all. An app with no licences bought, or without limit, is never low.
    public func level(available: Int, total: Int, unlimited: Bool) -> Int? {
        guard total > 0, !unlimited else { return nil }
        return percents.filter { available * 100 < $0 * total }.min()
    }

    /// The threshold crossed going from `previous` to `current`, if the app went lower: an
    /// alert once per crossing, and again after a recovery above it.
    public static func crossing(from previous: Int?, to current: Int?) -> Int? {
        guard let current else { return nil }
        guard let previous else { return current }
        return current < previous ? current : nil
    }
}

public struct LicenceThresholdsError: Error, Sendable, Hashable, CustomStringConvertible {
    public let text: String
    public var description: String {
        "the licence thresholds '\(text.printableExcerpt)' are not valid; give 1 to \(LicenceThresholds.countMax) distinct whole percents from 1 to 99 separated by commas (e.g. 20,10), or none"
    }
}
