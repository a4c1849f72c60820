import Allot
import AllotCore

/// What a token file is and what adding or renewing it would do (`token inspect`, `token add
/// --dry-run`, `token renew --dry-run`, `?dryRun=true`). Never carries the file or its secret.
public struct TokenInspectionView: Encodable, Sendable {
    public struct ManagedBy: Encodable, Sendable {
        /// `unclaimed`, `this_tenant` or `another_server`.
        public let state: String
        /// The other server's name (Apple's `mdmInfo.name`), for `another_server`.
        @AlwaysPresent public var name: String?
    }

    /// A refusal: the code and sentence the real operation would answer with.
    public struct Refusal: Encodable, Sendable {
        public let code: String
        public let message: String
    }

    /// `add` or `renew`.
    public let operation: String
    public let locationUid: String
    public let locationName: String
    public let orgName: String
    public let expiresAt: String
    public let expiresInDays: Int
    public let expiringSoon: Bool
    public let managedBy: ManagedBy
    public let apps: Int
    /// Their licences, Apple's totals. Spelled as Apple does, like every new name of the
    /// contract; `licences` and `licencesInUse` are the same numbers under their first names.
    public let licenses: Int
    public let licensesInUse: Int
    public let licences: Int
    public let licencesInUse: Int
    public let takeoverNeeded: Bool
    /// `would_add`, `would_take_over`, `would_renew` or `refused`.
    public let outcome: String
    /// The token a renewal would renew.
    @AlwaysPresent public var renewsTokenId: Int64?
    @AlwaysPresent public var refusal: Refusal?

    public init(_ inspection: TokenInspection, now: Int64 = Moments.now) {
        operation = inspection.operation.rawValue
        locationUid = inspection.locationUid
        locationName = inspection.locationName
        orgName = inspection.orgName
        expiresAt = Moments.iso8601(inspection.expiresAt)
        expiresInDays = Moments.daysUntil(inspection.expiresAt, now: now)
        expiringSoon = TokenExpiry.isExpiringSoon(expiresAt: inspection.expiresAt, now: now)
        managedBy = switch inspection.manager {
        case .nobody: ManagedBy(state: "unclaimed", name: nil)
        case .thisTenant: ManagedBy(state: "this_tenant", name: nil)
        case .anotherServer(let name): ManagedBy(state: "another_server", name: name)
        }
        apps = inspection.apps
        licenses = inspection.licences
        licensesInUse = inspection.licencesInUse
        licences = inspection.licences
        licencesInUse = inspection.licencesInUse
        takeoverNeeded = inspection.takeoverNeeded
        renewsTokenId = nil
        refusal = nil
        switch inspection.verdict {
        case .wouldAdd:
            outcome = "would_add"
        case .wouldTakeOver:
            outcome = "would_take_over"
        case .wouldRenew(let token):
            outcome = "would_renew"
            renewsTokenId = token.rawValue
        case .refused(let error):
            outcome = "refused"
            refusal = Refusal(code: error.code.rawValue, message: error.message)
        }
    }
}
