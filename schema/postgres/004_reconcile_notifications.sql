-- The reconcile schedule, Apple's notifications and the alerts (issue 12, points 1 to 3).
-- The PostgreSQL twin of schema/004_reconcile_notifications.sql: comments there.

CREATE TABLE token_schedule (
    token_id     BIGINT PRIMARY KEY REFERENCES tokens(id),
    next_sync_at BIGINT NOT NULL,
    claimed_by   TEXT,
    claimed_at   BIGINT
);
CREATE INDEX token_schedule_due ON token_schedule (next_sync_at);

CREATE TABLE token_notifications (
    token_id      BIGINT PRIMARY KEY REFERENCES tokens(id),
    auth_token    BYTEA NOT NULL,
    url           TEXT NOT NULL,
    configured_at BIGINT
);

CREATE TABLE apple_notifications (
    notification_id TEXT PRIMARY KEY CHECK (length(notification_id) BETWEEN 1 AND 200),
    token_id        BIGINT NOT NULL REFERENCES tokens(id),
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    processed_at    BIGINT
);
CREATE INDEX apple_notifications_queued ON apple_notifications (received_at) WHERE processed_at IS NULL;

CREATE TABLE expiry_alerts (
    token_id   BIGINT NOT NULL REFERENCES tokens(id),
    expires_at BIGINT NOT NULL,
    days       BIGINT NOT NULL CHECK (days > 0),
    PRIMARY KEY (token_id, expires_at, days)
);

CREATE TABLE licence_alerts (
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id),
    asset_id    BIGINT NOT NULL REFERENCES assets(id),
    low_percent BIGINT NOT NULL CHECK (low_percent BETWEEN 1 AND 99),
    PRIMARY KEY (tenant_id, asset_id)
);

CREATE TABLE over_allocation_alerts (
    token_id BIGINT NOT NULL REFERENCES tokens(id),
    asset_id BIGINT NOT NULL REFERENCES assets(id),
    since    BIGINT NOT NULL,
    PRIMARY KEY (token_id, asset_id)
);

ALTER TABLE tenants ADD COLUMN licence_thresholds TEXT NOT NULL DEFAULT '20,10';
