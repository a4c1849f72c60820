import AllotCore
import AllotStore
@testable import AllotServer
import Hummingbird
import Testing

/// A failure that passes (the ledger's database lost or busy) is answered as one: 503 with
/// `Retry-After` and a stable code, so a client retries with the same idempotency key. 500 is
/// left for bugs.
@Suite(.timeLimit(.minutes(5))) struct RetryableFailureTests {
    @Test func aLostOrConflictedDatabaseIsRetryableAndAConstraintIsNot() {
        #expect(LedgerFailure.isRetryable(PostgresFailure(sqlState: nil, message: "the connection to PostgreSQL was lost", sql: nil, isConnectionLoss: true)))
        #expect(LedgerFailure.isRetryable(PostgresFailure(sqlState: "40001", message: "could not serialize access", sql: nil, isConnectionLoss: false)))
        #expect(LedgerFailure.isRetryable(PostgresFailure(sqlState: "57P01", message: "terminating connection", sql: nil, isConnectionLoss: true)))
        #expect(!LedgerFailure.isRetryable(PostgresFailure(sqlState: PostgresFailure.uniqueViolation, message: "duplicate key", sql: nil, isConnectionLoss: false)))
        #expect(!LedgerFailure.isRetryable(AllotError.invalidInput("no")))
    }

    @Test func theAnswerIs503WithRetryAfterAndTheUnavailableCode() async throws {
        let answer = JSONErrorMiddleware.unavailable()
        #expect(answer.status == .serviceUnavailable)
        #expect(answer.headers[.retryAfter] == String(JSONErrorMiddleware.retryAfterSecondsWhenUnavailable))
        #expect(JSONErrorMiddleware.status(for: .unavailable) == .serviceUnavailable)
        #expect(JSONErrorMiddleware.status(for: .idempotencyKeyReused) == .unprocessableContent)
    }
}
