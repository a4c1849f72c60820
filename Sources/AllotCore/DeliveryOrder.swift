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

    /// The operations of `unfinished` (one token's, every unfinished one or an oldest-first
    /// prefix of them) that no earlier one among them holds back.
    public static func free(_ unfinished: [Footprint]) -> Set<Int64> {
        // Serials an earlier operation holds, per asset; those an earlier operation touches on
        // any asset; and those an earlier revoke touches on every asset (Apple's revoke is not
        // scoped to one asset). Per asset and not per (asset, serial) pair: a lane reads its
        // window every round, and hashing a serial alone is the cheaper half of that work.
        var taken: [AssetKey: Set<String>] = [:]
        var touched = Set<String>()
        var revoked = Set<String>()
        var free = Set<Int64>()
        var previousOrder = Int64.min
        for (index, operation) in unfinished.enumerated() {
            precondition(operation.order >= previousOrder, "operations are given in commit order")
            previousOrder = operation.order
            let blocked: Bool
            if operation.kind == .revoke || operation.kind.changesUserRecords {
                blocked = !touched.isEmpty && operation.serials.contains { touched.contains($0) }
            } else {
                let heldOnAsset = taken[operation.asset]
                let anyRevoked = !revoked.isEmpty
                blocked = (anyRevoked || heldOnAsset != nil)
                    && operation.serials.contains { (anyRevoked && revoked.contains($0)) || heldOnAsset?.contains($0) == true }
            }
            if !blocked { free.insert(operation.id) }
            // The last operation holds back nobody: its serials need not be remembered (a window
            // of one operation, the usual case of a fleet, costs no hashing at all).
            guard index < unfinished.count - 1 else { break }
            touched.formUnion(operation.serials)
            if operation.kind == .revoke || operation.kind.changesUserRecords {
                revoked.formUnion(operation.serials)
            } else {
                taken[operation.asset, default: []].formUnion(operation.serials)
            }
        }
        return free
    }
}
