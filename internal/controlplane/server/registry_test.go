package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// digestA is the SHA-256 of nothing in particular: versions whose artifact is
// not a local file are recorded as given.
var digestA = strings.Repeat("a", 64)

// registryFixture is a control plane with environment "dev" and model
// "churn" in it.
func registryFixture(t *testing.T, opts ...mlopsdtest.Option) *apiClient {
	t.Helper()
	c := MustStart(t, opts...)
	if len(opts) > 0 {
		// Tests with tokens act as the first one unless they switch.
		c.token = "alice-token"
	}
	createEnv(c, "dev", api.EnvironmentSpec{})
	createModel(c, "churn")
	return c
}

// as returns a client of the same control plane that authenticates with token.
func (c *apiClient) as(token string) *apiClient {
	cp := *c
	cp.token = token
	return &cp
}

// createModel creates a classification model in environment dev.
func createModel(c *apiClient, name string) {
	c.tb.Helper()
	c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModel, ""), api.CreateModelRequest{
		Name: name,
		Spec: api.ModelSpec{TaskType: api.TaskClassification, Description: "predicts churn"},
	})
}

// versionSpec is a valid version of model whose artifact is not a local file.
func versionSpec(model string) api.ModelVersionSpec {
	return api.ModelVersionSpec{
		Model:          model,
		ArtifactURI:    "s3://models/" + model + "/model.json",
		ArtifactSHA256: digestA,
		Framework:      "sklearn",
		Inputs:         []api.ModelSignatureField{{Name: "tenure_months", ValueType: api.ValueTypeInt64}},
		Outputs:        []api.ModelSignatureField{{Name: "churn_probability", ValueType: api.ValueTypeFloat64}},
		Metrics:        map[string]string{"auc": "0.91", "f1": "0.8"},
		Lineage: api.ModelLineage{
			PipelineRun:   "churn-train-42",
			DatasetURI:    "file:///data/churn.parquet",
			DatasetSHA256: strings.Repeat("b", 64),
			CodeRef:       "git@example.com:ml/churn@3f2a1c9",
			Parameters:    map[string]string{"max_depth": "6"},
		},
	}
}

// createVersion registers a version in environment dev.
func createVersion(c *apiClient, name string, spec api.ModelVersionSpec) api.ModelVersion {
	c.tb.Helper()
	r := c.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: name, Spec: spec})
	return decode[api.ModelVersion](c.tb, r)
}

// updateVersion sends a version update in environment dev.
func updateVersion(c *apiClient, name string, spec api.ModelVersionSpec, headers ...string) response {
	c.tb.Helper()
	return c.do(http.MethodPut, objPath("dev", api.KindModelVersion, name), api.UpdateModelVersionRequest{Spec: spec}, headers...)
}

// getVersion reads a version in environment dev.
func getVersion(c *apiClient, name string) api.ModelVersion {
	c.tb.Helper()
	return decode[api.ModelVersion](c.tb, c.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindModelVersion, name), nil))
}

// createChampion sends the create of alias churn-champion in environment dev.
func createChampion(c *apiClient, model, version string) response {
	c.tb.Helper()
	const name = "churn-champion"
	return c.do(http.MethodPost, objPath("dev", api.KindModelAlias, ""), api.CreateModelAliasRequest{
		Name: name, Spec: api.ModelAliasSpec{Model: model, Version: version},
	})
}

// wantDecisions checks the approval history against "status/approver" items.
func wantDecisions(t *testing.T, got []api.ApprovalDecision, want ...string) {
	t.Helper()
	var g []string
	for _, d := range got {
		g = append(g, d.Status+"/"+d.Approver)
		if d.DecidedAt.IsZero() || time.Since(d.DecidedAt) > time.Minute {
			t.Errorf("decision %+v has decided_at %v, want the server's recent clock", d, d.DecidedAt)
		}
	}
	if strings.Join(g, " ") != strings.Join(want, " ") {
		t.Fatalf("approval history = %q, want %q", g, want)
	}
}

