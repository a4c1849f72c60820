-- The ledger: tenants, their tokens (one per Apple location), assets, the pool of each
-- token × asset, devices, assignments, the outbox of operations for Apple, and events.
-- Counts are CHECKed here; the relation "assigned_here equals the assignment rows drawing on a
-- pool" is kept by the engine (one counter update per pool per batch) and checked by tests.

CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 1 AND 64),
    name        TEXT NOT NULL,
    mdm_id      TEXT NOT NULL UNIQUE,            -- our mdmInfo.id for this tenant's locations
    policy      TEXT NOT NULL DEFAULT 'most-available'
                CHECK (policy IN ('most-available', 'latest-expiry', 'priority')),
    api_key_hash TEXT,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    location_uid  TEXT NOT NULL UNIQUE,          -- a location belongs to at most one tenant
    location_name TEXT NOT NULL,
    org_name      TEXT NOT NULL,
    secret        BLOB,                          -- the .vpptoken string, encrypted; NULL once erased
    expires_at    INTEGER NOT NULL,              -- seconds since 1970
    state         TEXT NOT NULL DEFAULT 'active'
                  CHECK (state IN ('active', 'expired', 'revoked', 'invalid', 'claimed_elsewhere', 'removed')),
    owner_name    TEXT,                          -- who holds the location when claimed elsewhere
    priority      INTEGER NOT NULL DEFAULT 0,
    last_sync_at  INTEGER,
    created_at    INTEGER NOT NULL,
    UNIQUE (tenant_id, id)
) STRICT;

CREATE TABLE assets (
    id                INTEGER PRIMARY KEY,
    tenant_id         INTEGER NOT NULL REFERENCES tenants(id),
    adam_id           TEXT NOT NULL CHECK (adam_id GLOB '[0-9]*' AND adam_id NOT GLOB '*[^0-9]*'),
    pricing_param     TEXT NOT NULL CHECK (pricing_param IN ('STDQ', 'PLUS')),
    product_type      TEXT NOT NULL DEFAULT 'App',
    device_assignable INTEGER NOT NULL DEFAULT 1 CHECK (device_assignable IN (0, 1)),
    UNIQUE (tenant_id, adam_id, pricing_param),
    UNIQUE (tenant_id, id)
) STRICT;

CREATE TABLE pool (
    token_id           INTEGER NOT NULL REFERENCES tokens(id),
    asset_id           INTEGER NOT NULL REFERENCES assets(id),
    total              INTEGER NOT NULL CHECK (total >= 0),
    assigned_here      INTEGER NOT NULL DEFAULT 0 CHECK (assigned_here >= 0),
    assigned_elsewhere INTEGER NOT NULL DEFAULT 0 CHECK (assigned_elsewhere >= 0),
    revocable          INTEGER NOT NULL DEFAULT 1 CHECK (revocable IN (0, 1)),
    PRIMARY KEY (token_id, asset_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE devices (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    serial     TEXT NOT NULL CHECK (length(serial) BETWEEN 8 AND 14),
    name       TEXT,
    model      TEXT,
    grp        TEXT,
    retired_at INTEGER,
    UNIQUE (tenant_id, serial),
    UNIQUE (tenant_id, id)
) STRICT;
CREATE INDEX devices_by_group ON devices (tenant_id, grp) WHERE grp IS NOT NULL;

CREATE TABLE batches (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    kind            TEXT NOT NULL CHECK (kind IN ('assign', 'revoke', 'retire', 'remove_token')),
    item_count      INTEGER NOT NULL,
    changed_count   INTEGER NOT NULL,            -- assignment rows this batch inserted or deleted
    idempotency_key TEXT,
    response        BLOB,                        -- the first answer, kept only with a key
    created_at      INTEGER NOT NULL,
    UNIQUE (tenant_id, idempotency_key)
) STRICT;

-- One row per device holding an asset in a tenant (invariant 2), whichever token it came from.
-- The composite references keep tenants sealed (invariant 3): a row can only point at a token,
-- asset or device of its own tenant.
CREATE TABLE assignments (
    tenant_id INTEGER NOT NULL,
    asset_id  INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    token_id  INTEGER NOT NULL,
    status    INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),   -- 0 pending, 1 confirmed by Apple
    batch_id  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, device_id),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id),
    FOREIGN KEY (tenant_id, token_id) REFERENCES tokens (tenant_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX assignments_by_device ON assignments (tenant_id, device_id);
CREATE INDEX assignments_by_token ON assignments (token_id, asset_id);

-- Operations for Apple, written in the same transaction as the batch that decided them.
-- serials: newline-separated; assets: newline-separated "adamId:pricingParam".
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    token_id        INTEGER NOT NULL REFERENCES tokens(id),
    kind            TEXT NOT NULL CHECK (kind IN ('associate', 'disassociate', 'revoke')),
    assets          TEXT NOT NULL,
    serials         TEXT NOT NULL,
    serial_count    INTEGER NOT NULL CHECK (serial_count > 0),
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sent', 'done', 'failed', 'paused')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    event_id        TEXT,
    sent_at         INTEGER,                     -- when Apple last accepted it (resend after 10 min PENDING)
    last_error      TEXT,
    batch_id        INTEGER REFERENCES batches(id),
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at) WHERE state IN ('pending', 'sent');

CREATE TABLE events (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    at        INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    token_id  INTEGER,
    detail    TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX events_by_tenant ON events (tenant_id, id);
CREATE INDEX events_by_age ON events (at);
