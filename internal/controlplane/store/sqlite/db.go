// Package sqlite implements store.Store on a SQLite file through the pure-Go
// driver modernc.org/sqlite, so mlopsd needs no cgo and no database server.
//
// Every connection runs in WAL mode with synchronous=FULL, a busy timeout and
// foreign keys on. Writes go through a pool of exactly one connection whose
// transactions begin with BEGIN IMMEDIATE: writers queue for the write lock
// up front instead of failing with SQLITE_BUSY when they upgrade a read lock,
// and the checks a write runs see the state the write commits on. Writes of
// concurrent callers share one such transaction and its one COMMIT (group
// commit, see sqlstore.Config.GroupCommit), each in a savepoint of its own,
// and are answered once it is durable. Reads use a separate read-only pool
// and, thanks to WAL, never wait for the writer.
//
// What a write does inside its transaction is shared with the PostgreSQL
// backend in store/sqlstore.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlstore"

	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// busyTimeout is how long a connection waits for a lock held by another
// connection (another process, in practice: in-process writers queue on the
// write pool) before it gives up with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Compile-time check that DB implements the contract.
var _ store.Store = (*DB)(nil)

// DB is a store.Store backed by one SQLite file.
type DB struct {
	// Store implements the reads and writes on the pools below.
	*sqlstore.Store

	path string
	// write has exactly one connection; see the package comment.
	write *sql.DB
	// read serves Get, List, Pending and ListAudit.
	read *sql.DB
}

// Option configures a DB in Open.
type Option = sqlstore.Option

// WithClock makes the DB take the time of each transaction from clock
// instead of the system clock, so tests can pin timestamps.
func WithClock(clock store.Clock) Option { return sqlstore.WithClock(clock) }

// WithGroupCommit turns group commit off (false) or on (true, the default):
// with it, the writes of concurrent callers share one transaction and one
// COMMIT, each in a savepoint of its own.
func WithGroupCommit(on bool) Option { return sqlstore.WithGroupCommit(on) }

// Open opens (creating if needed) the SQLite database at path and applies
// any migrations it has not seen yet. path must name a file: an in-memory
// database would not be shared between the read and write pools.
func Open(path string, opts ...Option) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: the path must name a database file", path)
	}
	// The driver cuts the DSN at the first '?', so a path holding one would
	// open a different file than asked for.
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: open %q: the path must not contain '?'", path)
	}

	db := &DB{path: path}
	db.Store = sqlstore.New(sqlstore.Config{
		Name:       "sqlite",
		BeginWrite: db.beginWrite,
		BeginRead:  db.beginRead,
		// The one writer runs the writes one at a time anyway, and the
		// COMMIT's fsync is most of a small write's cost: concurrent
		// writes share one (see sqlstore.Config.GroupCommit).
		GroupCommit: true,
		// Nil until Open opened the read pool, after the migrations.
		ReadPool: func() *sql.DB { return db.read },
	}, opts...)

	var err error
	if db.write, err = openDB(dsn(path, true)); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	// Keep the writer's connection for the life of the DB: reopening it would
	// repeat the pragmas on every write burst for no gain.
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)

	ctx := context.Background()
	// The writer opens first and alone, so the switch to WAL (which needs a
	// write lock the first time) and the migrations race with no reader of
	// this DB; another process is kept out by each migration's own BEGIN
	// IMMEDIATE transaction.
	if err := db.checkJournalMode(ctx); err != nil {
		_ = db.write.Close()
		return nil, err
	}
	if err := sqlstore.Migrate(ctx, db.Store, migrationFS); err != nil {
		_ = db.write.Close()
		return nil, err
	}

	if db.read, err = openDB(dsn(path, false)); err != nil {
		_ = db.write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.NumCPU())
	db.read.SetMaxOpenConns(readers)
	db.read.SetMaxIdleConns(readers)
	if err := db.read.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// dsn builds the driver's data source name. The pragmas are in the DSN so the
// driver runs them on every new connection, not just the first.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		// A read that tried to write would take the write lock behind the
		// writer pool's back; make it fail instead.
		q.Set("_query_only", "1")
	}
	return path + "?" + q.Encode()
}

// checkJournalMode makes sure the file really is in WAL mode: SQLite silently
// keeps the old journal mode where WAL is not possible (some network file
// systems), and readers would then block the writer.
func (db *DB) checkJournalMode(ctx context.Context) error {
	var mode string
	if err := db.write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", db.path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: open %s: journal_mode is %q, want wal", db.path, mode)
	}
	return nil
}

// Close closes both connection pools. The last connection to close
// checkpoints the WAL into the main file.
func (db *DB) Close() error {
	var errs []error
	if db.read != nil {
		if err := db.read.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close read pool: %w", err))
		}
	}
	if db.write != nil {
		if err := db.write.Close(); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close write pool: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Ping checks that both pools can run a query.
func (db *DB) Ping(ctx context.Context) error {
	for _, pool := range []*sql.DB{db.read, db.write} {
		var one int
		if err := pool.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return fmt.Errorf("sqlite: ping: %w", err)
		}
	}
	return nil
}

// beginWrite starts a BEGIN IMMEDIATE transaction on the write pool: it
// holds the file's write lock from the start.
func (db *DB) beginWrite(ctx context.Context) (*sql.Tx, error) {
	return db.write.BeginTx(ctx, nil)
}

// beginRead starts a read-only transaction on the read pool.
func (db *DB) beginRead(ctx context.Context) (*sql.Tx, error) {
	return db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}
