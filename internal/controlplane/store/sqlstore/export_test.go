package sqlstore

import (
	"context"
	"database/sql"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// SetBeforeCommit makes every group commit batch of s call fn with its
// transaction and number of writes before its COMMIT; an error fails the
// batch as a failed COMMIT would. nil removes the hook.
func SetBeforeCommit(s *Store, fn func(t *sql.Tx, writes int) error) {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	s.group.beforeCommit = fn
}

// QueuedWrites returns how many writes wait for a batch of s.
func QueuedWrites(s *Store) int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return len(s.group.queue)
}

// LargestBatch returns the largest number of writes a batch of s has held.
func LargestBatch(s *Store) int {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return s.group.largest
}

// CreateThenFail creates obj and audits it in a write transaction, as
// Create does, and then fails with fail: unlike the store's own writes,
// which check before they write, it leaves statements to roll back.
func CreateThenFail(ctx context.Context, s *Store, obj *store.Object, fail error) error {
	_, err := writeTx(ctx, s, func(tx *tx) (struct{}, error) {
		created, err := createObject(ctx, tx, obj, nil)
		if err != nil {
			return struct{}{}, err
		}
		if err := appendAudit(ctx, tx, "tester", api.AuditCreate, nil, created); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, fail
	})
	return err
}
