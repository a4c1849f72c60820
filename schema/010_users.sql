-- People, not only devices (user licences). A tenant's users come from its roster
-- (`allot users import`); each is registered at Apple lazily, at the location of every token that
-- lends them a licence (Apple's users are per location), under one clientUserId of ours.
-- user_key is the roster's user_id; client_user_id is what Apple knows the person by, at every
-- location: generated once, never reused.
CREATE TABLE users (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
    user_key         TEXT NOT NULL CHECK (length(user_key) BETWEEN 1 AND 200),
    client_user_id   TEXT NOT NULL UNIQUE,
    email            TEXT,
    managed_apple_id TEXT,
    grp              TEXT,
    retired_at       INTEGER,
    UNIQUE (tenant_id, user_key),
    UNIQUE (tenant_id, id)
) STRICT;
CREATE INDEX users_by_group ON users (tenant_id, grp) WHERE grp IS NOT NULL;

-- A user at one location (token): written when a licence of that token is first assigned to
-- them (status 'registering', an outbox operation creating them at Apple on its way), then kept
-- from Apple's answers and notifications. invite_code / invite_url: Apple's invitation, shown to
-- the admin where no Managed Apple Account is given.
CREATE TABLE user_locations (
    tenant_id     INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    token_id      INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'registering'
                  CHECK (status IN ('registering', 'registered', 'associated', 'retiring', 'retired')),
    apple_user_id TEXT,
    invite_code   TEXT,
    invite_url    TEXT,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (user_id, token_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, token_id) REFERENCES tokens (tenant_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_locations_by_token ON user_locations (token_id);

-- One row per person holding an asset in a tenant, whichever token it came from: a person never
-- holds two licences of one app, however many locations they are registered at. The pool's
-- assigned_here counts these rows together with the devices' assignments.
CREATE TABLE user_assignments (
    tenant_id INTEGER NOT NULL,
    asset_id  INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    token_id  INTEGER NOT NULL,
    status    INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),   -- 0 pending, 1 confirmed by Apple
    batch_id  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, user_id),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, token_id) REFERENCES tokens (tenant_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_assignments_by_user ON user_assignments (tenant_id, user_id);
CREATE INDEX user_assignments_by_token ON user_assignments (token_id, asset_id);

-- A user waiting for an app no usable token had free (the queue of unmet demand, as for devices).
CREATE TABLE user_demand_queue (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    asset_id  INTEGER NOT NULL,
    user_id   INTEGER NOT NULL,
    queued_at INTEGER NOT NULL,
    UNIQUE (tenant_id, asset_id, user_id),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
) STRICT;
CREATE INDEX user_demand_queue_in_order ON user_demand_queue (tenant_id, asset_id, id);

-- What an outbox operation names: devices (serials), users (clientUserIds: associate,
-- disassociate, revoke), or user records (create the users at the location: kind 'associate';
-- retire them there: kind 'disassociate'). The serials table holds the clientUserIds of a user
-- operation. Never devices and users in one operation. (The kind column's CHECK cannot widen in
-- SQLite without rebuilding the outbox, hence the subject beside it.)
ALTER TABLE outbox ADD COLUMN subject TEXT NOT NULL DEFAULT 'devices' CHECK (subject IN ('devices', 'users', 'user_records'));
