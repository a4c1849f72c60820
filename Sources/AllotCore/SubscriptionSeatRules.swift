/// `subscription_seats_low`'s detail: a subscription's available seats, merged across the
/// tenant's tokens, fell below a threshold of its total (the tenant's `licences_low` percents).
public struct SubscriptionSeatsLowDetail: Sendable, Hashable, Codable {
    public let adamId: Int64
    public let belowPercent: Int
    public let available: Int
    public let total: Int
}

extension SubscriptionSeats {
    /// The subscriptions that went below one of the thresholds between two readings of the
    /// tenant's rows (`LicenceThresholds.crossing`: once per crossing, again after a recovery).
    /// Stateless: the rows before the change are the previous level.
    public static func lowCrossings(before: [TokenSubscriptionSeats], after: [TokenSubscriptionSeats],
                                    thresholds: LicenceThresholds) -> [SubscriptionSeatsLowDetail] {
        let previous = Dictionary(uniqueKeysWithValues: merge(before).map { ($0.adamId, $0) })
        return merge(after).compactMap { now in
            let level = thresholds.level(available: now.available.sum, total: now.total.sum, unlimited: false)
            let was = previous[now.adamId].flatMap { thresholds.level(available: $0.available.sum, total: $0.total.sum, unlimited: false) }
            guard let crossed = LicenceThresholds.crossing(from: was, to: level) else { return nil }
            return SubscriptionSeatsLowDetail(adamId: now.adamId, belowPercent: crossed, available: now.available.sum, total: now.total.sum)
        }
    }
}

extension TokenSubscriptionSeats {
    /// Apple's `SUBSCRIPTION_COUNT` carries `total` and `available` only. What is assigned is
    /// the rest (Apple's invariant: assigned + available = total, summed over renewing and
    /// expiring); its split by the assignments' renewal is not told, so the stored expiring
    /// share is kept as far as it fits, the rest renewing, until the next read of the list.
    public func applyingCount(total: SeatCount, available: SeatCount, readAt: Int64) -> TokenSubscriptionSeats {
        var next = self
        let assignedSum = max(0, total.sum - available.sum)
        let expiring = min(assigned.expiring, assignedSum)
        next.total = total
        next.available = available
        next.assigned = SeatCount(renewing: assignedSum - expiring, expiring: expiring)
        next.readAt = readAt
        return next
    }
}
