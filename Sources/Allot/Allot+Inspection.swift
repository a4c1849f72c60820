import AllotCore

extension Allot {
    /// Every assignment of a tenant as "adamId:pricing SERIAL locationUid", sorted into a set:
    /// what tests and `allot sim assignments` compare against Apple's side.
    public func ledgerAssignmentsForTests(tenant slug: String) throws -> Set<String> {
        let tenant = try tenant(slug)
        return Set(try ledger.database.query("""
            SELECT a.adam_id || ':' || a.pricing_param || ' ' || d.serial || ' ' || t.location_uid
            FROM assignments s JOIN assets a ON a.id = s.asset_id JOIN devices d ON d.id = s.device_id JOIN tokens t ON t.id = s.token_id
            WHERE s.tenant_id = ?
            """, [.integer(tenant.id.rawValue)]) { $0.string(0) })
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
