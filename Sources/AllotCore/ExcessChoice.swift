/// An assignment on an over-allocated pool, as the choice of what to give back sees it.
public struct ExcessHolder: Sendable, Hashable {
    public let device: DeviceID
    public let serial: String
    public let group: String?
    /// The batch that made the assignment: a higher id is newer.
    public let batch: BatchID

    public init(device: DeviceID, serial: String, group: String?, batch: BatchID) {
        self.device = device
        self.serial = serial
        self.group = group
        self.batch = batch
    }
}

/// What resolving one over-allocated pool does: devices moved to another token of the same app
/// (no uninstall), devices whose licence is revoked (they need an uninstall), and the excess
/// this server cannot give back because others hold those licences at the location.
public struct ExcessPlan: Sendable, Hashable {
    public struct Move: Sendable, Hashable {
        public let holder: ExcessHolder
        public let to: TokenID
    }
    public var moves: [Move] = []
    public var revokes: [ExcessHolder] = []
    public var unresolved = 0
    public init() {}
}

/// The choice of what to give back when Apple's total falls below what is in use on a token
/// (issue 14 point 3): the newest assignments first, the devices of the group to keep last;
/// each one moves to another usable token of the same app with a free licence (chosen by the
/// tenant's policy, as a batch would) and is revoked only when none has one.
public enum ExcessChoice {
    /// `excess`: licences in use beyond Apple's total on the pool. `spare`: the other usable
    /// tokens' pools of the same app with their free licences.
    public static func choose(excess: Int, holders: [ExcessHolder], keepGroup: String?, spare: [PoolCandidate],
                              policy: AllocationPolicy) -> ExcessPlan {
        precondition(excess >= 0, "an excess is never negative")
        let ordered = holders.sorted { a, b in
            let keepA = keepGroup != nil && a.group == keepGroup
            let keepB = keepGroup != nil && b.group == keepGroup
            if keepA != keepB { return keepB }
            if a.batch != b.batch { return a.batch > b.batch }
            return a.device > b.device
        }
        var pools = spare
        var plan = ExcessPlan()
        for holder in ordered.prefix(excess) {
            if let index = policy.choose(from: pools) {
                pools[index].available -= 1
                plan.moves.append(ExcessPlan.Move(holder: holder, to: pools[index].tokenId))
            } else {
                plan.revokes.append(holder)
            }
        }
        plan.unresolved = excess - plan.moves.count - plan.revokes.count
        return plan
    }
}
