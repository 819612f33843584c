package sqlstore

import (
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// TestTimeFormat checks that stored timestamps round-trip exactly and sort
// as text in time order.
func TestTimeFormat(t *testing.T) {
	times := []time.Time{
		time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC),
		time.Date(2030, 1, 2, 3, 4, 5, 7000, time.UTC),
	}
	for i, want := range times {
		got, err := parseTime(formatTime(want))
		if err != nil {
			t.Fatalf("parseTime(%q): %v", formatTime(want), err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("round trip of %v = %v", want, got)
		}
		if i > 0 && formatTime(times[i-1]) >= formatTime(want) {
			t.Errorf("%q does not sort before %q", formatTime(times[i-1]), formatTime(want))
		}
	}
	if _, err := parseTime("yesterday"); err == nil {
		t.Error("parseTime(yesterday) succeeded")
	}
}

func TestRebind(t *testing.T) {
	const query = `SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?`
	for _, tc := range []struct {
		dollar bool
		want   string
	}{
		{false, query},
		{true, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4`},
	} {
		s := New(Config{DollarParams: tc.dollar})
		if got := s.rebind(query); got != tc.want {
			t.Errorf("rebind with DollarParams %v = %q, want %q", tc.dollar, got, tc.want)
		}
	}
}

// TestPendingConditionPhases checks that the literal phases of
// pendingCondition are the terminal phases of the API.
func TestPendingConditionPhases(t *testing.T) {
	want := "phase NOT IN ('" + api.PhaseReady + "', '" + api.PhaseFailed + "', '" + api.PhaseSucceeded + "', '" + api.PhaseCancelled + "')"
	if !strings.Contains(pendingCondition, want) {
		t.Fatalf("pendingCondition %q does not hold %q", pendingCondition, want)
	}
}
