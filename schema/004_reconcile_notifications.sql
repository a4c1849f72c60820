-- The reconcile schedule, Apple's notifications and the alerts (issue 12, points 1 to 3).

-- When each token's next scheduled sync is due (seconds since 1970, `ReconcileSchedule`). A
-- node claims a due sync by moving next_sync_at forward with one conditional UPDATE (the row
-- still holds the time it read), so two nodes never run one token's sync twice.
CREATE TABLE token_schedule (
    token_id     INTEGER PRIMARY KEY REFERENCES tokens(id),
    next_sync_at INTEGER NOT NULL,
    claimed_by   TEXT,                           -- the worker that claimed the last sync
    claimed_at   INTEGER
) STRICT;
CREATE INDEX token_schedule_due ON token_schedule (next_sync_at);

-- A token's notification receiver at Apple: the bearer Apple sends back (encrypted with the
-- engine's key, like token files) and the URL configured. configured_at is NULL until Apple
-- accepted the configuration (its TEST_NOTIFICATION reached us).
CREATE TABLE token_notifications (
    token_id      INTEGER PRIMARY KEY REFERENCES tokens(id),
    auth_token    BLOB NOT NULL,
    url           TEXT NOT NULL,
    configured_at INTEGER
) STRICT;

-- Apple's notifications as received: the notificationId drops duplicates; processed_at is NULL
-- while the work is queued (done after the answer, and after a restart if need be).
CREATE TABLE apple_notifications (
    notification_id TEXT PRIMARY KEY CHECK (length(notification_id) BETWEEN 1 AND 200),
    token_id        INTEGER NOT NULL REFERENCES tokens(id),
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    processed_at    INTEGER
) STRICT;
CREATE INDEX apple_notifications_queued ON apple_notifications (received_at) WHERE processed_at IS NULL;

-- token_expiring milestones announced, once per token, expiry date and milestone.
CREATE TABLE expiry_alerts (
    token_id   INTEGER NOT NULL REFERENCES tokens(id),
    expires_at INTEGER NOT NULL,
    days       INTEGER NOT NULL CHECK (days > 0),
    PRIMARY KEY (token_id, expires_at, days)
) STRICT;

-- The lowest licences_low threshold an app of a tenant is below now (a row only while it is
-- below one): an alert fires when it goes lower, and again after a recovery.
CREATE TABLE licence_alerts (
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    asset_id    INTEGER NOT NULL REFERENCES assets(id),
    low_percent INTEGER NOT NULL CHECK (low_percent BETWEEN 1 AND 99),
    PRIMARY KEY (tenant_id, asset_id)
) STRICT;

-- The pools over-allocated now: over_allocated fires when a pool enters this table.
CREATE TABLE over_allocation_alerts (
    token_id INTEGER NOT NULL REFERENCES tokens(id),
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    since    INTEGER NOT NULL,
    PRIMARY KEY (token_id, asset_id)
) STRICT;

-- A tenant's licences_low thresholds, percents of the total, the highest first ('none': off).
ALTER TABLE tenants ADD COLUMN licence_thresholds TEXT NOT NULL DEFAULT '20,10';
