/// Token life as a pure machine (DESIGN.md, Tokens): a state and what happened give the next
/// state, or nil when the event changes nothing. The engine records the change and performs
/// what follows from the new state (`deliversToApple`: pause or resume the token's outbox).
public enum TokenEvent: Sendable, Hashable {
    /// Apple answered 9621 (or the expiry date passed).
    case expired
    /// Apple answered 9625.
    case revokedByApple
    /// Apple answered 9601/9622/9722, or the file could not be read.
    case rejected
    /// An answer's `mdmInfo` names another server.
    case claimedElsewhere
    /// The location is free again, or ours again (a sync claimed it back).
    case reclaimed
    /// A fresh file for the same location was uploaded.
    case renewed
    /// An admin took the location over.
    case takenOver
    /// An admin removed the token: it drains its revocations.
    case removed
}

public enum TokenLife {
    public static func next(_ state: TokenState, on event: TokenEvent) -> TokenState? {
        let target: TokenState
        switch (state, event) {
        // A removed token only drains; nothing brings it back but adding it again.
        case (.removed, _): return nil
        case (_, .removed): target = .removed
        case (_, .expired): target = .expired
        case (_, .revokedByApple): target = .revoked
        case (_, .rejected): target = .invalid
        case (_, .claimedElsewhere): target = .claimedElsewhere
        // Claimed back only from a claim: a dead token stays dead until renewed.
        case (.claimedElsewhere, .reclaimed): target = .active
        case (_, .reclaimed): return nil
        case (_, .renewed), (_, .takenOver): target = .active
        }
        return target == state ? nil : target
    }
}

extension TokenState {
    /// Whether the token's operations go to Apple: an active token, and a removed one, which
    /// still delivers its revocations (that is how it drains).
    public var deliversToApple: Bool { self == .active || self == .removed }
}
