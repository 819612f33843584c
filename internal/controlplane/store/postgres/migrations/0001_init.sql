-- 0001_init creates the object, idempotency and audit tables: the tables of
-- store/sqlite's 0001_init.sql, with the same columns, keys and meaning.
--
-- The columns that are compared or ordered by (kind, environment, name,
-- parent, keys and timestamps) use COLLATE "C", so they sort by bytes as on
-- SQLite, whatever locale the database was created with; pagination tokens
-- and the order of lists are then the same on both backends. Timestamps are
-- TEXT in the fixed-width UTC form 2006-01-02T15:04:05.000000Z, as on SQLite,
-- so that text order is time order and the shared code reads both alike.
-- Spec and status are TEXT rather than jsonb, which would reorder keys and
-- change the bytes a client gets back.

-- objects holds every object of every kind. Environments have environment ''.
-- phase and observed_generation are copied out of the status JSON on every
-- write so Pending can find work without parsing JSON.
CREATE TABLE objects (
    kind                  TEXT COLLATE "C" NOT NULL,
    environment           TEXT COLLATE "C" NOT NULL,
    name                  TEXT COLLATE "C" NOT NULL,
    uid                   TEXT COLLATE "C" NOT NULL UNIQUE,
    generation            BIGINT           NOT NULL,
    etag                  TEXT COLLATE "C" NOT NULL,
    parent                TEXT COLLATE "C" NOT NULL DEFAULT '',
    spec                  TEXT             NOT NULL,
    status                TEXT             NOT NULL,
    phase                 TEXT COLLATE "C" NOT NULL DEFAULT '',
    observed_generation   BIGINT           NOT NULL DEFAULT 0,
    created_at            TEXT COLLATE "C" NOT NULL,
    updated_at            TEXT COLLATE "C" NOT NULL,
    deletion_requested_at TEXT COLLATE "C",
    PRIMARY KEY (kind, environment, name)
);

-- Deleting an environment looks for any object in it; deleting a parent looks
-- for its children.
CREATE INDEX objects_environment_parent ON objects (environment, parent);

-- idempotency_keys remembers the result of every write that carried an
-- Idempotency-Key, written in the same transaction as the write itself. The
-- key is BYTEA: it may hold any byte, NUL included, which TEXT cannot.
CREATE TABLE idempotency_keys (
    key         BYTEA            NOT NULL PRIMARY KEY,
    fingerprint TEXT             NOT NULL,
    response    TEXT             NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL
);

-- audit_log is append-only: rows are never updated or deleted. seq is
-- assigned as max(seq)+1 inside the writing transaction, which holds the
-- write lock; a sequence would leave gaps behind rolled-back writes.
CREATE TABLE audit_log (
    seq           BIGINT           NOT NULL PRIMARY KEY,
    time          TEXT COLLATE "C" NOT NULL,
    actor         TEXT             NOT NULL,
    action        TEXT COLLATE "C" NOT NULL,
    kind          TEXT COLLATE "C" NOT NULL,
    environment   TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    uid           TEXT COLLATE "C" NOT NULL,
    generation    BIGINT           NOT NULL,
    before_digest TEXT             NOT NULL DEFAULT '',
    after_digest  TEXT             NOT NULL DEFAULT ''
);
