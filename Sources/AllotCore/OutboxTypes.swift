/// What an outbox operation asks of Apple (DESIGN.md, Outbox). Stored by these spellings.
public enum OutboxKind: String, Sendable, Hashable, CaseIterable {
    case associate, disassociate
    /// Apple's revoke: every revocable asset of the serials, whatever the asset named.
    case revoke
    /// Create users at the token's location (`POST /users/create`), before any licence of that
    /// location goes to them. Users only.
    case registerUsers = "register_users"
    /// Retire users at the token's location (`POST /users/retire`). Users only.
    case retireUsers = "retire_users"

    /// A change to the users themselves at a location, not to a licence: ordered like Apple's
    /// revoke (on every asset), counted on none.
    public var changesUserRecords: Bool { self == .registerUsers || self == .retireUsers }
}

/// What an operation's identifiers name at Apple: devices (serial numbers) or users (our
/// clientUserIds). One request never carries both.
public enum OutboxSubject: String, Sendable, Hashable, CaseIterable, Codable {
    case devices, users
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
