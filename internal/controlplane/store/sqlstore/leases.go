package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// leaseChunk bounds the uids one statement names, well below the
// parameter limits of both databases.
const leaseChunk = 500

// ClaimLeases implements store.Store. It runs in one lease transaction (see
// Config.BeginLease): it first locks the lease rows of uids that exist, with
// Config.LockClause (FOR UPDATE SKIP LOCKED on PostgreSQL, so rows another
// replica is claiming at this moment are skipped instead of waited for),
// then renews or takes over those it may have, and inserts the missing ones
// for objects that exist. On SQLite the single writer does the locking.
func (s *Store) ClaimLeases(ctx context.Context, holder string, uids []string, ttl time.Duration) ([]string, error) {
	if holder == "" {
		return nil, errors.New(s.cfg.Name + ": claim leases: no holder given")
	}
	if ttl <= 0 {
		return nil, errors.New(s.cfg.Name + ": claim leases: the ttl must be positive")
	}
	var claimed []string
	for start := 0; start < len(uids); start += leaseChunk {
		chunk := uids[start:min(start+leaseChunk, len(uids))]
		got, err := leaseTx(ctx, s, func(tx *tx) ([]string, error) {
			return claimChunk(ctx, tx, holder, chunk, ttl)
		})
		if err != nil {
			return nil, err
		}
		claimed = append(claimed, got...)
	}
	return claimed, nil
}

// claimChunk claims the leases of uids in tx.
func claimChunk(ctx context.Context, tx *tx, holder string, uids []string, ttl time.Duration) ([]string, error) {
	now := formatTime(tx.now)
	until := formatTime(tx.now.Add(ttl))

	// Rows that exist and that nobody else is claiming right now.
	args := make([]any, 0, len(uids))
	for _, uid := range uids {
		args = append(args, uid)
	}
	rows, err := tx.query(ctx, `SELECT uid, holder, expires_at FROM leases WHERE uid IN (`+placeholders(len(uids))+`)`+tx.store.cfg.LockClause, args...)
	if err != nil {
		return nil, tx.errorf("select leases: %w", err)
	}
	type lease struct{ holder, expires string }
	locked := map[string]lease{}
	for rows.Next() {
		var uid string
		var l lease
		if err := rows.Scan(&uid, &l.holder, &l.expires); err != nil {
			_ = rows.Close()
			return nil, tx.errorf("select leases: %w", err)
		}
		locked[uid] = l
	}
	if err := rows.Close(); err != nil {
		return nil, tx.errorf("select leases: %w", err)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.errorf("select leases: %w", err)
	}

	var claimed []string
	seen := map[string]bool{}
	for _, uid := range uids {
		if seen[uid] {
			continue
		}
		seen[uid] = true
		if l, ok := locked[uid]; ok {
			if l.holder != holder && l.expires > now {
				continue
			}
			if _, err := tx.exec(ctx, `UPDATE leases SET holder = ?, expires_at = ? WHERE uid = ?`, holder, until, uid); err != nil {
				return nil, tx.errorf("renew lease: %w", err)
			}
			claimed = append(claimed, uid)
			continue
		}
		// No row, or one another replica has locked: insert unless a row
		// exists. The SELECT leaves out uids of no object; its WHERE also
		// keeps SQLite from reading ON CONFLICT as a join clause.
		res, err := tx.exec(ctx, `INSERT INTO leases (uid, holder, expires_at)
			SELECT uid, CAST(? AS TEXT), CAST(? AS TEXT) FROM objects WHERE uid = ?
			ON CONFLICT (uid) DO NOTHING`, holder, until, uid)
		if err != nil {
			return nil, tx.errorf("insert lease: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, tx.errorf("insert lease: %w", err)
		}
		if n == 1 {
			claimed = append(claimed, uid)
		}
	}
	return claimed, nil
}

// ReleaseLeases implements store.Store.
func (s *Store) ReleaseLeases(ctx context.Context, holder string, uids []string) error {
	if uids == nil {
		_, err := leaseTx(ctx, s, func(tx *tx) (struct{}, error) {
			if _, err := tx.exec(ctx, `DELETE FROM leases WHERE holder = ?`, holder); err != nil {
				return struct{}{}, tx.errorf("release leases: %w", err)
			}
			return struct{}{}, nil
		})
		return err
	}
	for start := 0; start < len(uids); start += leaseChunk {
		chunk := uids[start:min(start+leaseChunk, len(uids))]
		args := []any{holder}
		for _, uid := range chunk {
			args = append(args, uid)
		}
		_, err := leaseTx(ctx, s, func(tx *tx) (struct{}, error) {
			if _, err := tx.exec(ctx, `DELETE FROM leases WHERE holder = ? AND uid IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
				return struct{}{}, tx.errorf("release leases: %w", err)
			}
			return struct{}{}, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// placeholders returns n comma-separated ? placeholders.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// beginLease starts a lease transaction: Config.BeginLease, or a write
// transaction when the backend has none.
func (s *Store) beginLease(ctx context.Context) (*tx, error) {
	if s.cfg.BeginLease == nil {
		return s.beginWrite(ctx)
	}
	t, err := s.cfg.BeginLease(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: begin lease: %w", s.cfg.Name, err)
	}
	return &tx{sqlTx: t, q: t, now: s.now(), store: s}, nil
}
