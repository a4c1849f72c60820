/// Which failures of the ledger's database pass: the same request sent again may well succeed
/// (a lost PostgreSQL connection, the server restarting, a serialization conflict or deadlock
/// that ran out of retries, SQLite busy past its timeout). The faces answer them as such (HTTP
/// 503 with `Retry-After`), not as a bug (500).
public enum LedgerFailure {
    public static func isRetryable(_ error: any Error) -> Bool {
        switch error {
        case let failure as PostgresFailure: failure.isTransient
        case let failure as SQLiteError: failure.isBusy
        default: false
        }
    }
}
