// Package sqlstore implements the rules of store.Store once for the SQL
// databases the control plane runs on, reached through database/sql. The
// backends (store/sqlite, store/postgres) open the database, apply their
// schema and say how a transaction begins; everything a write does inside
// its transaction (checks, idempotency keys, the audit record) lives here, so
// the backends cannot drift apart.
//
// Queries are written with ? placeholders and portable SQL. Timestamps are
// stored as TEXT in a fixed-width UTC form (see formatTime), which sorts in
// time order under a byte-wise collation.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Config is what a backend tells New.
type Config struct {
	// Name prefixes the errors that are faults of the database, e.g.
	// "sqlite: insert ...".
	Name string
	// DollarParams makes queries use $1, $2, ... (PostgreSQL) instead of ?.
	DollarParams bool
	// BinaryKeys passes idempotency keys as []byte, for a key column of a
	// binary type. A key may hold any byte: the server joins the caller and
	// the client's key with a NUL, and a header may carry bytes that are not
	// UTF-8, neither of which PostgreSQL's text can store.
	BinaryKeys bool
	// BeginWrite starts a write transaction. From the moment it returns until
	// the transaction ends, no other write transaction on the database may
	// run, in this process or any other: the checks a write makes, the
	// idempotency key lookup and the audit seq (max+1) rely on it.
	BeginWrite func(ctx context.Context) (*sql.Tx, error)
	// BeginLease starts the transaction in which leases are claimed and
	// released (ClaimLeases). It must see every lease committed before it
	// and lock what LockClause locks; nil means BeginWrite. PostgreSQL
	// passes a READ COMMITTED transaction without the write lock, so leases
	// never queue behind the writes of the API.
	BeginLease func(ctx context.Context) (*sql.Tx, error)
	// LockClause ends the query that reads the lease rows to claim, e.g.
	// " FOR UPDATE SKIP LOCKED"; empty where the transaction alone keeps
	// other claims out (SQLite's single writer).
	LockClause string
	// BeginRead starts a transaction in which every query sees one snapshot.
	BeginRead func(ctx context.Context) (*sql.Tx, error)
	// GroupCommit runs the write transactions of concurrent callers in one
	// database transaction, each in a savepoint, and answers them after its
	// one COMMIT (see groupcommit.go). It is for a database whose writes are
	// serialized anyway and whose COMMIT is the cost, as SQLite's are; with
	// it, BeginWrite and BeginLease (when nil) transactions begin with a
	// context that no caller can cancel.
	GroupCommit bool
	// ReadPool, when set and returning a pool, is where the reads that are
	// one query (Get, List, Pending) run without a transaction: one
	// statement sees one snapshot by itself, and on SQLite the BEGIN and
	// COMMIT around it were a quarter of a Get's time in the database.
	ReadPool func() *sql.DB
	// Clock gives the time of each write transaction; nil means the system
	// clock.
	Clock store.Clock
}

// Store implements every method of store.Store but Ping and Close, which
// the backend adds.
type Store struct {
	cfg   Config
	group groupCommit
}

// Option changes the Config of a store when its backend opens it.
type Option func(*Config)

// WithClock makes the store take the time of each write transaction from
// clock instead of the system clock, so tests can pin timestamps. A nil
// clock changes nothing.
func WithClock(clock store.Clock) Option {
	return func(cfg *Config) {
		if clock != nil {
			cfg.Clock = clock
		}
	}
}

// WithGroupCommit turns group commit (Config.GroupCommit) on or off.
func WithGroupCommit(on bool) Option {
	return func(cfg *Config) { cfg.GroupCommit = on }
}

// New returns a Store on the transactions cfg begins, with opts applied.
func New(cfg Config, opts ...Option) *Store {
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Store{cfg: cfg}
}

// tx is a transaction with the one timestamp all of its writes use. Queries
// go through its methods, which rewrite the placeholders for the database.
type tx struct {
	sqlTx *sql.Tx
	// q runs the queries: sqlTx, or the read pool for a read of one query
	// (readOne), when sqlTx is nil.
	q     queryer
	now   time.Time
	store *Store
	// ctx, when set, is the context the queries run with in place of the
	// one they are given: a write of a group commit runs to its end with
	// its caller's values but without its cancellation, since an
	// interrupted statement can roll back the whole batch's transaction.
	ctx context.Context
}

// queryer runs queries: a *sql.Tx or a *sql.DB.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readOne runs fn, which makes one query, on the read pool without a
// transaction where the backend has one (Config.ReadPool), and in a read
// transaction otherwise.
func readOne[T any](ctx context.Context, s *Store, fn func(tx *tx) (T, error)) (T, error) {
	if s.cfg.ReadPool != nil {
		if pool := s.cfg.ReadPool(); pool != nil {
			return fn(&tx{q: pool, store: s})
		}
	}
	return inTx(ctx, s.beginRead, fn)
}

