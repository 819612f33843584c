package store_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestWatched(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "mlops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	w := store.Watch(db)
	if store.Watch(w) != w {
		t.Fatal("Watch of a Watched made a second set of watchers")
	}
	env := &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}, Spec: json.RawMessage(`{}`), Status: json.RawMessage(`{"phase":"pending"}`)}
	if _, err := w.Create(ctx, env, store.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	ref := api.Ref{Kind: api.KindFeatureStore, Environment: "dev", Name: "fs"}
	other := api.Ref{Kind: api.KindFeatureStore, Environment: "dev", Name: "other"}
	sub := w.Subscribe(ref)
	defer sub.Close()
	subOther := w.Subscribe(other)
	defer subOther.Close()

	// Every kind of write wakes the object's watchers, and only theirs.
	ch, chOther := sub.Changed(), subOther.Changed()
	res, err := w.Create(ctx, &store.Object{Kind: ref.Kind, Meta: api.Metadata{Name: ref.Name, Environment: ref.Environment},
		Spec: json.RawMessage(`{"a":1}`), Status: json.RawMessage(`{"phase":"pending"}`)}, store.WriteOptions{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !closed(ch) {
		t.Fatal("Create did not wake the watcher")
	}
	if closed(chOther) {
		t.Fatal("a write of another object woke its watcher")
	}
	uid := res.Object.Meta.UID
	writes := []struct {
		name  string
		write func() error
	}{
		{"UpdateSpec", func() error {
			_, err := w.UpdateSpec(ctx, ref, json.RawMessage(`{"a":2}`), store.WriteOptions{Actor: "test"})
			return err
		}},
		{"UpdateStatus", func() error {
			_, err := w.UpdateStatus(ctx, ref, uid, json.RawMessage(`{"phase":"ready","observed_generation":2}`))
			return err
		}},
		{"Delete graceful", func() error {
			_, err := w.Delete(ctx, ref, true, store.WriteOptions{Actor: "test"})
			return err
		}},
		{"Finalize", func() error { return w.Finalize(ctx, ref, uid, "test") }},
	}
	for _, wr := range writes {
		ch := sub.Changed()
		if closed(ch) {
			t.Fatalf("%s: the channel was closed before the write", wr.name)
		}
		if err := wr.write(); err != nil {
			t.Fatalf("%s: %v", wr.name, err)
		}
		if !closed(ch) {
			t.Fatalf("%s did not wake the watcher", wr.name)
		}
	}
	if closed(chOther) {
		t.Fatal("writes of another object woke its watcher")
	}

	// A failed write wakes nobody.
	ch = sub.Changed()
	if _, err := w.UpdateStatus(ctx, ref, uid, json.RawMessage(`{}`)); err == nil {
		t.Fatal("UpdateStatus of a finalized object succeeded")
	}
	if closed(ch) {
		t.Fatal("a failed write woke the watcher")
	}

	// Closing the last subscription forgets the object; a new one works.
	sub.Close()
	sub.Close()
	again := w.Subscribe(ref)
	defer again.Close()
	ch = again.Changed()
	if _, err := w.Create(ctx, &store.Object{Kind: ref.Kind, Meta: api.Metadata{Name: ref.Name, Environment: ref.Environment},
		Spec: json.RawMessage(`{}`), Status: json.RawMessage(`{}`)}, store.WriteOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if !closed(ch) {
		t.Fatal("a subscription taken after an earlier one closed was not woken")
	}
}
