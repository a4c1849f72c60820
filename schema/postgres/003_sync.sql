-- PostgreSQL twin of schema/003_sync.sql: BIGINT for INTEGER, identity ids, BYTEA for BLOB.
-- What sync remembers between runs (issue 10 drift, issue 15 sinceVersionId).

-- The versionId of a token's assignments when Apple's and the ledger's last agreed: the next
-- sync asks Apple only for what changed since (sinceVersionId).
CREATE TABLE token_sync (
    token_id               BIGINT PRIMARY KEY REFERENCES tokens(id),
    assignments_version_id TEXT NOT NULL CHECK (length(assignments_version_id) > 0),
    agreed_at              BIGINT NOT NULL
);

-- Whether the reconcile schedule repairs the drift it finds (`allot sync --repair` does by hand).
ALTER TABLE tenants ADD COLUMN reconcile_repairs BIGINT NOT NULL DEFAULT 0 CHECK (reconcile_repairs IN (0, 1));
