package reliability_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// TestConcurrentUpdate_SameETag has two clients update one object from the
// same etag at once: exactly one wins, the other gets a 409 that says what
// to do, and the winner's update is the one kept.
func TestConcurrentUpdate_SameETag(t *testing.T) {
	ctx := context.Background()
	srv := mlopsdtest.Start(t)
	c := newClient(t, srv.URL)
	if _, err := c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}
	base := api.FeatureStoreSpec{OfflineStoreURI: "file:///tmp/features"}
	created, err := c.CreateFeatureStore(ctx, "dev", "main", base)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 10 {
		current, err := c.GetFeatureStore(ctx, "dev", "main")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				spec := base
				spec.Description = fmt.Sprintf("round %d, writer %d", round, i)
				_, errs[i] = c.UpdateFeatureStore(ctx, "dev", "main", spec, current.Metadata.ETag)
			}()
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: both updates from etag %s succeeded", round, current.Metadata.ETag)
				}
				winner = i
			case client.IsConflict(err):
				if !strings.Contains(err.Error(), "changed since it was read") || !strings.Contains(err.Error(), "409") {
					t.Errorf("round %d: conflict error %q does not say what happened", round, err)
				}
			default:
				t.Fatalf("round %d: update %d: %v", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no update succeeded: %v", round, errs)
		}
		after, err := c.GetFeatureStore(ctx, "dev", "main")
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("round %d, writer %d", round, winner); after.Spec.Description != want {
			t.Fatalf("round %d: description %q, want the winner's %q", round, after.Spec.Description, want)
		}
		if after.Metadata.Generation != current.Metadata.Generation+1 {
			t.Fatalf("round %d: generation %d, want %d", round, after.Metadata.Generation, current.Metadata.Generation+1)
		}
	}
	if final, _ := c.GetFeatureStore(ctx, "dev", "main"); final == nil || final.Metadata.UID != created.Metadata.UID {
		t.Fatal("the object was replaced")
	}
}

// TestParallelClients_NoDuplicates has 16 clients × 50 operations create
// and update a small set of shared names, each update a read-modify-write
// with If-Match retried on conflict, and some creates sent twice with one
// Idempotency-Key as a client retrying after a lost answer does. At the end
// every name exists once and its generation counts every acknowledged
// update: no duplicate, no lost update.
func TestParallelClients_NoDuplicates(t *testing.T) {
	const (
		clients = 16
		ops     = 50
		names   = 20
	)
	ctx := context.Background()
	srv := mlopsdtest.Start(t)
	c := newClient(t, srv.URL)
	if _, err := c.CreateEnvironment(ctx, "dev", api.EnvironmentSpec{}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	updates := map[string]int64{} // acknowledged updates per name
	creates := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ops {
				name := fmt.Sprintf("fs-%02d", (g*7+i)%names)
				if err := createOrUpdate(ctx, c, srv.URL, name, fmt.Sprintf("client %d op %d", g, i), func(uid string, updated bool) {
					mu.Lock()
					defer mu.Unlock()
					if updated {
						updates[name]++
						return
					}
					if old, ok := creates[name]; ok && old != uid {
						errs <- fmt.Errorf("%s created twice: uids %s and %s", name, old, uid)
					}
					creates[name] = uid
				}); err != nil {
					errs <- fmt.Errorf("client %d op %d: %w", g, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	list, err := c.ListFeatureStores(ctx, "dev", api.ListOptions{Limit: api.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != names {
		t.Fatalf("%d feature stores, want %d", len(list.Items), names)
	}
	var total int64
	for _, fs := range list.Items {
		name := fs.Metadata.Name
		if fs.Metadata.UID != creates[name] {
			t.Errorf("%s has uid %s, created as %s", name, fs.Metadata.UID, creates[name])
		}
		if want := 1 + updates[name]; fs.Metadata.Generation != want {
			t.Errorf("%s has generation %d after %d acknowledged updates: an update was lost", name, fs.Metadata.Generation, updates[name])
		}
		total += 1 + updates[name]
	}
	if total != clients*ops {
		t.Errorf("%d writes acknowledged, want %d", total, clients*ops)
	}
}

// createOrUpdate creates the feature store name, or when it exists sets its
// description with a read-modify-write that retries on conflict; done learns
// the outcome. Creates go out twice with one Idempotency-Key.
func createOrUpdate(ctx context.Context, c *client.Client, url, name, desc string, done func(uid string, updated bool)) error {
	spec := api.FeatureStoreSpec{OfflineStoreURI: "file:///tmp/features", Description: desc}
	for attempt := 0; attempt < 100; attempt++ {
		cur, err := c.GetFeatureStore(ctx, "dev", name)
		if client.IsNotFound(err) {
			uid, status, err := createTwice(url, name, spec, fmt.Sprintf("%s/%s", name, desc))
			if err != nil {
				return err
			}
			if status == http.StatusConflict {
				continue // someone else created it first: update it
			}
			done(uid, false)
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := c.UpdateFeatureStore(ctx, "dev", name, spec, cur.Metadata.ETag); err != nil {
			if client.IsConflict(err) {
				continue
			}
			return err
		}
		done(cur.Metadata.UID, true)
		return nil
	}
	return fmt.Errorf("%s: too many conflicts", name)
}

// createTwice sends one create twice with the same Idempotency-Key: the
// second answer must replay the first.
func createTwice(url, name string, spec api.FeatureStoreSpec, key string) (uid string, status int, err error) {
	body := fmt.Sprintf(`{"name":%q,"spec":{"offline_store_uri":%q,"description":%q}}`, name, spec.OfflineStoreURI, spec.Description)
	var first string
	for i := range 2 {
		req, err := http.NewRequest(http.MethodPost, url+"/v1/environments/dev/feature-stores", strings.NewReader(body))
		if err != nil {
			return "", 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(api.HeaderIdempotencyKey, key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", 0, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if i == 0 {
			first, status = string(b), resp.StatusCode
			if status != http.StatusCreated && status != http.StatusConflict {
				return "", 0, fmt.Errorf("create %s: %d %s", name, status, b)
			}
			continue
		}
		if resp.StatusCode != status || string(b) != first {
			return "", 0, fmt.Errorf("retried create %s: %d %s, want the replay of %d %s", name, resp.StatusCode, b, status, first)
		}
	}
	if status != http.StatusCreated {
		return "", status, nil
	}
	i := strings.Index(first, `"uid":"`)
	if i < 0 {
		return "", 0, fmt.Errorf("create %s: no uid in %s", name, first)
	}
	uid = first[i+len(`"uid":"`):]
	return uid[:strings.IndexByte(uid, '"')], status, nil
}
