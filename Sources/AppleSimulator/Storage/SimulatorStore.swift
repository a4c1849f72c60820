import AppleAppsAndBooks
import Foundation

/// The rows of the simulator's state, read and written one by one inside the caller's
/// transaction. No rule of Apple's lives here (those are in `SimulatorState+…`); this only
/// maps rows to values. Not Sendable: it belongs to one `AppleSimulator` actor.
final class SimulatorStore {
    let connection: SimulatorConnection
    /// The settings decoded at `settingsGeneration`: decoded again only when a connection
    /// (this one or another process's) wrote new ones.
    private var cachedSettings: (generation: Int, settings: SimulatorSettings)?

    init(connection: SimulatorConnection) {
        self.connection = connection
    }

    // MARK: The one `simulator` row

    func meta() throws -> (sequence: Int, settings: SimulatorSettings) {
        let row = try connection.queryFirst("SELECT sequence, settings_generation FROM simulator WHERE id = 1") { ($0.int(0), $0.int(1)) }
        guard let row else { throw AppleSimulatorError.stateFile("the simulator row is missing; re-run `allot sim init`") }
        if let cachedSettings, cachedSettings.generation == row.1 { return (row.0, cachedSettings.settings) }
        let text = try connection.queryFirst("SELECT settings FROM simulator WHERE id = 1") { $0.string(0) } ?? ""
        let settings: SimulatorSettings
        do {
            settings = try JSONDecoder().decode(SimulatorSettings.self, from: Data(text.utf8))
        } catch {
            throw AppleSimulatorError.stateFile("the stored settings are unreadable (\(error)); re-run `allot sim init`")
        }
        cachedSettings = (row.1, settings)
        return (row.0, settings)
    }

    static func insertMeta(_ connection: SimulatorConnection, settings: SimulatorSettings, sequence: Int) throws {
        try connection.run("INSERT INTO simulator (id, format, format_version, sequence, settings, settings_generation) VALUES (1, ?, ?, ?, ?, 1)",
                           [.text(SimulatorSchema.format), .int(SimulatorSchema.formatVersion), .int(sequence), .text(try encode(settings))])
    }

    func saveSettings(_ settings: SimulatorSettings) throws {
        try connection.run("UPDATE simulator SET settings = ?, settings_generation = settings_generation + 1 WHERE id = 1",
                           [.text(try Self.encode(settings))])
        cachedSettings = nil
    }

    func saveSequence(_ sequence: Int) throws {
        try connection.run("UPDATE simulator SET sequence = ? WHERE id = 1", [.int(sequence)])
    }

    // MARK: Locations

    private static let locationColumns = """
        uid, location_name, org_name, expires, mdm_info, notification_url, notification_auth_token,
        notification_types, current_token, token_status, version
        """

    func location(uId: String) throws -> SimulatedLocation? {
        try connection.queryFirst("SELECT \(Self.locationColumns) FROM locations WHERE uid = ?", [.text(uId)], row: Self.locationRow)
    }

    func location(token: String) throws -> SimulatedLocation? {
        try connection.queryFirst("SELECT \(Self.locationColumns) FROM locations WHERE current_token = ?", [.text(token)], row: Self.locationRow)
    }

    func locationUids() throws -> [String] {
        try connection.query("SELECT uid FROM locations ORDER BY position") { $0.string(0) }
    }

    private static func locationRow(_ row: SimulatorStatement) throws -> SimulatedLocation {
        let uId = row.string(0)
        guard let status = TokenStatus(rawValue: row.string(9)) else {
            throw AppleSimulatorError.stateFile("location \(uId) has an unknown token status")
        }
        return SimulatedLocation(
            uId: uId, locationName: row.string(1), orgName: row.string(2),
            expires: Date(timeIntervalSince1970: row.double(3)),
            mdmInfo: try row.optionalString(4).map { try decode(MDMInfo.self, $0, what: "mdmInfo of location \(uId)") },
            notificationUrl: row.optionalString(5), notificationAuthToken: row.optionalString(6),
            notificationTypes: try row.optionalString(7).map { try decode([String].self, $0, what: "notificationTypes of location \(uId)") },
            currentToken: row.string(8), tokenStatus: status, version: row.int(10)
        )
    }

