-- An idempotency key is bound to the request it first answered (BatchFingerprint): the same
-- key with another request is refused, never answered with the first request's answer. Rows
-- written before this migration have none and replay as before.
ALTER TABLE batches ADD COLUMN request_fingerprint TEXT;
