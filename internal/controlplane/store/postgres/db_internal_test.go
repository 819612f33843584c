package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/pgtest"
)

// TestWriteLock checks that a write transaction holds the write lock from
// its start until it ends: a write of another replica waits meanwhile, and
// goes through once the first transaction ends.
func TestWriteLock(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Start(t)
	a, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	tx, err := a.beginWrite(ctx)
	if err != nil {
		t.Fatalf("beginWrite: %v", err)
	}
	env := &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := b.Create(short, env, store.WriteOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Create while another write transaction is open = %v, want it to wait until its deadline", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(ctx, env, store.WriteOptions{}); err != nil {
		t.Fatalf("Create after the other transaction ended: %v", err)
	}
	// Reads never wait for the lock.
	tx, err = a.beginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	short, cancel = context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := b.Get(short, env.Ref()); err != nil {
		t.Fatalf("Get while a write transaction is open: %v", err)
	}
}
