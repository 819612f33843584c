package storetest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

func (s *suite) testCreate(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := s.open(t)
		mustCreateEnv(t, db, "dev")

		in := &store.Object{
			Kind: api.KindFeatureGroup,
			// Store-owned fields set by the caller are ignored.
			Meta: api.Metadata{
				Name: "clicks", Environment: "dev", UID: "mine", Generation: 7, ETag: "mine",
			},
			Parent: "feature-stores/main",
			Spec:   json.RawMessage(` { "b": 1, "a": [1, 2.50, 12345678901234567890], "h": "<&>" } `),
			Status: json.RawMessage(`{ "phase": "pending", "observed_generation": 0 }`),
		}
		res, err := db.Create(ctx, in, store.WriteOptions{Actor: "alice"})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if res.Replayed || res.Removed {
			t.Errorf("Result = %+v, want neither Replayed nor Removed", res)
		}
		got := res.Object
		now := clock.Last()

		if got.Kind != api.KindFeatureGroup || got.Meta.Name != "clicks" || got.Meta.Environment != "dev" {
			t.Errorf("identity = %s %s/%s", got.Kind, got.Meta.Environment, got.Meta.Name)
		}
		if id, err := uuid.Parse(got.Meta.UID); err != nil || id.Version() != 4 {
			t.Errorf("UID = %q, want a UUID v4 (%v)", got.Meta.UID, err)
		}
		if got.Meta.Generation != 1 {
			t.Errorf("Generation = %d, want 1", got.Meta.Generation)
		}
		if _, err := hex.DecodeString(got.Meta.ETag); err != nil || len(got.Meta.ETag) != 16 {
			t.Errorf("ETag = %q, want 16 hex digits", got.Meta.ETag)
		}
		if !got.Meta.CreatedAt.Equal(now) || !got.Meta.UpdatedAt.Equal(now) {
			t.Errorf("CreatedAt, UpdatedAt = %v, %v, want %v", got.Meta.CreatedAt, got.Meta.UpdatedAt, now)
		}
		if got.Meta.DeletionRequestedAt != nil {
			t.Errorf("DeletionRequestedAt = %v, want nil", got.Meta.DeletionRequestedAt)
		}
		if got.Parent != "feature-stores/main" {
			t.Errorf("Parent = %q", got.Parent)
		}
		// The spec is stored canonical: sorted keys, numbers as written, no HTML escaping.
		wantEqual(t, "Spec", string(got.Spec), `{"a":[1,2.50,12345678901234567890],"b":1,"h":"<&>"}`)
		wantEqual(t, "Status", string(got.Status), `{"phase":"pending","observed_generation":0}`)
		// The caller's object is not modified.
		if in.Meta.UID != "mine" || in.Meta.Generation != 7 {
			t.Errorf("input object modified: %+v", in.Meta)
		}

		wantEqual(t, "Get", mustGet(t, db, got.Ref()), got)
	})

	t.Run("EnvironmentHasNoEnvironment", func(t *testing.T) {
		db, _ := s.open(t)
		env := mustCreateEnv(t, db, "dev")
		if env.Meta.Environment != "" || env.Ref() != envRef("dev") {
			t.Errorf("Ref = %+v, want %+v", env.Ref(), envRef("dev"))
		}
		// An object in an environment with the same name is another object.
		mustCreate(t, db, ref(api.KindComputePool, "dev", "dev"), "", `{}`)
		wantEqual(t, "Get", mustGet(t, db, envRef("dev")), env)

		_, err := db.Create(ctx, newObject(ref(api.KindEnvironment, "dev", "x"), "", `{}`), store.WriteOptions{})
		if e := wantCode(t, err, api.EINVALID); e.Field != "environment" {
			t.Errorf("Field = %q, want environment", e.Field)
		}
	})

	t.Run("EmptySpecAndStatus", func(t *testing.T) {
		db, _ := s.open(t)
		env := mustCreate(t, db, envRef("dev"), "", "")
		wantEqual(t, "Spec", string(env.Spec), `{}`)
		wantEqual(t, "Status", string(env.Status), `{}`)
	})

	t.Run("ErrAlreadyExists", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		mustCreateEnv(t, db, "prod")
		first := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{"a":1}`)

		_, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "gpu"), "", `{"a":2}`), store.WriteOptions{})
		e := wantCode(t, err, api.EALREADYEXISTS)
		if e.Field != "name" || !strings.Contains(e.Message, "already exists") || !strings.Contains(e.Message, "import") {
			t.Errorf("error = %+v, want field name and a message about import", e)
		}
		wantEqual(t, "existing object", mustGet(t, db, first.Ref()), first)

		_, err = db.Create(ctx, newObject(envRef("dev"), "", `{}`), store.WriteOptions{})
		wantCode(t, err, api.EALREADYEXISTS)

		// The same name in another environment or of another kind is free.
		mustCreate(t, db, ref(api.KindComputePool, "prod", "gpu"), "", `{}`)
		mustCreate(t, db, ref(api.KindFeatureStore, "dev", "gpu"), "", `{}`)

		// A name stays taken while its object is being torn down.
		if _, err := db.Delete(ctx, first.Ref(), true, store.WriteOptions{}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err = db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "gpu"), "", `{}`), store.WriteOptions{})
		if e := wantCode(t, err, api.EALREADYEXISTS); !strings.Contains(e.Message, "being deleted") {
			t.Errorf("Message = %q, want it to say the object is being deleted", e.Message)
		}
	})

	t.Run("ErrEnvironmentMissing", func(t *testing.T) {
		db, _ := s.open(t)
		_, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "gpu"), "", `{}`), store.WriteOptions{})
		e := wantCode(t, err, api.EINVALID)
		want := `environment "dev" does not exist; create it first (mlops_environment)`
		if e.Field != "environment" || e.Message != want {
			t.Errorf("error = %+v, want field environment and message %q", e, want)
		}

		_, err = db.Create(ctx, newObject(ref(api.KindComputePool, "", "gpu"), "", `{}`), store.WriteOptions{})
		if e := wantCode(t, err, api.EINVALID); e.Field != "environment" {
			t.Errorf("Field = %q, want environment", e.Field)
		}
		if recs := mustAudit(t, db); len(recs) != 0 {
			t.Errorf("audit = %+v, want none", recs)
		}
	})

	t.Run("ErrEnvironmentBeingDeleted", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		if _, err := db.Delete(ctx, envRef("dev"), true, store.WriteOptions{}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "gpu"), "", `{}`), store.WriteOptions{})
		e := wantCode(t, err, api.EINVALID)
		if e.Field != "environment" || !strings.Contains(e.Message, "being deleted") {
			t.Errorf("error = %+v", e)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		for _, tc := range []struct {
			obj   *store.Object
			field string
		}{
			{newObject(ref("", "dev", "x"), "", `{}`), "kind"},
			{newObject(ref(api.KindComputePool, "dev", ""), "", `{}`), "name"},
			{newObject(ref(api.KindComputePool, "dev", "x"), "", `{"a":`), "spec"},
			{newObject(ref(api.KindComputePool, "dev", "x"), "", `{} {}`), "spec"},
			{&store.Object{Kind: api.KindComputePool, Meta: api.Metadata{Name: "x", Environment: "dev"}, Status: json.RawMessage(`[`)}, "status"},
			{&store.Object{Kind: api.KindComputePool, Meta: api.Metadata{Name: "x", Environment: "dev"}, Status: json.RawMessage(`{"phase":3}`)}, "status"},
		} {
			_, err := db.Create(ctx, tc.obj, store.WriteOptions{})
			if e := wantCode(t, err, api.EINVALID); e.Field != tc.field {
				t.Errorf("Create(%+v): Field = %q, want %q", tc.obj, e.Field, tc.field)
			}
		}
		if _, err := db.Get(ctx, ref(api.KindComputePool, "dev", "x")); err == nil {
			t.Error("an invalid object was stored")
		}
	})
}

func (s *suite) testGet(t *testing.T) {
	t.Run("ErrNotFound", func(t *testing.T) {
		db, _ := s.open(t)
		_, err := db.Get(context.Background(), ref(api.KindComputePool, "dev", "gpu"))
		e := wantCode(t, err, api.ENOTFOUND)
		if !strings.Contains(e.Message, `compute-pools "gpu" in environment "dev"`) {
			t.Errorf("Message = %q", e.Message)
		}
	})
}

func (s *suite) testUpdateSpec(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{"max_nodes":1}`)

		res, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"max_nodes":2}`), store.WriteOptions{IfMatch: v1.Meta.ETag})
		if err != nil {
			t.Fatalf("UpdateSpec: %v", err)
		}
		v2 := res.Object
		if v2.Meta.Generation != 2 || v2.Meta.ETag == v1.Meta.ETag || v2.Meta.ETag == "" {
			t.Errorf("generation, etag = %d, %q; want 2 and a new etag (was %q)", v2.Meta.Generation, v2.Meta.ETag, v1.Meta.ETag)
		}
		if v2.Meta.UID != v1.Meta.UID || !v2.Meta.CreatedAt.Equal(v1.Meta.CreatedAt) {
			t.Errorf("uid or created_at changed: %+v", v2.Meta)
		}
		if !v2.Meta.UpdatedAt.Equal(clock.Last()) {
			t.Errorf("UpdatedAt = %v, want %v", v2.Meta.UpdatedAt, clock.Last())
		}
		wantEqual(t, "Spec", string(v2.Spec), `{"max_nodes":2}`)
		wantEqual(t, "Status", string(v2.Status), string(v1.Status))
		wantEqual(t, "Get", mustGet(t, db, v1.Ref()), v2)
	})

	t.Run("NoChange", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{"a":1,"b":[true,null]}`)
		audit := mustAudit(t, db)

		checked := false
		res, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage("{ \"b\": [true, null],\n \"a\": 1 }"), store.WriteOptions{
			Check: func(context.Context, store.View, *store.Object, *store.Object) error {
				checked = true
				return nil
			},
		})
		if err != nil {
			t.Fatalf("UpdateSpec: %v", err)
		}
		wantEqual(t, "unchanged object", res.Object, v1)
		wantEqual(t, "Get", mustGet(t, db, v1.Ref()), v1)
		wantEqual(t, "audit", mustAudit(t, db), audit)
		if checked {
			t.Error("Check ran for an update that changes nothing")
		}
	})

	t.Run("ErrStaleIfMatch", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{"n":1}`)
		if _, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":2}`), store.WriteOptions{}); err != nil {
			t.Fatalf("UpdateSpec: %v", err)
		}
		v2 := mustGet(t, db, v1.Ref())

		_, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":3}`), store.WriteOptions{IfMatch: v1.Meta.ETag})
		e := wantCode(t, err, api.ECONFLICT)
		if !strings.Contains(e.Message, "changed since it was read") || !strings.Contains(e.Message, "refresh and retry") {
			t.Errorf("Message = %q", e.Message)
		}
		wantEqual(t, "object after conflict", mustGet(t, db, v1.Ref()), v2)
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		db, _ := s.open(t)
		_, err := db.UpdateSpec(ctx, ref(api.KindComputePool, "dev", "gpu"), json.RawMessage(`{}`), store.WriteOptions{})
		wantCode(t, err, api.ENOTFOUND)
	})

	t.Run("ErrBeingDeleted", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{"n":1}`)
		if _, err := db.Delete(ctx, v1.Ref(), true, store.WriteOptions{}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		_, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":2}`), store.WriteOptions{})
		if e := wantCode(t, err, api.ECONFLICT); !strings.Contains(e.Message, "is being deleted") {
			t.Errorf("Message = %q", e.Message)
		}
	})

	t.Run("Settle", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindFeatureStore, "dev", "fs"), "", `{"n":1}`)
		var seen []*store.Object
		settle := func(after *store.Object) (json.RawMessage, error) {
			seen = append(seen, after)
			return json.RawMessage(fmt.Sprintf(`{"phase":"ready","observed_generation":%d}`, after.Meta.Generation)), nil
		}
		res, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":2}`), store.WriteOptions{Settle: settle})
		if err != nil {
			t.Fatalf("UpdateSpec: %v", err)
		}
		if len(seen) != 1 || seen[0].Meta.Generation != 2 || string(seen[0].Spec) != `{"n":2}` {
			t.Fatalf("Settle saw %+v, want the written object at generation 2 once", seen)
		}
		wantEqual(t, "Status", string(res.Object.Status), `{"phase":"ready","observed_generation":2}`)
		wantEqual(t, "Get", mustGet(t, db, v1.Ref()), res.Object)
		pending, err := db.Pending(ctx, api.KindFeatureStore)
		if err != nil || len(pending) != 0 {
			t.Errorf("Pending = %v, %v; want nothing for an object settled by its update", pending, err)
		}

		// An update that changes nothing writes no status.
		if _, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":2}`), store.WriteOptions{Settle: settle}); err != nil || len(seen) != 1 {
			t.Errorf("UpdateSpec without a change: %v, Settle called %d times; want once in all", err, len(seen))
		}

		// A failing Settle aborts the whole write.
		audit := mustAudit(t, db)
		_, err = db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":3}`), store.WriteOptions{Settle: func(*store.Object) (json.RawMessage, error) {
			return nil, api.Errorf(api.EINTERNAL, "", "settle failed")
		}})
		wantCode(t, err, api.EINTERNAL)
		wantEqual(t, "object after a failed Settle", mustGet(t, db, v1.Ref()), res.Object)
		wantEqual(t, "audit after a failed Settle", mustAudit(t, db), audit)
	})

	t.Run("ErrInvalidSpec", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{"n":1}`)
		_, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"n":`), store.WriteOptions{})
		if e := wantCode(t, err, api.EINVALID); e.Field != "spec" {
			t.Errorf("Field = %q, want spec", e.Field)
		}
	})
}

