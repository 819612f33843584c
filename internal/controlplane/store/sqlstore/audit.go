package sqlstore

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// ListAudit returns audit records with Seq > afterSeq, oldest first, at most
// limit of them (api.DefaultPageSize when limit is 0). It returns EINVALID
// (field "limit") for a limit outside 0..api.MaxPageSize.
func (s *Store) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]api.AuditRecord, error) {
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}

	return inTx(ctx, s.beginRead, func(tx *tx) ([]api.AuditRecord, error) {
		return listAuditRecords(ctx, tx, afterSeq, limit)
	})
}

// appendAudit records a write of obj (before and/or after; either may be nil
// but not both). The record is written in the write's transaction and takes
// the next seq, so the log has no gaps and no record of a rolled-back write.
func appendAudit(ctx context.Context, tx *tx, actor, action string, before, after *store.Object) error {
	obj := after
	if obj == nil {
		obj = before
	}
	var beforeDigest, afterDigest string
	if before != nil {
		beforeDigest = specDigest(before.Spec)
	}
	if after != nil {
		afterDigest = specDigest(after.Spec)
	}
	// Write transactions never run side by side (see Config.BeginWrite), so
	// max(seq)+1 cannot race. The subquery sits in VALUES, not in INSERT ...
	// SELECT, so that PostgreSQL types the parameters by their columns.
	if _, err := tx.exec(ctx, `INSERT INTO audit_log (
			seq, time, actor, action, kind, environment, name, uid, generation, before_digest, after_digest
		) VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		formatTime(tx.now), actor, action, obj.Kind, obj.Meta.Environment, obj.Meta.Name, obj.Meta.UID,
		obj.Meta.Generation, beforeDigest, afterDigest); err != nil {
		return tx.errorf("append audit record for %s: %w", obj.Ref(), err)
	}
	return nil
}

// listAuditRecords reads up to limit records after afterSeq.
func listAuditRecords(ctx context.Context, tx *tx, afterSeq int64, limit int) ([]api.AuditRecord, error) {
	rows, err := tx.query(ctx, `SELECT
			seq, time, actor, action, kind, environment, name, uid, generation, before_digest, after_digest
		FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, tx.errorf("list audit records: %w", err)
	}
	defer rows.Close()
	recs := []api.AuditRecord{}
	for rows.Next() {
		var rec api.AuditRecord
		var t string
		if err := rows.Scan(&rec.Seq, &t, &rec.Actor, &rec.Action, &rec.Kind, &rec.Environment, &rec.Name,
			&rec.UID, &rec.Generation, &rec.BeforeDigest, &rec.AfterDigest); err != nil {
			return nil, tx.errorf("list audit records: %w", err)
		}
		if rec.Time, err = parseTime(t); err != nil {
			return nil, tx.errorf("list audit records: %w", err)
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.errorf("list audit records: %w", err)
	}
	return recs, nil
}
