import AllotCore

/// One operation for Apple: an asset and its serials on one token, one Apple request once
/// split to the live limits.
public struct OutboxOperation: Sendable, Hashable {
    public typealias Kind = OutboxKind
    public typealias State = OutboxState

    public let id: Int64
    public let tenantId: TenantID
    public let tokenId: TokenID
    public let kind: Kind
    public let asset: AssetKey
    public let serials: [String]
    public let state: State
    public let attempts: Int
    public let nextAttemptAt: Int64
    public let eventId: String?
    public let sentAt: Int64?
    /// The batch that decided it (nil for a take-over clean-up).
    public let batchId: Int64?
    /// Commit order among the token's operations (`DeliveryOrder`).
    public let order: Int64
    /// Until when a worker holds it, if one does.
    public let leaseExpiresAt: Int64?
    /// Whether `serials` are serial numbers or users' clientUserIds.
    public var subject: OutboxSubject = .devices

    /// The operation as `Ledger.markSent` leaves it, for a worker that polls at once and so
    /// does not read it back.
    public func sent(eventId: String, at sentAt: Int64, pollAt: Int64, leaseExpiresAt: Int64?) -> OutboxOperation {
        OutboxOperation(id: id, tenantId: tenantId, tokenId: tokenId, kind: kind, asset: asset, serials: serials, state: .sent,
                        attempts: attempts + 1, nextAttemptAt: pollAt, eventId: eventId, sentAt: sentAt, batchId: batchId,
                        order: order, leaseExpiresAt: leaseExpiresAt, subject: subject)
    }

    /// What the outbox machine reads of it.
    public var step: OutboxStep { OutboxStep(kind: kind, state: state, serials: serials, attempts: attempts, sentAt: sentAt, subject: subject) }

    public var footprint: DeliveryOrder.Footprint {
        DeliveryOrder.Footprint(id: id, order: order, kind: kind, asset: asset, serials: serials)
    }

    /// What a lane's round reads of it (`LaneRound`).
    public var candidate: LaneRound.Candidate {
        LaneRound.Candidate(footprint: footprint, state: state, nextAttemptAt: nextAttemptAt, leaseExpiresAt: leaseExpiresAt, attempts: attempts)
    }
}

extension Ledger {
    /// An operation's columns, its serials from their own table (`outbox_serials`).
    /// The serials of the outbox row in hand, one a line.
    static let serialsColumn = "(SELECT serials FROM outbox_serials WHERE operation_id = outbox.id)"

    /// The lease condition: nobody holds the operation, or its holder's lease ran out.
    private static let leaseFree = "(lease_expires_at IS NULL OR lease_expires_at <= ?1)"

    /// Apple's next step is due at `?1` and nobody holds the operation: the SQL twin of
    /// `LaneRound.Candidate.isReady(now:)`, tested to agree (`OutboxSQLTests`).
    public static let dueSQL = "(state IN \(OutboxState.activeSQL) AND next_attempt_at <= ?1 AND \(leaseFree))"

    /// Tokens (with their tenant) that have an operation due now that no live lease holds.
    public func tokensWithDueOperations(tenant: TenantID?) throws -> [(token: TokenID, tenant: TenantID)] {
        try database.query("""
            SELECT DISTINCT token_id, tenant_id FROM outbox
            WHERE \(Self.dueSQL) AND (tenant_id = ?2 OR ?2 IS NULL)
            ORDER BY token_id
            """, [.integer(now), SQLValue(tenant?.rawValue)]) { (token: TokenID($0.int64(0)), tenant: TenantID($0.int64(1))) }
    }

    /// A token's oldest unfinished operations in commit order, at most `limit`: enough to decide
    /// which may go now (`DeliveryOrder` needs every earlier one, and a prefix has them all).
    public func deliveryWindow(token: TokenID, limit: Int) throws -> [OutboxOperation] {
        precondition(limit > 0, "a delivery window holds at least one operation")
        return try database.query("""
            SELECT \(OutboxRow.columns) FROM outbox
            WHERE token_id = ?1 AND state IN \(OutboxState.unfinishedSQL)
            ORDER BY coalesce(queue_order, id), id LIMIT ?2
            """, [.integer(token.rawValue), .integer(Int64(limit))], row: OutboxRow.operation(from:))
    }

    /// Claims an operation for one worker until `now + leaseSeconds`, if it is still as read
    /// (same state, due) and no live lease holds it.
    public func claim(_ operation: OutboxOperation, owner: String, leaseSeconds: Int64) throws -> Bool {
        try claim([operation], owner: owner, leaseSeconds: leaseSeconds).count == 1
    }

