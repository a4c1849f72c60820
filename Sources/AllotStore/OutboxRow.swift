import AllotCore

/// An outbox row as the ledger reads it: the columns every SELECT of an operation names, and
/// the decoder of those columns, side by side so a position cannot drift from its column.
enum OutboxRow {
    static let columns = """
        id, tenant_id, token_id, kind, assets, \(Ledger.serialsColumn), state, attempts, next_attempt_at, event_id, sent_at,
        batch_id, coalesce(queue_order, id), lease_expires_at, subject
        """

    /// How a kind and subject are stored: the kind column keeps its three spellings (its CHECK
    /// predates users), and a change to user records is `user_records` with associate (create)
    /// or disassociate (retire) beside it.
    static func stored(kind: OutboxKind, subject: OutboxSubject) -> (kind: String, subject: String) {
        switch kind {
        case .registerUsers: ("associate", "user_records")
        case .retireUsers: ("disassociate", "user_records")
        case .associate, .disassociate, .revoke: (kind.rawValue, subject.rawValue)
        }
    }

    /// The kind and subject of stored spellings, nil when they are no operation's.
    static func read(kind: String, subject: String) -> (kind: OutboxKind, subject: OutboxSubject)? {
        if subject == "user_records" {
            switch kind {
            case "associate": return (.registerUsers, .users)
            case "disassociate": return (.retireUsers, .users)
            default: return nil
            }
        }
        guard let kind = OutboxKind(rawValue: kind), !kind.changesUserRecords, let subject = OutboxSubject(rawValue: subject) else { return nil }
        return (kind, subject)
    }

    /// One operation from a row of `columns`, in their order.
    static func operation(from row: any SQLRow) throws -> OutboxOperation {
        let id = row.int64(0)
        func corrupt(_ column: String, _ value: String) -> StoredValueError { StoredValueError(column: "outbox.\(column) of operation \(id)", value: value) }
        guard let (kind, subject) = read(kind: row.string(3), subject: row.string(14)) else { throw corrupt("kind", "\(row.string(3)) \(row.string(14))") }
        guard let asset = AssetKey(parsing: row.string(4)) else { throw corrupt("assets", row.string(4)) }
        guard let state = OutboxOperation.State(rawValue: row.string(6)) else { throw corrupt("state", row.string(6)) }
        let serialsText = row.string(5)
        let serials = Ledger.lines(of: serialsText)
        guard !serials.isEmpty else { throw corrupt("serials", serialsText) }
        return OutboxOperation(
            id: id, tenantId: TenantID(row.int64(1)), tokenId: TokenID(row.int64(2)), kind: kind, asset: asset,
            serials: serials, state: state, attempts: row.int(7), nextAttemptAt: row.int64(8),
            eventId: row.optionalString(9), sentAt: row.optionalInt64(10), batchId: row.optionalInt64(11),
            order: row.int64(12), leaseExpiresAt: row.optionalInt64(13), subject: subject)
    }
}
