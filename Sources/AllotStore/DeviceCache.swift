import AllotCore
import CSQLite

/// The tenants' devices by serial, in memory: the device lookup was a fifth of the instructions
/// of an assign item. Exact, not approximate:
/// - a tenant's table is loaded whole, lazily, by one query, the first time a batch needs it;
/// - the Ledger's own writes to `devices` (register, import, retire) drop that tenant's table
///   after their transaction ends, committed or rolled back, so a rolled-back write never
///   leaves the cache ahead of the file;
/// - any other write to `devices` on this connection (raw SQL through `database`) is seen by
///   the connection's update hook, and drops every table at the next batch;
/// - another connection's commit changes `PRAGMA data_version`, which is compared at the
///   start of every batch: any change drops every table.
/// Bounded: at most `devicesMax` devices in all; the least recently used tenants are dropped to
/// make room, and a tenant with more devices than that is not cached (its lookups go to SQL).
final class DeviceCache {
    /// About 24 bytes a device plus the dictionary's slack: some 64 MiB when full.
    static let devicesMaxDefault = 2_000_000
    /// The bound on devices held, all tenants together (tests lower it).
    var devicesMax = DeviceCache.devicesMaxDefault
    /// Tenants whose tables are held now (for tests).
    var cachedTenants: Set<TenantID> { Set(tables.keys) }

    /// One tenant's devices: the id shifted left by one, the low bit set when retired.
    final class Table {
        var devices: [SerialKey: Int64]
        var lastUse: UInt64
        init(devices: [SerialKey: Int64], lastUse: UInt64) {
            self.devices = devices
            self.lastUse = lastUse
        }

        @inline(__always)
        func device(_ key: SerialKey) -> DeviceRef? {
            guard let packed = devices[key] else { return nil }
            return DeviceRef(id: DeviceID(packed >> 1), retired: packed & 1 == 1)
        }
    }

    private var tables: [TenantID: Table] = [:]
    /// Tenants found too large to cache. Kept across drops: the Ledger never deletes a device,
    /// so a tenant stays too large, and not caching one is always correct (SQL answers), while
    /// finding out again would scan the bound's worth of rows.
    private var uncached: Set<TenantID> = []
    private var count = 0
    private var uses: UInt64 = 0
    private var dataVersion: Int64?
    private var deviceWrites: UInt64 = 0

    /// Drops what another connection or an untracked write of this one may have changed. Call
    /// it inside the batch's transaction, before any lookup.
    func validate(database: Database) throws {
        let version = try database.dataVersion()
        if version != dataVersion || database.deviceWrites != deviceWrites {
            dropAll()
            dataVersion = version
            deviceWrites = database.deviceWrites
        }
    }

    /// The tenant's table, loaded if needed; nil when the tenant has too many devices to cache.
    func table(tenant: TenantID, database: Database) throws -> Table? {
        uses += 1
        if let table = tables[tenant] {
            table.lastUse = uses
            return table
        }
        if uncached.contains(tenant) { return nil }
        let load = try database.statement("SELECT serial, id, retired_at IS NOT NULL FROM devices WHERE tenant_id = ?")
        defer { load.reset() }
        load.bind(1, tenant)
        var devices: [SerialKey: Int64] = [:]
        while try load.step() {
            guard devices.count < devicesMax else {
                uncached.insert(tenant)
                return nil
            }
            devices[load.serialKey(0)] = load.int64(1) << 1 | (load.bool(2) ? 1 : 0)
        }
        makeRoom(for: devices.count)
        let table = Table(devices: devices, lastUse: uses)
        tables[tenant] = table
        count += devices.count
        return table
    }

    /// Forgets one tenant's devices: the Ledger calls it after each write to them.
    func drop(tenant: TenantID) {
        guard let table = tables.removeValue(forKey: tenant) else { return }
        count -= table.devices.count
    }

    /// Marks the connection's writes to `devices` so far as accounted for, when the caller
    /// dropped every tenant they touched and nothing else was pending (`before`: the count
    /// of writes when the caller began).
    func acknowledge(deviceWritesBefore before: UInt64, database: Database) {
        if deviceWrites == before { deviceWrites = database.deviceWrites }
    }

    func dropAll() {
        tables.removeAll()
        count = 0
    }

    private func makeRoom(for needed: Int) {
        // Bounded: each pass removes one tenant.
        while count + needed > devicesMax, let oldest = tables.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            drop(tenant: oldest.key)
        }
        precondition(count + needed <= devicesMax, "the device cache holds more than its bound")
    }
}

extension Statement {
    /// The serial in a column as its key, without making a String. The column holds serials
    /// written through `SerialNumber` (8 to 14 of `A-Z0-9`; the schema checks the length).
    @inline(__always)
    func serialKey(_ column: Int32) -> SerialKey {
        // Text first, then its length: the order SQLite documents.
        guard let text = sqlite3_column_text(handle, column) else { return SerialKey(canonical: UnsafeBufferPointer(start: nil, count: 0)) }
        let count = Int(sqlite3_column_bytes(handle, column))
        return SerialKey(canonical: UnsafeBufferPointer(start: text, count: min(count, SerialNumber.lengthMax)))
    }
}