func (s *suite) testCheck(t *testing.T) {
	ctx := context.Background()
	errCheck := api.NewError(api.EINVALID, "spec.max_nodes", "too many nodes")

	t.Run("Create", func(t *testing.T) {
		db, clock := s.open(t)
		mustCreateEnv(t, db, "dev")
		mustCreate(t, db, ref(api.KindComputePool, "dev", "a"), "", `{}`)
		audit := mustAudit(t, db)

		var seenAfter *store.Object
		_, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "b"), "", `{"max_nodes":9}`), store.WriteOptions{
			IdempotencyKey: "k", Fingerprint: "f",
			Check: func(ctx context.Context, v store.View, before, after *store.Object) error {
				if before != nil {
					t.Errorf("before = %+v, want nil on create", before)
				}
				seenAfter = after
				// The view reads inside the write transaction.
				if _, err := v.Get(ctx, envRef("dev")); err != nil {
					t.Errorf("View.Get(env): %v", err)
				}
				if _, err := v.Get(ctx, after.Ref()); !isCode(err, api.ENOTFOUND) {
					t.Errorf("View.Get(new object) = %v, want ENOTFOUND before the write", err)
				}
				all, err := v.ListAll(ctx, api.KindComputePool, "dev")
				if err != nil || len(all) != 1 || all[0].Meta.Name != "a" {
					t.Errorf("View.ListAll = %v, %v; want [a]", all, err)
				}
				return errCheck
			},
		})
		if err != errCheck {
			t.Fatalf("err = %v, want the Check error itself", err)
		}
		if seenAfter == nil || seenAfter.Meta.Generation != 1 || seenAfter.Meta.UID == "" ||
			!seenAfter.Meta.CreatedAt.Equal(clock.Last()) || string(seenAfter.Spec) != `{"max_nodes":9}` {
			t.Errorf("after = %+v, want the object as it would be written", seenAfter)
		}
		if _, err := db.Get(ctx, ref(api.KindComputePool, "dev", "b")); !isCode(err, api.ENOTFOUND) {
			t.Errorf("Get after failed Check = %v, want ENOTFOUND", err)
		}
		wantEqual(t, "audit", mustAudit(t, db), audit)

		// The failed write did not keep its idempotency key.
		res, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "b"), "", `{"max_nodes":9}`),
			store.WriteOptions{IdempotencyKey: "k", Fingerprint: "f"})
		if err != nil || res.Replayed {
			t.Fatalf("retry after failed Check = %+v, %v; want a fresh create", res, err)
		}
	})

	t.Run("CheckCannotChangeWrite", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		res, err := db.Create(ctx, newObject(ref(api.KindComputePool, "dev", "a"), "", `{"n":1}`), store.WriteOptions{
			Check: func(_ context.Context, _ store.View, _, after *store.Object) error {
				after.Spec = json.RawMessage(`{"n":666}`)
				after.Meta.Generation = 666
				return nil
			},
		})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		got := mustGet(t, db, ref(api.KindComputePool, "dev", "a"))
		if string(got.Spec) != `{"n":1}` || got.Meta.Generation != 1 {
			t.Errorf("stored %s gen %d, want the spec as given", got.Spec, got.Meta.Generation)
		}
		wantEqual(t, "Result", res.Object, got)
	})

	t.Run("UpdateSpec", func(t *testing.T) {
		db, clock := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "a"), "", `{"max_nodes":1}`)
		audit := mustAudit(t, db)

		_, err := db.UpdateSpec(ctx, v1.Ref(), json.RawMessage(`{"max_nodes":9}`), store.WriteOptions{
			Check: func(ctx context.Context, v store.View, before, after *store.Object) error {
				wantEqual(t, "before", before, v1)
				if after.Meta.Generation != 2 || after.Meta.ETag == v1.Meta.ETag || string(after.Spec) != `{"max_nodes":9}` ||
					!after.Meta.UpdatedAt.Equal(clock.Last()) || after.Meta.UID != v1.Meta.UID {
					t.Errorf("after = %+v, want the bumped object", after)
				}
				cur, err := v.Get(ctx, v1.Ref())
				if err != nil {
					t.Errorf("View.Get: %v", err)
				} else {
					wantEqual(t, "View.Get during update", cur, v1)
				}
				return errCheck
			},
		})
		if err != errCheck {
			t.Fatalf("err = %v, want the Check error itself", err)
		}
		wantEqual(t, "object after failed Check", mustGet(t, db, v1.Ref()), v1)
		wantEqual(t, "audit", mustAudit(t, db), audit)
	})

	t.Run("Delete", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "a"), "", `{}`)
		for _, graceful := range []bool{false, true} {
			_, err := db.Delete(ctx, v1.Ref(), graceful, store.WriteOptions{
				Check: func(_ context.Context, _ store.View, before, after *store.Object) error {
					wantEqual(t, "before", before, v1)
					if after != nil {
						t.Errorf("after = %+v, want nil on delete", after)
					}
					return errCheck
				},
			})
			if err != errCheck {
				t.Fatalf("err = %v, want the Check error itself", err)
			}
			wantEqual(t, "object after failed Check", mustGet(t, db, v1.Ref()), v1)
		}
	})
}