    func insert(_ location: SimulatedLocation, position: Int) throws {
        try connection.run("""
            INSERT INTO locations (uid, position, location_name, org_name, expires, mdm_info, notification_url,
                notification_auth_token, notification_types, current_token, token_status, version)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(location.uId), .int(position), .text(location.locationName), .text(location.orgName),
                  .real(location.expires.timeIntervalSince1970), .optional(try location.mdmInfo.map(Self.encode)),
                  .optional(location.notificationUrl), .optional(location.notificationAuthToken),
                  .optional(try location.notificationTypes.map(Self.encode)), .text(location.currentToken),
                  .text(location.tokenStatus.rawValue), .int(location.version)])
    }

    /// Writes back every field of a location row read earlier in the same transaction.
    func update(_ location: SimulatedLocation) throws {
        let changed = try connection.run("""
            UPDATE locations SET location_name = ?, org_name = ?, expires = ?, mdm_info = ?, notification_url = ?,
                notification_auth_token = ?, notification_types = ?, current_token = ?, token_status = ?, version = ?
            WHERE uid = ?
            """, [.text(location.locationName), .text(location.orgName), .real(location.expires.timeIntervalSince1970),
                  .optional(try location.mdmInfo.map(Self.encode)), .optional(location.notificationUrl),
                  .optional(location.notificationAuthToken), .optional(try location.notificationTypes.map(Self.encode)),
                  .text(location.currentToken), .text(location.tokenStatus.rawValue), .int(location.version), .text(location.uId)])
        precondition(changed == 1, "updated a location the state does not have")
    }

    func setVersion(location uId: String, _ version: Int) throws {
        let changed = try connection.run("UPDATE locations SET version = ? WHERE uid = ?", [.int(version), .text(uId)])
        precondition(changed == 1, "moved the version of a location the state does not have")
    }

    // MARK: Assets

    private static let assetColumns = "adam_id, pricing_param, product_type, total, device_assignable, revocable, unlimited, assigned"

    func assets(location uId: String) throws -> [SimulatedAsset] {
        try connection.query("SELECT \(Self.assetColumns) FROM assets WHERE location = ? ORDER BY position", [.text(uId)], row: Self.assetRow)
    }

    func asset(location uId: String, _ key: WireAssetKey) throws -> SimulatedAsset? {
        try connection.queryFirst("SELECT \(Self.assetColumns) FROM assets WHERE location = ? AND adam_id = ? AND pricing_param = ?",
                                  [.text(uId), .text(key.adamId), .text(key.pricingParam)], row: Self.assetRow)
    }

    private static func assetRow(_ row: SimulatorStatement) -> SimulatedAsset {
        SimulatedAsset(adamId: row.string(0), pricingParam: row.string(1), productType: row.string(2), total: row.int(3),
                       deviceAssignable: row.bool(4), revocable: row.bool(5), unlimited: row.bool(6), assigned: row.int(7))
    }

    func insert(_ asset: SimulatedAsset, location uId: String, position: Int) throws {
        try connection.run("""
            INSERT INTO assets (location, adam_id, pricing_param, position, product_type, total, device_assignable, revocable, unlimited, assigned)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(uId), .text(asset.adamId), .text(asset.pricingParam), .int(position), .text(asset.productType),
                  .int(asset.total), .bool(asset.deviceAssignable), .bool(asset.revocable), .bool(asset.unlimited), .int(asset.assigned)])
    }

    func setTotal(location uId: String, _ key: WireAssetKey, total: Int) throws {
        let changed = try connection.run("UPDATE assets SET total = ? WHERE location = ? AND adam_id = ? AND pricing_param = ?",
                                         [.int(total), .text(uId), .text(key.adamId), .text(key.pricingParam)])
        precondition(changed == 1, "set the total of an asset the state does not have")
    }

    /// Moves an asset's `assigned` by the rows actually inserted or deleted.
    func addAssigned(location uId: String, _ key: WireAssetKey, _ delta: Int) throws {
        guard delta != 0 else { return }
        let changed = try connection.run("UPDATE assets SET assigned = assigned + ? WHERE location = ? AND adam_id = ? AND pricing_param = ?",
                                         [.int(delta), .text(uId), .text(key.adamId), .text(key.pricingParam)])
        precondition(changed == 1, "counted assignments of an asset the state does not have")
    }

    // MARK: Assignments

    /// True when the row was new (it is then counted by the caller).
    func insertAssignment(location uId: String, _ key: WireAssetKey, serial: String, version: Int) throws -> Bool {
        try connection.run("INSERT OR IGNORE INTO assignments (location, adam_id, pricing_param, serial, version) VALUES (?, ?, ?, ?, ?)",
                           [.text(uId), .text(key.adamId), .text(key.pricingParam), .text(serial), .int(version)]) == 1
    }

    /// Inserts one asset for every serial in one statement, in the serials' order (so `id`
    /// keeps the order the assignments were made); the number of rows that were new. One
    /// statement instead of one per serial: the per-statement work was most of an associate's.
    func insertAssignments(location uId: String, _ key: WireAssetKey, serials: EventSerials, version: Int) throws -> Int {
        try connection.run("""
            INSERT OR IGNORE INTO assignments (location, adam_id, pricing_param, serial, version)
            SELECT ?, ?, ?, value, ? FROM json_each(?) ORDER BY key
            """, [.text(uId), .text(key.adamId), .text(key.pricingParam), .int(version), .text(serials.json)])
    }

    /// True when there was such a row.
    func deleteAssignment(location uId: String, _ key: WireAssetKey, serial: String) throws -> Bool {
        try connection.run("DELETE FROM assignments WHERE location = ? AND adam_id = ? AND pricing_param = ? AND serial = ?",
                           [.text(uId), .text(key.adamId), .text(key.pricingParam), .text(serial)]) == 1
    }

    func holds(location uId: String, _ key: WireAssetKey, serial: String) throws -> Bool {
        try connection.queryFirst("SELECT 1 FROM assignments WHERE location = ? AND adam_id = ? AND pricing_param = ? AND serial = ?",
                                  [.text(uId), .text(key.adamId), .text(key.pricingParam), .text(serial)]) { _ in true } ?? false
    }

    /// The filter of `GET /assignments` as SQL: one statement per combination of filters, so
    /// each one uses its index (an `? IS NULL OR …` filter would scan the location).
    struct AssignmentFilter {
        var adamId: String?
        var pricingParam: String?
        var serialNumber: String?
        /// Only what a version after this one added.
        var sinceVersion: Int?

        /// The clause and every value it binds, the location's first.
        func whereClause(location uId: String) -> (sql: String, values: [SimulatorSQLValue]) {
            var sql = "location = ?"
            var values: [SimulatorSQLValue] = [.text(uId)]
            if let adamId { sql += " AND adam_id = ?"; values.append(.text(adamId)) }
            if let pricingParam { sql += " AND pricing_param = ?"; values.append(.text(pricingParam)) }
            if let serialNumber {
                // A serial is found by one seek of `assignments_by_asset` per asset of the
                // location that matches the other filters (exact: every assignment's asset
                // has its row in `assets`, and assets are never removed); the version is
                // then only checked (`+`), so the planner does not range over it instead.
                if adamId == nil || pricingParam == nil {
                    var assets = "SELECT adam_id, pricing_param FROM assets WHERE location = ?"
                    values.append(.text(uId))
                    if let adamId { assets += " AND adam_id = ?"; values.append(.text(adamId)) }
                    if let pricingParam { assets += " AND pricing_param = ?"; values.append(.text(pricingParam)) }
                    sql += " AND (adam_id, pricing_param) IN (\(assets))"
                }
                sql += " AND serial = ?"
                values.append(.text(serialNumber))
                if let sinceVersion { sql += " AND +version > ?"; values.append(.int(sinceVersion)) }
            } else if let sinceVersion {
                sql += " AND version > ?"
                values.append(.int(sinceVersion))
            }
            return (sql, values)
        }
    }

    func countAssignments(location uId: String, _ filter: AssignmentFilter) throws -> Int {
        let (clause, values) = filter.whereClause(location: uId)
        return try connection.queryFirst("SELECT count(*) FROM assignments WHERE \(clause)", values) { $0.int(0) } ?? 0
    }

    /// One page, in the order the assignments were made.
    func assignments(location uId: String, _ filter: AssignmentFilter, offset: Int, limit: Int) throws -> [WireAssignment] {
        let (clause, values) = filter.whereClause(location: uId)
        return try connection.query("SELECT adam_id, pricing_param, serial FROM assignments WHERE \(clause) ORDER BY id LIMIT ? OFFSET ?",
                                    values + [.int(limit), .int(offset)]) {
            WireAssignment(adamId: $0.string(0), pricingParam: $0.string(1), serialNumber: $0.string(2))
        }
    }

    func allAssignments(location uId: String?) throws -> [SimulatorAssignment] {
        let map: (SimulatorStatement) -> SimulatorAssignment = {
            SimulatorAssignment(adamId: $0.string(0), pricingParam: $0.string(1), serialNumber: $0.string(2), locationUid: $0.string(3))
        }
        if let uId {
            return try connection.query("SELECT adam_id, pricing_param, serial, location FROM assignments WHERE location = ? ORDER BY id", [.text(uId)], row: map)
        }
        return try connection.query("SELECT adam_id, pricing_param, serial, location FROM assignments ORDER BY id", row: map)
    }

    // MARK: Events

    private static let eventColumns = "e.event_id, e.sequence, e.location, e.type, e.assets, e.num_requested, e.polls_remaining, e.forced_failure, e.outcome, s.serial_count, s.serials, e.details"
    private static let eventTables = "events e JOIN event_serials s ON s.sequence = e.sequence"

    func insert(_ event: SimulatedEvent) throws {
        try connection.run("""
            INSERT INTO events (event_id, sequence, location, type, assets, num_requested, polls_remaining, forced_failure, outcome, details)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [
            .text(event.eventId), .int(event.sequence), .text(event.locationUid), .text(event.type.rawValue),
            .text(try Self.encode(event.assets)), .int(event.numRequested), .int(event.pollsRemaining), .bool(event.forcedFailure),
            .optional(try event.outcome.map(Self.encode)), .optional(try event.details.map(Self.encode)),
        ])
        try connection.run("INSERT INTO event_serials (sequence, serial_count, serials) VALUES (?, ?, ?)",
                           [.int(event.sequence), .int(event.serialNumbers.count), .text(event.serialNumbers.json)])
    }

    func event(eventId: String) throws -> SimulatedEvent? {
        try connection.queryFirst("SELECT \(Self.eventColumns) FROM \(Self.eventTables) WHERE e.event_id = ?", [.text(eventId)], row: Self.eventRow)
    }

    /// A location's events that have not been applied and have no polls left, oldest first.
    func dueEvents(location uId: String) throws -> [SimulatedEvent] {
        try connection.query("""
            SELECT \(Self.eventColumns) FROM \(Self.eventTables)
            WHERE e.location = ? AND e.outcome IS NULL AND e.polls_remaining = 0 ORDER BY e.sequence
            """, [.text(uId)], row: Self.eventRow)
    }

    func update(_ event: SimulatedEvent) throws {
        let changed = try connection.run("UPDATE events SET polls_remaining = ?, forced_failure = ?, outcome = ? WHERE sequence = ?",
                                         [.int(event.pollsRemaining), .bool(event.forcedFailure),
                                          .optional(try event.outcome.map(Self.encode)), .int(event.sequence)])
        precondition(changed == 1, "updated an event the state does not have")
    }

    /// Drops the oldest finished events beyond `keptMax`; unfinished ones are always kept.
    func pruneEvents(keptMax: Int) throws {
        let count = try connection.queryFirst("SELECT count(*) FROM events WHERE outcome IS NOT NULL") { $0.int(0) } ?? 0
        guard count > keptMax else { return }
        // The oldest finished event kept; everything finished before it goes, serials first.
        guard let firstKept = try connection.queryFirst("SELECT sequence FROM events WHERE outcome IS NOT NULL ORDER BY sequence LIMIT 1 OFFSET ?",
                                                        [.int(count - keptMax)], row: { $0.int(0) }) else {
            preconditionFailure("fewer finished events than just counted")
        }
        for table in ["event_serials", "events"] {
            try connection.run("""
                DELETE FROM \(table) WHERE sequence IN
                    (SELECT sequence FROM events WHERE outcome IS NOT NULL AND sequence < ?)
                """, [.int(firstKept)])
        }
    }

    private static func eventRow(_ row: SimulatorStatement) throws -> SimulatedEvent {
        let eventId = row.string(0)
        guard let type = EventType(rawValue: row.string(3)) else { throw AppleSimulatorError.stateFile("event \(eventId) has an unknown type") }
        return SimulatedEvent(
            eventId: eventId, sequence: row.int(1), locationUid: row.string(2), type: type,
            assets: try decode([WireAssetKey].self, row.string(4), what: "assets of event \(eventId)"),
            serialNumbers: EventSerials(storedJSON: row.string(10), count: row.int(9), eventId: eventId),
            numRequested: row.int(5), pollsRemaining: row.int(6), forcedFailure: row.bool(7),
            outcome: try row.optionalString(8).map { try decode(EventOutcome.self, $0, what: "outcome of event \(eventId)") },
            details: try row.optionalString(11).map { try decode(EventDetails.self, $0, what: "details of event \(eventId)") }
        )
    }

    // MARK: JSON columns

    static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A stored value that does not decode is corruption: said, never replaced by a default.
    static func decode<T: Decodable>(_ type: T.Type, _ text: String, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw AppleSimulatorError.stateFile("the stored \(what) is unreadable; re-run `allot sim init`")
        }
    }
}

// MARK: Notifications waiting to be sent

/// A notification row taken by a sender: its body, where it goes and with what secret.
struct NotificationDue: Sendable {
    var id: Int
    var body: String
    var attempts: Int
    var target: NotificationTarget
}

extension SimulatorStore {
    func insertNotification(location uId: String, body: String, nextAttempt: Date) throws {
        try connection.run("INSERT INTO notifications (location, body, attempts, next_attempt) VALUES (?, ?, 0, ?)",
                           [.text(uId), .text(body), .real(nextAttempt.timeIntervalSince1970)])
    }

    /// Takes up to `limit` due rows for one try each: counts the try and leases the row, so a
    /// sender in another process does not send it at the same time. A row whose location has
    /// no receiver any more is dropped.
    func takeDueNotifications(now: Date, limit: Int, leaseSeconds: Double) throws -> [NotificationDue] {
        let rows = try connection.query("""
            SELECT n.id, n.body, n.attempts, l.notification_url, l.notification_auth_token
            FROM notifications n JOIN locations l ON l.uid = n.location
            WHERE n.next_attempt <= ? ORDER BY n.id LIMIT ?
            """, [.real(now.timeIntervalSince1970), .int(limit)]) { row in
            (row.int(0), row.string(1), row.int(2), row.optionalString(3), row.optionalString(4))
        }
        var due: [NotificationDue] = []
        for (id, body, attempts, url, token) in rows {
            guard let url, let token else {
                try connection.run("DELETE FROM notifications WHERE id = ?", [.int(id)])
                continue
            }
            try connection.run("UPDATE notifications SET attempts = attempts + 1, next_attempt = ? WHERE id = ?",
                               [.real(now.timeIntervalSince1970 + leaseSeconds), .int(id)])
            due.append(NotificationDue(id: id, body: body, attempts: attempts + 1, target: NotificationTarget(url: url, authToken: token, types: [])))
        }
        return due
    }

    func deleteNotification(id: Int) throws {
        try connection.run("DELETE FROM notifications WHERE id = ?", [.int(id)])
    }

    func retryNotification(id: Int, at time: Date) throws {
        try connection.run("UPDATE notifications SET next_attempt = ? WHERE id = ?", [.real(time.timeIntervalSince1970), .int(id)])
    }

    /// When the next row falls due, if any waits.
    func notificationCount() throws -> Int {
        try connection.queryFirst("SELECT count(*) FROM notifications") { $0.int(0) } ?? 0
    }

    func nextNotificationTime() throws -> Date? {
        try connection.queryFirst("SELECT min(next_attempt) FROM notifications") { $0.isNull(0) ? nil : Date(timeIntervalSince1970: $0.double(0)) } ?? nil
    }
}
