/// What an outbox operation asks of Apple (DESIGN.md, Outbox). Stored by these spellings.
public enum OutboxKind: String, Sendable, Hashable, CaseIterable {
    case associate, disassociate
    /// Apple's revoke: every revocable asset of the serials, whatever the asset named.
    case revoke
}

/// Where an operation is in its life. Stored by these spellings.
public enum OutboxState: String, Sendable, Hashable, CaseIterable {
    /// To send (first time, or again).
    case pending
    /// Apple accepted it; its event is polled.
    case sent
    /// Apple finished it, or it was superseded by nothing left to do.
    case done
    /// Given up on, recorded as an event.
    case failed
    /// Its token cannot deliver (dead, claimed elsewhere) until renewed or taken over.
    case paused

    /// Still owed to Apple: it blocks later operations on the same serials.
    public var isUnfinished: Bool { self == .pending || self == .sent || self == .paused }

    /// Takes a step with Apple when due: sent (again), or its event polled. The states a lane
    /// claims and the outbox machine accepts.
    public var meetsApple: Bool { self == .pending || self == .sent }
}
