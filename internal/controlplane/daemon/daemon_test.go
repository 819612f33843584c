package daemon_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/daemon"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

func TestNew_MetricsRetentionCoversAlarms(t *testing.T) {
	_, err := daemon.New(daemon.Config{DataPath: filepath.Join(t.TempDir(), "mlops.db"), MetricsRetention: time.Hour})
	if err == nil || !strings.Contains(err.Error(), "-metrics-retention 48h0m0s or more") {
		t.Fatalf("New with a retention of 1h = %v; want an error naming -metrics-retention", err)
	}
}

// TestClose_FlushesMetrics checks that what the gateway recorded last is in
// the database once Close returns, although no flush came in between.
func TestClose_FlushesMetrics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mlops.db")
	d, err := daemon.New(daemon.Config{DataPath: path, MetricsFlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	d.Metrics.RecordPrediction("dev", "api", "primary", "v1", 3*time.Millisecond, false)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	got, err := st.QueryMetrics(context.Background(), store.MetricQuery{Environment: "dev", Series: api.SeriesPredictions, From: now.Add(-time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Count != 1 || got[0].Sum != 3 {
		t.Fatalf("points after Close = %+v; want the one prediction of 3ms", got)
	}
}
