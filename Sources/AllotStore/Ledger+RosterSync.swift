import AllotCore

/// What a roster sync did (or, dry, would do): the import, and the devices absent from the file
/// that were retired with the licences they gave back.
public struct RosterSyncReport: Sendable, Hashable, Codable {
    public var imported: ImportReport
    /// Serials retired because the file did not list them, sorted.
    public var retired: [String] = []
    /// The licences they gave back; `devices` need an uninstall.
    public var revocation = RevocationReport()
    public var dryRun: Bool
}

extension Ledger {
    /// Imports a roster as the whole truth of the tenant's fleet (issue 14 point 2): the file's
    /// devices are imported or updated, and the managed devices it does not list are retired
    /// (every licence given back, out of every queue), all in one transaction. Refused whole
    /// when more than `allowance` of the fleet would go (a truncated export must not empty a
    /// tenant) or when a line is rejected (the device on it would be retired by mistake).
    /// `dryRun` decides the same and rolls back.
    public func syncRoster(tenant: TenantID, csv: some Collection<UInt8>, allowance: RetireAllowance, dryRun: Bool) throws -> RosterSyncReport {
        let roster: Roster
        do { roster = try Roster(csv: csv) } catch { throw AllotError.invalidInput(error.message) }
        if let first = roster.rejected.first {
            throw AllotError.invalidInput("line \(first.line) of the roster is rejected (\(first.reason)); when the devices a roster leaves out are retired every line must be good, since the device on a bad line would be retired, so fix it and run again (nothing was changed)")
        }
        let inputs = roster.rows.map { DeviceInput(serial: $0.serial, name: $0.name, model: $0.model, group: $0.group) }
        let listed = Set(roster.rows.map(\.serial.value))
        let run = { () throws -> RosterSyncReport in
            let managed = try self.database.query("SELECT id, serial FROM devices WHERE tenant_id = ? AND retired_at IS NULL ORDER BY serial",
                                                  [.integer(tenant.rawValue)]) { (id: DeviceID($0.int64(0)), serial: $0.string(1)) }
            let missing = managed.filter { !listed.contains($0.serial) }
            if let refusal = allowance.refusal(retiring: missing.count, fleet: managed.count) {
                throw AllotError(.invalidInput, refusal, subject: .retireShareExceeded(
                    retiring: missing.count, percent: RetireAllowance.share(retiring: missing.count, fleet: managed.count)))
            }
            var report = RosterSyncReport(imported: try self.upsertDevices(tenant: tenant, inputs), dryRun: dryRun)
            if !missing.isEmpty { report.revocation = try self.retire(tenant: tenant, missing.map(\.id)) }
            report.retired = missing.map(\.serial)
            try self.recordEvent(tenant: tenant, kind: .rosterImported,
                                 detail: ["imported": report.imported.imported, "updated": report.imported.updated, "rejected": 0,
                                          "retired": missing.count])
            return report
        }
        return try writingDevices(of: tenant) {
            dryRun ? try database.rolledBack(run) : try database.transaction(run)
        }
    }
}
