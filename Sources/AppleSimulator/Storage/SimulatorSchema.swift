// The simulator's tables: its own file and schema, nothing shared with the ledger. One row per
// location, per (location, asset), per assignment and per event, so a call reads and writes only
// the rows it touches; the settings and the sequence live in the single `simulator` row.
enum SimulatorSchema {
    /// Written in the `simulator` row; a file without it is not a simulator state.
    static let format = "allot-simulator"
    /// Bumped when the tables change incompatibly; another version is refused, not guessed at.
    /// 3: `events` became a rowid table keyed by its sequence, its serials moved to
    /// `event_serials`; `assignments_by_serial` was dropped.
    /// 4: users, their licences, subscriptions and their seats, cursors; `events.details`.
    static let formatVersion = 4

    static let create = """
        CREATE TABLE simulator (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            format TEXT NOT NULL,
            format_version INTEGER NOT NULL,
            -- Source of event ordering and of versionIds: only ever grows.
            sequence INTEGER NOT NULL,
            -- SimulatorSettings as JSON; `settings_generation` moves on every change, so a
            -- connection decodes it only when another one wrote it.
            settings TEXT NOT NULL,
            settings_generation INTEGER NOT NULL
        );
        CREATE TABLE locations (
            uid TEXT PRIMARY KEY,
            position INTEGER NOT NULL,
            location_name TEXT NOT NULL,
            org_name TEXT NOT NULL,
            expires REAL NOT NULL,
            mdm_info TEXT,
            notification_url TEXT,
            notification_auth_token TEXT,
            notification_types TEXT,
            -- The whole Base64 content of the current token file: the only Bearer string accepted.
            current_token TEXT NOT NULL UNIQUE,
            token_status TEXT NOT NULL CHECK (token_status IN ('active', 'revoked', 'expired')),
            version INTEGER NOT NULL
        );
        CREATE TABLE assets (
            location TEXT NOT NULL,
            adam_id TEXT NOT NULL,
            pricing_param TEXT NOT NULL,
            position INTEGER NOT NULL,
            product_type TEXT NOT NULL CHECK (product_type IN ('App', 'Book')),
            total INTEGER NOT NULL CHECK (total >= 0),
            device_assignable INTEGER NOT NULL,
            revocable INTEGER NOT NULL,
            -- Free assets Apple hands out without limit (totalCount 2147483647).
            unlimited INTEGER NOT NULL,
            -- Kept with every insert and delete of `assignments`, so counts never scan.
            assigned INTEGER NOT NULL CHECK (assigned >= 0),
            PRIMARY KEY (location, adam_id, pricing_param)
        ) WITHOUT ROWID;
        CREATE TABLE assignments (
            id INTEGER PRIMARY KEY,
            location TEXT NOT NULL,
            adam_id TEXT NOT NULL,
            pricing_param TEXT NOT NULL,
            serial TEXT NOT NULL,
            -- The location version that added it: what `sinceVersionId` compares.
            version INTEGER NOT NULL
        );
        -- No index by (location, serial): every assignment written costs one insert per index,
        -- and a location holds few assets, so a serial is found by one seek of this index per
        -- asset of the location (`SimulatorStore.AssignmentFilter`).
        CREATE UNIQUE INDEX assignments_by_asset ON assignments (location, adam_id, pricing_param, serial);
        CREATE INDEX assignments_by_version ON assignments (location, version);
        -- A rowid table keyed by the sequence (not WITHOUT ROWID by the random event_id): new
        -- events append at the end of the tree, and a row is small, since its serials live
        -- in `event_serials`.
        CREATE TABLE events (
            sequence INTEGER PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            location TEXT NOT NULL,
            type TEXT NOT NULL,
            assets TEXT NOT NULL,
            num_requested INTEGER NOT NULL,
            polls_remaining INTEGER NOT NULL,
            forced_failure INTEGER NOT NULL,
            -- Set once, when the event is applied (EventOutcome as JSON).
            outcome TEXT,
            -- What a device event's serials do not say (EventDetails as JSON): that its subjects
            -- are users, the users of a create/update/retire, a subscription request's adamIds.
            details TEXT
        );
        -- An event's serials (a JSON array, up to ~16 KB, spilling into overflow pages), apart
        -- from the row that polls and the outcome update: written once, never rewritten.
        CREATE TABLE event_serials (
            sequence INTEGER PRIMARY KEY REFERENCES events (sequence),
            serial_count INTEGER NOT NULL,
            serials TEXT NOT NULL
        );
        CREATE INDEX events_unfinished ON events (location, sequence) WHERE outcome IS NULL;
        CREATE INDEX events_finished ON events (sequence) WHERE outcome IS NOT NULL;
        -- Users registered at a location (Apple's "Managing users").
        CREATE TABLE users (
            location TEXT NOT NULL,
            client_user_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            email TEXT,
            managed_apple_id TEXT,
            status TEXT NOT NULL CHECK (status IN ('Registered', 'Associated', 'Retired', 'Deleted')),
            invite_code TEXT,
            id_hash TEXT,
            -- The Apple Account the person associated with (a Managed Apple Account, or the one
            -- that accepted the invitation), lowercased: 9616 regUsersAlreadyAssigned compares it.
            apple_account TEXT,
            -- The location version of the user's last change: what `sinceVersionId` compares.
            version INTEGER NOT NULL,
            PRIMARY KEY (location, client_user_id)
        ) WITHOUT ROWID;
        CREATE INDEX users_by_position ON users (location, position);
        CREATE INDEX users_by_account ON users (location, apple_account) WHERE apple_account IS NOT NULL;
        -- Licences of assets held by users; `assets.assigned` counts these and devices' alike.
        CREATE TABLE user_assignments (
            id INTEGER PRIMARY KEY,
            location TEXT NOT NULL,
            adam_id TEXT NOT NULL,
            pricing_param TEXT NOT NULL,
            client_user_id TEXT NOT NULL,
            version INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX user_assignments_by_asset ON user_assignments (location, adam_id, pricing_param, client_user_id);
        CREATE INDEX user_assignments_by_user ON user_assignments (location, client_user_id);
        CREATE INDEX user_assignments_by_version ON user_assignments (location, version);
        -- Locations that declared subscription management (`POST /subscriptions/enable`).
        CREATE TABLE subscription_management (
            location TEXT PRIMARY KEY,
            enabled INTEGER NOT NULL
        );
        CREATE TABLE subscriptions (
            location TEXT NOT NULL,
            adam_id INTEGER NOT NULL,
            parent_adam_id INTEGER,
            position INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE', 'PAUSED')),
            -- YYYY-MM-DD, UTC.
            period_end TEXT NOT NULL,
            total_renewing INTEGER NOT NULL CHECK (total_renewing >= 0),
            total_expiring INTEGER NOT NULL CHECK (total_expiring >= 0),
            PRIMARY KEY (location, adam_id)
        ) WITHOUT ROWID;
        CREATE TABLE subscription_assignments (
            id INTEGER PRIMARY KEY,
            location TEXT NOT NULL,
            adam_id INTEGER NOT NULL,
            client_user_id TEXT NOT NULL,
            -- The assignment's renewal state as asked (`renewing`).
            renewing INTEGER NOT NULL,
            -- The licence it occupies: 1 a renewing seat, 0 an expiring one.
            renewing_seat INTEGER NOT NULL,
            -- A deferred disassociation waits for the period's end: the seat is kept, expiring.
            deferred_event TEXT
        );
        CREATE UNIQUE INDEX subscription_assignments_by_user ON subscription_assignments (location, adam_id, client_user_id);
        -- Cursors handed out by the cursor-paged reads: each is good for one read, in order.
        CREATE TABLE cursors (
            cursor TEXT PRIMARY KEY,
            location TEXT NOT NULL,
            -- What was read and with which filters (JSON): a cursor reads on only the same list.
            query TEXT NOT NULL,
            -- The last row id the previous page answered.
            after_id INTEGER NOT NULL,
            used INTEGER NOT NULL,
            sequence INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE notifications (
            id INTEGER PRIMARY KEY,
            location TEXT NOT NULL,
            -- The whole envelope as JSON, with its notificationId.
            body TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            next_attempt REAL NOT NULL
        );
        """
}