func (s *suite) testDelete(t *testing.T) {
	ctx := context.Background()

	t.Run("Missing", func(t *testing.T) {
		db, _ := s.open(t)
		for _, graceful := range []bool{false, true} {
			res, err := db.Delete(ctx, ref(api.KindComputePool, "dev", "gpu"), graceful, store.WriteOptions{IfMatch: "whatever"})
			if err != nil {
				t.Fatalf("Delete: %v", err)
			}
			wantEqual(t, "Result", res, &store.Result{})
		}
		if recs := mustAudit(t, db); len(recs) != 0 {
			t.Errorf("audit = %+v, want none", recs)
		}
	})

	t.Run("OK", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{}`)

		res, err := db.Delete(ctx, v1.Ref(), false, store.WriteOptions{IfMatch: v1.Meta.ETag})
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantEqual(t, "Result", res, &store.Result{Object: v1, Removed: true})
		if _, err := db.Get(ctx, v1.Ref()); !isCode(err, api.ENOTFOUND) {
			t.Errorf("Get after delete = %v, want ENOTFOUND", err)
		}
		// The name is free again and gets a new uid.
		again := mustCreate(t, db, v1.Ref(), "", `{}`)
		if again.Meta.UID == v1.Meta.UID {
			t.Error("recreated object has the old uid")
		}
	})

	t.Run("ErrStaleIfMatch", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{}`)
		for _, graceful := range []bool{false, true} {
			_, err := db.Delete(ctx, v1.Ref(), graceful, store.WriteOptions{IfMatch: "stale"})
			wantCode(t, err, api.ECONFLICT)
		}
		wantEqual(t, "object", mustGet(t, db, v1.Ref()), v1)
	})

	t.Run("ErrEnvironmentNotEmpty", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		mustCreateEnv(t, db, "prod")
		mustCreate(t, db, ref(api.KindComputePool, "prod", "elsewhere"), "", `{}`)
		mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{}`)
		mustCreate(t, db, ref(api.KindFeatureStore, "dev", "fs"), "", `{}`)

		_, err := db.Delete(ctx, envRef("dev"), true, store.WriteOptions{})
		e := wantCode(t, err, api.ECONFLICT)
		want := `environment "dev" still contains compute-pools/gpu, feature-stores/fs; delete them first`
		if e.Message != want {
			t.Errorf("Message = %q, want %q", e.Message, want)
		}

		// More than five blockers are counted, not named.
		for i := range 5 {
			mustCreate(t, db, ref(api.KindFeatureGroup, "dev", fmt.Sprintf("g%d", i)), "", `{}`)
		}
		_, err = db.Delete(ctx, envRef("dev"), false, store.WriteOptions{})
		e = wantCode(t, err, api.ECONFLICT)
		want = `environment "dev" still contains compute-pools/gpu, feature-groups/g0, feature-groups/g1, ` +
			`feature-groups/g2, feature-groups/g3 and 2 more; delete them first`
		if e.Message != want {
			t.Errorf("Message = %q, want %q", e.Message, want)
		}
		if env := mustGet(t, db, envRef("dev")); env.Meta.DeletionRequestedAt != nil {
			t.Error("refused delete marked the environment")
		}

		// prod's object does not block dev, and an empty environment goes.
		for _, r := range []api.Ref{
			ref(api.KindComputePool, "dev", "gpu"), ref(api.KindFeatureStore, "dev", "fs"),
			ref(api.KindFeatureGroup, "dev", "g0"), ref(api.KindFeatureGroup, "dev", "g1"), ref(api.KindFeatureGroup, "dev", "g2"),
			ref(api.KindFeatureGroup, "dev", "g3"), ref(api.KindFeatureGroup, "dev", "g4"), envRef("dev"),
		} {
			if _, err := db.Delete(ctx, r, false, store.WriteOptions{}); err != nil {
				t.Fatalf("Delete(%s): %v", r, err)
			}
		}
	})

	t.Run("ErrHasChildren", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		mustCreateEnv(t, db, "prod")
		fs := mustCreate(t, db, ref(api.KindFeatureStore, "dev", "main"), "", `{}`)
		mustCreate(t, db, ref(api.KindFeatureGroup, "dev", "clicks"), "feature-stores/main", `{}`)
		mustCreate(t, db, ref(api.KindFeatureGroup, "dev", "views"), "feature-stores/main", `{}`)
		mustCreate(t, db, ref(api.KindFeatureGroup, "dev", "other"), "feature-stores/other", `{}`)
		// Same parent name, other environment: not a child of dev's store.
		mustCreate(t, db, ref(api.KindFeatureGroup, "prod", "clicks"), "feature-stores/main", `{}`)

		for _, graceful := range []bool{false, true} {
			_, err := db.Delete(ctx, fs.Ref(), graceful, store.WriteOptions{})
			e := wantCode(t, err, api.ECONFLICT)
			want := `feature-stores "main" in environment "dev" is still used by feature-groups/clicks, feature-groups/views; delete them first`
			if e.Message != want {
				t.Errorf("Message = %q, want %q", e.Message, want)
			}
		}
		wantEqual(t, "parent after refused delete", mustGet(t, db, fs.Ref()), fs)

		// A child marked for deletion still blocks until it is finalized.
		res, err := db.Delete(ctx, ref(api.KindFeatureGroup, "dev", "clicks"), true, store.WriteOptions{})
		if err != nil {
			t.Fatalf("Delete child: %v", err)
		}
		if _, err := db.Delete(ctx, ref(api.KindFeatureGroup, "dev", "views"), false, store.WriteOptions{}); err != nil {
			t.Fatalf("Delete child: %v", err)
		}
		_, err = db.Delete(ctx, fs.Ref(), false, store.WriteOptions{})
		if e := wantCode(t, err, api.ECONFLICT); !strings.Contains(e.Message, "feature-groups/clicks") {
			t.Errorf("Message = %q", e.Message)
		}
		if err := db.Finalize(ctx, res.Object.Ref(), res.Object.Meta.UID, "reconciler"); err != nil {
			t.Fatalf("Finalize child: %v", err)
		}
		if _, err := db.Delete(ctx, fs.Ref(), false, store.WriteOptions{}); err != nil {
			t.Fatalf("Delete parent without children: %v", err)
		}
	})

	t.Run("GracefulThenFinalize", func(t *testing.T) {
		db, clock := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{"n":1}`)

		res, err := db.Delete(ctx, v1.Ref(), true, store.WriteOptions{Actor: "alice"})
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		marked := res.Object
		now := clock.Last()
		if res.Removed || res.Replayed {
			t.Errorf("Result = %+v, want neither Removed nor Replayed", res)
		}
		if marked.Meta.DeletionRequestedAt == nil || !marked.Meta.DeletionRequestedAt.Equal(now) || !marked.Meta.UpdatedAt.Equal(now) {
			t.Errorf("marked meta = %+v, want DeletionRequestedAt = UpdatedAt = %v", marked.Meta, now)
		}
		if marked.Meta.Generation != v1.Meta.Generation || marked.Meta.ETag != v1.Meta.ETag {
			t.Errorf("marking changed generation or etag: %+v", marked.Meta)
		}
		wantEqual(t, "Get", mustGet(t, db, v1.Ref()), marked)
		audit := mustAudit(t, db)

		// Asking again changes nothing and audits nothing.
		res, err = db.Delete(ctx, v1.Ref(), true, store.WriteOptions{})
		if err != nil {
			t.Fatalf("second Delete: %v", err)
		}
		wantEqual(t, "second Delete", res, &store.Result{Object: marked})
		wantEqual(t, "audit", mustAudit(t, db), audit)

		// Finalize with another uid does nothing: that is another incarnation.
		if err := db.Finalize(ctx, v1.Ref(), "00000000-0000-4000-8000-000000000000", "reconciler"); err != nil {
			t.Fatalf("Finalize(other uid): %v", err)
		}
		wantEqual(t, "Get", mustGet(t, db, v1.Ref()), marked)

		if err := db.Finalize(ctx, v1.Ref(), v1.Meta.UID, "reconciler"); err != nil {
			t.Fatalf("Finalize: %v", err)
		}
		if _, err := db.Get(ctx, v1.Ref()); !isCode(err, api.ENOTFOUND) {
			t.Errorf("Get after Finalize = %v, want ENOTFOUND", err)
		}
		recs := mustAudit(t, db)
		last := recs[len(recs)-1]
		if last.Action != api.AuditDelete || last.Actor != "reconciler" || last.UID != v1.Meta.UID {
			t.Errorf("last audit record = %+v, want delete by reconciler", last)
		}
		// Finalizing again is fine.
		if err := db.Finalize(ctx, v1.Ref(), v1.Meta.UID, "reconciler"); err != nil {
			t.Fatalf("second Finalize: %v", err)
		}
		wantEqual(t, "audit", mustAudit(t, db), recs)
	})

	t.Run("ForceAfterGraceful", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{}`)
		if _, err := db.Delete(ctx, v1.Ref(), true, store.WriteOptions{}); err != nil {
			t.Fatalf("graceful Delete: %v", err)
		}
		res, err := db.Delete(ctx, v1.Ref(), false, store.WriteOptions{})
		if err != nil || !res.Removed {
			t.Fatalf("forced Delete = %+v, %v; want Removed", res, err)
		}
	})
}

func (s *suite) testFinalize(t *testing.T) {
	t.Run("ErrNotMarked", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{}`)
		err := db.Finalize(context.Background(), v1.Ref(), v1.Meta.UID, "reconciler")
		wantCode(t, err, api.ECONFLICT)
		wantEqual(t, "object", mustGet(t, db, v1.Ref()), v1)
	})

	t.Run("Missing", func(t *testing.T) {
		db, _ := s.open(t)
		if err := db.Finalize(context.Background(), ref(api.KindComputePool, "dev", "gpu"), "x", "reconciler"); err != nil {
			t.Fatalf("Finalize: %v", err)
		}
	})
}

