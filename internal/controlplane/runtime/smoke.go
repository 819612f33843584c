package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// maxSmokeResponseBytes bounds what a smoke test reads of an answer, and
// smokeExcerptBytes what its error message quotes.
const (
	maxSmokeResponseBytes = 1 << 20
	smokeExcerptBytes     = 512
)

// SmokeTest sends t's request to POST baseURL/predict and checks the answer
// against t's expectations. The error says what was expected, what came
// back and quotes the start of the body, e.g. "smoke test failed: expected
// status 200, got 500: {...}".
func SmokeTest(ctx context.Context, client *http.Client, baseURL string, t api.EndpointSmokeTest) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/predict", strings.NewReader(t.RequestBody))
	if err != nil {
		return fmt.Errorf("smoke test failed: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("smoke test failed: POST /predict: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSmokeResponseBytes))
	if err != nil {
		return fmt.Errorf("smoke test failed: reading the answer: %w", err)
	}
	want := int(t.ExpectedStatus)
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return fmt.Errorf("smoke test failed: expected status %d, got %d: %s", want, resp.StatusCode, excerpt(body))
	}
	if t.ExpectedResponseContains != "" && !bytes.Contains(body, []byte(t.ExpectedResponseContains)) {
		return fmt.Errorf("smoke test failed: the response does not contain %q: %s", t.ExpectedResponseContains, excerpt(body))
	}
	if t.JSONPath == "" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("smoke test failed: the response is not JSON, so json_path %q cannot be looked up: %s", t.JSONPath, excerpt(body))
	}
	v, ok := LookupJSONPath(doc, t.JSONPath)
	if !ok {
		return fmt.Errorf("smoke test failed: the response has no value at json_path %q: %s", t.JSONPath, excerpt(body))
	}
	if t.ExpectedJSONValue == "" {
		return nil
	}
	if !JSONValueMatches(v, t.ExpectedJSONValue) {
		got, _ := json.Marshal(v)
		return fmt.Errorf("smoke test failed: expected %s at json_path %q, got %s: %s", t.ExpectedJSONValue, t.JSONPath, got, excerpt(body))
	}
	return nil
}

// LookupJSONPath follows a dot-separated path (api.SmokeJSONPathPattern)
// into a document decoded with json.Decoder.UseNumber: a segment selects an
// object's key, or, when it is a number, an array's element.
func LookupJSONPath(doc any, path string) (any, bool) {
	cur := doc
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// JSONValueMatches compares a value decoded with UseNumber with the
// expected text: a string with the text itself, a number numerically, and
// anything else (true, null, objects, arrays) as compact JSON.
func JSONValueMatches(v any, expected string) bool {
	switch v := v.(type) {
	case string:
		return v == expected
	case json.Number:
		got, err1 := v.Float64()
		want, err2 := strconv.ParseFloat(strings.TrimSpace(expected), 64)
		return err1 == nil && err2 == nil && got == want
	}
	dec := json.NewDecoder(strings.NewReader(expected))
	dec.UseNumber()
	var w any
	if err := dec.Decode(&w); err != nil {
		return false
	}
	// Marshal sorts object keys, so key order does not matter.
	got, err1 := json.Marshal(v)
	want, err2 := json.Marshal(w)
	return err1 == nil && err2 == nil && bytes.Equal(got, want)
}

// excerpt is the start of a body for an error message.
func excerpt(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > smokeExcerptBytes {
		s = strings.ToValidUTF8(s[:smokeExcerptBytes], "") + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return strings.ToValidUTF8(s, "?")
}
