package client

import (
	"context"
	"errors"
	"fmt"
	"time"
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
