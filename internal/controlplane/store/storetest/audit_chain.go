package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// seedAudit makes six audited writes by three actors in two environments,
// one second apart (stepClock), and returns the log.
func seedAudit(t *testing.T, db store.Store) []api.AuditRecord {
	t.Helper()
	ctx := context.Background()
	mustCreate(t, db, envRef("dev"), "", `{"policy":{}}`)
	mustCreate(t, db, envRef("prod"), "", `{"policy":{}}`)
	for _, env := range []string{"dev", "prod"} {
		if _, err := db.Create(ctx, newObject(ref(api.KindComputePool, env, "gpu"), "", `{"a":1}`), store.WriteOptions{Actor: "alice"}); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	if _, err := db.UpdateSpec(ctx, ref(api.KindComputePool, "dev", "gpu"), json.RawMessage(`{"a":2}`), store.WriteOptions{Actor: "bob"}); err != nil {
		t.Fatalf("UpdateSpec: %v", err)
	}
	if _, err := db.UpdateSpec(ctx, envRef("dev"), json.RawMessage(`{"policy":{"x":1}}`), store.WriteOptions{Actor: "bob"}); err != nil {
		t.Fatalf("UpdateSpec: %v", err)
	}
	recs := mustAudit(t, db)
	if len(recs) != 6 {
		t.Fatalf("audit log has %d records, want 6", len(recs))
	}
	return recs
}

func (s *suite) testAuditChain(t *testing.T) {
	ctx := context.Background()

	t.Run("Linked", func(t *testing.T) {
		db, _ := s.open(t)
		recs := seedAudit(t, db)
		prev := ""
		for _, rec := range recs {
			if rec.PrevHash != prev || len(rec.Hash) != 64 {
				t.Fatalf("record %d: prev_hash %q hash %q; want prev_hash %q and a 64-digit hash", rec.Seq, rec.PrevHash, rec.Hash, prev)
			}
			prev = rec.Hash
		}
		b, err := db.VerifyAudit(ctx)
		if err != nil || b != nil {
			t.Fatalf("VerifyAudit = %+v, %v; want intact", b, err)
		}
	})

	t.Run("VerifyEmpty", func(t *testing.T) {
		db, _ := s.open(t)
		if b, err := db.VerifyAudit(ctx); err != nil || b != nil {
			t.Fatalf("VerifyAudit = %+v, %v; want intact", b, err)
		}
	})

	t.Run("Export", func(t *testing.T) {
		db, _ := s.open(t)
		recs := seedAudit(t, db)
		var got []api.AuditRecord
		for rec, err := range db.ExportAudit(ctx, 2) {
			if err != nil {
				t.Fatalf("ExportAudit: %v", err)
			}
			got = append(got, rec)
		}
		wantEqual(t, "export after seq 2", got, recs[2:])
		n := 0
		for _, err := range db.ExportAudit(ctx, 0) {
			if err != nil {
				t.Fatalf("ExportAudit: %v", err)
			}
			n++
			break
		}
		if n != 1 {
			t.Fatalf("ExportAudit did not stop when asked")
		}
	})

	t.Run("Query", func(t *testing.T) {
		db, _ := s.open(t)
		recs := seedAudit(t, db)
		seqs := func(q api.AuditQuery) []int64 {
			t.Helper()
			got, err := db.QueryAudit(ctx, q)
			if err != nil {
				t.Fatalf("QueryAudit(%+v): %v", q, err)
			}
			out := []int64{}
			for _, r := range got {
				out = append(out, r.Seq)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			q    api.AuditQuery
			want []int64
		}{
			{"All", api.AuditQuery{}, []int64{1, 2, 3, 4, 5, 6}},
			// dev's own records (1, 6) and those of objects in it (3, 5).
			{"Environment", api.AuditQuery{Environment: "dev"}, []int64{1, 3, 5, 6}},
			{"Kind", api.AuditQuery{Kind: api.KindEnvironment}, []int64{1, 2, 6}},
			{"Name", api.AuditQuery{Environment: "prod", Name: "gpu"}, []int64{4}},
			{"Actor", api.AuditQuery{Actor: "bob"}, []int64{5, 6}},
			{"Since", api.AuditQuery{Since: recs[3].Time}, []int64{4, 5, 6}},
			{"Until", api.AuditQuery{Until: recs[3].Time}, []int64{1, 2, 3}},
			{"SinceUntil", api.AuditQuery{Since: recs[1].Time, Until: recs[1].Time.Add(time.Microsecond)}, []int64{2}},
			{"Page", api.AuditQuery{Environment: "dev", AfterSeq: 1, Limit: 2}, []int64{3, 5}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantEqual(t, "seqs", seqs(tc.q), tc.want)
			})
		}
		_, err := db.QueryAudit(ctx, api.AuditQuery{Limit: api.MaxPageSize + 1})
		wantCode(t, err, api.EINVALID)
	})

	if s.b.ExecSQL == nil {
		return
	}
	for _, tc := range []struct {
		name, query string
		seq         int64
	}{
		{"TamperedActor", `UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`, 3},
		{"TamperedDigest", `UPDATE audit_log SET after_digest = 'x' WHERE seq = 4`, 4},
		{"Deleted", `DELETE FROM audit_log WHERE seq = 2`, 3},
		{"Rehashed", `UPDATE audit_log SET hash = 'x', actor = 'mallory' WHERE seq = 5`, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			database := s.b.NewDatabase(t)
			db, closeDB := s.openAt(t, database, (&stepClock{}).Now)
			seedAudit(t, db)
			s.b.ExecSQL(t, database, tc.query)
			b, err := db.VerifyAudit(ctx)
			if err != nil {
				t.Fatalf("VerifyAudit: %v", err)
			}
			if b == nil || b.Seq != tc.seq {
				t.Fatalf("VerifyAudit = %+v; want a break at seq %d", b, tc.seq)
			}
			closeDB()
		})
	}
}

func (s *suite) testTokens(t *testing.T) {
	ctx := context.Background()
	db, _ := s.open(t)
	if n, err := db.CountTokens(ctx); err != nil || n != 0 {
		t.Fatalf("CountTokens = %d, %v; want 0", n, err)
	}
	exp := t0.Add(time.Hour).Truncate(time.Microsecond)
	tok := store.Token{SHA256: digest("secret"), ID: "tok-1", Subject: "ci", CreatedAt: t0.Truncate(time.Microsecond), ExpiresAt: exp.Truncate(time.Microsecond)}
	if err := db.CreateToken(ctx, tok, "root"); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	wantCode(t, db.CreateToken(ctx, tok, "root"), api.EALREADYEXISTS)
	got, err := db.FindToken(ctx, digest("secret"))
	if err != nil {
		t.Fatalf("FindToken: %v", err)
	}
	wantEqual(t, "token", *got, tok)
	if !got.Expired(exp) || got.Expired(exp.Add(-time.Second)) {
		t.Fatalf("Expired is wrong around %v", exp)
	}
	_, err = db.FindToken(ctx, digest("other"))
	wantCode(t, err, api.ENOTFOUND)
	if n, err := db.CountTokens(ctx); err != nil || n != 1 {
		t.Fatalf("CountTokens = %d, %v; want 1", n, err)
	}
	recs := mustAudit(t, db)
	if len(recs) != 1 || recs[0].Actor != "root" || recs[0].Kind != "tokens" || recs[0].Name != "ci" || recs[0].UID != "tok-1" {
		t.Fatalf("audit log = %+v; want one record of the token", recs)
	}
}
