package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// writeOnlySpecFields are the top-level spec fields, per kind, that hold a
// secret the server keeps but never shows. Reads redact them; the audit
// digest leaves them out, because the digest is readable by auditors and
// the rest of the spec is readable by viewers: a hash over both would let
// anyone test guesses of a weak secret offline. The secret's version field
// stays in, so rotating the secret still changes the digest.
var writeOnlySpecFields = map[string][]string{
	KindNotificationChannel: {"signing_secret"},
}

// AuditDigest is the audit log's before_digest or after_digest of a spec
// of kind as mlopsd stores it: hex SHA-256 over its JSON, write-only
// secrets left out.
func AuditDigest(kind string, spec json.RawMessage) string {
	if fields := writeOnlySpecFields[kind]; len(fields) > 0 {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(spec, &m); err == nil {
			for _, f := range fields {
				delete(m, f)
			}
			if b, err := json.Marshal(m); err == nil {
				spec = b
			}
		}
	}
	sum := sha256.Sum256(spec)
	return hex.EncodeToString(sum[:])
}