// beginWrite starts a write transaction. The time is read once no other
// writer runs, so timestamps of committed writes never go backwards as long
// as the clock does not.
func (s *Store) beginWrite(ctx context.Context) (*tx, error) {
	t, err := s.cfg.BeginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: begin write: %w", s.cfg.Name, err)
	}
	return &tx{sqlTx: t, q: t, now: s.now(), store: s}, nil
}

// beginRead starts a read transaction, so that every query of one public
// method sees the same snapshot.
func (s *Store) beginRead(ctx context.Context) (*tx, error) {
	t, err := s.cfg.BeginRead(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: begin read: %w", s.cfg.Name, err)
	}
	// Reads write no timestamps, so they leave the clock alone.
	return &tx{sqlTx: t, q: t, store: s}, nil
}

// now returns the clock's time in the precision the store keeps.
func (s *Store) now() time.Time {
	return s.cfg.Clock().UTC().Truncate(time.Microsecond)
}

// rebind rewrites the ? placeholders of query for the database. None of the
// queries has a ? inside a string literal.
func (s *Store) rebind(query string) string {
	if !s.cfg.DollarParams {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// keyArg is the query argument for an idempotency key.
func (s *Store) keyArg(key string) any {
	if s.cfg.BinaryKeys {
		return []byte(key)
	}
	return key
}

// context returns the context a query given ctx runs with.
func (t *tx) context(ctx context.Context) context.Context {
	if t.ctx != nil {
		return t.ctx
	}
	return ctx
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.q.ExecContext(t.context(ctx), t.store.rebind(query), args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.q.QueryRowContext(t.context(ctx), t.store.rebind(query), args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.q.QueryContext(t.context(ctx), t.store.rebind(query), args...)
}

// errorf returns an error of the database, prefixed with the backend's name.
func (t *tx) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %w", t.store.cfg.Name, fmt.Errorf(format, args...))
}

// inTx runs fn in a transaction that begin starts, and commits it unless fn
// fails. Reads commit too: that ends the snapshot cleanly.
func inTx[T any](ctx context.Context, begin func(context.Context) (*tx, error), fn func(tx *tx) (T, error)) (T, error) {
	var zero T
	tx, err := begin(ctx)
	if err != nil {
		return zero, err
	}
	defer tx.rollback()
	v, err := fn(tx)
	if err != nil {
		return zero, err
	}
	if err := tx.commit(); err != nil {
		return zero, err
	}
	return v, nil
}

// rollback undoes the transaction. It is deferred right after begin and is a
// no-op once commit succeeded, so its error is of no interest.
func (t *tx) rollback() {
	_ = t.sqlTx.Rollback()
}

// commit commits the transaction.
func (t *tx) commit() error {
	if err := t.sqlTx.Commit(); err != nil {
		return t.errorf("commit: %w", err)
	}
	return nil
}

// Migrate applies the migrations/*.sql files of migrations that the table
// schema_migrations does not list yet, in lexical order of their names, each
// in its own write transaction. The check and the table's creation run in
// that transaction too, so processes opening the same new database at once
// apply every migration exactly once.
func Migrate(ctx context.Context, s *Store, migrations fs.FS) error {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("%s: list migrations: %w", s.cfg.Name, err)
	}
	sort.Strings(files)
	for _, file := range files {
		if err := s.migrateFile(ctx, migrations, file); err != nil {
			return err
		}
	}
	return nil
}

// migrateFile applies one migration unless it was applied before; it is
// recorded by its base name.
func (s *Store) migrateFile(ctx context.Context, migrations fs.FS, file string) error {
	name := path.Base(file)
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback()

	if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT NOT NULL PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return tx.errorf("create schema_migrations: %w", err)
	}
	var n int
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return tx.errorf("migration %s: %w", name, err)
	}
	if n > 0 {
		return nil
	}

	body, err := fs.ReadFile(migrations, file)
	if err != nil {
		return tx.errorf("migration %s: %w", name, err)
	}
	// The body is run as written: it holds several statements and no
	// placeholders to rewrite.
	if _, err := tx.sqlTx.ExecContext(ctx, string(body)); err != nil {
		return tx.errorf("migration %s: %w", name, err)
	}
	if step := goMigrations[name]; step != nil {
		if err := step(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.exec(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
		name, formatTime(tx.now)); err != nil {
		return tx.errorf("migration %s: %w", name, err)
	}
	return tx.commit()
}

// goMigrations are steps in Go that run right after the SQL migration of
// the same name, in its transaction, for what SQL cannot do portably.
var goMigrations = map[string]func(ctx context.Context, tx *tx) error{
	"0003_audit_chain.sql": chainAudit,
}

// timeFormat is how timestamps are stored: UTC, fixed width and with
// microseconds, so text order is time order and a round trip is exact.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// formatTime renders t as stored.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeFormat)
}

// parseTime reads a timestamp written by formatTime.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}
