import AllotCore
@testable import AllotStore
import Foundation
import Testing

/// Migration 007 moves every operation's serials out of the outbox row into `outbox_serials`:
/// an operation waiting in a ledger written by an older allot keeps its serials, in order.
@Suite(.timeLimit(.minutes(5))) struct OutboxSerialsMigrationTests {
    @Test func anOperationWaitingBeforeMigration7KeepsItsSerials() throws {
        let folder = try TemporaryFolder()
        let path = folder.path("ledger.sqlite")
        let serials = ["C02AAAAAAAA1", "C02AAAAAAAA3", "C02AAAAAAAA2"]
        do {
            // The ledger as allot left it before this migration: version 6, serials in the row.
            let old = try Database(path: path)
            for migration in Migrations.all where migration.version < 7 {
                try old.execute(migration.sql)
                try old.setSchemaVersion(migration.version)
            }
            // Only the outbox matters here: its tenant and token rows are left out.
            try old.execute("PRAGMA foreign_keys = OFF")
            _ = try old.run("""
                INSERT INTO outbox (tenant_id, token_id, kind, assets, serials, serial_count, created_at) VALUES (1, 1, 'associate', ?, ?, 3, 0)
                """, [.text(AssetKey(adamId: "361309726").description), .text(serials.joined(separator: "\n"))])
        }
        let ledger = try Ledger(path: path)
        #expect(try ledger.database.schemaVersion() == Migrations.latestVersion)
        let operations = try ledger.operations(tenant: TenantID(1))
        #expect(operations.map(\.serials) == [serials])
        let columns = try ledger.database.query("SELECT name FROM pragma_table_info('outbox')") { $0.string(0) }
        #expect(!columns.contains("serials"), "the row no longer carries the serials: \(columns)")
    }
}
