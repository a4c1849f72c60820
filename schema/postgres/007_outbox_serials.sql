-- An operation's serials in a table of their own (issue 11, CPU per Apple call). Every step of
-- a delivery rewrites the outbox row (claimed, sent, claimed again, done), and with up to 1,000
-- serials inline (13 KB, on overflow pages) each rewrite copied them too: three updates and their
-- commits took 640 us with the serials in the row and 170 us without (measured on the fleet
-- benchmark's ledger). The serials are written once, when the operation is, and only read after.
CREATE TABLE outbox_serials (
    operation_id BIGINT PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
    serials      TEXT NOT NULL                   -- one serial a line
);
INSERT INTO outbox_serials (operation_id, serials) SELECT id, serials FROM outbox;
ALTER TABLE outbox DROP COLUMN serials;