func TestModelVersion_ApprovalHistory(t *testing.T) {
	t.Parallel()
	c := registryFixture(t, mlopsdtest.WithTokens("alice-token", "bob-token"))
	alice, bob := c.as("alice-token"), c.as("bob-token")

	// A client cannot write history: a forged decision is dropped.
	spec := versionSpec("churn")
	spec.ApprovalHistory = []api.ApprovalDecision{{Status: api.ApprovalApproved, Approver: "mallory", DecidedAt: time.Now()}}
	v := createVersion(alice, "churn-1", spec)
	if v.Spec.Approval.Status != api.ApprovalPending {
		t.Errorf("approval = %+v, want the default pending", v.Spec.Approval)
	}
	wantDecisions(t, v.Spec.ApprovalHistory)

	t.Run("ApproveRecordsTheAuthenticatedActor", func(t *testing.T) {
		s := v.Spec
		s.Approval = api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "auc beats champion"}
		s.ApprovalHistory = []api.ApprovalDecision{{Status: api.ApprovalRejected, Approver: "mallory"}}
		r := updateVersion(alice, "churn-1", s)
		if r.Status != http.StatusOK {
			t.Fatalf("approve = %s", r)
		}
		got := decode[api.ModelVersion](t, r)
		wantDecisions(t, got.Spec.ApprovalHistory, "approved/token-1")
		if got.Spec.ApprovalHistory[0].Reason != "auc beats champion" {
			t.Errorf("decision reason = %q", got.Spec.ApprovalHistory[0].Reason)
		}
	})

	t.Run("RejectNeedsReason", func(t *testing.T) {
		s := getVersion(bob, "churn-1").Spec
		s.Approval = api.ApprovalRequest{Status: api.ApprovalRejected}
		e := wantError(t, updateVersion(bob, "churn-1", s), http.StatusBadRequest, api.EINVALID, "spec.approval.reason")
		if !strings.Contains(e.Message, "reason") {
			t.Errorf("message %q does not say a reason is needed", e.Message)
		}
		s.Approval.Reason = "  "
		wantError(t, updateVersion(bob, "churn-1", s), http.StatusBadRequest, api.EINVALID, "spec.approval.reason")
	})

	t.Run("RevokeByAnotherActor", func(t *testing.T) {
		s := getVersion(bob, "churn-1").Spec
		s.Approval = api.ApprovalRequest{Status: api.ApprovalRejected, Reason: "leaks the label"}
		r := updateVersion(bob, "churn-1", s)
		if r.Status != http.StatusOK {
			t.Fatalf("reject = %s", r)
		}
		wantDecisions(t, decode[api.ModelVersion](t, r).Spec.ApprovalHistory, "approved/token-1", "rejected/token-2")
	})

	t.Run("IllegalTransitions", func(t *testing.T) {
		s := getVersion(alice, "churn-1").Spec
		s.Approval = api.ApprovalRequest{Status: api.ApprovalPending}
		e := wantError(t, updateVersion(alice, "churn-1", s), http.StatusBadRequest, api.EINVALID, "spec.approval.status")
		if !strings.Contains(e.Message, "back to pending") {
			t.Errorf("message %q does not name the transition", e.Message)
		}
		s.Approval = api.ApprovalRequest{Status: api.ApprovalApproved}
		e = wantError(t, updateVersion(alice, "churn-1", s), http.StatusBadRequest, api.EINVALID, "spec.approval.reason")
		if !strings.Contains(e.Message, "rejected version needs a reason") {
			t.Errorf("message %q does not say re-approval needs a reason", e.Message)
		}
		s.Approval = api.ApprovalRequest{Status: "accepted"}
		wantError(t, updateVersion(alice, "churn-1", s), http.StatusBadRequest, api.EINVALID, "spec.approval.status")
		wantDecisions(t, getVersion(alice, "churn-1").Spec.ApprovalHistory, "approved/token-1", "rejected/token-2")
	})

	t.Run("ReapproveWithReason", func(t *testing.T) {
		s := getVersion(alice, "churn-1").Spec
		s.Approval = api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "label leak fixed upstream"}
		r := updateVersion(alice, "churn-1", s)
		if r.Status != http.StatusOK {
			t.Fatalf("re-approve = %s", r)
		}
		wantDecisions(t, decode[api.ModelVersion](t, r).Spec.ApprovalHistory, "approved/token-1", "rejected/token-2", "approved/token-1")
	})

	t.Run("DescriptionDecidesNothing", func(t *testing.T) {
		s := getVersion(bob, "churn-1").Spec
		s.Description = "now with notes"
		r := updateVersion(bob, "churn-1", s)
		if r.Status != http.StatusOK {
			t.Fatalf("description = %s", r)
		}
		got := decode[api.ModelVersion](t, r)
		if got.Spec.Description != "now with notes" {
			t.Errorf("description = %q", got.Spec.Description)
		}
		wantDecisions(t, got.Spec.ApprovalHistory, "approved/token-1", "rejected/token-2", "approved/token-1")
	})

	t.Run("CreateApproved", func(t *testing.T) {
		s := versionSpec("churn")
		s.Approval = api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "backfilled"}
		got := createVersion(bob, "churn-2", s)
		wantDecisions(t, got.Spec.ApprovalHistory, "approved/token-2")
	})

	t.Run("CreateRejectedNeedsReason", func(t *testing.T) {
		s := versionSpec("churn")
		s.Approval = api.ApprovalRequest{Status: api.ApprovalRejected}
		r := bob.do(http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: "churn-3", Spec: s})
		wantError(t, r, http.StatusBadRequest, api.EINVALID, "spec.approval.reason")
	})

	t.Run("RetriedCreateIsReplayed", func(t *testing.T) {
		// The decision holds the server's clock, but a retry with the same
		// key must still match the first request.
		s := versionSpec("churn")
		s.Approval = api.ApprovalRequest{Status: api.ApprovalApproved}
		body := api.CreateModelVersionRequest{Name: "churn-4", Spec: s}
		first := alice.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelVersion, ""), body, api.HeaderIdempotencyKey, "reg-4")
		second := alice.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindModelVersion, ""), body, api.HeaderIdempotencyKey, "reg-4")
		if second.Header.Get(api.HeaderIdempotentReplay) != "true" {
			t.Errorf("retried create not replayed")
		}
		a, b := decode[api.ModelVersion](t, first), decode[api.ModelVersion](t, second)
		if !a.Spec.ApprovalHistory[0].DecidedAt.Equal(b.Spec.ApprovalHistory[0].DecidedAt) {
			t.Errorf("replay recorded another decision: %+v vs %+v", a.Spec.ApprovalHistory, b.Spec.ApprovalHistory)
		}
	})

	t.Run("RetriedUpdateIsReplayed", func(t *testing.T) {
		s := getVersion(alice, "churn-4").Spec
		s.Approval = api.ApprovalRequest{Status: api.ApprovalRejected, Reason: "drifted"}
		r1 := updateVersion(alice, "churn-4", s, api.HeaderIdempotencyKey, "rej-4")
		r2 := updateVersion(alice, "churn-4", s, api.HeaderIdempotencyKey, "rej-4")
		if r1.Status != http.StatusOK || r2.Status != http.StatusOK || r2.Header.Get(api.HeaderIdempotentReplay) != "true" {
			t.Fatalf("update %s, retry %s (replay %q)", r1, r2, r2.Header.Get(api.HeaderIdempotentReplay))
		}
		wantDecisions(t, getVersion(alice, "churn-4").Spec.ApprovalHistory, "approved/token-1", "rejected/token-1")
	})

	t.Run("StaleIfMatch", func(t *testing.T) {
		old := getVersion(alice, "churn-2")
		s := old.Spec
		s.Description = "first"
		if r := updateVersion(alice, "churn-2", s, api.HeaderIfMatch, `"`+old.Metadata.ETag+`"`); r.Status != http.StatusOK {
			t.Fatalf("update with current etag = %s", r)
		}
		s.Approval = api.ApprovalRequest{Status: api.ApprovalRejected, Reason: "stale view"}
		wantError(t, updateVersion(bob, "churn-2", s, api.HeaderIfMatch, `"`+old.Metadata.ETag+`"`), http.StatusConflict, api.ECONFLICT, "")
		wantDecisions(t, getVersion(alice, "churn-2").Spec.ApprovalHistory, "approved/token-2")
	})
}

