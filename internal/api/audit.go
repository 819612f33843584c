package api

import "time"

// AuditRecord is one write as the audit log keeps it.
type AuditRecord struct {
	// Seq orders records; it has no gaps.
	Seq int64 `json:"seq"`
	// Time is when the write committed.
	Time time.Time `json:"time"`
	// Actor is who made the write.
	Actor string `json:"actor"`
	// Action is create, update, delete_requested, delete or status.
	Action string `json:"action"`
	// Kind, Environment and Name identify the object.
	Kind        string `json:"kind"`
	Environment string `json:"environment,omitempty"`
	Name        string `json:"name"`
	// UID is the object's uid.
	UID string `json:"uid"`
	// Generation is the spec generation after the write.
	Generation int64 `json:"generation"`
	// BeforeDigest and AfterDigest are SHA-256 over the object's spec before
	// and after the write; empty where there is no before or after.
	BeforeDigest string `json:"before_digest,omitempty"`
	AfterDigest  string `json:"after_digest,omitempty"`
}

// Audit actions.
const (
	AuditCreate          = "create"
	AuditUpdate          = "update"
	AuditDeleteRequested = "delete_requested"
	AuditDelete          = "delete"
)

// AuditRecordList is one page of audit records.
type AuditRecordList struct {
	Items         []AuditRecord `json:"items"`
	NextPageToken string        `json:"next_page_token,omitempty"`
}
