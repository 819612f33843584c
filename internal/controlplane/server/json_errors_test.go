package server

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func TestDecodeSpec_ErrorFields(t *testing.T) {
	pool, fg, env := computePoolKind(), featureGroupKind(), environmentKind()
	for _, tc := range []struct {
		name  string
		k     kindHandler
		raw   string
		field string
		// message, when set, must occur in the error message.
		message string
	}{
		{"Missing", pool, ``, "spec", "required"},
		{"Null", pool, `null`, "spec", "required"},
		{"NotAnObject", pool, `[1,2]`, "spec", "must be a JSON object, not an array"},
		{"String", pool, `"big"`, "spec", "not a string"},
		{"UnknownTopLevel", pool, `{"max_nodes":1,"gpus":2}`, "spec.gpus", `unknown field "gpus"`},
		{"UnknownNested", env, `{"policy":{"max_gpu":1}}`, "spec.policy.max_gpu", "unknown field"},
		{"UnknownInList", fg, `{"feature_store":"fs","entities":[{"name":"id","value_type":"string","nullable":true}],"features":[],"online":true}`, "spec.entities[0].nullable", ""},
		{"UnknownLabelIsFine", env, `{"labels":{"anything":"x"},"policy":{"max_gpus":"1"}}`, "spec.policy.max_gpus", "not a string"},
		{"WrongType", pool, `{"max_nodes":"3"}`, "spec.max_nodes", "whole number"},
		{"Fraction", pool, `{"max_nodes":2.5}`, "spec.max_nodes", "2.5"},
		{"Overflow", pool, `{"max_nodes":9223372036854775808}`, "spec.max_nodes", "64 bits"},
		{"BoolAsString", pool, `{"max_nodes":1,"spot":"true"}`, "spec.spot", "true or false"},
		{"TypeInList", fg, `{"feature_store":"fs","entities":[{"name":"id","value_type":"string"}],"features":[{"name":"a","value_type":"int64"},{"name":"b","value_type":["x"]}],"online":true}`, "spec.features[1].value_type", "not an array"},
		{"ListNotAList", fg, `{"feature_store":"fs","entities":{"name":"id"},"features":[],"online":true}`, "spec.entities", "JSON array"},
		{"LabelValueType", env, `{"labels":{"team":7}}`, `spec.labels["team"]`, "JSON string"},
		{"CaseInsensitiveKeyTypeError", pool, `{"Max_Nodes":"x"}`, "spec.max_nodes", ""},
		{"TrailingData", pool, `{"max_nodes":1} {"max_nodes":2}`, "spec", "nothing after"},
		{"TrailingGarbage", pool, `{"max_nodes":1}]`, "spec", ""},
		{"Syntax", pool, `{"max_nodes":}`, "spec", "not valid JSON"},
		{"ValidationAfterDecode", pool, `{"max_nodes":0}`, "spec.max_nodes", "between 1 and 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.k.decodeSpec([]byte(tc.raw))
			var apiErr *api.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("decodeSpec(%s) error = %v, want an *api.Error", tc.raw, err)
			}
			if apiErr.Code != api.EINVALID || apiErr.Field != tc.field {
				t.Fatalf("decodeSpec(%s) = {%s %q %q}, want invalid on %q", tc.raw, apiErr.Code, apiErr.Field, apiErr.Message, tc.field)
			}
			if !strings.Contains(apiErr.Message, tc.message) {
				t.Errorf("message %q does not contain %q", apiErr.Message, tc.message)
			}
		})
	}
}

func TestReadBody_ErrorFields(t *testing.T) {
	for _, tc := range []struct{ name, body, field string }{
		{"Syntax", `{"name":`, ""},
		{"NotAnObject", `[]`, ""},
		{"NameType", `{"name":5,"spec":{}}`, "name"},
		// Unknown top-level fields (metadata, status) are ignored, so they
		// do not hide the real problem.
		{"NameTypeBesideIgnoredField", `{"metadata":{},"name":true}`, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body createBody
			err := readBody(httptest.NewRequest("POST", "/v1/environments", strings.NewReader(tc.body)), &body)
			var apiErr *api.Error
			if !errors.As(err, &apiErr) || apiErr.Code != api.EINVALID || apiErr.Field != tc.field {
				t.Fatalf("readBody(%s) = %v, want invalid on %q", tc.body, err, tc.field)
			}
		})
	}
	t.Run("TooLarge", func(t *testing.T) {
		var body createBody
		big := `{"name":"x","spec":{"description":"` + strings.Repeat("a", maxBodyBytes) + `"}}`
		err := readBody(httptest.NewRequest("POST", "/v1/environments", strings.NewReader(big)), &body)
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Code != api.EINVALID || !strings.Contains(apiErr.Message, "larger than") {
			t.Fatalf("readBody(%d bytes) = %v, want invalid: too large", len(big), err)
		}
	})
}
