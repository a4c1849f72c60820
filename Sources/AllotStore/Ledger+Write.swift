import AllotCore

extension Ledger {
    /// The one way to change a tenant's rows: one transaction that takes the tenant's lock
    /// before `body` runs (PostgreSQL: the tenant's row, FOR UPDATE; SQLite: BEGIN IMMEDIATE has
    /// already made this connection the only writer). Whatever the body reads, decides and
    /// writes, no other writer of the tenant (a batch, a resolve, a sync, a completing
    /// operation, on this node or another) moves the same rows meanwhile. No path can forget
    /// the lock: this is the only place that takes it. `retrying: false` for a body that cannot
    /// run twice (a roll-out reading its chunks once).
    public func write<T>(tenant: TenantID, retrying: Bool = true, _ body: () throws -> T) throws -> T {
        try database.transaction(retrying: retrying) { try holdingTenantLock(tenant, body) }
    }

    /// The same write, always rolled back: a dry run decides exactly as the write would, under
    /// the same lock.
    public func writeRolledBack<T>(tenant: TenantID, _ body: () throws -> T) throws -> T {
        try database.rolledBack { try holdingTenantLock(tenant, body) }
    }

    private func holdingTenantLock<T>(_ tenant: TenantID, _ body: () throws -> T) throws -> T {
        try database.lockTenant(tenant)
        return try body()
    }
}
