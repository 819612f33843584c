package client

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	base, maxWait := 200*time.Millisecond, 5*time.Second
	for attempt := 1; attempt <= 100; attempt++ {
		step := maxWait
		if attempt < 6 {
			step = base << (attempt - 1)
		}
		for range 20 {
			d := backoff(base, maxWait, attempt)
			if d < step/2 || d > step {
				t.Fatalf("backoff(attempt %d) = %s, want within [%s, %s]", attempt, d, step/2, step)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
		ok     bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{" 7 ", 7 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{"86400", maxRetryAfter, true},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, true},
	} {
		got, ok := retryAfter(tc.header)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tc.header, got, ok, tc.want, tc.ok)
		}
	}
	future := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	if got, ok := retryAfter(future); !ok || got <= 20*time.Second || got > 30*time.Second {
		t.Errorf("retryAfter(%q) = %s, %v", future, got, ok)
	}
}
