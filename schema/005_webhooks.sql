-- Webhooks (issue 12, point 4): URLs of a tenant that receive its events as signed JSON.
--
-- Each webhook keeps a cursor over the events table rather than a queue of delivery rows: the
-- events are the queue. Recording an event writes nothing more (every path that records one
-- keeps its cost, and whatever kind of event the table holds is delivered), the order per
-- tenant is the events' id order, and a restart resumes from the cursor. A webhook delivers the
-- tenant's events after delivered_through_event_id one at a time, so a later event waits while
-- an earlier one is retried.
CREATE TABLE webhooks (
    id                         INTEGER PRIMARY KEY,
    tenant_id                  INTEGER NOT NULL REFERENCES tenants(id),
    url                        TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- The signing secret, sealed by the engine's SecretBox; shown once, when it was created.
    secret                     BLOB NOT NULL,
    created_at                 INTEGER NOT NULL,
    -- The cursor: every event of the tenant up to this id has been delivered or given up.
    delivered_through_event_id INTEGER NOT NULL CHECK (delivered_through_event_id >= 0),
    -- Failed tries of the event after the cursor, and when it goes next (seconds since 1970).
    failed_attempts            INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    next_attempt_at            INTEGER NOT NULL,
    last_error                 TEXT,
    -- A sender claims the webhook before it posts, so two senders never post one event at once.
    lease_owner                TEXT,
    lease_expires_at           INTEGER,
    UNIQUE (tenant_id, url)
) STRICT;
CREATE INDEX webhooks_by_next_attempt ON webhooks (next_attempt_at);
