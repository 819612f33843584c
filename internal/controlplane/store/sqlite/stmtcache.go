package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"

	"modernc.org/sqlite"
)

// The driver parses and plans every query it is given anew: for the store's
// short queries that was a sixth of mlopsd's CPU time. The connections
// opened here keep each query's prepared statement instead, per connection,
// and reuse it the next time the same query text comes. The store's queries
// are a small fixed set of constant strings (plus a few with a variable
// number of placeholders), so the cache stays small; maxCachedStmts bounds
// it all the same.
//
// database/sql prepares through the connection when it lacks the
// driver.QueryerContext and driver.ExecerContext shortcuts, which is why
// cachingConn does not offer them, and closes the statement when the query's
// rows are closed or its exec is done: Close of a cached statement only
// hands it back. A statement still in use (rows of the same query still open
// on this connection) is not shared: the second user gets a statement of its
// own, finalized on Close.

// maxCachedStmts bounds the prepared statements one connection keeps.
const maxCachedStmts = 256

// openDB opens a database/sql pool on dsn whose connections cache their
// prepared statements.
func openDB(dsn string) (*sql.DB, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(cachingConnector{base}), nil
}

// cachingConnector opens cachingConns.
type cachingConnector struct{ driver.Connector }

// Connect implements driver.Connector.
func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	prep, ok := conn.(driver.ConnPrepareContext)
	begin, ok2 := conn.(driver.ConnBeginTx)
	if !ok || !ok2 {
		_ = conn.Close()
		return nil, errors.New("sqlite: driver connection cannot prepare or begin with a context")
	}
	return &cachingConn{conn: conn, prep: prep, begin: begin, stmts: map[string]*cachedStmt{}}, nil
}

// cachingConn is a driver connection that keeps its prepared statements.
// database/sql uses a connection from one goroutine at a time; mu guards
// against a Close of rows from another one all the same.
type cachingConn struct {
	conn  driver.Conn
	prep  driver.ConnPrepareContext
	begin driver.ConnBeginTx

	mu    sync.Mutex
	stmts map[string]*cachedStmt
}

var (
	_ driver.Conn               = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// Prepare implements driver.Conn.
func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext implements driver.ConnPrepareContext: the cached
// statement of query when it is free, else a new one (kept for later when
// there is room).
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.mu.Lock()
	if s := c.stmts[query]; s != nil && !s.busy {
		s.busy = true
		c.mu.Unlock()
		return s, nil
	}
	c.mu.Unlock()
	ds, err := c.prep.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachedStmt{Stmt: ds, conn: c, busy: true}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, taken := c.stmts[query]; !taken && len(c.stmts) < maxCachedStmts {
		s.cached = true
		c.stmts[query] = s
	}
	return s, nil
}

// Close implements driver.Conn: it finalizes every cached statement, then
// closes the connection.
func (c *cachingConn) Close() error {
	c.mu.Lock()
	stmts := c.stmts
	c.stmts = map[string]*cachedStmt{}
	c.mu.Unlock()
	var errs []error
	for _, s := range stmts {
		errs = append(errs, s.Stmt.Close())
	}
	errs = append(errs, c.conn.Close())
	return errors.Join(errs...)
}

// Begin implements driver.Conn.
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.begin.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx implements driver.ConnBeginTx.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.begin.BeginTx(ctx, opts)
}

// Ping implements driver.Pinger.
func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// ResetSession implements driver.SessionResetter.
func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

// IsValid implements driver.Validator.
func (c *cachingConn) IsValid() bool {
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedStmt is a prepared statement of a cachingConn. busy is true while a
// caller holds it; cached is true when the connection keeps it.
type cachedStmt struct {
	driver.Stmt
	conn   *cachingConn
	busy   bool
	cached bool
}

var (
	_ driver.StmtExecContext  = (*cachedStmt)(nil)
	_ driver.StmtQueryContext = (*cachedStmt)(nil)
)

// Close implements driver.Stmt: a cached statement goes back to its
// connection, any other is finalized.
func (s *cachedStmt) Close() error {
	s.conn.mu.Lock()
	s.busy = false
	cached := s.cached
	s.conn.mu.Unlock()
	if cached {
		return nil
	}
	return s.Stmt.Close()
}

// ExecContext implements driver.StmtExecContext.
func (s *cachedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, errors.New("sqlite: driver statement cannot exec with a context")
}

// QueryContext implements driver.StmtQueryContext.
func (s *cachedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, errors.New("sqlite: driver statement cannot query with a context")
}