// TestModelVersion_ConcurrentDecisions checks that decisions made at the same
// time are all recorded: the read-merge-write of the history is atomic.
func TestModelVersion_ConcurrentDecisions(t *testing.T) {
	t.Parallel()
	c := registryFixture(t)
	createVersion(c, "churn-1", versionSpec("churn"))
	// Fewer writers than mergeAttempts, so none can lose every round.
	const n = 4
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := versionSpec("churn")
			s.Approval = api.ApprovalRequest{Status: api.ApprovalApproved, Reason: fmt.Sprintf("reviewer %d", i)}
			if r := updateVersion(c, "churn-1", s); r.Status != http.StatusOK {
				t.Errorf("update %d = %s", i, r)
			}
		})
	}
	wg.Wait()
	h := getVersion(c, "churn-1").Spec.ApprovalHistory
	seen := map[string]bool{}
	for _, d := range h {
		seen[d.Reason] = true
	}
	// Each request changes what it finds (pending, or another reviewer's
	// reason), so each records exactly one decision and none is lost.
	if len(seen) != n || len(h) != n {
		t.Errorf("history has %d decisions with %d reasons, want %d each: %+v", len(h), len(seen), n, h)
	}
}

func TestModelVersion_Immutable(t *testing.T) {
	t.Parallel()
	c := registryFixture(t)
	createModel(c, "fraud")
	createVersion(c, "churn-1", versionSpec("churn"))

	for _, tc := range []struct {
		name, field string
		change      func(s *api.ModelVersionSpec)
	}{
		{"Model", "spec.model", func(s *api.ModelVersionSpec) { s.Model = "fraud" }},
		{"ArtifactURI", "spec.artifact_uri", func(s *api.ModelVersionSpec) { s.ArtifactURI = "s3://models/other.json" }},
		{"ArtifactSHA256", "spec.artifact_sha256", func(s *api.ModelVersionSpec) { s.ArtifactSHA256 = strings.Repeat("c", 64) }},
		{"Framework", "spec.framework", func(s *api.ModelVersionSpec) { s.Framework = "xgboost" }},
		{"Inputs", "spec.inputs", func(s *api.ModelVersionSpec) {
			s.Inputs = append(s.Inputs, api.ModelSignatureField{Name: "plan", ValueType: "string"})
		}},
		{"Outputs", "spec.outputs", func(s *api.ModelVersionSpec) { s.Outputs = nil }},
		{"Metrics", "spec.metrics", func(s *api.ModelVersionSpec) { s.Metrics["auc"] = "0.99" }},
		{"Lineage", "spec.lineage", func(s *api.ModelVersionSpec) { s.Lineage.CodeRef = "other" }},
		{"Parameters", "spec.lineage", func(s *api.ModelVersionSpec) { s.Lineage.Parameters = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := versionSpec("churn")
			tc.change(&s)
			e := wantError(t, updateVersion(c, "churn-1", s), http.StatusBadRequest, api.EINVALID, tc.field)
			if !strings.Contains(e.Message, "replace the version instead") {
				t.Errorf("message %q does not give the fix", e.Message)
			}
		})
	}

	t.Run("EmptyAndMissingMapsAreTheSame", func(t *testing.T) {
		s := versionSpec("churn")
		createVersion(c, "churn-2", api.ModelVersionSpec{Model: "churn", ArtifactURI: s.ArtifactURI, ArtifactSHA256: digestA, Framework: "onnx"})
		raw := fmt.Sprintf(`{"spec":{"model":"churn","artifact_uri":%q,"artifact_sha256":%q,"framework":"onnx","metrics":{},"inputs":[],"lineage":{"parameters":{}},"approval":{"status":"pending"},"description":"x"}}`, s.ArtifactURI, digestA)
		c.must(http.StatusOK, http.MethodPut, objPath("dev", api.KindModelVersion, "churn-2"), raw)
	})
}

