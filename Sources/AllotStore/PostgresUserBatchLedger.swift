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
        for row in try PostgresHoldings.users.read(database, tenant: tenant, holders: users.values.map(\.id.rawValue),
                                                   assets: assets.values.map(\.id.rawValue)) {
            assignments[.init(asset: AssetID(row.asset), user: UserID(row.holder))] = TokenID(row.token)
        }
        before = assignments
        model = InMemoryUserLedger(users: users, assignments: assignments)
    }

    /// Writes what the planner changed, each statement checked to change exactly the rows decided.
    func write(batch: BatchID) throws {
        let inserted = model.assignments.compactMap { key, token in
            before[key] == nil ? PostgresHoldings.Row(asset: key.asset.rawValue, holder: key.user.rawValue, token: token.rawValue) : nil
        }
        let deleted = before.keys.filter { model.assignments[$0] == nil }.map { (asset: $0.asset.rawValue, holder: $0.user.rawValue) }
        try PostgresHoldings.users.write(database, tenant: tenant, batch: batch, inserted: inserted, deleted: deleted)
    }
}
