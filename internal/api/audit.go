package api

import (
	"net/http"
	"time"
)

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
	// and after the write, write-only secrets left out (AuditDigest); empty
	// where there is no before or after.
	BeforeDigest string `json:"before_digest,omitempty"`
	AfterDigest  string `json:"after_digest,omitempty"`
	// PrevHash is the Hash of the record before this one ("" for the first),
	// and Hash is SHA-256 over this record's fields and PrevHash, so a record
	// changed after the fact breaks the chain (mlopsd audit verify).
	PrevHash string `json:"prev_hash,omitempty"`
	Hash     string `json:"hash,omitempty"`
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

// AuditQuery selects audit records. Empty fields select everything.
type AuditQuery struct {
	// Environment selects the records of objects in that environment and
	// of the environment object itself.
	Environment string
	// Kind, Name and Actor must match exactly when set.
	Kind, Name, Actor string
	// Since (inclusive) and Until (exclusive) bound the record's time when
	// not zero.
	Since, Until time.Time
	// AfterSeq skips records with Seq <= AfterSeq (pagination, oldest
	// first).
	AfterSeq int64
	// Newest reads newest first: the page holds the newest records the
	// filters select (below BeforeSeq when set), and the next page is read
	// with BeforeSeq set to the smallest seq of this one.
	Newest bool
	// BeforeSeq, when > 0, skips records with Seq >= BeforeSeq.
	BeforeSeq int64
	// Limit is the page size, 1..MaxPageSize; 0 means DefaultPageSize.
	Limit int
}

// Query parameters of GET /v1/audit.
const (
	AuditParamEnvironment = "environment"
	AuditParamKind        = "kind"
	AuditParamName        = "name"
	AuditParamActor       = "actor"
	AuditParamSince       = "since"
	AuditParamUntil       = "until"
	AuditParamAfterSeq    = "after_seq"
	AuditParamBeforeSeq   = "before_seq"
	// AuditParamOrder is asc (the default: oldest first, pages go on with
	// after_seq) or desc (newest first, pages go on with before_seq).
	AuditParamOrder = "order"
)

// AuditVerification is the answer of GET /v1/audit/verify: whether the
// audit log's hash chain is intact, and where it first breaks if not.
type AuditVerification struct {
	// Intact is true when every record fits the chain.
	Intact bool `json:"intact"`
	// BrokenAtSeq is the first record that does not fit; 0 when intact.
	BrokenAtSeq int64 `json:"broken_at_seq,omitempty"`
	// Reason says how that record does not fit.
	Reason string `json:"reason,omitempty"`
	// CheckedAt is when the server verified the chain.
	CheckedAt time.Time `json:"checked_at"`
}

// OpIDVerifyAudit is the operation ID of the audit chain verification.
const OpIDVerifyAudit = "verifyAudit"

// auditRoutes are the audit routes beyond GET /v1/audit.
var auditRoutes = []Route{
	{Method: http.MethodGet, Path: "/v1/audit/verify", OperationID: OpIDVerifyAudit,
		Summary:  "Verify the whole audit log's hash chain (admin), the same check as mlopsd audit verify.",
		Response: AuditVerification{}, Status: http.StatusOK},
}