func TestModelVersion_Validation(t *testing.T) {
	t.Parallel()
	c := registryFixture(t)
	for _, tc := range []struct {
		name, field string
		change      func(s *api.ModelVersionSpec)
	}{
		{"NoModel", "spec.model", func(s *api.ModelVersionSpec) { s.Model = "" }},
		{"MissingModel", "spec.model", func(s *api.ModelVersionSpec) { s.Model = "nope" }},
		{"NoArtifact", "spec.artifact_uri", func(s *api.ModelVersionSpec) { s.ArtifactURI = "" }},
		{"ArtifactNotURI", "spec.artifact_uri", func(s *api.ModelVersionSpec) { s.ArtifactURI = "/models/x" }},
		{"NoDigest", "spec.artifact_sha256", func(s *api.ModelVersionSpec) { s.ArtifactSHA256 = "" }},
		{"UpperCaseDigest", "spec.artifact_sha256", func(s *api.ModelVersionSpec) { s.ArtifactSHA256 = strings.Repeat("A", 64) }},
		{"ShortDigest", "spec.artifact_sha256", func(s *api.ModelVersionSpec) { s.ArtifactSHA256 = "abc" }},
		{"NoFramework", "spec.framework", func(s *api.ModelVersionSpec) { s.Framework = "" }},
		{"MetricNotNumber", `spec.metrics["auc"]`, func(s *api.ModelVersionSpec) { s.Metrics["auc"] = "high" }},
		{"MetricNaN", `spec.metrics["auc"]`, func(s *api.ModelVersionSpec) { s.Metrics["auc"] = "NaN" }},
		{"MetricHexFloat", `spec.metrics["auc"]`, func(s *api.ModelVersionSpec) { s.Metrics["auc"] = "0x1p-2" }},
		{"MetricOverflows", `spec.metrics["auc"]`, func(s *api.ModelVersionSpec) { s.Metrics["auc"] = "1e400" }},
		{"MetricName", `spec.metrics["AUC"]`, func(s *api.ModelVersionSpec) { s.Metrics["AUC"] = "1" }},
		{"InputType", "spec.inputs[0].value_type", func(s *api.ModelVersionSpec) { s.Inputs[0].ValueType = "float" }},
		{"DuplicateOutput", "spec.outputs[1].name", func(s *api.ModelVersionSpec) { s.Outputs = append(s.Outputs, s.Outputs[0]) }},
		{"DatasetDigest", "spec.lineage.dataset_sha256", func(s *api.ModelVersionSpec) { s.Lineage.DatasetSHA256 = "x" }},
		{"PipelineRun", "spec.lineage.pipeline_run", func(s *api.ModelVersionSpec) { s.Lineage.PipelineRun = "Run 1" }},
		{"CodeRefSpaces", "spec.lineage.code_ref", func(s *api.ModelVersionSpec) { s.Lineage.CodeRef = "main branch" }},
		{"ParameterName", `spec.lineage.parameters["bad key"]`, func(s *api.ModelVersionSpec) { s.Lineage.Parameters["bad key"] = "1" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := versionSpec("churn")
			tc.change(&s)
			r := c.do(http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: "churn-1", Spec: s})
			wantError(t, r, http.StatusBadRequest, api.EINVALID, tc.field)
		})
	}
	t.Run("ModelTaskType", func(t *testing.T) {
		r := c.do(http.MethodPost, objPath("dev", api.KindModel, ""), api.CreateModelRequest{Name: "m", Spec: api.ModelSpec{TaskType: "magic"}})
		wantError(t, r, http.StatusBadRequest, api.EINVALID, "spec.task_type")
	})
}