    /// Claims operations for one worker until `now + leaseSeconds`: those still due, held by no
    /// live lease, and still as read (same state and attempts: another worker may have moved
    /// one since). One UPDATE per 1,000 operations, in one transaction: one writer at a time
    /// (SQLite's lock, PostgreSQL's row locks) makes two claimants race on each row, and exactly
    /// one wins it. Returns the claimed ones, in the order given.
    public func claim(_ operations: [OutboxOperation], owner: String, leaseSeconds: Int64) throws -> [OutboxOperation] {
        precondition(leaseSeconds > 0, "a lease lasts some time")
        guard !operations.isEmpty else { return [] }
        return try database.transaction {
            var won: [Int64: (state: String, attempts: Int)] = [:]
            for chunk in SQLInList.chunks(operations) {
                let rows = try database.query("""
                    UPDATE outbox SET lease_owner = ?2, lease_expires_at = ?1 + ?3
                    WHERE id IN (\(SQLInList.placeholders(count: chunk.count, first: 4)))
                    AND \(Self.dueSQL)
                    RETURNING id, state, attempts
                    """, [.integer(now), .text(owner), .integer(leaseSeconds)] + SQLInList.padded(chunk.map { .integer($0.id) }),
                    row: { (id: $0.int64(0), state: $0.string(1), attempts: $0.int(2)) })
                for row in rows { won[row.id] = (row.state, row.attempts) }
            }
            var claimed: [OutboxOperation] = []
            var moved: [Int64] = []
            for operation in operations {
                guard let now = won[operation.id] else { continue }
                if now.state == operation.state.rawValue && now.attempts == operation.attempts { claimed.append(operation) } else { moved.append(operation.id) }
            }
            // Claimed but not as read: let go at once, the next round reads them again.
            for id in moved { try releaseLease(id, owner: owner) }
            return claimed
        }
    }

    /// Operations not yet finished (pending, sent or paused), for reports.
    public func unfinishedOperationCount(tenant: TenantID?) throws -> Int {
        try database.queryFirst("SELECT count(*) FROM outbox WHERE state IN \(OutboxState.unfinishedSQL) AND (tenant_id = ?1 OR ?1 IS NULL)",
                                [SQLValue(tenant?.rawValue)]) { $0.int(0) } ?? 0
    }

    /// Operations due to be sent now, for progress reports.
    public func dueSendCount(tenant: TenantID?) throws -> Int {
        try database.queryFirst("""
            SELECT count(*) FROM outbox WHERE state = \(OutboxState.pending.sql) AND next_attempt_at <= ?1 AND (tenant_id = ?2 OR ?2 IS NULL)
            """, [.integer(now), SQLValue(tenant?.rawValue)]) { $0.int(0) } ?? 0
    }

    public func operations(tenant: TenantID?) throws -> [OutboxOperation] {
        try database.query("SELECT \(OutboxRow.columns) FROM outbox WHERE (tenant_id = ?1 OR ?1 IS NULL) ORDER BY id",
                           [SQLValue(tenant?.rawValue)], row: OutboxRow.operation(from:))
    }

    /// Splits pending operations larger than Apple's limit into several, so each is one request:
    /// `serialsMax` serials, `clientUserIdsMax` users, `revokeClientUserIdsMax` users of Apple's
    /// revoke, `usersMax` users created or retired (Apple's `maxSerialNumbers`,
    /// `maxClientUserIds`, `maxRevokeClientUserIds`, `maxUsers`).
    /// The chunks keep the original's place in the commit order.
    public func splitOversizedOperations(serialsMax: Int, clientUserIdsMax: Int = 1_000, revokeClientUserIdsMax: Int = 100,
                                         usersMax: Int = 100) throws {
        precondition(serialsMax > 0 && clientUserIdsMax > 0 && revokeClientUserIdsMax > 0 && usersMax > 0, "Apple's limits are positive")
        func limit(of operation: OutboxOperation) -> Int {
            switch (operation.subject, operation.kind) {
            case (.devices, _): serialsMax
            case (.users, .revoke): revokeClientUserIdsMax
            case (.users, .registerUsers), (.users, .retireUsers): usersMax
            case (.users, _): clientUserIdsMax
            }
        }
        try database.transaction {
            // Read inside the transaction: another worker may split (or claim) the same rows.
            let oversized = try database.query("""
                SELECT \(OutboxRow.columns) FROM outbox WHERE state = \(OutboxState.pending.sql) AND serial_count > ?2 AND \(Self.leaseFree)
                """, [.integer(now), .integer(Int64(min(serialsMax, clientUserIdsMax, revokeClientUserIdsMax, usersMax)))], row: OutboxRow.operation(from:))
            for operation in oversized where operation.serials.count > limit(of: operation) {
                let chunkMax = limit(of: operation)
                for start in stride(from: 0, to: operation.serials.count, by: chunkMax) {
                    let chunk = operation.serials[start..<min(start + chunkMax, operation.serials.count)]
                    try insertOperation(tenant: operation.tenantId, token: operation.tokenId, kind: operation.kind,
                                        asset: operation.asset, serials: chunk, batch: operation.batchId,
                                        queueOrder: operation.order, attempts: operation.attempts, nextAttemptAt: operation.nextAttemptAt,
                                        subject: operation.subject)
                }
                // Its serials go with it (ON DELETE CASCADE).
                try database.run("DELETE FROM outbox WHERE id = ?", [.integer(operation.id)])
            }
        }
    }

