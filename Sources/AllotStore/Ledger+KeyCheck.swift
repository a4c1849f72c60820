import AllotCore

extension Ledger {
    // MARK: The token key's check value

    /// The check value of the token key this ledger was first opened with, if one is recorded.
    /// It is not the key and cannot give it back (`SecretBox.checkValue`).
    public func keyCheckValue() throws -> String? {
        try database.queryFirst("SELECT check_value FROM key_check WHERE id = 1", []) { $0.string(0) }
    }

    /// Records `checkValue` unless one is recorded already, and returns the one the ledger holds
    /// now: two nodes starting at once on a new ledger both read the winner's.
    public func recordKeyCheckValue(_ checkValue: String) throws -> String {
        precondition(!checkValue.isEmpty, "a key check value is never empty")
        _ = try database.run("INSERT INTO key_check (id, check_value, recorded_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING",
                         [.text(checkValue), .integer(now)])
        guard let recorded = try keyCheckValue() else {
            preconditionFailure("the key check value was written and is not there")
        }
        return recorded
    }

    /// One stored token file, sealed, if the ledger holds any: a key about to be recorded in a
    /// ledger that had no check value must open it first.
    public func anySealedTokenSecret() throws -> [UInt8]? {
        try database.queryFirst("SELECT secret FROM tokens WHERE secret IS NOT NULL ORDER BY id LIMIT 1", []) { $0.blob(0) } ?? nil
    }
}
