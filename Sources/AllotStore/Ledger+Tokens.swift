import AllotCore

/// A token to add: what the file and Apple's client config said.
public struct NewToken: Sendable {
    public let locationUid: String
    public let locationName: String
    public let orgName: String
    public let secret: [UInt8]?
    public let expiresAt: Int64
    public let priority: Int
    public init(locationUid: String, locationName: String, orgName: String, secret: [UInt8]?, expiresAt: Int64, priority: Int = 0) {
        self.locationUid = locationUid
        self.locationName = locationName
        self.orgName = orgName
        self.secret = secret
        self.expiresAt = expiresAt
        self.priority = priority
    }
}

extension Ledger {
    /// Adds a token. A location belongs to at most one tenant: one already held is refused.
    public func addToken(tenant: TenantID, _ token: NewToken) throws -> TokenID {
        try database.transaction {
            try refuseIfLocationHeld(tenant: tenant, locationUid: token.locationUid, locationName: token.locationName)
            try database.run("""
                INSERT INTO tokens (tenant_id, location_uid, location_name, org_name, secret, expires_at, priority, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [.integer(tenant.rawValue), .text(token.locationUid), .text(token.locationName), .text(token.orgName),
                      token.secret.map(SQLValue.blob) ?? .null, .integer(token.expiresAt), .integer(Int64(token.priority)), .integer(now)])
            let id = TokenID(try database.lastInsertRowID)
            try recordEvent(tenant: tenant, kind: .tokenAdded, token: id,
                            detail: ["locationUid": token.locationUid, "locationName": token.locationName])
            return id
        }
    }

    /// A location belongs to at most one tenant (invariant 3): refuses one already held, by this
    /// tenant (renew instead) or by another. The engine asks before claiming it at Apple; adding
    /// asks again inside its transaction.
    public func refuseIfLocationHeld(tenant: TenantID, locationUid: String, locationName: String) throws {
        guard let holder = try database.queryFirst("SELECT id, tenant_id FROM tokens WHERE location_uid = ?", [.text(locationUid)],
                                                   row: { (TokenID($0.int64(0)), TenantID($0.int64(1))) }) else { return }
        if holder.1 == tenant {
            throw AllotError(.conflict, "location \(locationName) (\(locationUid)) is already token \(holder.0) of this tenant; renew that token to replace its file",
                             subject: .locationHeldByThisTenant(token: holder.0))
        }
        throw AllotError.conflict("location \(locationName) (\(locationUid)) is already managed by another tenant of this server; a location belongs to one tenant only")
    }

    private static let tokenColumns = """
        id, tenant_id, location_uid, location_name, org_name, expires_at, state, owner_name, priority, last_sync_at, secret IS NOT NULL
        """

    public func tokens(tenant: TenantID) throws -> [TokenRecord] {
        try database.query("SELECT \(Self.tokenColumns) FROM tokens WHERE tenant_id = ? ORDER BY id", [.integer(tenant.rawValue)], row: Self.token(from:))
    }

    /// Every token of every tenant (for the outbox worker and periodic sync).
    public func allTokens() throws -> [TokenRecord] {
        try database.query("SELECT \(Self.tokenColumns) FROM tokens ORDER BY id", row: Self.token(from:))
    }

    /// A token by its id alone, whatever its tenant: for Apple's notifications, whose path names
    /// the token (the tenant follows from it).
    public func token(id: TokenID) throws -> TokenRecord? {
        try database.queryFirst("SELECT \(Self.tokenColumns) FROM tokens WHERE id = ?", [.integer(id.rawValue)], row: Self.token(from:))
    }

    /// A tenant's token by id or by location `uId`.
    public func token(tenant: TenantID, _ reference: String) throws -> TokenRecord? {
        if let id = Int64(reference),
           let byId = try database.queryFirst("SELECT \(Self.tokenColumns) FROM tokens WHERE tenant_id = ? AND id = ?",
                                              [.integer(tenant.rawValue), .integer(id)], row: Self.token(from:)) {
            return byId
        }
        return try database.queryFirst("SELECT \(Self.tokenColumns) FROM tokens WHERE tenant_id = ? AND location_uid = ?",
                                       [.integer(tenant.rawValue), .text(reference)], row: Self.token(from:))
    }

    public func requireToken(tenant: TenantID, _ reference: String) throws -> TokenRecord {
        guard let token = try token(tenant: tenant, reference) else {
            throw AllotError(.notFound, "this tenant has no token '\(reference.printableExcerpt)'; name a token by its id or its location uId, as the tenant's token list shows them",
                             subject: .unknownToken)
        }
        return token
    }

    /// Changes a token's state with an event, when it changes.
    public func setTokenState(tenant: TenantID, token: TokenID, _ state: TokenState, ownerName: String? = nil, reason: String) throws {
        try database.transaction {
            let before = try database.queryFirst("SELECT state, owner_name FROM tokens WHERE id = ? AND tenant_id = ?",
                                                 [.integer(token.rawValue), .integer(tenant.rawValue)],
                                                 row: { (try Self.storedTokenState($0.string(0)), $0.optionalString(1)) })
            guard let before else { throw AllotError.notFound("token \(token) does not exist") }
            guard before.0 != state || before.1 != ownerName else { return }
            try database.run("UPDATE tokens SET state = ?, owner_name = ? WHERE id = ?",
                             [.text(state.rawValue), SQLValue(ownerName), .integer(token.rawValue)])
            var detail = ["from": before.0.rawValue, "to": state.rawValue, "reason": reason]
            if let ownerName { detail["owner"] = ownerName }
            // One event per transition: the alert people act on (claimed, expired, revoked) when
            // there is one, else the change itself; a filter by token_state_changed finds both.
            try recordEvent(tenant: tenant, kind: EventKind.alert(enteringState: state) ?? .tokenStateChanged, token: token, detail: detail)
        }
    }

    /// Replaces a token's secret and expiry (renewal). Its state is the engine's to move
    /// (`TokenLife`, on `.renewed`).
    public func renewToken(tenant: TenantID, token: TokenID, secret: [UInt8], expiresAt: Int64, orgName: String, locationName: String) throws {
        try database.transaction {
            let renewed = try database.run("UPDATE tokens SET secret = ?, expires_at = ?, org_name = ?, location_name = ? WHERE id = ? AND tenant_id = ?",
                                           [.blob(secret), .integer(expiresAt), .text(orgName), .text(locationName), .integer(token.rawValue), .integer(tenant.rawValue)])
            // Another tenant's token (or none): nothing changed, and no event may name it here.
            guard renewed == 1 else { throw AllotError.notFound("token \(token) is not this tenant's") }
            try recordEvent(tenant: tenant, kind: .tokenRenewed, token: token, detail: ["expiresAt": expiresAt])
        }
    }

    /// The encrypted secret of a token, or nil once erased.
    public func tokenSecret(token: TokenID) throws -> [UInt8]? {
        try database.queryFirst("SELECT secret FROM tokens WHERE id = ?", [.integer(token.rawValue)]) { $0.blob(0) } ?? nil
    }

    public func setTokenPriority(tenant: TenantID, token: TokenID, _ priority: Int) throws {
        try database.run("UPDATE tokens SET priority = ? WHERE id = ? AND tenant_id = ?",
                         [.integer(Int64(priority)), .integer(token.rawValue), .integer(tenant.rawValue)])
    }

    /// Removes a token: every assignment drawn on it is revoked (locally now, Apple through the
    /// outbox), the token takes `state` (what `TokenLife` says removal makes it), and assets no
    /// other token holds leave the tenant. The secret stays until the outbox has drained
    /// (`eraseDrainedSecrets`).
    public func removeToken(tenant: TenantID, token: TokenID, state: TokenState) throws -> RevocationReport {
        try write(tenant: tenant) {
            // The statements below name the token by id alone: check it is this tenant's first.
            guard try database.queryFirst("SELECT 1 FROM tokens WHERE id = ? AND tenant_id = ?",
                                          [.integer(token.rawValue), .integer(tenant.rawValue)], row: { _ in true }) == true else {
                throw AllotError.notFound("token \(token) is not this tenant's")
            }
            let held = try database.query("""
                SELECT a.asset_id, a.device_id, a.token_id, d.serial FROM assignments a JOIN devices d ON d.id = a.device_id
                WHERE a.tenant_id = ? AND a.token_id = ?
                """, [.integer(tenant.rawValue), .integer(token.rawValue)], row: HeldAssignment.init(row:))
            var report = try revoke(tenant: tenant, held, batchKind: "remove_token")
            // People's licences drawn on it go back too (their users stay registered there).
            report.revoked += try revokeUserAssignments(tenant: tenant, token: token)
            try database.run("UPDATE tokens SET state = ? WHERE id = ?", [.text(state.rawValue), .integer(token.rawValue)])
            // The pool rows of a removed token give nothing and count nothing any more.
            try database.run("DELETE FROM pool WHERE token_id = ? AND assigned_here = 0", [.integer(token.rawValue)])
            let dropped = try database.run("""
                DELETE FROM assets WHERE tenant_id = ?1
                AND NOT EXISTS (SELECT 1 FROM pool WHERE pool.asset_id = assets.id)
                AND NOT EXISTS (SELECT 1 FROM assignments WHERE assignments.asset_id = assets.id)
                AND NOT EXISTS (SELECT 1 FROM user_assignments WHERE user_assignments.asset_id = assets.id)
                AND NOT EXISTS (SELECT 1 FROM user_demand_queue WHERE user_demand_queue.asset_id = assets.id)
                """, [.integer(tenant.rawValue)])
            try recordEvent(tenant: tenant, kind: .tokenRemoved, token: token,
                            detail: ["revoked": report.revoked, "devices": report.devices.count, "assetsDropped": dropped])
            return report
        }
    }

    /// Erases the secrets of removed tokens whose Apple operations are all delivered.
    @discardableResult
    public func eraseDrainedSecrets() throws -> Int {
        try database.run("""
            UPDATE tokens SET secret = NULL WHERE state = \(TokenState.removed.sql) AND secret IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.token_id = tokens.id AND outbox.state IN \(OutboxState.unfinishedSQL))
            """)
    }

    static func token(from row: any SQLRow) throws -> TokenRecord {
        TokenRecord(id: TokenID(row.int64(0)), tenantId: TenantID(row.int64(1)), locationUid: row.string(2),
                    locationName: row.string(3), orgName: row.string(4), expiresAt: row.int64(5),
                    state: try storedTokenState(row.string(6)), ownerName: row.optionalString(7),
                    priority: row.int(8), lastSyncAt: row.optionalInt64(9), hasSecret: row.bool(10))
    }

    /// A token state read back: one this allot does not know is corruption, never `invalid`.
    static func storedTokenState(_ text: String) throws -> TokenState {
        guard let state = TokenState(rawValue: text) else { throw StoredValueError(column: "tokens.state", value: text) }
        return state
    }
}
