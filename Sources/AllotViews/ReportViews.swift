import Allot
import AllotCore
import AllotStore

/// What a push delivered (`push --json`, `POST …/push`).
public struct PushView: Encodable, Sendable {
    public let sent: Int
    public let completed: Int
    public let released: [String]
    public let retrying: Int
    public let failed: Int
    public let unfinished: Int
    public let pausedTokens: [Int64]
    /// Tokens whose stored file could not be opened (another token key): their operations wait.
    public let unreadableTokens: [Int64]
    /// Tokens that had something to deliver (one lane each).
    public let tokens: Int
    /// Tokens Apple told to wait (429, or 5xx with Retry-After).
    public let tokensBackingOff: Int

    public init(_ report: PushReport) {
        sent = report.sent
        completed = report.completed
        released = report.released
        retrying = report.retrying
        failed = report.failed
        unfinished = report.unfinished
        pausedTokens = report.pausedTokens.map(\.rawValue)
        unreadableTokens = report.unreadableTokens.map(\.rawValue)
        tokens = report.tokens
        tokensBackingOff = report.tokensBackingOff
    }
}

/// What a sync found for each token (`sync --json`, `POST …/sync`).
public struct SyncView: Encodable, Sendable {
    public struct Token: Encodable, Sendable {
        public struct Over: Encodable, Sendable {
            public let adamId: String
            public let pricingParam: String
            public let tokenId: Int64
            public let total: Int
            public let assignedHere: Int
            public let assignedElsewhere: Int
            /// Licences to revoke (or buy) to be within Apple's total.
            public let excess: Int
        }
        public let tokenId: Int64
        public let locationUid: String
        public let state: String
        public let assets: Int
        public let assetsAdded: Int
        public let overAllocated: [Over]
        public let warnings: [String]
        /// Why Apple could not be read, if it could not.
        @AlwaysPresent public var error: String?
        /// True when `error` is that Apple could not be reached (no connection, no answer in time).
        public let appleUnreachable: Bool
        /// Where Apple's available or retired counts disagree with what the ledger computes.
        public let countDifferences: [CountDifference]
        /// Assignments Apple and the ledger disagree on (`missing_at_apple`, `unknown_to_ledger`).
        public let drift: [AssignmentDrift]
        /// `full`, or `unchanged` when Apple's versionId had not moved since the last agreement;
        /// null when Apple could not be read.
        @AlwaysPresent public var assignmentsRead: String?
        /// What `--repair` did; null when no repair was asked.
        @AlwaysPresent public var repair: DriftRepair?
        /// The notification types Apple says the location is subscribed to; null when Apple's
        /// client config could not be read (or does not say).
        @AlwaysPresent public var subscribedNotificationTypes: [String]?

        public init(_ report: TokenSyncReport) {
            tokenId = report.tokenId.rawValue
            locationUid = report.locationUid
            state = report.state.rawValue
            assets = report.assets
            assetsAdded = report.assetsAdded
            overAllocated = report.overAllocated.map {
                Over(adamId: $0.adamId, pricingParam: $0.pricingParam, tokenId: $0.tokenId.rawValue, total: $0.total,
                     assignedHere: $0.assignedHere, assignedElsewhere: $0.assignedElsewhere, excess: $0.excess)
            }
            warnings = report.warnings
            error = report.error
            appleUnreachable = report.appleUnreachable
            countDifferences = report.countDifferences
            drift = report.drift
            assignmentsRead = report.assignmentsRead?.rawValue
            repair = report.repair
            subscribedNotificationTypes = report.subscribedNotificationTypes
        }
    }
    public let tokens: [Token]
    public init(_ reports: [TokenSyncReport]) { tokens = reports.map(Token.init) }
}

/// What a take-over found (`token takeover --json`, `POST …/tokens/{token}/takeover`).
public struct TakeoverView: Encodable, Sendable {
    public let tokenId: Int64
    @AlwaysPresent public var previousOwner: String?
    public let appleAssignments: Int
    public let notOurs: Int
    public let revoking: Int

    public init(_ report: TakeoverReport) {
        tokenId = report.tokenId.rawValue
        previousOwner = report.previousOwner
        appleAssignments = report.appleAssignments
        notOurs = report.notOurs
        revoking = report.revoking
    }
}

/// A view with more fields of one face beside it (the CLI's `delivery`): the view's fields and
/// the extra ones in one JSON object, so the shared fields cannot drift.
public struct Extended<View: Encodable & Sendable, Extra: Encodable & Sendable>: Encodable, Sendable {
    public let view: View
    public let key: String
    public let extra: Extra

    public init(_ view: View, _ key: String, _ extra: Extra) {
        self.view = view
        self.key = key
        self.extra = extra
    }

    struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        try view.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(extra, forKey: Key(stringValue: key))
    }
}

/// What `sync --all` found: each tenant's sync, as `sync --json` shows one.
public struct SyncAllView: Encodable, Sendable {
    public struct TenantSync: Encodable, Sendable {
        public let tenant: String
        public let tokens: [SyncView.Token]
    }
    public let tenants: [TenantSync]

    public init(_ reports: [TenantSyncReport]) {
        tenants = reports.map { TenantSync(tenant: $0.tenant, tokens: $0.tokens.map(SyncView.Token.init)) }
    }
}