func (s *suite) testUpdateStatus(t *testing.T) {
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		db, clock := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{}`)
		audit := mustAudit(t, db)

		got, err := db.UpdateStatus(ctx, v1.Ref(), v1.Meta.UID, json.RawMessage(`{ "phase": "ready", "observed_generation": 1, "gpus": 4 }`))
		if err != nil {
			t.Fatalf("UpdateStatus: %v", err)
		}
		wantEqual(t, "Status", string(got.Status), `{"phase":"ready","observed_generation":1,"gpus":4}`)
		if got.Meta.Generation != v1.Meta.Generation || got.Meta.ETag != v1.Meta.ETag {
			t.Errorf("generation or etag changed: %+v", got.Meta)
		}
		if !got.Meta.UpdatedAt.Equal(clock.Last()) {
			t.Errorf("UpdatedAt = %v, want %v", got.Meta.UpdatedAt, clock.Last())
		}
		wantEqual(t, "Get", mustGet(t, db, v1.Ref()), got)
		wantEqual(t, "audit", mustAudit(t, db), audit)
	})

	t.Run("ErrWrongUID", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		old := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{}`)
		if _, err := db.Delete(ctx, old.Ref(), false, store.WriteOptions{}); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		cur := mustCreate(t, db, old.Ref(), "", `{}`)

		// A reconciler still working on the deleted incarnation must not
		// write its status into the new one.
		_, err := db.UpdateStatus(ctx, old.Ref(), old.Meta.UID, json.RawMessage(`{"phase":"failed"}`))
		wantCode(t, err, api.ENOTFOUND)
		_, err = db.UpdateStatus(ctx, ref(api.KindComputePool, "dev", "other"), cur.Meta.UID, json.RawMessage(`{"phase":"failed"}`))
		wantCode(t, err, api.ENOTFOUND)
		wantEqual(t, "current object", mustGet(t, db, cur.Ref()), cur)
	})

	t.Run("ErrInvalidStatus", func(t *testing.T) {
		db, _ := s.open(t)
		mustCreateEnv(t, db, "dev")
		v1 := mustCreate(t, db, ref(api.KindComputePool, "dev", "gpu"), "", `{}`)
		_, err := db.UpdateStatus(ctx, v1.Ref(), v1.Meta.UID, json.RawMessage(`{"observed_generation":"one"}`))
		if e := wantCode(t, err, api.EINVALID); e.Field != "status" {
			t.Errorf("Field = %q, want status", e.Field)
		}
	})
}

