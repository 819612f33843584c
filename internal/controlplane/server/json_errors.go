package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// jsonError turns an error from decoding raw into v (a pointer) into an
// EINVALID whose field is the JS-style path of the offending value below
// prefix, e.g. spec.features[1].value_type. encoding/json's own errors drop
// array indices ("features.value_type") and name only the last key of an
// unknown field ("bogus" for policy.bogus), which would send users to the
// wrong place, so the path is found by walking raw against v's type. strict
// says whether unknown fields are errors, as with DisallowUnknownFields.
func jsonError(prefix string, raw []byte, v any, strict bool, err error) error {
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		what := "request body"
		if prefix != "" {
			what = prefix
		}
		return api.Errorf(api.EINVALID, prefix, "%s is not valid JSON at byte %d: %v", what, syntaxErr.Offset, err)
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&generic) == nil {
		w := jsonWalker{strict: strict}
		if field, msg, bad := w.walk(generic, reflect.TypeOf(v), prefix); bad {
			return api.NewError(api.EINVALID, field, msg)
		}
	}
	// The walker agrees with encoding/json on every type the API uses, so
	// this is a fallback for the unforeseen.
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		return api.Errorf(api.EINVALID, joinField(prefix, typeErr.Field), "must be a JSON %s, not %s", typeErr.Type.Kind(), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return api.Errorf(api.EINVALID, joinField(prefix, name), "unknown field %q; check the spelling against /openapi.json", name)
	}
	return api.Errorf(api.EINVALID, prefix, "cannot decode: %v", err)
}

// joinField appends a field name to a path; the root path is "".
func joinField(path, name string) string {
	if path == "" {
		return name
	}
	if name == "" {
		return path
	}
	return path + "." + name
}

var (
	rawMessageType = reflect.TypeOf(json.RawMessage(nil))
	timeType       = reflect.TypeOf(time.Time{})
)

// jsonWalker finds the first value of a generically decoded JSON document
// (json.Number for numbers) that does not fit a Go type the way
// encoding/json would decode it.
type jsonWalker struct {
	strict bool
}

// walk returns the path of the first misfit below path and what is wrong
// with it; bad is false when v fits t.
func (w jsonWalker) walk(v any, t reflect.Type, path string) (field, msg string, bad bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// null leaves a Go value as it is, and a RawMessage takes any value.
	if v == nil || t == rawMessageType {
		return "", "", false
	}
	if t == timeType {
		s, ok := v.(string)
		if !ok {
			return path, "must be an RFC 3339 timestamp string, not " + describeJSON(v), true
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return path, fmt.Sprintf("%q is not an RFC 3339 timestamp, e.g. 2030-01-02T03:04:05Z", s), true
		}
		return "", "", false
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return path, "must be a JSON object, not " + describeJSON(v), true
		}
		fields := jsonFields(t)
		for _, key := range sortedKeys(obj) {
			f, ok := lookupField(fields, key)
			if !ok {
				if w.strict {
					return joinField(path, key), fmt.Sprintf("unknown field %q; check the spelling against /openapi.json", key), true
				}
				continue
			}
			if field, msg, bad := w.walk(obj[key], f.typ, joinField(path, f.name)); bad {
				return field, msg, true
			}
		}
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return path, "must be a JSON array, not " + describeJSON(v), true
		}
		for i, e := range arr {
			if field, msg, bad := w.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); bad {
				return field, msg, true
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return path, "must be a JSON object, not " + describeJSON(v), true
		}
		for _, key := range sortedKeys(obj) {
			if field, msg, bad := w.walk(obj[key], t.Elem(), fmt.Sprintf("%s[%q]", path, key)); bad {
				return field, msg, true
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return path, "must be a JSON string, not " + describeJSON(v), true
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return path, "must be true or false, not " + describeJSON(v), true
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return path, "must be a whole number, not " + describeJSON(v), true
		}
		if _, err := strconv.ParseInt(n.String(), 10, t.Bits()); err != nil {
			return path, fmt.Sprintf("must be a whole number that fits in %d bits, not %s", t.Bits(), n), true
		}
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			return path, "must be a number, not " + describeJSON(v), true
		}
		if _, err := strconv.ParseFloat(n.String(), t.Bits()); err != nil {
			return path, fmt.Sprintf("must be a finite number within the range of a %d-bit float, not %s", t.Bits(), n), true
		}
	}
	return "", "", false
}

// describeJSON names the JSON type of a generically decoded value.
func describeJSON(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + v.String()
	}
	return "null"
}

// jsonField is one JSON-visible field of a struct.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists t's JSON fields, flattening embedded structs as
// encoding/json does.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && f.Type.Kind() == reflect.Struct && name == "" {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type})
	}
	return out
}

// lookupField finds the field a JSON key decodes into: an exact match first,
// then a case-insensitive one, as encoding/json does.
func lookupField(fields []jsonField, key string) (jsonField, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return jsonField{}, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
