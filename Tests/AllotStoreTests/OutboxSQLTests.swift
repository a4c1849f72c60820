import AllotCore
import AllotStore
import Testing

/// The outbox's rules written for SQL are spelled from their Swift twins; on every value, the
/// database answers what Swift answers (issue: a rule in Swift and again in SQL drifts).
@Suite(.timeLimit(.minutes(1))) struct OutboxSQLTests {
    @Test(arguments: TestBackend.all) func theSQLListsOfStatesAgreeWithTheSwiftRulesOnEveryState(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        for state in OutboxState.allCases {
            let unfinished = try f.ledger.database.queryFirst("SELECT CASE WHEN ? IN \(OutboxState.unfinishedSQL) THEN 1 ELSE 0 END",
                                                              [.text(state.rawValue)]) { $0.int(0) }
            #expect(unfinished == (state.isUnfinished ? 1 : 0), "unfinished: \(state)")
            let active = try f.ledger.database.queryFirst("SELECT CASE WHEN ? IN \(OutboxState.activeSQL) THEN 1 ELSE 0 END",
                                                          [.text(state.rawValue)]) { $0.int(0) }
            #expect(active == (state.meetsApple ? 1 : 0), "meets Apple: \(state)")
            let literal = try f.ledger.database.queryFirst("SELECT \(state.sql)") { $0.string(0) }
            #expect(literal == state.rawValue)
        }
        for kind in OutboxKind.allCases {
            #expect(try f.ledger.database.queryFirst("SELECT \(kind.sql)") { $0.string(0) } == kind.rawValue)
        }
    }

    @Test(arguments: TestBackend.all) func theSQLListOfScheduledTokenStatesAgreesWithTheSwiftRuleOnEveryState(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        for state in TokenState.allCases {
            let scheduled = try f.ledger.database.queryFirst("SELECT CASE WHEN ? IN \(TokenState.scheduledSQL) THEN 1 ELSE 0 END",
                                                             [.text(state.rawValue)]) { $0.int(0) }
            #expect(scheduled == (state.isScheduled ? 1 : 0), "\(state)")
        }
    }

    @Test(arguments: TestBackend.all) func theSQLOfAUsableTokenAgreesWithTheSwiftRuleOnEveryStateAndExpiry(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let now: Int64 = 1_000_000
        for state in TokenState.allCases {
            for expiresAt in [now - 1, now, now + 1] {
                let sql = TokenState.usableSQL(state: "?", expiresAt: "?", now: "?")
                let usable = try f.ledger.database.queryFirst("SELECT CASE WHEN \(sql) THEN 1 ELSE 0 END",
                                                              [.text(state.rawValue), .integer(expiresAt), .integer(now)]) { $0.int(0) }
                #expect(usable == (state.isUsable(expiresAt: expiresAt, now: now) ? 1 : 0), "\(state), expiring at now \(expiresAt - now)")
            }
        }
    }

    @Test(arguments: TestBackend.all) func theSQLOfADueOperationAgreesWithALanesRuleOnEveryStateTimeAndLease(_ backend: TestBackend) throws {
        let f = try LedgerFixture(backend)
        let now: Int64 = 1_000_000
        let footprint = DeliveryOrder.Footprint(id: 1, order: 1, kind: .associate, asset: AssetKey(adamId: "1"), serials: ["A"])
        for state in OutboxState.allCases {
            for nextAttemptAt in [now - 1, now, now + 1] {
                for lease in [nil, now - 1, now, now + 1] as [Int64?] {
                    let due = try f.ledger.database.queryFirst("""
                        SELECT count(*) FROM (SELECT CAST(?2 AS TEXT) AS state, CAST(?3 AS BIGINT) AS next_attempt_at,
                                                     CAST(?4 AS BIGINT) AS lease_expires_at) AS outbox
                        WHERE \(Ledger.dueSQL)
                        """, [.integer(now), .text(state.rawValue), .integer(nextAttemptAt), SQLValue(lease)]) { $0.int(0) }
                    let candidate = LaneRound.Candidate(footprint: footprint, state: state, nextAttemptAt: nextAttemptAt, leaseExpiresAt: lease)
                    #expect(due == (candidate.isReady(now: now) ? 1 : 0), "\(state), next at now \(nextAttemptAt - now), lease \(lease.map { $0 - now } as Any)")
                }
            }
        }
    }
}
