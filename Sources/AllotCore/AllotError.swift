/// A refusal the caller can act on: one sentence saying what was wrong and how to fix it.
/// `code` is stable (published in HTTP answers); `message` is for people.
public struct AllotError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Sendable, Hashable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The named thing (tenant, token, device) does not exist for this tenant.
        public static let notFound = Code(rawValue: "not_found")
        /// The input is malformed: fix it and try again.
        public static let invalidInput = Code(rawValue: "invalid_input")
        /// The request contradicts the state (a location already held, a renewal for another location).
        public static let conflict = Code(rawValue: "conflict")
        /// Apple refused or could not be reached.
        public static let apple = Code(rawValue: "apple")
        /// The input is larger than the engine accepts.
        public static let tooLarge = Code(rawValue: "too_large")
        /// An idempotency key already answered another request (`BatchFingerprint`).
        public static let idempotencyKeyReused = Code(rawValue: "idempotency_key_reused")
        /// The ledger cannot be reached or stayed busy for now (a lost database connection, a
        /// serialization conflict that ran out of retries): the same request may be sent again.
        public static let unavailable = Code(rawValue: "unavailable")
        /// A batch names only apps that no token of the tenant has (`UnknownAppRule`).
        public static let unknownApp = Code(rawValue: "unknown_app")
    }

    /// What the refusal is about, so a face can add its own advice (the CLI names its commands).
    /// The message itself reads right everywhere: it names no command, flag or route.
    public enum Subject: Sendable, Hashable {
        case unknownTenant(slug: String)
        case unknownToken
        case locationHeldByThisTenant(token: TokenID)
        case locationManagedElsewhere
        case noAppleService
        /// The apps a batch named that no token of the tenant has.
        case unknownApp([AssetKey])
        /// A roster sync would retire more of the fleet than allowed: how many, and their share.
        case retireShareExceeded(retiring: Int, percent: Int)
        /// The tenant's queues of unmet demand are full.
        case queueFull
        /// A batch named a group that no device of the tenant is in.
        case unknownGroup
    }

    public let code: Code
    public let message: String
    public let subject: Subject?

    public init(_ code: Code, _ message: String, subject: Subject? = nil) {
        self.code = code
        self.message = message
        self.subject = subject
    }

    public static func invalidInput(_ message: String) -> AllotError { AllotError(.invalidInput, message) }
    public static func notFound(_ message: String) -> AllotError { AllotError(.notFound, message) }
    public static func conflict(_ message: String) -> AllotError { AllotError(.conflict, message) }

    public var description: String { message }
}
