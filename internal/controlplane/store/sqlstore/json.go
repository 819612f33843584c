package sqlstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// canonicalSpec returns a spec in one canonical form: compact, object keys
// sorted, numbers exactly as written, no HTML escaping. Specs are stored in
// this form, so two specs are equal as JSON exactly when their bytes are, and
// audit digests do not depend on how a client happened to format its request.
// Empty input is taken as {}. Invalid JSON is EINVALID on field "spec".
func canonicalSpec(raw json.RawMessage) (json.RawMessage, error) {
	const field = "spec"
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage(`{}`), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	// json.Number keeps big integers and decimals exactly as sent.
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, invalidJSON(field, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, invalidJSON(field, errors.New("unexpected data after the JSON value"))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, invalidJSON(field, err)
	}
	return json.RawMessage(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// normalizeStatus compacts a status and reads the summary fields the store
// indexes. Empty input is taken as {}, i.e. no phase observed yet.
func normalizeStatus(raw json.RawMessage) (json.RawMessage, api.Status, error) {
	var summary api.Status
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage(`{}`), summary, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, summary, invalidJSON("status", err)
	}
	if err := json.Unmarshal(buf.Bytes(), &summary); err != nil {
		return nil, summary, invalidJSON("status", err)
	}
	return json.RawMessage(buf.Bytes()), summary, nil
}

// invalidJSON is the error for a field that does not hold valid JSON. Only
// a bug in the server can cause it, but it still says where.
func invalidJSON(field string, err error) error {
	return api.Errorf(api.EINVALID, field, "%s is not valid JSON: %v", field, err)
}
