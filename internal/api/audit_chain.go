package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// auditTimeFormat is how the hash renders a record's time: UTC, fixed width
// and with microseconds, as the store keeps it, so a record read back
// through the API hashes the same as when it was written.
const auditTimeFormat = "2006-01-02T15:04:05.000000Z"

// AuditHash is the hex SHA-256 over the canonical encoding of rec: a JSON
// array of its fields in a fixed order, the time in microseconds (UTC),
// and PrevHash. Hash itself is not part of it. The store computes it when it
// appends a record, and mlopsd audit verify and mlopsctl audit verify check
// it, so all three share this one definition.
func AuditHash(rec AuditRecord) string {
	b, err := json.Marshal([]any{"mlops-audit-v1", rec.Seq, rec.Time.UTC().Format(auditTimeFormat), rec.Actor, rec.Action,
		rec.Kind, rec.Environment, rec.Name, rec.UID, rec.Generation, rec.BeforeDigest, rec.AfterDigest, rec.PrevHash})
	if err != nil {
		// Strings and integers always encode.
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// AuditLinkProblem checks rec against the record before it in the log (the
// zero record for the first) and says how rec does not fit the hash chain,
// or returns "" when it does.
func AuditLinkProblem(prev, rec AuditRecord) string {
	switch {
	case rec.Seq != prev.Seq+1:
		return fmt.Sprintf("seq %d follows seq %d: records are missing", rec.Seq, prev.Seq)
	case rec.PrevHash != prev.Hash:
		return fmt.Sprintf("prev_hash %q is not the hash %q of record %d", rec.PrevHash, prev.Hash, prev.Seq)
	case rec.Hash != AuditHash(rec):
		return fmt.Sprintf("hash %q does not match the record's content (want %q): the record was changed", rec.Hash, AuditHash(rec))
	}
	return ""
}
