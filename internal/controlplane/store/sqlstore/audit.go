package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"iter"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// ListAudit returns audit records with Seq > afterSeq, oldest first, at most
// limit of them (api.DefaultPageSize when limit is 0). It returns EINVALID
// (field "limit") for a limit outside 0..api.MaxPageSize.
func (s *Store) ListAudit(ctx context.Context, afterSeq int64, limit int) ([]api.AuditRecord, error) {
	return s.QueryAudit(ctx, api.AuditQuery{AfterSeq: afterSeq, Limit: limit})
}

// QueryAudit returns the audit records q selects, oldest first. It returns
// EINVALID (field "limit") for a limit outside 0..api.MaxPageSize.
func (s *Store) QueryAudit(ctx context.Context, q api.AuditQuery) ([]api.AuditRecord, error) {
	limit, err := pageLimit(q.Limit)
	if err != nil {
		return nil, err
	}
	q.Limit = limit
	return inTx(ctx, s.beginRead, func(tx *tx) ([]api.AuditRecord, error) {
		return listAuditRecords(ctx, tx, q)
	})
}

// ExportAudit yields every audit record with Seq > afterSeq, oldest first.
// It reads page by page, each page in its own read transaction, so a long
// export holds no snapshot open; records appended meanwhile are included.
func (s *Store) ExportAudit(ctx context.Context, afterSeq int64) iter.Seq2[api.AuditRecord, error] {
	return func(yield func(api.AuditRecord, error) bool) {
		for {
			recs, err := s.QueryAudit(ctx, api.AuditQuery{AfterSeq: afterSeq, Limit: api.MaxPageSize})
			if err != nil {
				yield(api.AuditRecord{}, err)
				return
			}
			for _, rec := range recs {
				if !yield(rec, nil) {
					return
				}
			}
			if len(recs) < api.MaxPageSize {
				return
			}
			afterSeq = recs[len(recs)-1].Seq
		}
	}
}

// VerifyAudit walks the whole audit log in one snapshot and returns the
// first record that breaks the hash chain, or nil when the log is intact.
func (s *Store) VerifyAudit(ctx context.Context) (*store.AuditBreak, error) {
	return inTx(ctx, s.beginRead, func(tx *tx) (*store.AuditBreak, error) {
		rows, err := tx.query(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
		if err != nil {
			return nil, tx.errorf("verify audit log: %w", err)
		}
		defer rows.Close()
		var prev api.AuditRecord
		for rows.Next() {
			rec, err := scanAuditRecord(rows)
			if err != nil {
				return nil, tx.errorf("verify audit log: %w", err)
			}
			if b := checkLink(prev, rec); b != nil {
				return b, nil
			}
			prev = rec
		}
		if err := rows.Err(); err != nil {
			return nil, tx.errorf("verify audit log: %w", err)
		}
		return nil, nil
	})
}

// checkLink checks rec against the record before it (zero for none).
func checkLink(prev, rec api.AuditRecord) *store.AuditBreak {
	if reason := api.AuditLinkProblem(prev, rec); reason != "" {
		return &store.AuditBreak{Seq: rec.Seq, Reason: reason, Record: rec}
	}
	return nil
}

// auditHash is api.AuditHash: the API's clients verify the chain with the
// same definition.
func auditHash(rec api.AuditRecord) string { return api.AuditHash(rec) }

// appendAudit records a write of obj (before and/or after; either may be nil
// but not both). The record is written in the write's transaction and takes
// the next seq, so the log has no gaps and no record of a rolled-back write.
func appendAudit(ctx context.Context, tx *tx, actor, action string, before, after *store.Object) error {
	obj := after
	if obj == nil {
		obj = before
	}
	rec := api.AuditRecord{
		Time: tx.now, Actor: actor, Action: action, Kind: obj.Kind, Environment: obj.Meta.Environment,
		Name: obj.Meta.Name, UID: obj.Meta.UID, Generation: obj.Meta.Generation,
	}
	if before != nil {
		rec.BeforeDigest = api.AuditDigest(before.Kind, before.Spec)
	}
	if after != nil {
		rec.AfterDigest = api.AuditDigest(after.Kind, after.Spec)
	}
	// Write transactions never run side by side (see Config.BeginWrite), so
	// the last record cannot change before this one is inserted.
	last, err := lastAuditLink(ctx, tx)
	if err != nil {
		return err
	}
	rec.Seq, rec.PrevHash = last.Seq+1, last.Hash
	rec.Hash = auditHash(rec)
	if _, err := tx.exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rec.Seq, formatTime(rec.Time), rec.Actor, rec.Action, rec.Kind, rec.Environment, rec.Name, rec.UID,
		rec.Generation, rec.BeforeDigest, rec.AfterDigest, rec.PrevHash, rec.Hash); err != nil {
		return tx.errorf("append audit record for %s: %w", obj.Ref(), err)
	}
	return nil
}