    /// Claims the sent operation of a token that waits on Apple's event `eventId`, because a
    /// notification says the event finished: nil when none waits on it (a poll finished it
    /// first, or it is not this token's) or another worker holds it. Its poll becomes due now,
    /// so the claim holds whatever time its next poll was set for.
    public func claimSentOperation(token: TokenID, eventId: String, owner: String, leaseSeconds: Int64) throws -> OutboxOperation? {
        precondition(leaseSeconds > 0, "a lease lasts some time")
        return try database.transaction {
            let claimed = try database.run("""
                UPDATE outbox SET lease_owner = ?2, lease_expires_at = ?1 + ?3, next_attempt_at = ?1
                WHERE token_id = ?4 AND event_id = ?5 AND state = \(OutboxState.sent.sql) AND \(Self.leaseFree)
                """, [.integer(now), .text(owner), .integer(leaseSeconds), .integer(token.rawValue), .text(eventId)])
            guard claimed > 0 else { return nil }
            return try database.queryFirst("""
                SELECT \(OutboxRow.columns) FROM outbox WHERE token_id = ? AND event_id = ? AND state = \(OutboxState.sent.sql) AND lease_owner = ? ORDER BY id
                """, [.integer(token.rawValue), .text(eventId), .text(owner)], row: OutboxRow.operation(from:))
        }
    }

    // The writes below that end a worker's step on an operation change it only while that worker
    // holds its lease: if the token was paused meanwhile (a parallel call of the same lane met a
    // dead token), or the lease ran out and another worker took the operation, a late answer
    // changes nothing. Each returns whether it wrote.

    /// The condition that `owner` holds the operation's lease.
    private static let heldBy = "lease_owner = ?"

    /// Apple accepted the request: poll its event from `pollAt`. The lease ends, unless
    /// `keepingLeaseFor` renews it for that many seconds, for a worker that polls at once.
    @discardableResult
    public func markSent(_ operation: Int64, owner: String, eventId: String, pollAt: Int64, keepingLeaseFor leaseSeconds: Int64? = nil) throws -> Bool {
        precondition(leaseSeconds.map { $0 > 0 } ?? true, "a lease lasts some time")
        return try database.run("""
            UPDATE outbox SET state = \(OutboxState.sent.sql), event_id = ?1, sent_at = ?2, next_attempt_at = ?3, attempts = attempts + 1,
                lease_owner = CASE WHEN ?6 > 0 THEN lease_owner END, lease_expires_at = CASE WHEN ?6 > 0 THEN ?2 + ?6 END
            WHERE id = ?4 AND lease_owner = ?5
            """, [.text(eventId), .integer(now), .integer(pollAt), .integer(operation), .text(owner), .integer(leaseSeconds ?? 0)]) == 1
    }

    /// Try again at `at`: resending when `resend`, else polling the same event.
    @discardableResult
    public func reschedule(_ operation: Int64, owner: String, at: Int64, resend: Bool, error: String?, countsAsAttempt: Bool) throws -> Bool {
        try database.run("""
            UPDATE outbox SET next_attempt_at = ?, last_error = COALESCE(?, last_error),
                state = CASE WHEN ? = 1 THEN \(OutboxState.pending.sql) ELSE state END,
                attempts = attempts + ?, lease_owner = NULL, lease_expires_at = NULL
            WHERE id = ? AND \(Self.heldBy)
            """, [.integer(at), SQLValue(error), .integer(resend ? 1 : 0), .integer(countsAsAttempt ? 1 : 0), .integer(operation),
                  .text(owner)]) == 1
    }

