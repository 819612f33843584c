package api

import (
	"fmt"
	"testing"
)

// The steps the endpoint reconciler takes and the console draws come from
// one definition.
func TestEndpointRollout_Steps(t *testing.T) {
	for _, tc := range []struct {
		strategy string
		step     int64
		want     string
	}{
		{RolloutAllAtOnce, 10, "[100]"},
		{RolloutCanary, 25, "[25 100]"},
		{RolloutCanary, 100, "[100]"},
		{RolloutLinear, 30, "[30 60 90 100]"},
		{RolloutBlueGreen, 10, "[0 100]"},
		{RolloutLinear, 0, "[0 100]"},
	} {
		r := EndpointRollout{Strategy: tc.strategy, StepPercent: tc.step}
		if got := fmt.Sprint(r.Steps()); got != tc.want {
			t.Errorf("Steps of %s with step_percent %d = %s, want %s", tc.strategy, tc.step, got, tc.want)
		}
	}
}