func TestModelVersion_LocalArtifact(t *testing.T) {
	t.Parallel()
	c := registryFixture(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "model.json")
	content := []byte(`{"weights":[0.1,0.2]}`)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	digest := hex.EncodeToString(sum[:])
	local := func(uri, digest string) api.ModelVersionSpec {
		s := versionSpec("churn")
		s.ArtifactURI, s.ArtifactSHA256 = uri, digest
		return s
	}
	create := func(name string, s api.ModelVersionSpec) response {
		return c.do(http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: name, Spec: s})
	}

	t.Run("Match", func(t *testing.T) {
		v := createVersion(c, "local-1", local("file://"+path, digest))
		if v.Spec.ArtifactSHA256 != digest {
			t.Errorf("digest = %q", v.Spec.ArtifactSHA256)
		}
	})
	t.Run("Mismatch", func(t *testing.T) {
		e := wantError(t, create("local-2", local("file://"+path, digestA)), http.StatusBadRequest, api.EINVALID, "spec.artifact_sha256")
		if !strings.Contains(e.Message, digest) || !strings.Contains(e.Message, digestA) {
			t.Errorf("message %q does not name both digests", e.Message)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		e := wantError(t, create("local-3", local("file://"+filepath.Join(dir, "gone.json"), digest)), http.StatusBadRequest, api.EINVALID, "spec.artifact_uri")
		if !strings.Contains(e.Message, "does not exist") {
			t.Errorf("message %q", e.Message)
		}
	})
	t.Run("Directory", func(t *testing.T) {
		wantError(t, create("local-4", local("file://"+dir, digest)), http.StatusBadRequest, api.EINVALID, "spec.artifact_uri")
	})
	t.Run("RelativeFileURI", func(t *testing.T) {
		wantError(t, create("local-5", local("file://models/model.json", digest)), http.StatusBadRequest, api.EINVALID, "spec.artifact_uri")
	})
	t.Run("OtherSchemesAreRecorded", func(t *testing.T) {
		createVersion(c, "remote-1", local("s3://bucket/model.json", digestA))
	})
	t.Run("UpdatesDoNotReadTheFile", func(t *testing.T) {
		// The artifact was verified at registration; moving it later must
		// not make the version's description uneditable.
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		s := local("file://"+path, digest)
		s.Description = "file archived"
		if r := updateVersion(c, "local-1", s); r.Status != http.StatusOK {
			t.Fatalf("update = %s", r)
		}
	})
}