    /// Lets go of a claimed operation untouched (the worker is stopping, or the token turned out
    /// unable to deliver), so another worker may take it at once.
    public func releaseLease(_ operation: Int64, owner: String) throws {
        try database.run("UPDATE outbox SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND \(Self.heldBy)",
                         [.integer(operation), .text(owner)])
    }

    /// Lets go of every lease one worker holds: it is exiting, and its calls in flight die with
    /// it. Another worker may then send those operations again, which is harmless.
    public func releaseLeases(owner: String) throws {
        try database.run("UPDATE outbox SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?", [.text(owner)])
    }

    /// Gives up on an operation (Apple refused the request itself); recorded loudly.
    public func failOperation(_ operation: OutboxOperation, owner: String, error: String) throws {
        try database.transaction {
            guard try database.run("""
                UPDATE outbox SET state = \(OutboxState.failed.sql), last_error = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND \(Self.heldBy)
                """, [.text(error), .integer(operation.id), .text(owner)]) == 1 else { return }
            try recordEvent(tenant: operation.tenantId, kind: .appleOperationFailed, token: operation.tokenId,
                            detail: ["operation": String(operation.id), "kind": operation.kind.rawValue, "error": error])
        }
    }

    /// Marks an operation done (with Apple's refusal, if any) while this worker holds its
    /// lease; false when the lease went to another worker, which then owns its completion.
    public func markDone(_ operation: OutboxOperation, owner: String, refusal: String?) throws -> Bool {
        try database.run("""
            UPDATE outbox SET state = \(OutboxState.done.sql), last_error = ?, lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND \(Self.heldBy)
            """, [SQLValue(refusal), .integer(operation.id), .text(owner)]) == 1
    }

    /// Confirms the assignment rows an associate made for `serials`. Only the rows this
    /// operation's batch made are touched: a later batch's row for the same device is its own
    /// operation's business. An operation of no batch (a drift repair re-sending what Apple
    /// lacks) stands for whichever row holds the device now.
    public func confirmAssignments(of operation: OutboxOperation, asset: AssetID, serials: [String]) throws {
        // Set-based: one UPDATE for up to 1,000 serials (one per serial was most of a call's
        // ledger time). The rows are found by the assignments' key (tenant, asset, device),
        // the devices by id when the device cache knows them, else by serial in SQL.
        // `+token_id` keeps SQLite's planner off the (token, asset) index, which it prefers
        // for the extra equality but which costs a second lookup per row (1.9 ms against
        // 1.4 ms for 1,000 rows, measured). The unary plus is plain SQL on PostgreSQL too.
        let known: [SQLValue] = [.integer(operation.tenantId.rawValue), .integer(asset.rawValue), .integer(operation.tokenId.rawValue),
                                 SQLValue(operation.batchId)]
        let confirmedRows = "UPDATE assignments SET status = 1 WHERE tenant_id = ?1 AND asset_id = ?2 AND +token_id = ?3 AND (batch_id = ?4 OR ?4 IS NULL)"
        for chunk in SQLInList.chunks(serials) {
            let devices = try devicesCondition(tenant: operation.tenantId, serials: chunk)
            try database.run("\(confirmedRows) AND \(devices.sql)", known + devices.values)
        }
    }

    /// Deletes the assignment row an associate made for a serial Apple never granted (the
    /// same rows `confirmAssignments` would confirm); false when there was none.
    public func releaseAssignment(of operation: OutboxOperation, asset: AssetID, serial: String) throws -> Bool {
        try database.run("""
            DELETE FROM assignments
            WHERE tenant_id = ?1 AND asset_id = ?2 AND token_id = ?3 AND (batch_id = ?5 OR ?5 IS NULL)
            AND device_id = (SELECT id FROM devices WHERE tenant_id = ?1 AND serial = ?4)
            """, [.integer(operation.tenantId.rawValue), .integer(asset.rawValue), .integer(operation.tokenId.rawValue),
                  .text(serial), SQLValue(operation.batchId)]) == 1
    }

