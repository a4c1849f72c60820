-- The ledger remembers which token key it was opened with, as a check value: an HMAC of a fixed
-- label under the key, never the key. A node started with another key refuses to start instead
-- of failing to read every stored token file. At most one row; a ledger without it records it
-- the first time a key that opens its token files is used.
CREATE TABLE key_check (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL,
    recorded_at BIGINT NOT NULL                  -- seconds since 1970
);
