// Package postgres implements store.Store on a PostgreSQL database through
// pgx (its database/sql driver), so that several mlopsd replicas can share
// one database.
//
// Every write transaction first takes one transaction-scoped advisory lock
// (pg_advisory_xact_lock), so writes run one at a time across all replicas,
// exactly as with SQLite's single writer: the checks a write makes see the
// state it commits on, idempotency keys cannot race, and the audit seq
// (max+1) has no gaps. The lock is released when the transaction ends,
// whether it commits, rolls back or its connection dies. Reads run in
// REPEATABLE READ READ ONLY transactions and never wait for writers.
//
// The rules of every write are shared with the SQLite backend in
// store/sqlstore; this package adds the connection, the lock and the schema.
// Names are stored with COLLATE "C", so lists are ordered by bytes, as on
// SQLite, whatever the database's locale.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// writeLockKey is the advisory lock every write transaction holds: the
// bytes of "mlops" as a number. Advisory locks are per database, so stores
// in different databases of one server do not contend.
const writeLockKey int64 = 0x6d6c6f7073

// defaultConnectTimeout bounds each attempt to connect when the DSN sets no
// connect_timeout, so an unreachable server fails mlopsd's start instead of
// hanging on the operating system's TCP timeout.
const defaultConnectTimeout = 10 * time.Second

// Compile-time check that DB implements the contract.
var _ store.Store = (*DB)(nil)

// DB is a store.Store backed by a PostgreSQL database.
type DB struct {
	// Store implements the reads and writes on pool.
	*sqlstore.Store

	pool *sql.DB
}

// Option configures a DB in Open.
type Option = sqlstore.Option

// WithClock makes the DB take the time of each transaction from clock
// instead of the system clock, so tests can pin timestamps.
func WithClock(clock store.Clock) Option { return sqlstore.WithClock(clock) }

// Open connects to the PostgreSQL database dsn names (a postgres:// URL or
// a "key=value ..." string, as libpq takes them) and applies any migrations
// it has not seen yet. Errors never repeat the DSN, which may hold a
// password; Describe names a DSN safely.
func Open(dsn string, opts ...Option) (*DB, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db := &DB{}
	db.Store = sqlstore.New(sqlstore.Config{
		Name:         "postgres",
		DollarParams: true,
		BinaryKeys:   true,
		BeginWrite:   db.beginWrite,
		BeginRead:    db.beginRead,
		BeginLease:   db.beginLease,
		LockClause:   " FOR UPDATE SKIP LOCKED",
	}, opts...)

	db.pool = stdlib.OpenDB(*cfg)
	// Writers wait for the lock holding a connection each; the pool leaves
	// room for reads beside them, and many replicas still fit in PostgreSQL's
	// default max_connections of 100.
	conns := max(8, 2*runtime.NumCPU())
	db.pool.SetMaxOpenConns(conns)
	db.pool.SetMaxIdleConns(conns)
	db.pool.SetConnMaxIdleTime(5 * time.Minute)

	ctx := context.Background()
	if err := db.pool.PingContext(ctx); err != nil {
		_ = db.pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	// Each migration runs in a write transaction, under the advisory lock:
	// replicas starting at once apply each migration exactly once.
	if err := sqlstore.Migrate(ctx, db.Store, migrationFS); err != nil {
		_ = db.pool.Close()
		return nil, err
	}
	return db, nil
}

// parseDSN parses dsn and sets a connect timeout unless it has one.
func parseDSN(dsn string) (*pgx.ConnConfig, error) {
	if dsn == "" {
		return nil, errors.New("postgres: open: no database URL given")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx quotes the DSN with the password masked, but only as far as
		// it could parse it; say "the database URL" instead.
		msg := err.Error()
		if i, j := strings.Index(msg, "`"), strings.LastIndex(msg, "`"); i < j {
			msg = msg[:i] + "the database URL" + msg[j+1:]
		}
		return nil, fmt.Errorf("postgres: open: %s", msg)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	return cfg, nil
}

// Describe names the database dsn points at, as user@host:port/database,
// without the password, for logs and error messages. A DSN it cannot parse
// is described as such.
func Describe(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "(unparsable database URL)"
	}
	return describe(cfg)
}

func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("postgres://%s@%s/%s", cfg.User, net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.Database)
}

// Close closes the connection pool.
func (db *DB) Close() error {
	if err := db.pool.Close(); err != nil {
		return fmt.Errorf("postgres: close: %w", err)
	}
	return nil
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// beginWrite starts a READ COMMITTED transaction and takes the write lock
// before anything else. Each later statement takes a fresh snapshot, so it
// sees every write committed before the lock was granted.
func (db *DB) beginWrite(ctx context.Context) (*sql.Tx, error) {
	tx, err := db.pool.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLockKey); err != nil {
		_ = tx.Rollback()
		return nil, fmt.Errorf("take the write lock: %w", err)
	}
	return tx, nil
}

// beginRead starts a read-only transaction on one snapshot.
func (db *DB) beginRead(ctx context.Context) (*sql.Tx, error) {
	return db.pool.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
}

// beginLease starts a READ COMMITTED transaction without the write lock:
// claims lock the lease rows they change (FOR UPDATE SKIP LOCKED, and the
// primary key for inserts), so they need not wait for the API's writes.
func (db *DB) beginLease(ctx context.Context) (*sql.Tx, error) {
	return db.pool.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
}
