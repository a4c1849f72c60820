-- Auto-renewable subscription seats (Apple's "Managing subscriptions"). Seats go to people
-- only, never to devices.

-- A token's opt-in: Apple requires a location to declare that its MDM manages subscriptions
-- (`POST /subscriptions/enable`) before it holds seats; `disable` is refused (9818) while it
-- holds any. Kept as Apple last answered it; no row: never asked, read as off.
CREATE TABLE token_subscriptions (
    tenant_id  INTEGER NOT NULL,
    token_id   INTEGER NOT NULL PRIMARY KEY,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    changed_at INTEGER NOT NULL,
    FOREIGN KEY (tenant_id, token_id) REFERENCES tokens (tenant_id, id)
) STRICT;

-- One subscription at one token's location, as Apple's `GET /subscriptions` last counted it
-- (at sync; SUBSCRIPTION_COUNT notifications update available and total), so a tenant's seats
-- are listed without calling Apple. Apple's invariant: assigned + available = total (each split
-- renewing / expiring). period_end is Apple's `periodEndDate`, YYYY-MM-DD (UTC).
CREATE TABLE subscription_seats (
    tenant_id          INTEGER NOT NULL,
    token_id           INTEGER NOT NULL,
    adam_id            INTEGER NOT NULL,
    parent_adam_id     INTEGER,
    status             TEXT,
    period_end         TEXT,
    total_renewing     INTEGER NOT NULL CHECK (total_renewing >= 0),
    total_expiring     INTEGER NOT NULL CHECK (total_expiring >= 0),
    assigned_renewing  INTEGER NOT NULL CHECK (assigned_renewing >= 0),
    assigned_expiring  INTEGER NOT NULL CHECK (assigned_expiring >= 0),
    available_renewing INTEGER NOT NULL CHECK (available_renewing >= 0),
    available_expiring INTEGER NOT NULL CHECK (available_expiring >= 0),
    read_at            INTEGER NOT NULL,
    PRIMARY KEY (token_id, adam_id),
    FOREIGN KEY (tenant_id, token_id) REFERENCES tokens (tenant_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX subscription_seats_by_tenant ON subscription_seats (tenant_id, adam_id);
