package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		NewDatabase: func(t *testing.T) string { return filepath.Join(t.TempDir(), "mlops.db") },
		Open: func(path string, clock store.Clock) (store.Store, error) {
			return sqlite.Open(path, sqlite.WithClock(clock))
		},
	})
}

func TestOpen(t *testing.T) {
	t.Run("ErrNoPath", func(t *testing.T) {
		for _, path := range []string{"", ":memory:", "file::memory:", filepath.Join(t.TempDir(), "a?b.db")} {
			if db, err := sqlite.Open(path); err == nil {
				_ = db.Close()
				t.Errorf("Open(%q) succeeded, want an error", path)
			}
		}
	})

	t.Run("ErrMissingDirectory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no", "such", "dir", "mlops.db")
		if db, err := sqlite.Open(path); err == nil {
			_ = db.Close()
			t.Fatalf("Open(%q) succeeded, want an error", path)
		}
	})
}
