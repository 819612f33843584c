package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlstore"
)

func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := openDB(dsn(filepath.Join(t.TempDir(), "cache.db"), true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3} {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, n); err != nil {
			t.Fatal(err)
		}
	}
	const q = `SELECT n FROM t WHERE n >= ? ORDER BY n`
	sum := func(rows *sql.Rows) int {
		t.Helper()
		total := 0
		for rows.Next() {
			var n int
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			total += n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return total
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The same query again while its first rows are open gets a statement
	// of its own; both read what they should.
	outer, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !outer.Next() {
		t.Fatal("no first row")
	}
	inner, err := tx.QueryContext(ctx, q, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum(inner); got != 5 {
		t.Fatalf("nested query sum = %d, want 5", got)
	}
	inner.Close()
	if got := sum(outer); got != 5 { // 2 + 3 after the first row (1)
		t.Fatalf("outer query sum after its first row = %d, want 5", got)
	}
	outer.Close()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Reused with other arguments, the cached statement starts afresh.
	for _, tc := range []struct{ from, want int }{{1, 6}, {3, 3}, {4, 0}, {1, 6}} {
		rows, err := db.QueryContext(ctx, q, tc.from)
		if err != nil {
			t.Fatal(err)
		}
		if got := sum(rows); got != tc.want {
			t.Fatalf("sum from %d = %d, want %d", tc.from, got, tc.want)
		}
		rows.Close()
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*cachingConn)
		if !ok {
			t.Fatalf("driver connection is a %T, not a *cachingConn", dc)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		s := c.stmts[q]
		if s == nil || s.busy {
			t.Fatalf("query not cached, or still marked busy: %+v", s)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPendingUsesIndex checks that SQLite plans Pending's query on the
// partial index objects_pending, not on a scan of every object of the kind.
func TestPendingUsesIndex(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "mlops.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.read.Query("EXPLAIN QUERY PLAN "+sqlstore.PendingQuery, "feature-groups")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(plan) == 0 || !strings.Contains(strings.Join(plan, "; "), "USING INDEX objects_pending") {
		t.Fatalf("query plan %q does not use the index objects_pending", plan)
	}
}
