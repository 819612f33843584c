package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Poll calls fn every interval until fn reports done or returns an error, or
// ctx is done. The provider uses it to wait for an object to settle within
// the user's timeouts, which ctx carries.
//
// When ctx ends first, Poll returns an error that says it timed out (or was
// canceled) and wraps ctx.Err(), so errors.Is(err, context.DeadlineExceeded)
// holds; an error fn returned once ctx had ended is wrapped too.
func Poll(ctx context.Context, interval time.Duration, fn func(ctx context.Context) (done bool, err error)) error {
	if interval <= 0 {
		interval = time.Second
	}
	for {
		done, err := fn(ctx)
		switch {
		case done && err == nil:
			return nil
		case ctx.Err() != nil:
			return pollStopped(ctx, err)
		case err != nil:
			return err
		}
		if sleep(ctx, interval) != nil {
			return pollStopped(ctx, nil)
		}
	}
}

func pollStopped(ctx context.Context, lastErr error) error {
	what := "timed out waiting"
	if errors.Is(ctx.Err(), context.Canceled) {
		what = "canceled while waiting"
	}
	if lastErr != nil {
		return fmt.Errorf("%s: %w (last error: %w)", what, ctx.Err(), lastErr)
	}
	return fmt.Errorf("%s: %w", what, ctx.Err())
}

// waitTarget is one object to long-poll and how to read its status.
type waitTarget[T any] struct {
	kind, env, name string
	// view returns the object's metadata and whether its status settled on
	// a generation (the kind's terminal phases, as mlopsd's long poll
	// judges them).
	view func(*T) (api.Metadata, func(generation int64) bool)
}

// longPoll sends one GET of t with wait_for_generation=generation, with a
// timeout that leaves the attempt (RequestTimeout) and the caller's ctx
// time to receive the answer. waited reports whether mlopsd honoured the
// parameters; an mlopsd that predates them answers at once without the
// Mlops-Waited header.
func longPoll[T any](ctx context.Context, c *Client, t waitTarget[T], generation int64) (obj *T, waited bool, err error) {
	path, err := objectPath(t.kind, t.env, t.name)
	if err != nil {
		return nil, false, err
	}
	timeout := min(api.DefaultWaitTimeout, c.requestTimeout-min(c.requestTimeout/4, 5*time.Second))
	if deadline, ok := ctx.Deadline(); ok {
		left := time.Until(deadline)
		timeout = min(timeout, left-min(left/4, 2*time.Second))
	}
	timeout = max(timeout, 0).Truncate(time.Millisecond)
	q := url.Values{
		api.QueryWaitForGeneration: {strconv.FormatInt(max(generation, 1), 10)},
		api.QueryWaitTimeout:       {timeout.String()},
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path, query: q})
	if err != nil {
		return nil, false, err
	}
	out := new(T)
	if err := json.Unmarshal(resp.body, out); err != nil {
		return nil, false, fmt.Errorf("GET %s: mlopsd answered %d with a body that is not the expected JSON (%v); check that the endpoint points at mlopsd and that the provider and mlopsd versions match", path, resp.status, err)
	}
	return out, resp.header.Get(api.HeaderWaited) != "", nil
}

// waitSettled long-polls t until its status settled on its current
// generation, which is at least generation (that of the write being waited
// for; a later write by someone else is waited for too), and returns it.
// Settled includes failed: the caller reports the failure. Against an
// mlopsd that does not wait, it polls with a backoff from pollBase to
// pollMax instead. When ctx ends it returns the last object read, with an
// error as Poll's that wraps ctx.Err().
func waitSettled[T any](ctx context.Context, c *Client, t waitTarget[T], generation int64) (*T, error) {
	var last *T
	gen := max(generation, 1)
	for attempt := 1; ; {
		obj, waited, err := longPoll(ctx, c, t, gen)
		if err != nil {
			if ctx.Err() != nil {
				return last, pollStopped(ctx, err)
			}
			return last, err
		}
		last = obj
		meta, settled := t.view(obj)
		if settled(meta.Generation) {
			return obj, nil
		}
		if ctx.Err() != nil {
			return last, pollStopped(ctx, nil)
		}
		switch {
		case meta.Generation > gen:
			// Someone changed the spec meanwhile: wait for that at once.
			gen, attempt = meta.Generation, 1
		case waited:
			// mlopsd waited out its timeout: ask again at once.
		default:
			if sleep(ctx, backoff(c.pollBase, c.pollMax, attempt)) != nil {
				return last, pollStopped(ctx, nil)
			}
			attempt++
		}
	}
}

// waitGone long-polls t until mlopsd answers 404, for deletes that run a
// teardown: an object being deleted is never settled, so each long poll
// lasts until the object is gone or the timeout passed. An object at rest
// (no deletion requested) makes mlopsd answer at once; it is then polled
// with a backoff, as against an mlopsd that does not wait.
func waitGone[T any](ctx context.Context, c *Client, t waitTarget[T]) error {
	gen := int64(1)
	for attempt := 1; ; {
		obj, waited, err := longPoll(ctx, c, t, gen)
		switch {
		case IsNotFound(err):
			return nil
		case err != nil && ctx.Err() != nil:
			return pollStopped(ctx, err)
		case err != nil:
			return err
		case ctx.Err() != nil:
			return pollStopped(ctx, nil)
		}
		meta, settled := t.view(obj)
		gen = max(gen, meta.Generation)
		if waited && (meta.DeletionRequestedAt != nil || !settled(gen)) {
			continue
		}
		if sleep(ctx, backoff(c.pollBase, c.pollMax, attempt)) != nil {
			return pollStopped(ctx, nil)
		}
		attempt++
	}
}
