package reconcile

import (
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// setCondition sets one condition, keeping LastTransitionTime unless the
// status value changes, as conditions promise.
func setCondition(conds []api.Condition, c api.Condition, now time.Time) []api.Condition {
	for i := range conds {
		if conds[i].Type != c.Type {
			continue
		}
		if conds[i].Status == c.Status {
			c.LastTransitionTime = conds[i].LastTransitionTime
		} else {
			c.LastTransitionTime = now
		}
		conds[i] = c
		return conds
	}
	c.LastTransitionTime = now
	return append(conds, c)
}

// removeCondition drops the condition of type typ, for a condition that no
// longer applies (its policy was lifted).
func removeCondition(conds []api.Condition, typ string) []api.Condition {
	out := conds[:0]
	for _, c := range conds {
		if c.Type != typ {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
