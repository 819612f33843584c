package runtime_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
)

func TestSmokeTest(t *testing.T) {
	var gotBody, gotType string
	answer := func(status int, body string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			gotBody, gotType = string(b), r.Header.Get("Content-Type")
			if r.Method != http.MethodPost || r.URL.Path != "/predict" {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}))
	}
	ok := `{"prediction": 21, "label": "cat", "scores": [0.25, 0.75], "meta": {"ok": true, "tags": ["a"]}}`
	for _, tc := range []struct {
		name   string
		status int
		body   string
		test   api.EndpointSmokeTest
		want   string // "" for a pass
	}{
		{"status only", 200, ok, api.EndpointSmokeTest{}, ""},
		{"status mismatch", 500, `{"error":"the prediction is not a finite number"}`, api.EndpointSmokeTest{},
			`smoke test failed: expected status 200, got 500: {"error":"the prediction is not a finite number"}`},
		{"expected 400", 400, `{"error":"bad"}`, api.EndpointSmokeTest{ExpectedStatus: 400}, ""},
		{"contains", 200, ok, api.EndpointSmokeTest{ExpectedResponseContains: `"label": "cat"`}, ""},
		{"does not contain", 200, ok, api.EndpointSmokeTest{ExpectedResponseContains: "dog"}, `the response does not contain "dog": {"prediction": 21`},
		{"path exists", 200, ok, api.EndpointSmokeTest{JSONPath: "meta.ok"}, ""},
		{"path missing", 200, ok, api.EndpointSmokeTest{JSONPath: "meta.missing"}, `no value at json_path "meta.missing"`},
		{"index out of range", 200, ok, api.EndpointSmokeTest{JSONPath: "scores.2"}, `no value at json_path "scores.2"`},
		{"number", 200, ok, api.EndpointSmokeTest{JSONPath: "prediction", ExpectedJSONValue: "21.0"}, ""},
		{"number differs", 200, ok, api.EndpointSmokeTest{JSONPath: "prediction", ExpectedJSONValue: "30"}, `expected 30 at json_path "prediction", got 21`},
		{"array index", 200, ok, api.EndpointSmokeTest{JSONPath: "scores.1", ExpectedJSONValue: "0.75"}, ""},
		{"string unquoted", 200, ok, api.EndpointSmokeTest{JSONPath: "label", ExpectedJSONValue: "cat"}, ""},
		{"string quoted is another string", 200, ok, api.EndpointSmokeTest{JSONPath: "label", ExpectedJSONValue: `"cat"`}, `got "cat"`},
		{"bool", 200, ok, api.EndpointSmokeTest{JSONPath: "meta.ok", ExpectedJSONValue: "true"}, ""},
		{"object, any key order", 200, `{"a": {"y": 2, "x": [1]}}`, api.EndpointSmokeTest{JSONPath: "a", ExpectedJSONValue: `{"x":[1],"y":2}`}, ""},
		{"not JSON", 200, "hello", api.EndpointSmokeTest{JSONPath: "a"}, "the response is not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := answer(tc.status, tc.body)
			defer srv.Close()
			tc.test.RequestBody = `{"inputs": [10]}`
			err := runtime.SmokeTest(t.Context(), srv.Client(), srv.URL, tc.test)
			if gotBody != `{"inputs": [10]}` || gotType != "application/json" {
				t.Fatalf("sent %q (%s)", gotBody, gotType)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("err = %v, want a pass", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want one with %q", err, tc.want)
			}
		})
	}
	// A long body is quoted in part.
	srv := answer(503, strings.Repeat("x", 5000))
	defer srv.Close()
	err := runtime.SmokeTest(t.Context(), srv.Client(), srv.URL, api.EndpointSmokeTest{RequestBody: "{}"})
	if err == nil || len(err.Error()) > 700 || !strings.HasSuffix(err.Error(), "…") {
		t.Fatalf("err = %v", err)
	}
	// A replica that does not answer.
	srv.Close()
	if err := runtime.SmokeTest(t.Context(), http.DefaultClient, srv.URL, api.EndpointSmokeTest{RequestBody: "{}"}); err == nil || !strings.Contains(err.Error(), "smoke test failed: POST /predict") {
		t.Fatalf("err = %v", err)
	}
}

func TestLookupJSONPath(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"a": [{"b-c": {"0": "zero"}}], "n": 1}`))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if v, ok := runtime.LookupJSONPath(doc, "a.0.b-c.0"); !ok || v != "zero" {
		t.Fatalf("a.0.b-c.0 = %v, %v", v, ok)
	}
	for _, p := range []string{"a.1", "a.x", "n.0", "missing", "a.-1"} {
		if v, ok := runtime.LookupJSONPath(doc, p); ok {
			t.Fatalf("%s = %v, want none", p, v)
		}
	}
}
