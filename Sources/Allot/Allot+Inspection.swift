import AllotCore
import AllotStore

extension Allot {
    /// Every assignment of a tenant as "adamId:pricing SERIAL locationUid", sorted into a set:
    /// what tests and `allot sim assignments` compare against Apple's side.
    public func ledgerAssignmentsForTests(tenant slug: String) throws -> Set<String> {
        try ledger.assignmentLines(tenant: try tenant(slug).id)
    }

    /// Outbox operations of a tenant (or all), for reports and tests.
    public func outbox(tenant slug: String? = nil) throws -> [OutboxOperation] {
        try ledger.operations(tenant: try slug.map { try tenant($0).id })
    }

    /// Whether a token's file is still stored (erased once a removed token has drained).
    public func hasStoredSecret(tenant slug: String, token reference: String) throws -> Bool {
        try ledger.requireToken(tenant: try tenant(slug).id, reference).hasSecret
    }
}
