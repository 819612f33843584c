package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

func (s *suite) testIdempotency(t *testing.T) {
	ctx := context.Background()

	t.Run("CreateReplay", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		opts := store.WriteOptions{Actor: "alice", IdempotencyKey: "k1", Fingerprint: "POST /v1/environments/dev/compute-pools sha256:aa"}
		obj := newObject(ref(api.KindComputePool, "dev", "gpu"), "", `{"n":1,"html":"<a&b>"}`)

		first, err := db.Create(ctx, obj, opts)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		audit := mustAudit(t, db)

		// The object changes in between; the replay still returns the
		// result of the first request, as a retry expects.
		if _, err := db.UpdateStatus(ctx, first.Object.Ref(), first.Object.Meta.UID, json.RawMessage(`{"phase":"ready","observed_generation":1}`)); err != nil {
			t.Fatalf("UpdateStatus: %v", err)
		}
		second, err := db.Create(ctx, obj, opts)
		if err != nil {
			t.Fatalf("replayed Create: %v", err)
		}
		wantEqual(t, "replayed result", second, &store.Result{Object: first.Object, Replayed: true})

		objs, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{})
		if err != nil || len(objs) != 1 {
			t.Fatalf("List = %d objects, %v; want 1", len(objs), err)
		}
		wantEqual(t, "audit", mustAudit(t, db), audit)
	})

	t.Run("ErrKeyReusedForOtherRequest", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		if _, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "a"), "", `{}`),
			store.WriteOptions{IdempotencyKey: "k1", Fingerprint: "create a"}); err != nil {
			t.Fatalf("Create: %v", err)
		}
		audit := mustAudit(t, db)

		_, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "b"), "", `{}`),
			store.WriteOptions{IdempotencyKey: "k1", Fingerprint: "create b"})
		e := wantCode(t, err, api.ECONFLICT)
		if !strings.Contains(e.Message, `Idempotency-Key "k1" was already used for a different request; use a new key`) {
			t.Errorf("Message = %q", e.Message)
		}
		if _, err := db.Get(ctx, ref(api.KindComputePool, "dev", "b")); !isCode(err, api.ENOTFOUND) {
			t.Errorf("Get(b) = %v, want ENOTFOUND", err)
		}
		// The key is global: another method reusing it conflicts too.
		_, err = db.Delete(ctx, ref(api.KindComputePool, "dev", "a"), false, store.WriteOptions{IdempotencyKey: "k1", Fingerprint: "delete a"})
		wantCode(t, err, api.ECONFLICT)
		mustGet(t, db, ref(api.KindComputePool, "dev", "a"))
		wantEqual(t, "audit", mustAudit(t, db), audit)
	})

	t.Run("FailedWriteKeepsNoKey", func(t *testing.T) {
		db, _ := s.open(t)
		opts := store.WriteOptions{IdempotencyKey: "k1", Fingerprint: "f"}
		obj := newObject(ref(api.KindComputePool, "dev", "a"), "", `{}`)
		_, err := db.Create(ctx, obj, opts)
		wantCode(t, err, api.EINVALID)

		mustCreateEnv(t, db, "dev")
		res, err := db.Create(ctx, obj, opts)
		if err != nil || res.Replayed {
			t.Fatalf("retry after a failed write = %+v, %v; want a fresh create", res, err)
		}
	})

	t.Run("UpdateSpecReplay", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "a"), "", `{"n":1}`)
		opts := store.WriteOptions{IdempotencyKey: "k1", Fingerprint: "f", IfMatch: v1.Meta.ETag}

		first, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":2}`), opts)
		if err != nil {
			t.Fatalf("UpdateSpec: %v", err)
		}
		audit := mustAudit(t, db)
		// A retry carries the old If-Match; the replay answers before the
		// etag check, so the retry does not turn into a conflict.
		second, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":2}`), opts)
		if err != nil {
			t.Fatalf("replayed UpdateSpec: %v", err)
		}
		wantEqual(t, "replayed result", second, &store.Result{Object: first.Object, Replayed: true})
		if got := mustGet(t, db, v1.Ref()); got.Meta.Generation != 2 {
			t.Errorf("Generation = %d, want 2 (one bump)", got.Meta.Generation)
		}
		wantEqual(t, "audit", mustAudit(t, db), audit)
	})

	t.Run("NoChangeUpdateKeepsKey", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "a"), "", `{"n":1}`)
		opts := store.WriteOptions{IdempotencyKey: "k1", Fingerprint: "f"}
		if _, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":1}`), opts); err != nil {
			t.Fatalf("UpdateSpec: %v", err)
		}
		res, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":1}`), opts)
		if err != nil || !res.Replayed {
			t.Fatalf("second UpdateSpec = %+v, %v; want Replayed", res, err)
		}
		wantEqual(t, "replayed object", res.Object, v1)
	})

	t.Run("DeleteReplay", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "a"), "", `{}`)
		opts := store.WriteOptions{IdempotencyKey: "k1", Fingerprint: "f"}

		first, err := db.Delete(ctx, v1.Ref(), false, opts)
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		second, err := db.Delete(ctx, v1.Ref(), false, opts)
		if err != nil {
			t.Fatalf("replayed Delete: %v", err)
		}
		wantEqual(t, "replayed result", second, &store.Result{Object: first.Object, Removed: true, Replayed: true})

		// A delete of a missing object is a success and keeps its key too.
		opts.IdempotencyKey = "k2"
		if _, err := db.Delete(ctx, v1.Ref(), false, opts); err != nil {
			t.Fatalf("Delete missing: %v", err)
		}
		res, err := db.Delete(ctx, v1.Ref(), false, opts)
		if err != nil {
			t.Fatalf("replayed Delete missing: %v", err)
		}
		wantEqual(t, "replayed result", res, &store.Result{Replayed: true})
	})

	t.Run("AnyBytesInKey", func(t *testing.T) {
		// The server scopes keys to the caller as caller + NUL + key, and a
		// header may carry bytes that are not UTF-8: keys are bytes, and
		// keys that differ in any byte are different keys.
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		keys := []string{"alice\x00k1", "alice\x00k1\xff", "bob\x00k1", "alice\x00K1"}
		uids := map[string]string{}
		for i, key := range keys {
			obj := newObject(ref(api.KindComputePool, "dev", fmt.Sprintf("p%d", i)), "", `{}`)
			opts := store.WriteOptions{IdempotencyKey: key, Fingerprint: "f"}
			first, err := db.Create(ctx, obj, opts)
			if err != nil || first.Replayed {
				t.Fatalf("Create with key %q = %+v, %v; want a fresh create", key, first, err)
			}
			again, err := db.Create(ctx, obj, opts)
			if err != nil || !again.Replayed || again.Object.Meta.UID != first.Object.Meta.UID {
				t.Fatalf("retried Create with key %q = %+v, %v; want the replay", key, again, err)
			}
			uids[key] = first.Object.Meta.UID
		}
		if len(uids) != len(keys) {
			t.Errorf("keys that differ in one byte shared a result: %v", uids)
		}
	})

	t.Run("GracefulDeleteReplay", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "a"), "", `{}`)
		opts := store.WriteOptions{IdempotencyKey: "k1", Fingerprint: "f"}
		first, err := db.Delete(ctx, v1.Ref(), true, opts)
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		second, err := db.Delete(ctx, v1.Ref(), true, opts)
		if err != nil {
			t.Fatalf("replayed Delete: %v", err)
		}
		wantEqual(t, "replayed result", second, &store.Result{Object: first.Object, Replayed: true})
	})
}
