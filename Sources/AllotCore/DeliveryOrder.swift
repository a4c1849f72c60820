/// The rule that keeps Apple in step with the ledger whatever retries, backoff, PENDING events
/// and parallel lanes do: an operation on a (token, asset, serial) goes to Apple only when every
/// operation committed before it on the same (token, asset, serial) has finished (Apple applied
/// it, or it was given up). Without it a revoke waiting out a 503 is overtaken by a later assign
/// of the same serial, and the delayed revoke then takes the licence away at Apple while the
/// ledger holds it (issue 10, point 1). "Finished" and not "sent": an event still PENDING at
/// Apple has not been applied, and Apple does not promise to apply two events in the order
/// they were accepted.
///
/// Operations of different tokens never conflict: each token is its own location at Apple.
public enum DeliveryOrder {
    /// One unfinished operation of one token, as far as ordering is concerned.
    public struct Footprint: Sendable, Hashable {
        public let id: Int64
        /// Commit order: operations are given oldest first.
        public let order: Int64
        public let kind: OutboxKind
        public let asset: AssetKey
        public let serials: [String]

        public init(id: Int64, order: Int64, kind: OutboxKind, asset: AssetKey, serials: [String]) {
            self.id = id
            self.order = order
            self.kind = kind
            self.asset = asset
            self.serials = serials
        }
    }

    private struct Slot: Hashable {
        let asset: AssetKey
        let serial: String
    }

    /// The operations of `unfinished` (one token's, every unfinished one or an oldest-first
    /// prefix of them) that no earlier one among them holds back.
    public static func free(_ unfinished: [Footprint]) -> Set<Int64> {
        var taken = Set<Slot>()
        // Serials an earlier operation touches on any asset, and those an earlier revoke
        // touches on every asset (Apple's revoke is not scoped to one asset).
        var touched = Set<String>()
        var revoked = Set<String>()
        var free = Set<Int64>()
        var previousOrder = Int64.min
        for operation in unfinished {
            precondition(operation.order >= previousOrder, "operations are given in commit order")
            previousOrder = operation.order
            let blocked = operation.kind == .revoke
                ? operation.serials.contains { touched.contains($0) }
                : operation.serials.contains { revoked.contains($0) || taken.contains(Slot(asset: operation.asset, serial: $0)) }
            if !blocked { free.insert(operation.id) }
            for serial in operation.serials {
                touched.insert(serial)
                if operation.kind == .revoke { revoked.insert(serial) } else { taken.insert(Slot(asset: operation.asset, serial: serial)) }
            }
        }
        return free
    }
}
