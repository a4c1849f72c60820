import AllotCore
import PostgresNIO

/// The user planner's view of the ledger on PostgreSQL, set-based as the devices' is
/// (`PostgresBatchLedger`): the batch's users and the assignments it could touch read in two
/// queries, decided in memory (`InMemoryUserLedger`, the model of the property tests), the rows
/// it changed written in one statement each way. Exact because the batch runs with its tenant
/// locked: no other writer changes the tenant's user assignments between read and write.
struct PostgresUserBatchLedger {
    var model: InMemoryUserLedger
    private let before: [InMemoryUserLedger.UserAssignmentKey: TokenID]
    private let database: PostgresLedgerDatabase
    private let tenant: TenantID

    init(database: PostgresLedgerDatabase, tenant: TenantID, items: [UserItem], assets: [AssetKey: AssetRef]) throws {
        self.database = database
        self.tenant = tenant
        let keys = Array(Set(items.compactMap { UserKey.normalized($0.userId) }))
        var users: [String: UserRef] = [:]
        var bindings = PostgresBindings()
        bindings.append(tenant.rawValue)
        bindings.append(keys)
        for row in try database.send("""
            SELECT user_key, id, retired_at IS NOT NULL FROM users WHERE tenant_id = $1 AND user_key = ANY($2::text[])
            """, bindings, original: "SELECT … FROM users WHERE user_key = ANY(…)").rows {
            let reader = try PostgresRowReader(row)
            users[reader.string(0)] = UserRef(id: UserID(reader.int64(1)), retired: reader.bool(2))
        }
        var assignments: [InMemoryUserLedger.UserAssignmentKey: TokenID] = [:]
        if !users.isEmpty && !assets.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(tenant.rawValue)
            bindings.append(users.values.map(\.id.rawValue))
            bindings.append(assets.values.map(\.id.rawValue))
            for row in try database.send("""
                SELECT asset_id, user_id, token_id FROM user_assignments
                WHERE tenant_id = $1 AND user_id = ANY($2::bigint[]) AND asset_id = ANY($3::bigint[])
                """, bindings, original: "SELECT … FROM user_assignments WHERE user_id = ANY(…)").rows {
                let reader = try PostgresRowReader(row)
                assignments[.init(asset: AssetID(reader.int64(0)), user: UserID(reader.int64(1)))] = TokenID(reader.int64(2))
            }
        }
        before = assignments
        model = InMemoryUserLedger(users: users, assignments: assignments)
    }

    /// Writes what the planner changed, each statement checked to change exactly the rows decided.
    func write(batch: BatchID) throws {
        var inserted: [(key: InMemoryUserLedger.UserAssignmentKey, token: TokenID)] = []
        for (key, token) in model.assignments where before[key] == nil { inserted.append((key, token)) }
        let deleted = before.keys.filter { model.assignments[$0] == nil }
        if !inserted.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(tenant.rawValue)
            bindings.append(inserted.map(\.key.asset.rawValue))
            bindings.append(inserted.map(\.key.user.rawValue))
            bindings.append(inserted.map(\.token.rawValue))
            bindings.append(batch.rawValue)
            let written = try database.send("""
                INSERT INTO user_assignments (tenant_id, asset_id, user_id, token_id, status, batch_id)
                SELECT $1, asset_id, user_id, token_id, 0, $5 FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS item (asset_id, user_id, token_id)
                """, bindings, original: "INSERT INTO user_assignments … unnest(…)").metadata.rows ?? 0
            precondition(written == inserted.count, "a user batch inserted \(written) assignment rows where it decided \(inserted.count)")
        }
        if !deleted.isEmpty {
            var bindings = PostgresBindings()
            bindings.append(tenant.rawValue)
            bindings.append(deleted.map(\.asset.rawValue))
            bindings.append(deleted.map(\.user.rawValue))
            let removed = try database.send("""
                DELETE FROM user_assignments WHERE tenant_id = $1
                AND (asset_id, user_id) IN (SELECT * FROM unnest($2::bigint[], $3::bigint[]))
                """, bindings, original: "DELETE FROM user_assignments … unnest(…)").metadata.rows ?? 0
            precondition(removed == deleted.count, "a user batch deleted \(removed) assignment rows where it decided \(deleted.count)")
        }
    }
}
