package server

import (
	"encoding/json"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
)

// FuzzDecodeBatchInferenceJobSpec holds the job spec decoder to the
// properties of checkDecodeSpec and to the job's invariants: exactly one
// model selection, local URIs, the defaults filled, the ranges held.
func FuzzDecodeBatchInferenceJobSpec(f *testing.F) {
	addSeeds(f,
		`{"model_version":"v1","compute_pool":"cpu","input_uri":"file:///in","output_uri":"file:///out"}`,
		`{"model":"m","alias":"champion","compute_pool":"cpu","input_uri":"file:///in.csv","input_format":"csv","feature_columns":["a","b"],"output_uri":"file:///out","max_failed_rows_percent":5,"timeout_seconds":60,"triggers":{"schedule":"0 3 * * *","on_new_data":true}}`,
		`{"model_version":"v1","model":"m","alias":"a","compute_pool":"cpu","input_uri":"file:///in","output_uri":"file:///out"}`,
		`{"compute_pool":"cpu","input_uri":"file:///in","output_uri":"file:///out"}`,
		`{"model_version":"v1","compute_pool":"cpu","input_uri":"s3://in","output_uri":"file:///out/"}`,
		`{"model_version":"v1","compute_pool":"cpu","input_uri":"file:///in","output_uri":"file:///in"}`,
		`{"model_version":"v1","compute_pool":"cpu","input_uri":"file:///in","output_uri":"file:///out","feature_columns":["a","a"]}`,
		`{"model_version":"v1","compute_pool":"cpu","input_uri":"file:///in","output_uri":"file:///out","feature_columns":["a,b"]}`,
		`{"model_version":"v1","compute_pool":"cpu","input_uri":"file:///in","output_uri":"file:///out","max_failed_rows_percent":101}`,
		`{"model_version":"v1","compute_pool":"cpu","input_uri":"file:///in","output_uri":"file:///out","triggers":{"schedule":"@every 1m"}}`,
		`{"model_version":"v1","compute_pool":"cpu","input_uri":"file:///in","output_uri":"file:///out","timeout_seconds":-5}`,
	)
	k := batchInferenceJobKind()
	f.Fuzz(func(t *testing.T, raw []byte) {
		out := checkDecodeSpec(t, k, raw)
		if out == nil {
			return
		}
		var s api.BatchInferenceJobSpec
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatal(err)
		}
		if (s.ModelVersion != "") == (s.Model != "" && s.Alias != "") || (s.Model == "") != (s.Alias == "") {
			t.Fatalf("accepted model selection version %q, model %q, alias %q", s.ModelVersion, s.Model, s.Alias)
		}
		if _, err := pipeline.FilePath(s.InputURI); err != nil {
			t.Fatalf("accepted input_uri %q: %v", s.InputURI, err)
		}
		outPath, err := pipeline.FilePath(s.OutputURI)
		if err != nil || path.Clean(outPath) != outPath || outPath == "/" {
			t.Fatalf("accepted output_uri %q", s.OutputURI)
		}
		if !slices.Contains(api.BatchFormats, s.InputFormat) || s.TimeoutSeconds < 1 || s.MaxFailedRowsPercent < 0 || s.MaxFailedRowsPercent > 100 {
			t.Fatalf("accepted %+v", s)
		}
		seen := map[string]bool{}
		for _, c := range s.FeatureColumns {
			if c == "" || seen[c] || strings.ContainsAny(c, ",\r\n\x00") {
				t.Fatalf("accepted feature_columns %q", s.FeatureColumns)
			}
			seen[c] = true
		}
		if s.Triggers.Schedule != "" {
			if _, err := pipeline.ParseSchedule(s.Triggers.Schedule); err != nil {
				t.Fatalf("accepted schedule %q", s.Triggers.Schedule)
			}
		}
	})
}
