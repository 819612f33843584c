-- 0001_init creates the object, idempotency and audit tables.
--
-- The SQL is kept portable between SQLite and PostgreSQL: plain TEXT and
-- BIGINT columns, no AUTOINCREMENT, no SQLite-only syntax. Timestamps are TEXT
-- in the fixed-width UTC form 2006-01-02T15:04:05.000000Z, so they sort as
-- text in the same order as in time.

-- objects holds every object of every kind. Environments have environment ''.
-- phase and observed_generation are copied out of the status JSON on every
-- write so Pending can find work without parsing JSON.
CREATE TABLE objects (
    kind                  TEXT   NOT NULL,
    environment           TEXT   NOT NULL,
    name                  TEXT   NOT NULL,
    uid                   TEXT   NOT NULL UNIQUE,
    generation            BIGINT NOT NULL,
    etag                  TEXT   NOT NULL,
    parent                TEXT   NOT NULL DEFAULT '',
    spec                  TEXT   NOT NULL,
    status                TEXT   NOT NULL,
    phase                 TEXT   NOT NULL DEFAULT '',
    observed_generation   BIGINT NOT NULL DEFAULT 0,
    created_at            TEXT   NOT NULL,
    updated_at            TEXT   NOT NULL,
    deletion_requested_at TEXT,
    PRIMARY KEY (kind, environment, name)
);

-- Deleting an environment looks for any object in it; deleting a parent looks
-- for its children.
CREATE INDEX objects_environment_parent ON objects (environment, parent);

-- idempotency_keys remembers the result of every write that carried an
-- Idempotency-Key, written in the same transaction as the write itself.
CREATE TABLE idempotency_keys (
    key         TEXT NOT NULL PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    response    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- audit_log is append-only: rows are never updated or deleted, so a hash
-- chain column can be added later. seq is assigned as max(seq)+1 inside the
-- writing transaction, which keeps it gapless (a sequence or AUTOINCREMENT
-- would leave gaps behind rolled-back writes on PostgreSQL).
CREATE TABLE audit_log (
    seq           BIGINT NOT NULL PRIMARY KEY,
    time          TEXT   NOT NULL,
    actor         TEXT   NOT NULL,
    action        TEXT   NOT NULL,
    kind          TEXT   NOT NULL,
    environment   TEXT   NOT NULL,
    name          TEXT   NOT NULL,
    uid           TEXT   NOT NULL,
    generation    BIGINT NOT NULL,
    before_digest TEXT   NOT NULL DEFAULT '',
    after_digest  TEXT   NOT NULL DEFAULT ''
);
