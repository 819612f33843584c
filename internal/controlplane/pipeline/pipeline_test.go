package pipeline_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store/sqlite"
)

func TestParseSchedule(t *testing.T) {
	from := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) // a Wednesday
	for _, tc := range []struct {
		expr string
		next time.Time // zero for an invalid expression
	}{
		{"* * * * *", time.Date(2030, 1, 2, 3, 5, 0, 0, time.UTC)},
		{"0 3 * * *", time.Date(2030, 1, 3, 3, 0, 0, 0, time.UTC)},
		{"*/15 * * * *", time.Date(2030, 1, 2, 3, 15, 0, 0, time.UTC)},
		{"30 2 * * 1-5", time.Date(2030, 1, 3, 2, 30, 0, 0, time.UTC)},
		{"0 0 1 jan *", time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"@daily", time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC)},
		{"@hourly", time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC)},
		{"", time.Time{}},
		{"* * * *", time.Time{}},
		{"0 0 3 * * *", time.Time{}},
		{"61 * * * *", time.Time{}},
		{"@every 1m", time.Time{}},
		{"TZ=Europe/Paris 0 3 * * *", time.Time{}},
		{"CRON_TZ=UTC 0 3 * * *", time.Time{}},
		{"daily", time.Time{}},
	} {
		s, err := pipeline.ParseSchedule(tc.expr)
		if tc.next.IsZero() {
			if err == nil {
				t.Errorf("%q parsed; want an error", tc.expr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		// The time zone of the reference time does not matter: schedules
		// are in UTC.
		local := from.In(time.FixedZone("UTC+5", 5*3600))
		if got := pipeline.NextFire(s, local); !got.Equal(tc.next) || got.Location() != time.UTC {
			t.Errorf("%q: next after %v is %v, want %v", tc.expr, from, got, tc.next)
		}
	}
}

func TestResolveParameters(t *testing.T) {
	defs := []api.PipelineParameter{
		{Name: "epochs", Type: api.ParamInt, Default: "3"},
		{Name: "lr", Type: api.ParamFloat, Default: "0.1"},
		{Name: "dataset", Type: api.ParamString},
		{Name: "shuffle", Type: api.ParamBool, Default: "true"},
	}
	got, err := pipeline.ResolveParameters(defs, map[string]string{"dataset": "houses", "lr": "1e-3"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"epochs": "3", "lr": "1e-3", "dataset": "houses", "shuffle": "true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("resolved %v, want %v", got, want)
	}
	for _, tc := range []struct {
		given map[string]string
		field string
	}{
		{map[string]string{}, `parameters["dataset"]`},
		{map[string]string{"dataset": "x", "epochs": "3.5"}, `parameters["epochs"]`},
		{map[string]string{"dataset": "x", "shuffle": "yes"}, `parameters["shuffle"]`},
		{map[string]string{"dataset": "x", "seed": "1"}, `parameters["seed"]`},
	} {
		_, err := pipeline.ResolveParameters(defs, tc.given)
		apiErr, ok := err.(*api.Error)
		if !ok || apiErr.Code != api.EINVALID || apiErr.Field != tc.field {
			t.Errorf("%v: error %v, want invalid %s", tc.given, err, tc.field)
		}
	}
	if got, err := pipeline.ResolveParameters(nil, nil); err != nil || got != nil {
		t.Errorf("no parameters: %v, %v", got, err)
	}
}

func TestFilePath(t *testing.T) {
	for uri, want := range map[string]string{
		"file:///data/train.csv":          "/data/train.csv",
		"file://localhost/data/train.csv": "/data/train.csv",
		"file:///data/with%20space.csv":   "/data/with space.csv",
		"file://host/data/train.csv":      "",
		"file:data/train.csv":             "",
		"/data/train.csv":                 "",
		"s3://bucket/train.csv":           "",
		"file:///data/train.csv?v=2":      "",
	} {
		got, err := pipeline.FilePath(uri)
		if (err == nil) != (want != "") || got != want {
			t.Errorf("FilePath(%q) = %q, %v; want %q", uri, got, err, want)
		}
	}
}

func TestRunNames(t *testing.T) {
	if got := pipeline.RunName("train", 12); got != "train-12" {
		t.Errorf("RunName = %q", got)
	}
	for run, want := range map[string]int64{"train-1": 1, "train-12": 12, "train-0": 0, "train-01": 0, "train-x": 0, "train": 0, "other-1": 0, "train-1-2": 0} {
		n, ok := pipeline.RunNumber("train", run)
		if n != want || ok != (want > 0) {
			t.Errorf("RunNumber(%q) = %d, %v; want %d", run, n, ok, want)
		}
	}
}

func TestDatasetURI(t *testing.T) {
	spec := api.TrainingPipelineSpec{
		Steps: []api.PipelineStep{
			{Name: "a", Inputs: []string{"s3://bucket/x"}},
			{Name: "b", Inputs: []string{"file:///data/b.csv", "file:///data/c.csv"}},
		},
		Triggers: api.PipelineTriggers{OnNewData: []string{"file:///data/watched.csv"}},
	}
	if got := pipeline.DatasetURI(spec); got != "file:///data/b.csv" {
		t.Errorf("DatasetURI = %q, want the first file input", got)
	}
	spec.Steps[1].Inputs = nil
	if got := pipeline.DatasetURI(spec); got != "file:///data/watched.csv" {
		t.Errorf("DatasetURI = %q, want the watched file", got)
	}
}

// storeWithPipeline opens a store holding environment dev and pipeline p.
func storeWithPipeline(t *testing.T) (*sqlite.DB, *store.Object) {
	t.Helper()
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "mlops.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	if _, err := db.Create(ctx, &store.Object{Kind: api.KindEnvironment, Meta: api.Metadata{Name: "dev"}, Spec: json.RawMessage(`{}`), Status: json.RawMessage(`{"phase":"ready"}`)}, store.WriteOptions{Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(api.TrainingPipelineSpec{ComputePool: "cpu", Model: "m", Steps: []api.PipelineStep{{Name: "a", Command: []string{"true"}}}})
	res, err := db.Create(ctx, &store.Object{Kind: api.KindTrainingPipeline, Meta: api.Metadata{Name: "p", Environment: "dev"}, Spec: spec, Status: json.RawMessage(`{"phase":"ready"}`)}, store.WriteOptions{Actor: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return db, res.Object
}

func TestStartRun_ConcurrentCreatorsNeverShareAName(t *testing.T) {
	db, p := storeWithPipeline(t)
	const n = 8
	var wg sync.WaitGroup
	names := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every creator works from the same (stale) status.
			res, err := pipeline.StartRun(t.Context(), db, p, api.TriggerManual, nil, store.WriteOptions{Actor: "t"})
			if err == nil {
				names[i] = res.Object.Meta.Name
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(names)
	if got := strings.Join(names, " "); got != "p-1 p-2 p-3 p-4 p-5 p-6 p-7 p-8" {
		t.Errorf("runs %s", got)
	}
	run, err := db.Get(t.Context(), api.Ref{Kind: api.KindPipelineRun, Environment: "dev", Name: "p-3"})
	if err != nil {
		t.Fatal(err)
	}
	var spec api.PipelineRunSpec
	if err := json.Unmarshal(run.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.Pipeline != "p" || spec.PipelineUID != p.Meta.UID || spec.PipelineGeneration != 1 || spec.PipelineSpec.Steps[0].Name != "a" {
		t.Errorf("run spec %+v", spec)
	}
}

func TestStartRun_SystemWriteIsIdempotent(t *testing.T) {
	db, p := storeWithPipeline(t)
	key := "trigger/" + p.Meta.UID + "/schedule/2030-01-02T03:00:00Z"
	first, err := pipeline.StartRun(t.Context(), db, p, api.TriggerSchedule, nil, pipeline.SystemWrite("pipeline-trigger", key))
	if err != nil {
		t.Fatal(err)
	}
	again, err := pipeline.StartRun(t.Context(), db, p, api.TriggerSchedule, nil, pipeline.SystemWrite("pipeline-trigger", key))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Replayed || again.Object.Meta.UID != first.Object.Meta.UID {
		t.Errorf("the repeated start made %s (replayed %v), want %s again", again.Object.Meta.Name, again.Replayed, first.Object.Meta.Name)
	}
	other, err := pipeline.StartRun(t.Context(), db, p, api.TriggerSchedule, nil, pipeline.SystemWrite("pipeline-trigger", key+"x"))
	if err != nil || other.Object.Meta.Name != "p-2" {
		t.Errorf("another key: %v, %v", other, err)
	}
}

func TestStartRun_PipelineBeingDeleted(t *testing.T) {
	db, p := storeWithPipeline(t)
	if _, err := db.Delete(t.Context(), p.Ref(), true, store.WriteOptions{Actor: "t"}); err != nil {
		t.Fatal(err)
	}
	_, err := pipeline.StartRun(t.Context(), db, p, api.TriggerManual, nil, store.WriteOptions{Actor: "t"})
	if apiErr, ok := err.(*api.Error); !ok || apiErr.Code != api.ECONFLICT {
		t.Errorf("error %v, want conflict", err)
	}
}