// lastAuditLink returns the seq and hash of the newest record (zero when the
// log is empty).
func lastAuditLink(ctx context.Context, tx *tx) (api.AuditRecord, error) {
	var last api.AuditRecord
	err := tx.queryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last.Seq, &last.Hash)
	if err != nil && !isNoRows(err) {
		return last, tx.errorf("read last audit record: %w", err)
	}
	return last, nil
}

// chainAudit is the Go step of migration 0003_audit_chain: it chains the
// records written before the log had hashes, oldest first, in the
// migration's transaction.
func chainAudit(ctx context.Context, tx *tx) error {
	rows, err := tx.query(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
	if err != nil {
		return tx.errorf("chain audit log: %w", err)
	}
	var recs []api.AuditRecord
	for rows.Next() {
		rec, err := scanAuditRecord(rows)
		if err != nil {
			rows.Close()
			return tx.errorf("chain audit log: %w", err)
		}
		recs = append(recs, rec)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return tx.errorf("chain audit log: %w", err)
	}
	prevHash := ""
	for _, rec := range recs {
		rec.PrevHash = prevHash
		rec.Hash = auditHash(rec)
		if _, err := tx.exec(ctx, `UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?`, rec.PrevHash, rec.Hash, rec.Seq); err != nil {
			return tx.errorf("chain audit record %d: %w", rec.Seq, err)
		}
		prevHash = rec.Hash
	}
	return nil
}

// auditColumns are the columns of audit_log in the order scanAuditRecord
// reads them.
const auditColumns = `seq, time, actor, action, kind, environment, name, uid, generation, before_digest, after_digest, prev_hash, hash`

// scanAuditRecord reads one row of auditColumns.
func scanAuditRecord(rows interface{ Scan(...any) error }) (api.AuditRecord, error) {
	var rec api.AuditRecord
	var t string
	if err := rows.Scan(&rec.Seq, &t, &rec.Actor, &rec.Action, &rec.Kind, &rec.Environment, &rec.Name,
		&rec.UID, &rec.Generation, &rec.BeforeDigest, &rec.AfterDigest, &rec.PrevHash, &rec.Hash); err != nil {
		return rec, err
	}
	var err error
	rec.Time, err = parseTime(t)
	return rec, err
}

// listAuditRecords reads the records q selects; q.Limit is checked.
func listAuditRecords(ctx context.Context, tx *tx, q api.AuditQuery) ([]api.AuditRecord, error) {
	where := []string{"seq > ?"}
	args := []any{q.AfterSeq}
	if q.Environment != "" {
		// An environment's own records have environment '' and its name.
		where = append(where, "(environment = ? OR (environment = '' AND kind = ? AND name = ?))")
		args = append(args, q.Environment, api.KindEnvironment, q.Environment)
	}
	for _, f := range []struct{ col, v string }{{"kind", q.Kind}, {"name", q.Name}, {"actor", q.Actor}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	if !q.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, formatTime(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, formatTime(q.Until))
	}
	if q.BeforeSeq > 0 {
		where = append(where, "seq < ?")
		args = append(args, q.BeforeSeq)
	}
	order := "seq"
	if q.Newest {
		order = "seq DESC"
	}
	rows, err := tx.query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT ?`, append(args, q.Limit)...)
	if err != nil {
		return nil, tx.errorf("list audit records: %w", err)
	}
	defer rows.Close()
	recs := []api.AuditRecord{}
	for rows.Next() {
		rec, err := scanAuditRecord(rows)
		if err != nil {
			return nil, tx.errorf("list audit records: %w", err)
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.errorf("list audit records: %w", err)
	}
	return recs, nil
}

// isNoRows reports whether err says a query returned no row.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
