import AllotStore

/// What `allot db copy --json` publishes: where from, where to (without a password), and the
/// rows copied per table.
public struct LedgerCopyView: Encodable, Sendable {
    public let from: String
    public let to: String
    public let rows: [String: Int]
    public let verified: Bool

    public init(from: String, to: String, report: LedgerCopy.Report) {
        self.from = from
        self.to = to
        rows = report.rows
        verified = true
    }
}
