package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// FuzzDecodeModelVersionSpec feeds arbitrary specs to the model version's
// decoder and approval merge. Besides checkDecodeSpec's properties: a spec
// that is accepted has a valid approval and no client-written history, and
// merging it onto a decided version never loses or rewrites a decision.
func FuzzDecodeModelVersionSpec(f *testing.F) {
	digest := strings.Repeat("a", 64)
	valid := fmt.Sprintf(`{"model":"churn","artifact_uri":"s3://m/1","artifact_sha256":%q,"framework":"sklearn"`, digest)
	addSeeds(f,
		valid+`}`,
		valid+`,"approval":{"status":"approved","reason":"good"}}`,
		valid+`,"approval":{"status":"rejected"}}`,
		valid+`,"approval":{"status":"pending"},"approval_history":[{"status":"approved","approver":"mallory"}]}`,
		valid+`,"metrics":{"auc":"0.91","loss":"-1e-3"}}`,
		valid+`,"metrics":{"auc":"NaN"}}`,
		valid+`,"metrics":{"auc":0.91}}`,
		valid+`,"inputs":[{"name":"a","value_type":"int64"},{"name":"a","value_type":"int64"}]}`,
		valid+`,"lineage":{"pipeline_run":"run-1","dataset_sha256":"x","parameters":{"lr":"0.1"}}}`,
		`{"model":"churn","artifact_uri":"file:///tmp/m","artifact_sha256":"ABC","framework":"x"}`,
	)
	k := modelVersionKind()
	decided := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	before := api.ModelVersionSpec{
		Approval:        api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "ok"},
		ApprovalHistory: []api.ApprovalDecision{{Status: api.ApprovalApproved, Reason: "ok", Approver: "token-1", DecidedAt: decided}},
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := checkDecodeSpec(t, k, raw)
		if out == nil {
			return
		}
		var s api.ModelVersionSpec
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatal(err)
		}
		if err := modelVersionInvariants(s); err != nil {
			t.Fatalf("decodeSpec(%q) = %s: %v", raw, out, err)
		}
		merged := s
		if err := mergeApproval(&before, &merged, "token-2", decided.Add(time.Hour)); err != nil {
			if s.Approval.Status != api.ApprovalPending {
				t.Fatalf("merge of %s onto an approved version refused: %v", out, err)
			}
			return
		}
		h := merged.ApprovalHistory
		if len(h) < 1 || h[0] != before.ApprovalHistory[0] || len(h) > 2 {
			t.Fatalf("merge of %s rewrote the history: %+v", out, h)
		}
		if len(h) == 2 && (h[1].Approver != "token-2" || h[1].Status != s.Approval.Status) {
			t.Fatalf("merge of %s recorded %+v, want a %s decision by token-2", out, h[1], s.Approval.Status)
		}
	})
}

func modelVersionInvariants(s api.ModelVersionSpec) error {
	switch {
	case s.ApprovalHistory != nil:
		return fmt.Errorf("client-sent approval history kept: %+v", s.ApprovalHistory)
	case s.Approval.Status != api.ApprovalPending && s.Approval.Status != api.ApprovalApproved && s.Approval.Status != api.ApprovalRejected:
		return fmt.Errorf("approval status %q", s.Approval.Status)
	case s.Approval.Status == api.ApprovalRejected && strings.TrimSpace(s.Approval.Reason) == "":
		return fmt.Errorf("rejected without a reason")
	case !sha256RE.MatchString(s.ArtifactSHA256):
		return fmt.Errorf("artifact_sha256 %q", s.ArtifactSHA256)
	}
	for k, v := range s.Metrics {
		if !decimalRE.MatchString(v) {
			return fmt.Errorf("metric %s = %q", k, v)
		}
	}
	return nil
}
