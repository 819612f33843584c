-- 0003_audit_chain makes the audit log tamper-evident: every record carries
-- the hash of the record before it (prev_hash, '' for the first) and its own
-- hash, SHA-256 over a canonical encoding of its fields and prev_hash (see
-- sqlstore's auditHash). Records written before this migration are chained
-- by a Go step that runs in this migration's transaction (sqlstore's
-- goMigrations), since SQL alone cannot compute SHA-256 portably.
--
-- It adds tokens too: bearer tokens of mlopsd -auth on, kept only as the
-- hex SHA-256 of the token.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';

-- tokens: subject is "admin" or the name of a service account; expires_at is
-- '' for a token that does not expire.
CREATE TABLE tokens (
    token_sha256 TEXT NOT NULL PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    subject      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX tokens_subject ON tokens (subject);
