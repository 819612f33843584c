package reconcile_test

import (
	"encoding/json"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
)

// readStatus returns an object's generation and raw status fields.
func (f *fixture) readStatus(ref api.Ref) (int64, api.Status, map[string]json.RawMessage) {
	f.tb.Helper()
	obj, err := f.st.Get(f.ctx, ref)
	if err != nil {
		f.tb.Fatalf("reading %s: %v", ref, err)
	}
	var st api.Status
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		f.tb.Fatal(err)
	}
	if err := json.Unmarshal(obj.Status, &fields); err != nil {
		f.tb.Fatal(err)
	}
	return obj.Meta.Generation, st, fields
}

func TestReadyHandler_Environment(t *testing.T) {
	f := newFixture(t, &runtime.Local{MaxNodesPerPool: 1})
	// An environment whose status carries fields beyond api.Status.
	ref := f.create(api.KindEnvironment, "", "prod", "", api.EnvironmentSpec{Description: "v1"},
		map[string]any{"phase": api.PhasePending, "reason": "Created", "message": "waiting", "gpus_allocated": 7, "note": "kept"})

	gen, st, _ := f.readStatus(ref)
	if st.Settled(gen) {
		t.Fatalf("pending environment settled: %+v", st)
	}
	f.pass()
	gen, st, fields := f.readStatus(ref)
	if st.Phase != api.PhaseReady || st.ObservedGeneration != gen || st.Reason != "" || st.Message != "" {
		t.Fatalf("status = %+v, want ready at generation %d without reason or message", st, gen)
	}
	if _, ok := fields["reason"]; ok {
		t.Errorf("stale reason kept: %s", fields["reason"])
	}
	if string(fields["gpus_allocated"]) != "7" || string(fields["note"]) != `"kept"` {
		t.Errorf("extra status fields not preserved: %v", fields)
	}
	c := readyCondition(st.Conditions)
	if c == nil || c.Status != api.ConditionTrue || c.Reason == "" {
		t.Fatalf("Ready condition = %+v", c)
	}
	since := c.LastTransitionTime

	t.Run("TracksGeneration", func(t *testing.T) {
		newGen := f.updateSpec(ref, api.EnvironmentSpec{Description: "v2"})
		_, st, _ := f.readStatus(ref)
		if st.Settled(newGen) {
			t.Fatalf("settled at generation %d before any pass: %+v", newGen, st)
		}
		f.pass()
		_, st, fields := f.readStatus(ref)
		if st.Phase != api.PhaseReady || st.ObservedGeneration != newGen {
			t.Errorf("status = %+v, want ready at generation %d", st, newGen)
		}
		if string(fields["gpus_allocated"]) != "7" {
			t.Errorf("gpus_allocated lost: %v", fields)
		}
		// Ready stayed True, so its transition time stays.
		if c := readyCondition(st.Conditions); c == nil || !c.LastTransitionTime.Equal(since) || len(st.Conditions) != 1 {
			t.Errorf("conditions = %+v, want one Ready since %v", st.Conditions, since)
		}
	})
}

func TestReadyHandler_FeatureStoreAndGroup(t *testing.T) {
	f := newFixture(t, &runtime.Local{MaxNodesPerPool: 1})
	provisioning := api.Status{Phase: api.PhaseProvisioning, Reason: "Created", Message: "waiting for the reconciler"}
	fs := f.create(api.KindFeatureStore, "dev", "fs", "", api.FeatureStoreSpec{OnlineStore: api.OnlineStoreEmbedded}, provisioning)
	spec := api.FeatureGroupSpec{
		FeatureStore: "fs",
		Entities:     []api.Entity{{Name: "id", ValueType: api.ValueTypeString}},
		Features:     []api.Feature{{Name: "age", ValueType: api.ValueTypeInt64}},
		Online:       true,
	}
	fg := f.create(api.KindFeatureGroup, "dev", "fg", api.KindFeatureStore+"/fs", spec, provisioning)

	f.pass()
	for _, ref := range []api.Ref{fs, fg} {
		gen, st, fields := f.readStatus(ref)
		if st.Phase != api.PhaseReady || st.ObservedGeneration != gen {
			t.Errorf("%s status = %+v, want ready at generation %d", ref, st, gen)
		}
		if _, ok := fields["message"]; ok {
			t.Errorf("%s kept the provisioning message: %s", ref, fields["message"])
		}
	}

	spec.Features = append(spec.Features, api.Feature{Name: "clicks", ValueType: api.ValueTypeInt64})
	gen := f.updateSpec(fg, spec)
	f.pass()
	if _, st, _ := f.readStatus(fg); st.ObservedGeneration != gen || st.Phase != api.PhaseReady {
		t.Errorf("after an update status = %+v, want ready at generation %d", st, gen)
	}
	pending, err := f.st.Pending(f.ctx, api.KindFeatureGroup)
	if err != nil || len(pending) != 0 {
		t.Errorf("pending feature groups = %d, %v; want none", len(pending), err)
	}
}
