-- 0003_audit_chain makes the audit log tamper-evident and adds tokens: the
-- same change as store/sqlite's 0003_audit_chain.sql. Records written before
-- this migration are chained by a Go step in the same transaction
-- (sqlstore's goMigrations).
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';

-- tokens: subject is "admin" or the name of a service account; expires_at is
-- '' for a token that does not expire.
CREATE TABLE tokens (
    token_sha256 TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    id           TEXT COLLATE "C" NOT NULL UNIQUE,
    subject      TEXT COLLATE "C" NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    expires_at   TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX tokens_subject ON tokens (subject);