func TestModelAlias(t *testing.T) {
	t.Parallel()
	c := registryFixture(t, mlopsdtest.WithTokens("alice-token", "bob-token"))
	alice, bob := c.as("alice-token"), c.as("bob-token")
	createModel(alice, "fraud")
	createVersion(alice, "churn-1", versionSpec("churn"))
	createVersion(alice, "churn-2", versionSpec("churn"))
	createVersion(alice, "fraud-1", versionSpec("fraud"))
	aliasPath := objPath("dev", api.KindModelAlias, "churn-champion")

	t.Run("VersionOfAnotherModel", func(t *testing.T) {
		e := wantError(t, createChampion(alice, "churn", "fraud-1"), http.StatusBadRequest, api.EINVALID, "spec.version")
		if !strings.Contains(e.Message, `belongs to model "fraud"`) {
			t.Errorf("message %q", e.Message)
		}
	})
	t.Run("MissingVersion", func(t *testing.T) {
		wantError(t, createChampion(alice, "churn", "churn-9"), http.StatusBadRequest, api.EINVALID, "spec.version")
	})
	t.Run("MissingModel", func(t *testing.T) {
		wantError(t, createChampion(alice, "nope", "churn-1"), http.StatusBadRequest, api.EINVALID, "spec.model")
	})

	var a api.ModelAlias
	t.Run("Create", func(t *testing.T) {
		r := createChampion(alice, "churn", "churn-1")
		if r.Status != http.StatusCreated {
			t.Fatalf("create = %s", r)
		}
		a = decode[api.ModelAlias](t, r)
		if len(a.Spec.History) != 1 || a.Spec.History[0].Version != "churn-1" || a.Spec.History[0].MovedBy != "token-1" {
			t.Fatalf("history = %+v, want one move to churn-1 by token-1", a.Spec.History)
		}
	})

	t.Run("DeleteAliasedVersion", func(t *testing.T) {
		e := wantError(t, alice.do(http.MethodDelete, objPath("dev", api.KindModelVersion, "churn-1"), nil), http.StatusConflict, api.ECONFLICT, "")
		if !strings.Contains(e.Message, `"churn-champion"`) || !strings.Contains(e.Message, "move the alias") {
			t.Errorf("message %q does not name the alias and the fix", e.Message)
		}
		getVersion(alice, "churn-1")
	})

	t.Run("DeleteModelWithVersions", func(t *testing.T) {
		e := wantError(t, alice.do(http.MethodDelete, objPath("dev", api.KindModel, "churn"), nil), http.StatusConflict, api.ECONFLICT, "")
		if !strings.Contains(e.Message, `versions ("churn-1", "churn-2")`) || !strings.Contains(e.Message, "force_destroy = true") {
			t.Errorf("message %q does not name the versions and the fix", e.Message)
		}
	})

	t.Run("MoveKeepsHistory", func(t *testing.T) {
		spec := api.ModelAliasSpec{Model: "churn", Version: "churn-2",
			History: []api.AliasMove{{Version: "fraud-1", MovedBy: "mallory"}}}
		r := bob.must(http.StatusOK, http.MethodPut, aliasPath, api.UpdateModelAliasRequest{Spec: spec})
		got := decode[api.ModelAlias](t, r)
		if got.Metadata.UID != a.Metadata.UID {
			t.Errorf("moving the alias replaced it")
		}
		h := got.Spec.History
		if len(h) != 2 || h[0].Version != "churn-1" || h[1].Version != "churn-2" || h[1].MovedBy != "token-2" || h[1].MovedAt.Before(h[0].MovedAt) {
			t.Fatalf("history = %+v, want churn-1 by token-1 then churn-2 by token-2", h)
		}
		// The same target again is no move.
		r = bob.must(http.StatusOK, http.MethodPut, aliasPath, api.UpdateModelAliasRequest{Spec: api.ModelAliasSpec{Model: "churn", Version: "churn-2"}})
		if got := decode[api.ModelAlias](t, r); len(got.Spec.History) != 2 {
			t.Errorf("history after a no-op = %+v", got.Spec.History)
		}
	})

	t.Run("MoveToAnotherModelsVersion", func(t *testing.T) {
		r := alice.do(http.MethodPut, aliasPath, api.UpdateModelAliasRequest{Spec: api.ModelAliasSpec{Model: "churn", Version: "fraud-1"}})
		wantError(t, r, http.StatusBadRequest, api.EINVALID, "spec.version")
	})

	t.Run("ModelIsImmutable", func(t *testing.T) {
		r := alice.do(http.MethodPut, aliasPath, api.UpdateModelAliasRequest{Spec: api.ModelAliasSpec{Model: "fraud", Version: "fraud-1"}})
		e := wantError(t, r, http.StatusBadRequest, api.EINVALID, "spec.model")
		if !strings.Contains(e.Message, "replace the alias") {
			t.Errorf("message %q", e.Message)
		}
	})

	t.Run("VersionFreeAfterMove", func(t *testing.T) {
		alice.must(http.StatusNoContent, http.MethodDelete, objPath("dev", api.KindModelVersion, "churn-1"), nil)
		wantError(t, alice.do(http.MethodDelete, objPath("dev", api.KindModelVersion, "churn-2"), nil), http.StatusConflict, api.ECONFLICT, "")
	})

	t.Run("DeleteAllInOrder", func(t *testing.T) {
		alice.must(http.StatusNoContent, http.MethodDelete, aliasPath, nil)
		alice.must(http.StatusNoContent, http.MethodDelete, objPath("dev", api.KindModelVersion, "churn-2"), nil)
		alice.must(http.StatusNoContent, http.MethodDelete, objPath("dev", api.KindModel, "churn"), nil)
	})
}

