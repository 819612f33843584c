package pipeline_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
)

func TestScheduleStep(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2030, 1, 2, h, m, 0, 0, time.UTC) }
	ptr := func(t time.Time) *time.Time { return &t }
	for _, tc := range []struct {
		name     string
		expr     string
		next     *time.Time
		now      time.Time
		wantNext time.Time
		wantDue  *time.Time
	}{
		{"FirstPassArms", "0 * * * *", nil, at(3, 10), at(4, 0), nil},
		{"NotDueYet", "0 * * * *", ptr(at(4, 0)), at(3, 59), at(4, 0), nil},
		{"DueAtTheFireTime", "0 * * * *", ptr(at(4, 0)), at(4, 0), at(5, 0), ptr(at(4, 0))},
		{"MissedFireTimesFireOnce", "0 * * * *", ptr(at(4, 0)), at(7, 30), at(8, 0), ptr(at(4, 0))},
		{"EditedScheduleStartsOver", "30 * * * *", ptr(at(4, 0)), at(4, 10), at(4, 30), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next, due, err := pipeline.ScheduleStep(tc.expr, tc.next, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if !next.Equal(tc.wantNext) {
				t.Errorf("next %v, want %v", next, tc.wantNext)
			}
			if (due == nil) != (tc.wantDue == nil) || due != nil && !due.Equal(*tc.wantDue) {
				t.Errorf("due %v, want %v", due, tc.wantDue)
			}
		})
	}
	if _, _, err := pipeline.ScheduleStep("61 * * * *", nil, at(1, 0)); err == nil {
		t.Error("a bad schedule stepped")
	}
}

func TestHashCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.csv")
	if err := os.WriteFile(path, []byte("a\n1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// quiet is a time at which every file written so far has settled.
	quiet := func() time.Time { return time.Now().Add(pipeline.QuietPeriod) }
	var c pipeline.HashCache
	first, err := c.SettledHash(path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := pipeline.HashFile(path)
	if first != want {
		t.Fatalf("hash %s, want %s", first, want)
	}
	// Replacing the file (a new inode) is seen even with the same size
	// and modification time.
	mtime := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SettledHash(path, quiet()); err != nil {
		t.Fatal(err)
	}
	replaceFile(t, path, "a\n2\n", mtime)
	second, err := c.SettledHash(path, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := pipeline.HashFile(path); second != want || second == first {
		t.Errorf("hash after replacing the file %s, want the new content's %s", second, want)
	}
	if _, err := c.SettledHash(filepath.Join(t.TempDir(), "missing"), quiet()); err == nil {
		t.Error("a missing file hashed")
	}

	// SettledHash waits for a file to go QuietPeriod unmodified, in
	// content or by a rename into place (its change time).
	if err := os.WriteFile(path, []byte("a\n3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := c.SettledHash(path, now); !errors.Is(err, pipeline.ErrSettling) {
		t.Errorf("SettledHash of a file written just now: %v, want ErrSettling", err)
	}
	if sum, err := c.SettledHash(path, now.Add(pipeline.QuietPeriod)); err != nil || sum != hashOf(t, path) {
		t.Errorf("SettledHash once quiet = %s, %v; want the content's hash", sum, err)
	}
	if sum, err := c.SettledHash(path, now.Add(-time.Hour)); err != nil || sum != hashOf(t, path) {
		t.Errorf("SettledHash with the file modified after now = %s, %v; want the hash", sum, err)
	}
	replaceFile(t, path, "a\n4\n", mtime)
	if _, err := c.SettledHash(path, time.Now()); !errors.Is(err, pipeline.ErrSettling) {
		t.Errorf("SettledHash of a file renamed into place just now: %v, want ErrSettling", err)
	}
}

// replaceFile renames a new file of content, modified at mtime, over path.
func replaceFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func hashOf(t *testing.T, path string) string {
	t.Helper()
	sum, err := pipeline.HashFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}
