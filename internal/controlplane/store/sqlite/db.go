// Package sqlite implements store.Store on a SQLite file through the pure-Go
// driver modernc.org/sqlite, so mlopsd needs no cgo and no database server.
//
// Every connection runs in WAL mode with synchronous=FULL, a busy timeout and
// foreign keys on. Writes go through a pool of exactly one connection whose
// transactions begin with BEGIN IMMEDIATE: writers queue for the write lock
// up front instead of failing with SQLITE_BUSY when they upgrade a read lock,
// and the checks a write runs see the state the write commits on. Reads use a
// separate read-only pool and, thanks to WAL, never wait for the writer.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"

	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// busyTimeout is how long a connection waits for a lock held by another
// connection (another process, in practice: in-process writers queue on the
// write pool) before it gives up with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// timeFormat is how timestamps are stored: UTC, fixed width and with
// microseconds, so text order is time order and a round trip is exact.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// Compile-time check that DB implements the contract.
var _ store.Store = (*DB)(nil)

// DB is a store.Store backed by one SQLite file.
type DB struct {
	path  string
	clock store.Clock
	// write has exactly one connection; see the package comment.
	write *sql.DB
	// read serves Get, List, Pending and ListAudit.
	read *sql.DB
}

// Option configures a DB in Open.
type Option func(*DB)

// WithClock makes the DB take the time of each transaction from clock
// instead of the system clock, so tests can pin timestamps.
func WithClock(clock store.Clock) Option {
	return func(db *DB) {
		if clock != nil {
			db.clock = clock
		}
	}
}

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

	db := &DB{
		path:  path,
		clock: func() time.Time { return time.Now().UTC() },
	}
	for _, opt := range opts {
		opt(db)
	}

	var err error
	if db.write, err = sql.Open("sqlite", dsn(path, true)); err != nil {
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
	if err := db.migrate(ctx); err != nil {
		_ = db.write.Close()
		return nil, err
	}

	if db.read, err = sql.Open("sqlite", dsn(path, false)); err != nil {
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

// tx is a transaction with the one timestamp all of its writes use.
type tx struct {
	*sql.Tx
	now time.Time
}

// beginWrite starts a BEGIN IMMEDIATE transaction on the write pool. The time
// is read after the write lock is held, so timestamps of committed writes
// never go backwards as long as the clock does not.
func (db *DB) beginWrite(ctx context.Context) (*tx, error) {
	t, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin write: %w", err)
	}
	return &tx{Tx: t, now: db.now()}, nil
}

// beginRead starts a read-only transaction on the read pool, so that every
// query of one public method sees the same snapshot.
func (db *DB) beginRead(ctx context.Context) (*tx, error) {
	t, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: begin read: %w", err)
	}
	// Reads write no timestamps, so they leave the clock alone.
	return &tx{Tx: t}, nil
}

// now returns the clock's time in the precision the store keeps.
func (db *DB) now() time.Time {
	return db.clock().UTC().Truncate(time.Microsecond)
}

// rollback undoes the transaction. It is deferred right after begin and is a
// no-op once commit succeeded, so its error is of no interest.
func (t *tx) rollback() {
	_ = t.Tx.Rollback()
}

// commit commits the transaction.
func (t *tx) commit() error {
	if err := t.Tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// migrate applies the embedded migrations that schema_migrations does not
// list yet, in lexical order of their names, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT NOT NULL PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`
	if _, err := db.write.ExecContext(ctx, createTable); err != nil {
		return fmt.Errorf("sqlite: create schema_migrations: %w", err)
	}

	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("sqlite: list migrations: %w", err)
	}
	sort.Strings(files)
	for _, file := range files {
		if err := db.migrateFile(ctx, file); err != nil {
			return err
		}
	}
	return nil
}

// migrateFile applies one migration unless it was applied before; it is
// recorded by its base name. The check runs inside the migration's own write
// transaction, so two processes opening the same new file cannot both apply it.
func (db *DB) migrateFile(ctx context.Context, file string) error {
	name := path.Base(file)
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()

	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", name, err)
	}
	if n > 0 {
		return nil
	}

	body, err := fs.ReadFile(migrationFS, file)
	if err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		name, formatTime(tx.now)); err != nil {
		return fmt.Errorf("sqlite: migration %s: %w", name, err)
	}
	return tx.commit()
}

// formatTime renders t as stored.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeFormat)
}

// parseTime reads a timestamp written by formatTime.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: bad timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}