// TestRegistry_BecomesReady checks that registry objects are ready at once
// and again after an update.
func TestRegistry_BecomesReady(t *testing.T) {
	t.Parallel()
	c := registryFixture(t)
	v := createVersion(c, "churn-1", versionSpec("churn"))
	if !v.Status.Settled(v.Metadata.Generation) || v.Status.Phase != api.PhaseReady {
		t.Errorf("new version status = %+v, want ready", v.Status)
	}
	s := v.Spec
	s.Description = "edited"
	updated := decode[api.ModelVersion](t, c.must(http.StatusOK, http.MethodPut, objPath("dev", api.KindModelVersion, "churn-1"), api.UpdateModelVersionRequest{Spec: s}))
	c.waitFor(objPath("dev", api.KindModelVersion, "churn-1"), 5*time.Second, func(r response) bool {
		got := decode[api.ModelVersion](t, r)
		return got.Status.Settled(updated.Metadata.Generation) && got.Status.Phase == api.PhaseReady
	})
}

// TestModel_DeleteWithDependents: a model with versions or aliases is not
// deleted unless the caller asks for force, which deletes the aliases, the
// versions and the model, each an audited delete of its own.
func TestModel_DeleteWithDependents(t *testing.T) {
	t.Parallel()
	c := registryFixture(t, mlopsdtest.WithTokens("alice-token"))
	createModel(c, "fraud")
	createVersion(c, "churn-1", versionSpec("churn"))
	createVersion(c, "churn-2", versionSpec("churn"))
	createVersion(c, "fraud-1", versionSpec("fraud"))
	if r := createChampion(c, "churn", "churn-1"); r.Status != http.StatusCreated {
		t.Fatalf("alias: %s", r)
	}
	model := objPath("dev", api.KindModel, "churn")

	t.Run("RefusedWithoutForce", func(t *testing.T) {
		e := wantError(t, c.do(http.MethodDelete, model, nil), http.StatusConflict, api.ECONFLICT, "")
		for _, want := range []string{`model "churn" in environment "dev" still has`, `2 versions ("churn-1", "churn-2")`, `1 alias ("churn-champion")`,
			"delete them first, or delete with force", "force=true", "force_destroy = true"} {
			if !strings.Contains(e.Message, want) {
				t.Errorf("message %q lacks %q", e.Message, want)
			}
		}
		wantError(t, c.do(http.MethodDelete, model+"?force=false", nil), http.StatusConflict, api.ECONFLICT, "")
	})
	t.Run("BadForce", func(t *testing.T) {
		wantError(t, c.do(http.MethodDelete, model+"?force=yes-please", nil), http.StatusBadRequest, api.EINVALID, api.QueryForce)
		e := wantError(t, c.do(http.MethodDelete, envPath("dev")+"?force=true", nil), http.StatusBadRequest, api.EINVALID, api.QueryForce)
		if !strings.Contains(e.Message, "only models") {
			t.Errorf("message %q", e.Message)
		}
	})
	t.Run("StaleIfMatchDeletesNothing", func(t *testing.T) {
		wantError(t, c.do(http.MethodDelete, model+"?force=true", nil, api.HeaderIfMatch, `"stale"`), http.StatusConflict, api.ECONFLICT, "")
		getVersion(c, "churn-1")
		c.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindModelAlias, "churn-champion"), nil)
	})
	t.Run("Force", func(t *testing.T) {
		r := c.must(http.StatusNoContent, http.MethodDelete, model+"?force=true", nil, api.HeaderIdempotencyKey, "force-1")
		if r.Header.Get(api.HeaderIdempotentReplay) != "" {
			t.Errorf("first forced delete marked as a replay")
		}
		for _, p := range []string{model, objPath("dev", api.KindModelVersion, "churn-1"), objPath("dev", api.KindModelVersion, "churn-2"), objPath("dev", api.KindModelAlias, "churn-champion")} {
			wantError(t, c.do(http.MethodGet, p, nil), http.StatusNotFound, api.ENOTFOUND, "")
		}
		// Another model's versions are not this one's.
		getVersion(c, "fraud-1")
		// A retry is answered from the first call's record.
		r = c.must(http.StatusNoContent, http.MethodDelete, model+"?force=true", nil, api.HeaderIdempotencyKey, "force-1")
		if r.Header.Get(api.HeaderIdempotentReplay) != "true" {
			t.Errorf("retried forced delete is not a replay")
		}
		// The same key without force is another request.
		wantError(t, c.do(http.MethodDelete, model, nil, api.HeaderIdempotencyKey, "force-1"), http.StatusConflict, api.ECONFLICT, "")
		// Each object went in a delete of its own, aliases first, by the caller.
		var got []string
		for _, rec := range decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit", nil)).Items {
			if rec.Action == api.AuditDelete {
				got = append(got, rec.Kind+"/"+rec.Name+"/"+rec.Actor)
			}
		}
		want := "model-aliases/churn-champion/token-1 model-versions/churn-1/token-1 model-versions/churn-2/token-1 models/churn/token-1"
		if strings.Join(got, " ") != want {
			t.Errorf("audited deletes %q, want %q", got, want)
		}
	})
	t.Run("Documented", func(t *testing.T) {
		var doc struct {
			Paths map[string]map[string]struct {
				Parameters []struct {
					Name   string         `json:"name"`
					In     string         `json:"in"`
					Schema map[string]any `json:"schema"`
				} `json:"parameters"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(c.must(http.StatusOK, http.MethodGet, "/openapi.json", nil).Body, &doc); err != nil {
			t.Fatal(err)
		}
		has := func(path string) bool {
			for _, p := range doc.Paths[path]["delete"].Parameters {
				if p.Name == api.QueryForce && p.In == "query" && p.Schema["type"] == "boolean" {
					return true
				}
			}
			return false
		}
		if !has("/v1/environments/{env}/models/{name}") {
			t.Errorf("/openapi.json does not document force on deleteModel: %+v", doc.Paths["/v1/environments/{env}/models/{name}"])
		}
		if has("/v1/environments/{env}/model-versions/{name}") {
			t.Errorf("/openapi.json documents force on deleteModelVersion, which refuses it")
		}
	})
	t.Run("ForceWithoutDependents", func(t *testing.T) {
		c.must(http.StatusNoContent, http.MethodDelete, objPath("dev", api.KindModel, "gone")+"?force=true", nil)
		createModel(c, "empty")
		c.must(http.StatusNoContent, http.MethodDelete, objPath("dev", api.KindModel, "empty")+"?force=true", nil)
	})
}
