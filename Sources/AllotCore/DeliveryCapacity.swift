/// The second rule of delivery order (DESIGN.md, "An answer is a promise"): an associate on a
/// (token, asset) goes to Apple only when Apple's count there, as the ledger knows it, leaves
/// room for it.
///
/// Why: the ledger frees a revoked licence at commit and may answer `assigned` to another
/// device with it at once, while Apple frees it only when it applies the disassociate. Told the
/// new associate first, Apple answers 9709 and the device the client was told `assigned` holds
/// nothing (reproduced on one node: assign X, revoke X, assign Y on a pool of one lost Y five
/// times in five). So a licence freed here is reused toward Apple only once Apple applied its
/// give-back. The ledger's answer to the client does not change; only the order of telling
/// Apple does. `DeliveryOrder` is the first rule (per serial); this one is per pool.
///
/// What Apple may hold on a (token, asset) because of this ledger, an upper bound:
/// - the confirmed assignments (Apple said it holds them);
/// - the serials of associates that may have reached Apple: sent (their event polled), sent
///   before and waiting to be sent again, or in flight under another worker's lease;
/// - the serials of give-backs (disassociates) not yet applied, except a serial whose earlier
///   associate on the asset has not been sent: Apple does not hold that one yet.
/// Apple's own count adds the licences assigned elsewhere (another server, Apple Configurator),
/// as the last sync read them.
///
/// The confirmed rows and the serials on their way do not overlap: an assignment row is
/// confirmed in the transaction that finishes its associate, and a revoked row is deleted in the
/// transaction that queues its give-back. One exception errs on the safe side: a row a drift
/// repair recorded from Apple is confirmed at once and its associate (Apple holds it already)
/// still counts when it is admitted, so near a full pool it may wait for give-backs or go as
/// over-allocated; either ends. Within the unfinished operations a serial may appear twice (an
/// associate sent and the disassociate after it): they are counted as a set.
public enum DeliveryCapacity {
    /// One (token, asset) pool as the ledger knows it.
    public struct Pool: Sendable, Hashable {
        /// Apple's total at the last sync.
        public let total: Int
        /// Licences Apple counts that this ledger did not assign.
        public let elsewhere: Int
        /// Assignment rows Apple confirmed holding.
        public let confirmed: Int

        public init(total: Int, elsewhere: Int, confirmed: Int) {
            precondition(total >= 0, "a pool's total is never negative")
            precondition(elsewhere >= 0, "licences elsewhere are never negative")
            precondition(confirmed >= 0, "confirmed assignments are never negative")
            self.total = total
            self.elsewhere = elsewhere
            self.confirmed = confirmed
        }
    }

    /// One unfinished operation of a token, as far as Apple's count goes.
    public struct Unfinished: Sendable, Hashable {
        public let footprint: DeliveryOrder.Footprint
        /// Whether Apple may have applied it or may yet apply it without another send: it was
        /// sent (now or before), or a worker is sending it.
        public let mayHaveReachedApple: Bool

        public init(footprint: DeliveryOrder.Footprint, mayHaveReachedApple: Bool) {
            self.footprint = footprint
            self.mayHaveReachedApple = mayHaveReachedApple
        }
    }

    /// The serials of unfinished operations that Apple may hold now, per asset (`held`), and
    /// among them those a give-back will free (`leaving`). Operations in commit order.
    public static func onTheirWay(_ unfinished: [Unfinished]) -> (held: [AssetKey: Set<String>], leaving: [AssetKey: Set<String>]) {
        var held: [AssetKey: Set<String>] = [:]
        var leaving: [AssetKey: Set<String>] = [:]
        // Per asset, serials whose latest earlier associate has not been sent.
        var notYetSent: [AssetKey: Set<String>] = [:]
        for operation in unfinished {
            let footprint = operation.footprint
            let asset = footprint.asset
            switch footprint.kind {
            case .associate:
                if operation.mayHaveReachedApple {
                    held[asset, default: []].formUnion(footprint.serials)
                    notYetSent[asset]?.subtract(footprint.serials)
                } else {
                    notYetSent[asset, default: []].formUnion(footprint.serials)
                }
            case .registerUsers, .retireUsers:
                // Users created or retired: no licence moves by this operation itself.
                continue
            case .disassociate, .revoke:
                // The engine queues Apple's revoke for no asset but the one it names; a give-back
                // counts on that asset. Its serials leave once it is applied, whatever else holds
                // them now.
                leaving[asset, default: []].formUnion(footprint.serials)
                let unsent = notYetSent[asset] ?? []
                held[asset, default: []].formUnion(unsent.isEmpty ? footprint.serials : footprint.serials.filter { !unsent.contains($0) })
            }
        }
        return (held, leaving)
    }