func (s *suite) testPending(t *testing.T) {
	ctx := context.Background()
	db, _ := s.open(t)
	mustCreateEnv(t, db, "dev")
	mustCreateEnv(t, db, "prod")

	setStatus := func(obj *store.Object, status string) {
		t.Helper()
		if _, err := db.UpdateStatus(ctx, obj.Ref(), obj.Meta.UID, json.RawMessage(status)); err != nil {
			t.Fatalf("UpdateStatus(%s): %v", obj.Ref(), err)
		}
	}
	pool := func(env, name string) *store.Object {
		t.Helper()
		return mustCreate(t, db, ref(api.KindComputePool, env, name), "", `{"n":1}`)
	}

	pool("dev", "a-new") // no status yet
	setStatus(pool("dev", "b-ready"), `{"phase":"ready","observed_generation":1}`)
	c := pool("dev", "c-respec") // ready, then the spec changed
	setStatus(c, `{"phase":"ready","observed_generation":1}`)
	if _, err := db.UpdateSpec(ctx, c.Ref(), json.RawMessage(`{"n":2}`), store.WriteOptions{}); err != nil {
		t.Fatalf("UpdateSpec: %v", err)
	}
	setStatus(pool("dev", "d-failed"), `{"phase":"failed","observed_generation":1}`)
	e := pool("dev", "e-deleting") // ready, then marked for deletion
	setStatus(e, `{"phase":"ready","observed_generation":1}`)
	if _, err := db.Delete(ctx, e.Ref(), true, store.WriteOptions{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	setStatus(pool("dev", "f-provisioning"), `{"phase":"provisioning","observed_generation":1}`)
	// Finished runs are terminal too: they must not be re-read forever.
	setStatus(pool("dev", "g-succeeded"), `{"phase":"succeeded","observed_generation":1}`)
	setStatus(pool("dev", "h-cancelled"), `{"phase":"cancelled","observed_generation":1}`)
	setStatus(pool("dev", "i-running"), `{"phase":"running","observed_generation":1}`)
	pool("prod", "a-new")
	mustCreate(t, db, ref(api.KindFeatureStore, "dev", "other-kind"), "", `{}`)

	got, err := db.Pending(ctx, api.KindComputePool)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	var names []string
	for _, obj := range got {
		names = append(names, obj.Meta.Environment+"/"+obj.Meta.Name)
	}
	wantEqual(t, "pending", names, []string{"dev/a-new", "dev/c-respec", "dev/e-deleting", "dev/f-provisioning", "dev/i-running", "prod/a-new"})

	// Environments are pending too until their reconciler settles them.
	envs, err := db.Pending(ctx, api.KindEnvironment)
	if err != nil || len(envs) != 2 {
		t.Fatalf("Pending(environments) = %d objects, %v; want 2", len(envs), err)
	}
}

func (s *suite) testList(t *testing.T) {
	ctx := context.Background()
	db, _ := s.open(t)
	mustCreateEnv(t, db, "dev")
	mustCreateEnv(t, db, "prod")
	// Created out of order; listed by name.
	for _, name := range []string{"e", "b", "a", "d", "c"} {
		mustCreate(t, db, ref(api.KindComputePool, "dev", name), "", `{}`)
	}
	mustCreate(t, db, ref(api.KindComputePool, "prod", "aa"), "", `{}`)
	mustCreate(t, db, ref(api.KindFeatureStore, "dev", "bb"), "", `{}`)

	t.Run("Pages", func(t *testing.T) {
		var pages [][]string
		token := ""
		for i := 0; ; i++ {
			if i > 5 {
				t.Fatal("pagination does not end")
			}
			objs, next, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{Limit: 2, PageToken: token})
			if err != nil {
				t.Fatalf("List page %d: %v", i, err)
			}
			var names []string
			for _, obj := range objs {
				names = append(names, obj.Meta.Name)
				wantEqual(t, "listed object", obj, mustGet(t, db, obj.Ref()))
			}
			pages = append(pages, names)
			if next == "" {
				break
			}
			token = next
		}
		wantEqual(t, "pages", pages, [][]string{{"a", "b"}, {"c", "d"}, {"e"}})
	})

	t.Run("ExactLastPage", func(t *testing.T) {
		objs, next, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{Limit: 5})
		if err != nil || len(objs) != 5 || next != "" {
			t.Fatalf("List(limit 5) = %d objects, token %q, %v; want 5 and no token", len(objs), next, err)
		}
	})

	t.Run("DefaultLimit", func(t *testing.T) {
		objs, next, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{})
		if err != nil || len(objs) != 5 || next != "" {
			t.Fatalf("List = %d objects, token %q, %v", len(objs), next, err)
		}
	})

	t.Run("Environments", func(t *testing.T) {
		objs, _, err := db.List(ctx, api.KindEnvironment, "", api.ListOptions{})
		if err != nil || len(objs) != 2 || objs[0].Meta.Name != "dev" || objs[1].Meta.Name != "prod" {
			t.Fatalf("List(environments) = %v, %v", objs, err)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		objs, next, err := db.List(ctx, api.KindComputePool, "staging", api.ListOptions{})
		if err != nil || len(objs) != 0 || next != "" {
			t.Fatalf("List = %v, %q, %v; want nothing", objs, next, err)
		}
	})

	t.Run("ErrBadPageToken", func(t *testing.T) {
		for _, token := range []string{"!!!", "x", "YQ==", "/w"} {
			_, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{PageToken: token})
			if e := wantCode(t, err, api.EINVALID); e.Field != "page_token" {
				t.Errorf("token %q: Field = %q, want page_token", token, e.Field)
			}
		}
	})

	t.Run("ErrBadLimit", func(t *testing.T) {
		for _, limit := range []int{-1, api.MaxPageSize + 1} {
			_, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{Limit: limit})
			if e := wantCode(t, err, api.EINVALID); e.Field != "limit" {
				t.Errorf("limit %d: Field = %q, want limit", limit, e.Field)
			}
		}
		if _, _, err := db.List(ctx, api.KindComputePool, "dev", api.ListOptions{Limit: api.MaxPageSize}); err != nil {
			t.Errorf("List(limit max): %v", err)
		}
	})

	t.Run("ByteOrder", func(t *testing.T) {
		// Names sort by their bytes, whatever the database's locale: upper
		// case before lower case, '-' < '1' < '_'. Pages follow that order.
		mustCreateEnv(t, db, "B-env")
		names := []string{"b", "B", "a_1", "a-1", "a1", "A", "é", "z"}
		for _, name := range names {
			mustCreate(t, db, ref(api.KindComputePool, "B-env", name), "", `{}`)
		}
		want := []string{"A", "B", "a-1", "a1", "a_1", "b", "z", "é"}
		var got []string
		token := ""
		for range len(names) + 1 {
			objs, next, err := db.List(ctx, api.KindComputePool, "B-env", api.ListOptions{Limit: 3, PageToken: token})
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			for _, obj := range objs {
				got = append(got, obj.Meta.Name)
			}
			if token = next; token == "" {
				break
			}
		}
		wantEqual(t, "names in order", got, want)

		envs, _, err := db.List(ctx, api.KindEnvironment, "", api.ListOptions{})
		if err != nil {
			t.Fatalf("List(environments): %v", err)
		}
		var envNames []string
		for _, env := range envs {
			envNames = append(envNames, env.Meta.Name)
		}
		wantEqual(t, "environments in order", envNames, []string{"B-env", "dev", "prod"})

		pending, err := db.Pending(ctx, api.KindComputePool)
		if err != nil {
			t.Fatalf("Pending: %v", err)
		}
		var pendingNames []string
		for _, obj := range pending {
			if obj.Meta.Environment == "B-env" {
				pendingNames = append(pendingNames, obj.Meta.Name)
			}
		}
		wantEqual(t, "pending in order", pendingNames, want)
		if pending[0].Meta.Environment != "B-env" {
			t.Errorf("Pending starts in environment %q, want B-env (byte order)", pending[0].Meta.Environment)
		}
	})
}

// isCode reports whether err is an *api.Error with code.
func isCode(err error, code string) bool {
	var apiErr *api.Error
	return errors.As(err, &apiErr) && apiErr.Code == code
}
