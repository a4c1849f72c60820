// What Apple's stand-in holds, read straight from its state file (SQLite, WAL) by this process
// while `allot sim serve` writes it: a read sees the last committed call and never blocks the
// simulator, and it costs the simulator nothing, where polling its HTTP control routes 50 times
// a second would take its time from the delivery being measured.
import BenchmarkSupport
import CSQLite
import Foundation

final class SimulatorHoldings {
    private let connection: RawConnection
    private let held: OpaquePointer
    private let total: OpaquePointer

    /// `otherLocations`: every location but the one whose count `count(except:)` reads.
    init(statePath: String, adamId: String, otherLocations: [String]) {
        connection = RawConnection(path: statePath)
        held = connection.prepare("SELECT 1 FROM assignments WHERE location = ?1 AND adam_id = ?2 AND pricing_param = 'STDQ' AND serial = ?3")
        sqlite3_bind_text(held, 2, adamId, -1, rawTransient)
        // The simulator never deletes an assignment here and its ids are rowids (the largest
        // plus one), so max(id) is the number of rows: one seek, where count(*) would read
        // every row of a 300,000-row location each time. `verify` checks the shortcut at the end.
        let others = otherLocations.map { "'\($0)'" }.joined(separator: ", ")
        total = connection.prepare("SELECT (SELECT ifnull(max(id), 0) FROM assignments) - (SELECT count(*) FROM assignments WHERE location IN (\(others)))")
    }

    deinit {
        sqlite3_finalize(held)
        sqlite3_finalize(total)
        connection.close()
    }

    /// Whether Apple holds `serial`'s licence of the app at `location`.
    func holds(location: String, serial: String) -> Bool {
        sqlite3_bind_text(held, 1, location, -1, rawTransient)
        sqlite3_bind_text(held, 3, serial, -1, rawTransient)
        defer { sqlite3_reset(held) }
        return sqlite3_step(held) == SQLITE_ROW
    }

    /// The assignments Apple holds at the one location not in `otherLocations`.
    func count() -> Int {
        defer { sqlite3_reset(total) }
        guard sqlite3_step(total) == SQLITE_ROW else { return 0 }
        return Int(sqlite3_column_int64(total, 0))
    }

    /// The real count at `location`, read the slow way: what `count()`'s shortcut must equal.
    func verify(location: String) -> Int {
        Int(connection.int("SELECT count(*) FROM assignments WHERE location = '\(location)'"))
    }
}
