package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		calls := 0
		err := Poll(context.Background(), time.Millisecond, func(context.Context) (bool, error) {
			calls++
			return calls == 3, nil
		})
		if err != nil || calls != 3 {
			t.Errorf("err = %v after %d calls, want nil after 3", err, calls)
		}
	})
	t.Run("ErrFromFn", func(t *testing.T) {
		boom := errors.New("boom")
		err := Poll(context.Background(), time.Millisecond, func(context.Context) (bool, error) { return false, boom })
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want boom", err)
		}
	})
	t.Run("ErrTimedOut", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := Poll(ctx, time.Millisecond, func(context.Context) (bool, error) { return false, nil })
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out waiting") {
			t.Errorf("err = %v, want a timeout wrapping context.DeadlineExceeded", err)
		}
	})
	t.Run("ErrTimedOutInsideFn", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := Poll(ctx, time.Millisecond, func(ctx context.Context) (bool, error) {
			<-ctx.Done()
			return false, ctx.Err()
		})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out waiting") {
			t.Errorf("err = %v, want a timeout", err)
		}
	})
	t.Run("ErrCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		err := Poll(ctx, time.Hour, func(context.Context) (bool, error) {
			cancel()
			return false, nil
		})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "canceled while waiting") {
			t.Errorf("err = %v", err)
		}
	})
}
