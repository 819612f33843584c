package cli

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

func TestKindTable_CoversAPI(t *testing.T) {
	seen := map[string]string{}
	for _, k := range kindTable {
		if !slices.Contains(api.Kinds, k.kind) {
			t.Errorf("kind table has %q, which the API does not serve", k.kind)
		}
		for _, n := range append([]string{k.kind}, k.aliases...) {
			if other, dup := seen[n]; dup {
				t.Errorf("name %q means both %s and %s", n, other, k.kind)
			}
			seen[n] = k.kind
		}
	}
	for _, kind := range api.Kinds {
		if _, err := findKind(kind); err != nil {
			t.Errorf("kind %s: %v", kind, err)
		}
		if _, ok := typedObject[kind]; !ok {
			t.Errorf("kind %s has no typed object in this test", kind)
		}
	}
}

// typedObject makes a zero value of each kind's wire type, to check that
// -o json decodes into it and encodes back unchanged.
var typedObject = map[string]func() any{
	api.KindEnvironment:         func() any { return new(api.Environment) },
	api.KindComputePool:         func() any { return new(api.ComputePool) },
	api.KindFeatureStore:        func() any { return new(api.FeatureStore) },
	api.KindFeatureGroup:        func() any { return new(api.FeatureGroup) },
	api.KindModel:               func() any { return new(api.Model) },
	api.KindModelVersion:        func() any { return new(api.ModelVersion) },
	api.KindModelAlias:          func() any { return new(api.ModelAlias) },
	api.KindTrainingPipeline:    func() any { return new(api.TrainingPipeline) },
	api.KindPipelineRun:         func() any { return new(api.PipelineRun) },
	api.KindServiceAccount:      func() any { return new(api.ServiceAccount) },
	api.KindRoleBinding:         func() any { return new(api.RoleBinding) },
	api.KindModelEndpoint:       func() any { return new(api.ModelEndpoint) },
	api.KindNotificationChannel: func() any { return new(api.NotificationChannel) },
	api.KindAlarm:               func() any { return new(api.Alarm) },
	api.KindBatchInferenceJob:   func() any { return new(api.BatchInferenceJob) },
	api.KindBatchInferenceRun:   func() any { return new(api.BatchInferenceRun) },
}

// createEveryKind makes one object of every kind in environment dev and
// returns each kind's object name.
func (f *fixture) createEveryKind() map[string]string {
	t := f.t
	t.Helper()
	f.createEnv("dev", api.EnvironmentPolicy{})
	f.createVersion("dev", "v1", 2)
	mlopsdtest.Must(f.c.CreateFeatureStore(f.ctx, "dev", "fs", api.FeatureStoreSpec{OfflineStoreURI: "file://" + filepath.Join(f.dir, "offline"), OnlineStore: api.OnlineStoreEmbedded}))(t)
	mlopsdtest.Must(f.c.CreateFeatureGroup(f.ctx, "dev", "fg", api.FeatureGroupSpec{FeatureStore: "fs",
		Entities: []api.Entity{{Name: "user_id", ValueType: api.ValueTypeString}},
		Features: []api.Feature{{Name: "age", ValueType: api.ValueTypeInt64}}, Online: true, Offline: true, TTLSeconds: 3600}))(t)
	mlopsdtest.Must(f.c.CreateModelAlias(f.ctx, "dev", "champion", api.ModelAliasSpec{Model: "m", Version: "v1"}))(t)
	mlopsdtest.Must(f.c.CreateTrainingPipeline(f.ctx, "dev", "train", api.TrainingPipelineSpec{ComputePool: "cpu", Model: "m",
		Steps: []api.PipelineStep{{Name: "s", Command: []string{"true"}}}}))(t)
	run := mlopsdtest.Must(f.c.StartPipelineRun(f.ctx, "dev", "train", nil))(t)
	mlopsdtest.Must(f.c.CreateServiceAccount(f.ctx, "bot", api.ServiceAccountSpec{Description: "ci"}))(t)
	mlopsdtest.Must(f.c.CreateRoleBinding(f.ctx, "dev", "bot-viewer", api.RoleBindingSpec{Subject: "bot", Role: api.RoleViewer}))(t)
	mlopsdtest.Must(f.c.CreateModelEndpoint(f.ctx, "dev", "ep", api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v1", ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
	}))(t)
	mlopsdtest.Must(f.c.CreateNotificationChannel(f.ctx, "dev", "hook", api.NotificationChannelSpec{Type: api.ChannelWebhook, URL: "http://127.0.0.1:9/hook"}))(t)
	mlopsdtest.Must(f.c.CreateAlarm(f.ctx, "dev", "slow", api.AlarmSpec{Metric: api.AlarmMetricLatency, Statistic: api.StatisticP99, Endpoint: "ep",
		Comparison: api.ComparisonGreaterThan, Threshold: "100", PeriodSeconds: 60, EvaluationPeriods: 1, DatapointsToAlarm: 1, MissingData: api.MissingDataMissing}))(t)
	mlopsdtest.Must(f.c.CreateBatchInferenceJob(f.ctx, "dev", "score", api.BatchInferenceJobSpec{ModelVersion: "v1", ComputePool: "cpu",
		InputURI: "file://" + filepath.Join(f.dir, "in.csv"), InputFormat: api.BatchFormatCSV, OutputURI: "file://" + filepath.Join(f.dir, "out")}))(t)
	batch := mlopsdtest.Must(f.c.StartBatchInferenceRun(f.ctx, "dev", "score"))(t)
	return map[string]string{
		api.KindEnvironment: "dev", api.KindComputePool: "cpu", api.KindFeatureStore: "fs", api.KindFeatureGroup: "fg",
		api.KindModel: "m", api.KindModelVersion: "v1", api.KindModelAlias: "champion", api.KindTrainingPipeline: "train",
		api.KindPipelineRun: run.Metadata.Name, api.KindServiceAccount: "bot", api.KindRoleBinding: "bot-viewer",
		api.KindModelEndpoint: "ep", api.KindNotificationChannel: "hook", api.KindAlarm: "slow",
		api.KindBatchInferenceJob: "score", api.KindBatchInferenceRun: batch.Metadata.Name,
	}
}

