/// What a tenant's sync asks a person to act on (exit code 4 on the command line), decided from
/// what each token's sync found. The advice must fit the state that produced it: a token that
/// could not be read because Apple could not be reached is still active, and telling its admin
/// to renew, take over or add a token sends them to fix the wrong thing. So the reasons form a
/// ladder, first match wins:
/// 1. the tenant has no token: add one;
/// 2. some token is active and was read: the tenant works (a dead token is in its own row);
/// 3. some token could not be read because Apple could not be reached: the network or the
///    address of Apple's service, not the tokens;
/// 4. some token is active but its read failed otherwise (Apple refused or answered
///    something unusable): sync again later;
/// 5. otherwise no token is active: renew, take over or add one.
/// An over-allocation is a reason of its own, beside any of these, and so is drift left
/// unrepaired: the ledger says a device holds a licence Apple does not (or the other way), and
/// a cron job that only reads the exit code must hear of it.
public enum SyncAttention {
    /// One token's sync as the rule needs it.
    public struct TokenRead: Sendable, Hashable {
        public let tokenId: TokenID
        /// The token's state after the sync.
        public let state: TokenState
        /// Why its read failed, nil when it did not.
        public let failure: String?
        /// True when the read failed because Apple could not be reached at all.
        public let appleUnreachable: Bool
        /// Apps of this token with more licences in use than Apple's total.
        public let overAllocatedApps: Int
        /// Licences Apple and the ledger disagree on, left after the sync (and its repair).
        public let unrepairedDrift: Int

        public init(tokenId: TokenID, state: TokenState, failure: String?, appleUnreachable: Bool, overAllocatedApps: Int,
                    unrepairedDrift: Int = 0) {
            precondition(unrepairedDrift >= 0, "drift counts licences")
            self.tokenId = tokenId
            self.state = state
            self.failure = failure
            self.appleUnreachable = appleUnreachable
            self.overAllocatedApps = overAllocatedApps
            self.unrepairedDrift = unrepairedDrift
        }

        var isActiveAndRead: Bool { state == .active && failure == nil }
    }

    public enum Reason: Sendable, Hashable {
        case noToken
        /// Apple could not be reached; `failure` is the first such token's, for the sentence.
        case appleUnreachable(failure: String)
        /// Active tokens whose read failed for another reason; the first one's failure.
        case activeTokensUnread(tokens: [TokenID], failure: String)
        case noActiveToken
        case overAllocated(apps: Int)
        /// Licences Apple and the ledger disagree on, over the tenant's tokens.
        case drift(licences: Int)
    }

    public static func reasons(_ tokens: [TokenRead]) -> [Reason] {
        var reasons: [Reason] = []
        if let supply = supplyReason(tokens) { reasons.append(supply) }
        let over = tokens.reduce(0) { $0 + $1.overAllocatedApps }
        if over > 0 { reasons.append(.overAllocated(apps: over)) }
        let drift = tokens.reduce(0) { $0 + $1.unrepairedDrift }
        if drift > 0 { reasons.append(.drift(licences: drift)) }
        return reasons
    }

    /// Why no token can supply licences, nil when one can: the ladder's first five rungs.
    static func supplyReason(_ tokens: [TokenRead]) -> Reason? {
        if tokens.isEmpty { return .noToken }
        if tokens.contains(where: \.isActiveAndRead) { return nil }
        if let unreachable = tokens.first(where: \.appleUnreachable) {
            return .appleUnreachable(failure: unreachable.failure ?? "no answer")
        }
        let unread = tokens.filter { $0.state == .active && $0.failure != nil }
        if let first = unread.first, let failure = first.failure {
            return .activeTokensUnread(tokens: unread.map(\.tokenId), failure: failure)
        }
        return .noActiveToken
    }
}
