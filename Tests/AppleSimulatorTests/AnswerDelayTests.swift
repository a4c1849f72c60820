import AppleAppsAndBooks
import AppleSimulator
import CSQLite
import Foundation
import Testing

/// The simulated network delay is slept off the simulator's actor: once a call's delay has
/// passed, its answer goes out even while another call holds the actor. At fleet scale a
/// simulator that resumed on its actor after the delay held answers back behind every other
/// location's transaction (669 of 1,000 status answers in a push's last half second).
@Suite(.timeLimit(.minutes(5))) struct AnswerDelayTests {
    /// A second connection to the state file, to hold its write lock from outside.
    final class LockHolder {
        let handle: OpaquePointer

        init(path: String) throws {
            var handle: OpaquePointer?
            guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, let handle else {
                throw CannotOpen(path: path)
            }
            self.handle = handle
        }

        deinit { sqlite3_close_v2(handle) }

        struct CannotOpen: Error { let path: String }

        func execute(_ sql: String) {
            #expect(sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK, "\(sql) failed: \(String(cString: sqlite3_errmsg(handle)))")
        }

        func count(_ table: String) -> Int64 {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v2(handle, "SELECT count(*) FROM \(table)", -1, &statement, nil) == SQLITE_OK else { return -1 }
            defer { sqlite3_finalize(statement) }
            return sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : -1
        }
    }

    @Test func anAnswerWhoseDelayHasPassedIsNotHeldBehindAnotherCall() async throws {
        let fixture = try SimulatorFixture()
        let simulator = fixture.simulator
        try await simulator.setLatency(milliseconds: 500)
        let token = try fixture.token()
        let outside = try LockHolder(path: fixture.statePath.path)
        let eventsBefore = outside.count("events")

        // The first call commits its event, then sleeps its 500 ms.
        let first = Task {
            try await simulator.associate(token: token, AssociationRequest(assets: [SimulatorFixture.app], serialNumbers: ["C02FIRST01"]))
        }
        for _ in 0..<500 where outside.count("events") == eventsBefore { try await Task.sleep(for: .milliseconds(10)) }
        #expect(outside.count("events") == eventsBefore + 1, "the first call's event was never written")

        // The second call's transaction waits on the write lock held outside, and holds the
        // actor while it waits (up to the simulator's 10 s busy timeout).
        outside.execute("BEGIN IMMEDIATE")
        let second = Task { try await simulator.assets(token: token, query: AssetsQuery()) }
        let answered = try await first.value
        outside.execute("ROLLBACK")

        #expect(!answered.eventId.isEmpty)
        // Had the first answer needed the actor after its delay, it would have waited for the
        // second call to give up on the lock, and that call would have failed.
        let assets = try await second.value
        #expect(assets.assets.contains { $0.adamId == SimulatorFixture.app.adamId })
    }
}