// TestGetList_EveryKind gets and lists an object of every kind, as a
// table and as JSON, and checks that the JSON is the API object: it
// decodes into the wire type and encodes back to the same JSON.
func TestGetList_EveryKind(t *testing.T) {
	f := newFixture(t)
	names := f.createEveryKind()
	for _, kind := range api.Kinds {
		name := names[kind]
		t.Run(kind, func(t *testing.T) {
			f.t = t
			table := f.ok("list", kind, "-e", "dev")
			if !strings.HasPrefix(table, "NAME") || !strings.Contains(table, name) {
				t.Errorf("list %s table:\n%s\nwant a NAME header and %s", kind, table, name)
			}
			if row := f.ok("get", kind, name, "-e", "dev"); !strings.Contains(row, name) {
				t.Errorf("get %s %s table:\n%s", kind, name, row)
			}

			out := f.ok("get", kind, name, "-e", "dev", "-o", "json")
			roundTrip(t, kind, []byte(out))
			var meta struct {
				Metadata api.Metadata `json:"metadata"`
			}
			if err := json.Unmarshal([]byte(out), &meta); err != nil || meta.Metadata.Name != name || meta.Metadata.UID == "" {
				t.Errorf("get -o json: metadata %+v (%v)", meta.Metadata, err)
			}
			raw := mlopsdtest.Must(f.c.GetJSON(f.ctx, kind, "dev", name))(t)
			var want api.Metadata
			_ = json.Unmarshal(raw, &struct {
				Metadata *api.Metadata `json:"metadata"`
			}{&want})
			if want.UID != meta.Metadata.UID {
				t.Errorf("uid %s, the API says %s", meta.Metadata.UID, want.UID)
			}

			list := f.ok("list", kind, "-e", "dev", "-o", "json")
			var page struct {
				Items []json.RawMessage `json:"items"`
			}
			if err := json.Unmarshal([]byte(list), &page); err != nil {
				t.Fatalf("list -o json: %v\n%s", err, list)
			}
			found := false
			for _, item := range page.Items {
				roundTrip(t, kind, item)
				found = found || strings.Contains(string(item), `"name":"`+name+`"`) || strings.Contains(string(item), `"name": "`+name+`"`)
			}
			if !found {
				t.Errorf("list -o json has no %s:\n%s", name, list)
			}
		})
	}
	f.t = t

	t.Run("Aliases", func(t *testing.T) {
		f.t = t
		if out := f.ok("get", "mv", "v1", "-e", "dev"); !strings.Contains(out, "APPROVAL") || !strings.Contains(out, "pending") {
			t.Errorf("get mv v1:\n%s", out)
		}
		if out := f.ok("list", "endpoints", "-e", "dev"); !strings.Contains(out, "primary=v1:100%") {
			t.Errorf("list endpoints:\n%s", out)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		f.t = t
		r := f.want(ExitNo, "get", "model-versions", "nope", "-e", "dev")
		if !strings.Contains(r.stderr, "not") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("ErrUnknownKind", func(t *testing.T) {
		f.t = t
		r := f.want(ExitUsage, "get", "widgets", "x", "-e", "dev")
		if !strings.Contains(r.stderr, "unknown kind") || !strings.Contains(r.stderr, "model-versions") {
			t.Errorf("stderr %q", r.stderr)
		}
	})
	t.Run("ErrNoEnvironment", func(t *testing.T) {
		f.t = t
		if r := f.want(ExitUsage, "list", "models"); !strings.Contains(r.stderr, "-e") {
			t.Errorf("stderr %q", r.stderr)
		}
		f.env["MLOPS_ENVIRONMENT"] = "dev"
		defer delete(f.env, "MLOPS_ENVIRONMENT")
		if out := f.ok("list", "models"); !strings.Contains(out, "m ") {
			t.Errorf("list models with MLOPS_ENVIRONMENT:\n%s", out)
		}
	})
	t.Run("ErrBadOutput", func(t *testing.T) {
		f.t = t
		f.want(ExitUsage, "list", "models", "-e", "dev", "-o", "yaml")
	})
	t.Run("ErrArgs", func(t *testing.T) {
		f.t = t
		f.want(ExitUsage, "get", "models")
		f.want(ExitUsage, "list")
		f.want(ExitUsage, "list", "models", "--no-such-flag")
		f.want(ExitUsage, "frobnicate")
	})
}

// roundTrip checks that b decodes into kind's wire type and encodes back
// to the same JSON: no field is added, lost or renamed.
func roundTrip(t *testing.T, kind string, b []byte) {
	t.Helper()
	typed := typedObject[kind]()
	if err := json.Unmarshal(b, typed); err != nil {
		t.Fatalf("%s JSON does not decode into the wire type: %v\n%s", kind, err, b)
	}
	again, err := json.Marshal(typed)
	if err != nil {
		t.Fatal(err)
	}
	var x, y any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &y); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x, y) {
		t.Errorf("%s JSON changes through the wire type:\n got %s\nwant %s", kind, again, b)
	}
}
