package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// defaultWaitReread is how often a long poll reads its object again
// although no write was announced: a status written by another mlopsd
// replica on the same database reaches this one only that way.
const defaultWaitReread = 250 * time.Millisecond

// waitRequest is a parsed long poll: wait until the object settled on
// generation, for at most timeout.
type waitRequest struct {
	generation int64
	timeout    time.Duration
}

// parseWait reads the long-poll parameters of a GET; nil means a plain GET.
func parseWait(r *http.Request) (*waitRequest, error) {
	q := r.URL.Query()
	gen, timeout := q.Get(api.QueryWaitForGeneration), q.Get(api.QueryWaitTimeout)
	if gen == "" {
		if timeout != "" {
			return nil, api.Errorf(api.EINVALID, api.QueryWaitTimeout,
				"%s is only taken with %s; add %s=<generation> or leave %s out", api.QueryWaitTimeout, api.QueryWaitForGeneration, api.QueryWaitForGeneration, api.QueryWaitTimeout)
		}
		return nil, nil
	}
	w := &waitRequest{timeout: api.DefaultWaitTimeout}
	n, err := strconv.ParseInt(gen, 10, 64)
	if err != nil || n < 1 {
		return nil, api.Errorf(api.EINVALID, api.QueryWaitForGeneration,
			"%s=%q is not a whole number of at least 1; use the metadata.generation of the write to wait for", api.QueryWaitForGeneration, gen)
	}
	w.generation = n
	if timeout != "" {
		d, err := time.ParseDuration(timeout)
		if err != nil || d < 0 || d > api.MaxWaitTimeout {
			return nil, api.Errorf(api.EINVALID, api.QueryWaitTimeout,
				"%s=%q is not a duration from 0s to %s; use e.g. %s=30s", api.QueryWaitTimeout, timeout, api.MaxWaitTimeout, api.QueryWaitTimeout)
		}
		w.timeout = d
	}
	return w, nil
}

// settledAs returns whether a status of type T describes generation in a
// terminal phase, by T's own Settled method.
func settledAs[T interface{ Settled(generation int64) bool }](raw json.RawMessage, generation int64) (bool, error) {
	var st T
	if err := json.Unmarshal(raw, &st); err != nil {
		return false, fmt.Errorf("decoding status: %w", err)
	}
	return st.Settled(generation), nil
}

// settledAt reports whether obj is at rest for a long poll on generation:
// its status observed that generation (or a later one) in one of the
// kind's terminal phases, and it is not being deleted, since an object
// being torn down is on its way to 404 rather than at rest.
func (k *kind[S]) settledAt(obj *store.Object, generation int64) (bool, error) {
	if obj.Meta.DeletionRequestedAt != nil {
		return false, nil
	}
	settled := k.settled
	if settled == nil {
		settled = settledAs[api.Status]
	}
	ok, err := settled(obj.Status, generation)
	if err != nil {
		return false, fmt.Errorf("%s: %w", obj.Ref(), err)
	}
	return ok, nil
}

// waitSettled reads ref until k says it settled on w.generation, and
// returns it then; it returns the object as it is when w.timeout passed or
// the server stops waiting (EndWaits), and ENOTFOUND once the object is
// gone. It wakes on every write of the object made through this server's
// store and, for the writes of other replicas, re-reads every s.waitReread.
// The request's context ends the wait with its error.
func (s *Server) waitSettled(ctx context.Context, k kindHandler, ref api.Ref, w *waitRequest) (*store.Object, error) {
	sub := s.watch.Subscribe(ref)
	defer sub.Close()
	counted := false
	defer func() {
		if counted {
			s.metrics.waiting.Dec()
		}
	}()
	deadline := time.NewTimer(w.timeout)
	defer deadline.Stop()
	reread := time.NewTicker(s.waitReread)
	defer reread.Stop()
	for {
		// Taken before the read, so a write between the read and the
		// select below still wakes this wait.
		changed := sub.Changed()
		obj, err := s.store.Get(ctx, ref)
		if err != nil {
			return nil, err
		}
		if ok, err := k.settledAt(obj, w.generation); err != nil || ok {
			return obj, err
		}
		// Counted once the object was found unsettled, so the gauge says
		// how many requests really wait.
		if !counted {
			counted = true
			s.metrics.waiting.Inc()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return s.store.Get(ctx, ref)
		case <-s.waitsEnded:
			return s.store.Get(ctx, ref)
		case <-changed:
		case <-reread.C:
		}
	}
}

// EndWaits answers every long poll at once with its object as it is, and
// makes later ones answer without waiting, so that a shutdown need not
// wait out their timeouts. The daemon calls it when the HTTP server begins
// to shut down. It may be called more than once.
func (s *Server) EndWaits() {
	s.endWaits.Do(func() { close(s.waitsEnded) })
}
