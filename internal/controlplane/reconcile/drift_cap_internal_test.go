package reconcile

import (
	"fmt"
	"maps"
	"testing"
)

func TestMostDrifted(t *testing.T) {
	small := map[string]float64{"a": 0.1, "b": 0.3}
	if got := mostDrifted(small, 2); !maps.Equal(got, small) {
		t.Errorf("mostDrifted of 2 features, n 2 = %v", got)
	}
	many := map[string]float64{}
	for i := range 100 {
		many[fmt.Sprintf("f%03d", i)] = float64(i % 10)
	}
	got := mostDrifted(many, 15)
	if len(got) != 15 {
		t.Fatalf("kept %d features, want 15", len(got))
	}
	// Ten features have 9 and ten have 8: all 9s and the first five 8s by name.
	for name, v := range got {
		if v < 8 {
			t.Errorf("kept %s = %v, below features that were dropped", name, v)
		}
	}
	for _, name := range []string{"f008", "f018", "f028", "f038", "f048"} {
		if _, ok := got[name]; !ok {
			t.Errorf("tie on 8 not broken by name: %s missing from %v", name, got)
		}
	}
}
