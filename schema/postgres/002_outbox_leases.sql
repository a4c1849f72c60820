-- PostgreSQL twin of schema/002_outbox_leases.sql: BIGINT for INTEGER, identity ids, BYTEA for BLOB.
-- Delivery order and leases of the outbox (issue 10 point 1, issue 11 point 2).
--
-- queue_order: the commit order that operations on one (token, asset, serial) must keep on their
-- way to Apple. NULL means the row's own id; an operation split to Apple's limits gives its
-- chunks the order of the original, so a split never moves work behind later operations.
ALTER TABLE outbox ADD COLUMN queue_order BIGINT;

-- lease_owner, lease_expires_at: a worker claims an operation here before it calls Apple, so two
-- workers (or two `allot push` processes) never send one operation at once. A worker that
-- crashed leaves its lease behind; it expires at lease_expires_at (seconds since 1970).
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_expires_at BIGINT;

-- A token's unfinished operations in commit order: the delivery window of its lane.
CREATE INDEX outbox_unfinished_by_token ON outbox (token_id, coalesce(queue_order, id), id)
    WHERE state IN ('pending', 'sent', 'paused');
