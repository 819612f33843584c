package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// digest is what the audit log should record for a canonical spec.
func digest(spec string) string {
	sum := sha256.Sum256([]byte(spec))
	return hex.EncodeToString(sum[:])
}

func (s *suite) testListAudit(t *testing.T) {
	ctx := context.Background()
	db, clock := s.open(t)

	// times[i] is when the i-th audited write happened.
	var times []time.Time
	audited := func() { times = append(times, clock.Last()) }

	env := mustCreate(t, db, envRef("dev"), "", `{"policy":{}}`)
	audited()
	res, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "gpu"), "", `{"b":2,"a":1}`),
		store.WriteOptions{Actor: "alice"})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	audited()
	pool := res.Object
	// Unaudited: a spec that does not change, and a status.
	if _, err := db.UpdateSpec(ctx, pool.Ref(), json.RawMessage(`{"a":1,"b":2}`), store.WriteOptions{Actor: "bob"}); err != nil {
		t.Fatalf("UpdateSpec: %v", err)
	}
	if _, err := db.UpdateStatus(ctx, pool.Ref(), pool.Meta.UID, json.RawMessage(`{"phase":"ready"}`)); err != nil {
		t.Fatalf("UpdateStatus: %v", err)
	}
	if _, err := db.UpdateSpec(ctx, pool.Ref(), json.RawMessage(`{"a":1,"b":3}`), store.WriteOptions{Actor: "bob"}); err != nil {
		t.Fatalf("UpdateSpec: %v", err)
	}
	audited()
	if _, err := db.Delete(ctx, pool.Ref(), true, store.WriteOptions{Actor: "carol"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	audited()
	if err := db.Finalize(ctx, pool.Ref(), pool.Meta.UID, "reconciler"); err != nil {
		t.Fatalf("Finalize: %v", err)
	}
	audited()
	if _, err := db.Delete(ctx, env.Ref(), false, store.WriteOptions{Actor: "dave"}); err != nil {
		t.Fatalf("Delete env: %v", err)
	}
	audited()

	envDigest := digest(`{"policy":{}}`)
	v1, v2 := digest(`{"a":1,"b":2}`), digest(`{"a":1,"b":3}`)
	poolRec := func(seq int64, actor, action string, gen int64, before, after string) api.AuditRecord {
		return api.AuditRecord{
			Seq: seq, Time: times[seq-1], Actor: actor, Action: action,
			Kind: api.KindComputePool, Environment: "dev", Name: "gpu", UID: pool.Meta.UID,
			Generation: gen, BeforeDigest: before, AfterDigest: after,
		}
	}
	want := []api.AuditRecord{
		{Seq: 1, Time: times[0], Actor: "tester", Action: api.AuditCreate, Kind: api.KindEnvironment, Name: "dev",
			UID: env.Meta.UID, Generation: 1, AfterDigest: envDigest},
		poolRec(2, "alice", api.AuditCreate, 1, "", v1),
		poolRec(3, "bob", api.AuditUpdate, 2, v1, v2),
		poolRec(4, "carol", api.AuditDeleteRequested, 2, v2, v2),
		poolRec(5, "reconciler", api.AuditDelete, 2, v2, ""),
		{Seq: 6, Time: times[5], Actor: "dave", Action: api.AuditDelete, Kind: api.KindEnvironment, Name: "dev",
			UID: env.Meta.UID, Generation: 1, BeforeDigest: envDigest},
	}

	// The hashes are checked by testAuditChain; here they are only carried
	// over, after checking that each record links to the one before.
	got := mustAudit(t, db)
	for i := range want {
		if i < len(got) {
			want[i].Hash = got[i].Hash
			if i > 0 {
				want[i].PrevHash = got[i-1].Hash
			}
		}
	}

	t.Run("All", func(t *testing.T) {
		wantEqual(t, "audit log", mustAudit(t, db), want)
	})

	t.Run("Pages", func(t *testing.T) {
		var got []api.AuditRecord
		after := int64(0)
		for range 4 {
			recs, err := db.ListAudit(ctx, after, 4)
			if err != nil {
				t.Fatalf("ListAudit(%d, 4): %v", after, err)
			}
			if len(recs) == 0 {
				break
			}
			got = append(got, recs...)
			after = recs[len(recs)-1].Seq
		}
		wantEqual(t, "paged audit log", got, want)
	})

	t.Run("DefaultLimit", func(t *testing.T) {
		recs, err := db.ListAudit(ctx, 5, 0)
		if err != nil {
			t.Fatalf("ListAudit: %v", err)
		}
		wantEqual(t, "tail", recs, want[5:])
	})

	t.Run("Empty", func(t *testing.T) {
		recs, err := db.ListAudit(ctx, 6, 10)
		if err != nil || len(recs) != 0 {
			t.Fatalf("ListAudit past the end = %v, %v; want none", recs, err)
		}
	})

	t.Run("ErrBadLimit", func(t *testing.T) {
		for _, limit := range []int{-1, api.MaxPageSize + 1} {
			_, err := db.ListAudit(ctx, 0, limit)
			if e := wantCode(t, err, api.EINVALID); e.Field != "limit" {
				t.Errorf("limit %d: Field = %q, want limit", limit, e.Field)
			}
		}
	})
}
