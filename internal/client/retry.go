package client

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps a server's Retry-After: a proxy that says "come back in
// an hour" should fail the apply with its message, not hang it.
const maxRetryAfter = time.Minute

// retryableStatus lists the answers that mean "not now" rather than "no".
// 500 is not among them: it is a bug in mlopsd, and repeating the request
// only repeats the bug.
func retryableStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableTransportError reports whether a failure to get any answer may go
// away by itself (refused, reset, EOF, timeout). A certificate that is not
// trusted, or an https endpoint answered in plain HTTP, will not.
//
// Writes are retried as well as reads because every write carries an
// Idempotency-Key: mlopsd applies a key at most once, so a write whose answer
// was lost is replayed rather than repeated.
func retryableTransportError(err error) bool {
	return !isCertificateError(err) && !isPlainHTTPServer(err)
}

// retryWait decides whether attempt may be followed by another and how long
// to wait first. resp is nil when err is not.
func (c *Client) retryWait(ctx context.Context, attempt int, resp *response, err error) (time.Duration, bool) {
	if attempt > c.maxRetries {
		return 0, false
	}
	if err != nil && !retryableTransportError(err) {
		return 0, false
	}
	if err == nil && !retryableStatus(resp.status) {
		return 0, false
	}
	wait := backoff(c.backoffBase, c.backoffMax, attempt)
	if resp != nil {
		if d, ok := retryAfter(resp.header.Get("Retry-After")); ok {
			wait = d
		}
	}
	// Waiting past the caller's deadline would turn a clear error (say, a 503
	// with mlopsd's message) into a bare "context deadline exceeded".
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
		return 0, false
	}
	return wait, true
}

// backoff is exponential from base, capped at maxWait, with "equal jitter":
// half the step is fixed and half random, so many clients that failed
// together do not all come back together.
func backoff(base, maxWait time.Duration, attempt int) time.Duration {
	d := maxWait
	if shift := attempt - 1; shift < 30 {
		if step := base << shift; step > 0 && step < maxWait {
			d = step
		}
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// retryAfter parses a Retry-After header: delay-seconds, or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0, false
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(time.Until(t), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// sleep waits for d or until ctx is done, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