    /// A released device joins the app's queue of unmet demand again, unless it was retired
    /// meanwhile (one that waits already keeps its place).
    public func requeue(tenant: TenantID, asset: AssetID, serial: String) throws {
        try database.run("""
            INSERT INTO demand_queue (tenant_id, asset_id, device_id, queued_at)
            SELECT ?1, ?2, id, ?3 FROM devices WHERE tenant_id = ?1 AND serial = ?4 AND retired_at IS NULL
            ON CONFLICT (tenant_id, asset_id, device_id) DO NOTHING
            """, [.integer(tenant.rawValue), .integer(asset.rawValue), .integer(now), .text(serial)])
    }

    /// The `licences_released` event of a completed associate.
    public func recordRelease(of operation: OutboxOperation, serials: [String], reason: String, requeued: Bool) throws {
        try recordEvent(tenant: operation.tenantId, kind: .licencesReleased, token: operation.tokenId,
                        detail: ReleasedDetail(asset: operation.asset.description, serials: serials, reason: reason, requeued: requeued))
    }

    /// Lowers a pool's counter by assignment rows just deleted, with the check `applyEffects`
    /// makes: the counter cannot go below zero, and the pool must exist.
    public func lowerAssignedHere(token: TokenID, asset: AssetID, by count: Int) throws {
        precondition(count > 0, "a release lowers the counter by the rows it deleted")
        let updated = try database.queryFirst("""
            UPDATE pool SET assigned_here = assigned_here - ?3 WHERE token_id = ?1 AND asset_id = ?2 RETURNING assigned_here
            """, [.integer(token.rawValue), .integer(asset.rawValue), .integer(Int64(count))]) { $0.int(0) }
        guard let assignedHere = updated else { preconditionFailure("released licences of pool (\(token), \(asset)) that does not exist") }
        precondition(assignedHere >= 0, "pool (\(token), \(asset)) went below zero assignments on release")
    }

    /// Ends every unfinished operation of a token that can never deliver them.
    public func failOperations(token: TokenID, error: String) throws {
        try database.run("""
            UPDATE outbox SET state = \(OutboxState.failed.sql), last_error = ?, lease_owner = NULL, lease_expires_at = NULL
            WHERE token_id = ? AND state IN \(OutboxState.unfinishedSQL)
            """, [.text(error), .integer(token.rawValue)])
    }

    /// Stops delivering a token's operations (dead or claimed elsewhere) until it is renewed or taken over.
    public func pauseOperations(token: TokenID) throws {
        try database.run("""
            UPDATE outbox SET state = \(OutboxState.paused.sql), lease_owner = NULL, lease_expires_at = NULL
            WHERE token_id = ? AND state IN \(OutboxState.activeSQL)
            """, [.integer(token.rawValue)])
    }

    /// Resumes a token's paused operations: they are sent again (re-sending is harmless).
    public func resumeOperations(token: TokenID) throws {
        try database.run("""
            UPDATE outbox SET state = \(OutboxState.pending.sql), next_attempt_at = 0 WHERE token_id = ? AND state = \(OutboxState.paused.sql)
            """, [.integer(token.rawValue)])
    }

    /// Queues operations for Apple that no batch decided (take-over clean-up): per asset, the
    /// serials Apple lists for this token that this ledger did not assign.
    public func enqueueCleanUp(tenant: TenantID, token: TokenID, _ serialsByAsset: [AssetKey: [SerialNumber]]) throws -> Int {
        try database.transaction {
            let assets = try resolveAssets(tenant: tenant, Set(serialsByAsset.keys))
            var bySerials: [PoolKey: [SerialNumber]] = [:]
            for (key, serials) in serialsByAsset {
                guard let asset = assets[key] else { continue }
                bySerials[PoolKey(tokenId: token, assetId: asset.id)] = serials
            }
            try enqueueForApple(tenant: tenant, batch: nil, kind: .disassociate, bySerials)
            return bySerials.values.reduce(0) { $0 + $1.count }
        }
    }

    /// Serials of this token's assignments per asset, as the ledger holds them.
    public func assignedSerials(tenant: TenantID, token: TokenID) throws -> [AssetKey: Set<String>] {
        var result: [AssetKey: Set<String>] = [:]
        for (key, serial) in try database.query("""
            SELECT a.adam_id, a.pricing_param, d.serial FROM assignments s
            JOIN assets a ON a.id = s.asset_id JOIN devices d ON d.id = s.device_id
            WHERE s.tenant_id = ? AND s.token_id = ?
            """, [.integer(tenant.rawValue), .integer(token.rawValue)], row: { row in
                (try Self.storedAssetKey(adamId: row.string(0), pricingParam: row.string(1)), row.string(2))
            }) {
            result[key, default: []].insert(serial)
        }
        return result
    }