    /// What a round decides for one associate not yet sent.
    public enum Admission: Sendable, Hashable {
        /// Apple has room for it (or it adds nothing Apple may not hold already).
        case fits
        /// Apple has no room until give-backs on their way are applied: it waits, and the
        /// associates after it on the same pool wait too (they keep their commit order).
        case waitsForGiveBacks
        /// No give-back on its way would make room: Apple's total fell below what this ledger
        /// holds (a refund, a transfer). It goes, and Apple's answer is handled as
        /// over-allocation; holding it back would hold it for ever.
        case overAllocated
    }

    /// Room at Apple on a token's pools while a round admits associates in commit order.
    public struct Room: Sendable {
        private var pools: [AssetKey: Pool]
        private var held: [AssetKey: Set<String>]
        private var leaving: [AssetKey: Set<String>]
        private var waiting = Set<AssetKey>()

        /// `unfinished`: the token's unfinished operations in commit order (its delivery window);
        /// `pools`: the pools of the assets to be admitted. An asset without a pool (dropped with
        /// its last token) is not limited here.
        public init(unfinished: [Unfinished], pools: [AssetKey: Pool]) {
            self.pools = pools
            (held, leaving) = DeliveryCapacity.onTheirWay(unfinished)
        }

        /// Decides one associate not yet sent, in commit order; one that goes counts from then on.
        public mutating func admit(_ associate: DeliveryOrder.Footprint) -> Admission {
            precondition(associate.kind == .associate, "only an associate needs room at Apple")
            let asset = associate.asset
            guard let pool = pools[asset] else { return .fits }
            let before = held[asset] ?? []
            let added = associate.serials.reduce(into: Set<String>()) { if !before.contains($1) { $0.insert($1) } }
            if added.isEmpty { return .fits }
            guard !waiting.contains(asset) else { return .waitsForGiveBacks }
            let used = pool.elsewhere + pool.confirmed
            if used + before.count + added.count <= pool.total {
                held[asset, default: []].formUnion(added)
                return .fits
            }
            let staying = before.count - before.intersection(leaving[asset] ?? []).count
            if used + staying + added.count <= pool.total {
                waiting.insert(asset)
                return .waitsForGiveBacks
            }
            held[asset, default: []].formUnion(added)
            return .overAllocated
        }
    }

    /// What Apple may count on each asset of a token from this ledger beyond its confirmed rows
    /// (`onTheirWay`'s `held`, counted), for a sync that compares Apple's `assignedCount`.
    public static func countsOnTheirWay(_ unfinished: [Unfinished]) -> [AssetKey: Int] {
        onTheirWay(unfinished).held.mapValues(\.count)
    }
}

extension DeliveryCapacity {
    /// Whether a pool has room at Apple for every associate on its way however they are ordered:
    /// every assignment row (`rows`, confirmed or not), every serial of its unfinished operations
    /// and the licences elsewhere fit in its total. Such a pool need not be counted exactly (its
    /// confirmed rows are a scan of the pool's rows); most pools of a fleet are such.
    public static func hasRoomForAll(total: Int, elsewhere: Int, rows: Int, serialsOnTheirWay: Int) -> Bool {
        elsewhere + rows + serialsOnTheirWay <= total
    }
}
