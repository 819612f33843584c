package provider

import (
	"os"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// TestMain makes this test binary the batch scorer of the control planes
// the acceptance tests start: their batch inference runs start it again as
// "<binary> batch-score ...", and it scores then instead of testing.
func TestMain(m *testing.M) {
	mlopsdtest.ServeBatchScorer()
	os.Exit(m.Run())
}