    /// A confirm walks the range of its device ids when the range is at most this many times
    /// the number of ids (see `devicesCondition`).
    static let denseSpanFactor: Int64 = 2

    /// The condition on `device_id` that picks these serials' devices, with its values numbered
    /// from ?5 (a confirm's first four are the tenant, asset, token and batch; ?1 is the tenant):
    /// - dense ids from the device cache: one walk along the key's range (1.0 ms against 1.5 ms
    ///   for 1,000 rows, measured), less the holes' rows (`+` keeps that list out of the search);
    ///   a sparse set would walk other devices' rows;
    /// - sparse ids: one search per id;
    /// - no cache (PostgreSQL, a tenant too large to cache): the devices by serial in SQL.
    private func devicesCondition(tenant: TenantID, serials: ArraySlice<String>) throws -> (sql: String, values: [SQLValue]) {
        guard let ids = try cachedDeviceIds(tenant: tenant, serials: serials) else {
            return ("device_id IN (SELECT id FROM devices WHERE tenant_id = ?1 AND serial IN (\(SQLInList.placeholders(count: serials.count, first: 5))))",
                    SQLInList.padded(serials.map { .text($0) }))
        }
        guard let span = DeviceIdSpan(ids: ids, spanFactor: Self.denseSpanFactor) else {
            return ("device_id IN (\(SQLInList.placeholders(count: ids.count, first: 5)))", SQLInList.padded(ids.map { .integer($0) }))
        }
        let range = "device_id BETWEEN ?5 AND ?6"
        let ends: [SQLValue] = [.integer(span.low), .integer(span.high)]
        guard let hole = span.holes.first else { return (range, ends) }
        // Padded with a hole again: a NULL would leave `NOT IN` unknown for every row.
        return ("\(range) AND +device_id NOT IN (\(SQLInList.placeholders(count: span.holes.count, first: 7)))",
                ends + SQLInList.padded(span.holes.map { .integer($0) }, with: .integer(hole)))
    }

    /// Writes one operation and its serials (`outbox_serials`, one a line), together so that no
    /// caller can leave an operation without them. A batch's new operation takes the defaults; a
    /// split chunk keeps its original's place in the commit order, attempts and schedule.
    func insertOperation(tenant: TenantID, token: TokenID, kind: OutboxKind, asset: AssetKey, serials: some Collection<String>,
                         batch: Int64?, queueOrder: Int64? = nil, attempts: Int = 0, nextAttemptAt: Int64 = 0,
                         subject: OutboxSubject = .devices) throws {
        precondition(subject == .users || !kind.changesUserRecords, "only users are registered or retired")
        let stored = OutboxRow.stored(kind: kind, subject: subject)
        let inserted = try database.queryFirst("""
            INSERT INTO outbox (tenant_id, token_id, kind, assets, serial_count, batch_id, created_at, queue_order, attempts, next_attempt_at, subject)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, [.integer(tenant.rawValue), .integer(token.rawValue), .text(stored.kind), .text(asset.description), .integer(Int64(serials.count)),
                  SQLValue(batch), .integer(now), SQLValue(queueOrder), .integer(Int64(attempts)), .integer(nextAttemptAt),
                  .text(stored.subject)]) { $0.int64(0) }
        guard let id = inserted else { preconditionFailure("an INSERT INTO outbox … RETURNING id returned no id") }
        try database.run("INSERT INTO outbox_serials (operation_id, serials) VALUES (?, ?)",
                         [.integer(id), .text(serials.joined(separator: "\n"))])
        outboxWritten?()
    }

    /// The non-empty lines of a stored serials column. Split on the contiguous UTF-8 bytes:
    /// splitting the String by Character walks grapheme clusters (perf, release: a third of a
    /// lane's CPU), and splitting its UTF-8 view by index took 0.3 ms for 1,000 serials, each
    /// window read.
    static func lines(of text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            var lines: [String] = []
            lines.reserveCapacity(bytes.count / SerialNumber.lengthMin + 1)
            var start = 0
            for offset in 0...bytes.count where offset == bytes.count || bytes[offset] == UInt8(ascii: "\n") {
                if offset > start { lines.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)) }
                start = offset + 1
            }
            return lines
        }
    }
}

private struct ReleasedDetail: Encodable {
    let asset: String
    let serials: [String]
    let reason: String
    /// The devices went back to the app's queue of unmet demand (Apple was short of licences).
    let requeued: Bool
}
