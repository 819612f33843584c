package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// writeFile writes content to dir/name and returns its file:// URI and
// SHA-256.
func writeFile(t *testing.T, dir, name string, content []byte) (string, string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	return "file://" + path, hex.EncodeToString(sum[:])
}

func TestModelVersion_Baseline(t *testing.T) {
	t.Parallel()
	c := registryFixture(t)
	dir := t.TempDir()
	fb, err := json.Marshal(api.FeatureBaseline{Features: []api.BaselineFeature{{Name: "tenure_months", Values: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}}})
	if err != nil {
		t.Fatal(err)
	}
	uri, sum := writeFile(t, dir, "baseline.json", fb)
	badURI, badSum := writeFile(t, dir, "short.json", []byte(`{"features": [{"name": "tenure_months", "values": [1, 2, 3]}]}`))
	twoURI, twoSum := writeFile(t, dir, "two.json", []byte(`{"features": [{"name": "a", "values": [1,2,3,4,5,6,7,8,9,10]}, {"name": "b", "values": [1,2,3,4,5,6,7,8,9,10]}]}`))
	with := func(uri, sum string) api.ModelVersionSpec {
		s := versionSpec("churn")
		s.BaselineURI, s.BaselineSHA256 = uri, sum
		return s
	}
	create := func(name string, s api.ModelVersionSpec) response {
		return c.do(http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: name, Spec: s})
	}

	v := createVersion(c, "churn-1", with(uri, sum))
	if v.Spec.BaselineURI != uri || v.Spec.BaselineSHA256 != sum {
		t.Fatalf("baseline = %q %q", v.Spec.BaselineURI, v.Spec.BaselineSHA256)
	}
	for _, tc := range []struct {
		name, field, msg string
		spec             api.ModelVersionSpec
	}{
		{"URIWithoutDigest", "spec.baseline_sha256", "baseline_uri needs baseline_sha256", with(uri, "")},
		{"DigestWithoutURI", "spec.baseline_uri", "set both", with("", sum)},
		{"NotAFile", "spec.baseline_uri", "not a file:// URI", with("s3://bucket/baseline.json", sum)},
		{"BadDigest", "spec.baseline_sha256", "64 lowercase hex digits", with(uri, "abc")},
		{"Mismatch", "spec.baseline_sha256", "has SHA-256 " + sum, with(uri, strings.Repeat("c", 64))},
		{"Missing", "spec.baseline_uri", "does not exist", with("file://"+filepath.Join(dir, "gone.json"), sum)},
		{"TooFewValues", "spec.baseline_uri", `features[0].values: feature "tenure_months" has 3 values`, with(badURI, badSum)},
		{"FeaturesNotInputs", "spec.baseline_uri", "has 2 features, but the version declares 1 inputs", with(twoURI, twoSum)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := wantError(t, create("churn-2", tc.spec), http.StatusBadRequest, api.EINVALID, tc.field)
			if !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("message %q lacks %q", e.Message, tc.msg)
			}
		})
	}
	t.Run("Immutable", func(t *testing.T) {
		for field, s := range map[string]api.ModelVersionSpec{
			"spec.baseline_uri":    with("", ""),
			"spec.baseline_sha256": with(uri, strings.Repeat("d", 64)),
		} {
			e := wantError(t, updateVersion(c, "churn-1", s), http.StatusBadRequest, api.EINVALID, field)
			if !strings.Contains(e.Message, "replace the version instead") {
				t.Errorf("message %q does not give the fix", e.Message)
			}
		}
		// A version registered without a baseline cannot gain one either.
		createVersion(c, "churn-3", versionSpec("churn"))
		wantError(t, updateVersion(c, "churn-3", with(uri, sum)), http.StatusBadRequest, api.EINVALID, "spec.baseline_uri")
	})
}
