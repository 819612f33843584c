// Package store defines how the control plane keeps objects durably. It knows
// nothing of HTTP or of the kinds' rules: those live in the server and the
// reconcilers, which pass their checks in as WriteOptions.Check so that they
// run inside the same transaction as the write.
//
// Implementations: sqlite (the embedded default) and postgres (for several
// mlopsd replicas on one database), which share their logic in sqlstore and
// are held to the same behaviour by the suite in storetest. Every method
// returns *api.Error values for the failures a caller can act on; any other
// error is a fault of the store and is reported as internal.
package store

import (
	"context"
	"encoding/json"
	"iter"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Object is one stored object of any kind. Spec and Status are the kind's
// JSON; the store only reads the api.Status fields (phase,
// observed_generation) out of Status to find work for reconcilers.
type Object struct {
	// Kind is the kind's URL segment, e.g. api.KindComputePool.
	Kind string
	// Meta is owned by the store, apart from Name and Environment.
	Meta api.Metadata
	// Parent names another object in the same environment that this one
	// depends on, as "kind/name" (a feature group's feature store). Deleting
	// the parent fails while children exist. Empty for none.
	Parent string
	// Spec is what the client declared.
	Spec json.RawMessage
	// Status is what the reconcilers observed.
	Status json.RawMessage
}

// Ref returns the object's reference.
func (o Object) Ref() api.Ref {
	return api.Ref{Kind: o.Kind, Environment: o.Meta.Environment, Name: o.Meta.Name}
}

// WriteOptions carry what every write needs besides the object itself.
type WriteOptions struct {
	// Actor is who makes the write; it goes into the audit record.
	Actor string
	// IdempotencyKey, when set, is stored with the write in one transaction.
	// A later write with the same key and Fingerprint returns the first
	// result (Replayed=true) and changes nothing; with another Fingerprint it
	// fails with ECONFLICT.
	IdempotencyKey string
	// Fingerprint identifies the request (method, path and body digest).
	Fingerprint string
	// IfMatch, when set, must equal the object's current etag, or the write
	// fails with ECONFLICT.
	IfMatch string
	// Check, when set, runs inside the write's transaction after the current
	// object (nil on create) was read and before anything is written; for a
	// Delete, before the store looks for dependents. Any error it returns
	// aborts the write and is returned as is.
	Check func(ctx context.Context, v View, before, after *Object) error
	// Settle, when set on an UpdateSpec that makes a new generation, gives
	// the object's status in the same transaction: Settle(after), with
	// after the object as written (new spec and generation). It is for
	// kinds whose spec is fully realised by storing it, which would
	// otherwise wait for a reconciler pass to write the same status in a
	// second durable write. An error aborts the write.
	Settle func(after *Object) (json.RawMessage, error)
}

// View reads the store inside a write transaction.
type View interface {
	// Get returns ENOTFOUND when the object does not exist.
	Get(ctx context.Context, ref api.Ref) (*Object, error)
	// ListAll returns every object of kind in env (env "" for environments),
	// ordered by name.
	ListAll(ctx context.Context, kind, env string) ([]*Object, error)
}

// Result is the outcome of a write.
type Result struct {
	// Object is the object after the write. For a Delete that removed the
	// object it is the last state before removal.
	Object *Object
	// Replayed is true when the write was a retry of an earlier one with the
	// same idempotency key; nothing was changed by this call.
	Replayed bool
	// Removed is true when a Delete removed the object at once (rather than
	// marking it for a graceful teardown).
	Removed bool
}

// Store keeps objects, idempotency keys and the audit log.
type Store interface {
	// Create inserts a new object with generation 1, a new uid and etag.
	// obj.Status is the initial status. Returns EALREADYEXISTS when the name
	// is taken in that kind and environment, and EINVALID (field
	// "environment") when obj.Meta.Environment names no environment or one
	// that is being deleted.
	Create(ctx context.Context, obj *Object, opts WriteOptions) (*Result, error)

	// Get returns ENOTFOUND when the object does not exist.
	Get(ctx context.Context, ref api.Ref) (*Object, error)

	// List returns one page of objects of kind in env, ordered by name, and
	// the token of the next page ("" on the last page). Returns EINVALID
	// (field "page_token") for a token it did not issue.
	List(ctx context.Context, kind, env string, opts api.ListOptions) ([]*Object, string, error)

	// UpdateSpec replaces the spec, bumps the generation and the etag. A spec
	// equal to the current one changes nothing and is not an error. Returns
	// ENOTFOUND, ECONFLICT when IfMatch is stale or the object is being
	// deleted.
	UpdateSpec(ctx context.Context, ref api.Ref, spec json.RawMessage, opts WriteOptions) (*Result, error)

	// Delete removes the object, or when graceful is true marks it with
	// DeletionRequestedAt so a reconciler tears it down and calls Finalize.
	// A missing object is not an error: it returns a Result with Object nil.
	// Returns ECONFLICT when IfMatch is stale or when other objects depend on
	// this one (children via Parent, or any object in an environment being
	// deleted), naming them.
	Delete(ctx context.Context, ref api.Ref, graceful bool, opts WriteOptions) (*Result, error)

	// UpdateStatus replaces the status of the object with the given uid. Only
	// reconcilers call it. It does not change generation or etag and is not
	// audited. Returns ENOTFOUND when no object with that uid exists any more.
	UpdateStatus(ctx context.Context, ref api.Ref, uid string, status json.RawMessage) (*Object, error)

	// Finalize removes an object marked for deletion once its teardown is
	// done, and audits the removal. A missing object is not an error.
	Finalize(ctx context.Context, ref api.Ref, uid string, actor string) error

	// Pending returns the objects a reconciler must look at: those whose
	// status has not observed the current generation, whose phase is not
	// terminal (ready, failed, succeeded or cancelled), or that are marked
	// for deletion.
	Pending(ctx context.Context, kind string) ([]*Object, error)

	// ListAudit returns audit records with Seq > afterSeq, oldest first, at
	// most limit of them.
	ListAudit(ctx context.Context, afterSeq int64, limit int) ([]api.AuditRecord, error)

	// ClaimLeases takes or renews, for holder, the lease of each object
	// whose uid is in uids, valid until ttl from the transaction's time, and
	// returns the uids whose lease holder now has, in the order given. A
	// lease can be taken when nobody holds it or its expiry has passed; its
	// holder renews it. A uid held by someone else, being claimed by someone
	// else at this very moment, or naming no object is left out.
	//
	// Reconcilers of several mlopsd replicas on one database claim each
	// object before a step on it, so each object is reconciled by one
	// replica at a time, and a replica that died loses its leases after ttl.
	// Expiry is judged by the clocks of the replicas, which must agree to
	// well within ttl. A lease goes away with its object.
	ClaimLeases(ctx context.Context, holder string, uids []string, ttl time.Duration) ([]string, error)

	// ReleaseLeases gives up the leases holder has on uids, or on every
	// object when uids is nil, so that another replica can take them at
	// once. Leases held by others are left alone.
	ReleaseLeases(ctx context.Context, holder string, uids []string) error

	// QueryAudit returns the audit records q selects, oldest first. Returns
	// EINVALID (field "limit") for a limit outside 0..api.MaxPageSize.
	QueryAudit(ctx context.Context, q api.AuditQuery) ([]api.AuditRecord, error)

	// ExportAudit yields every audit record with Seq > afterSeq, oldest
	// first, page by page; an error ends the sequence.
	ExportAudit(ctx context.Context, afterSeq int64) iter.Seq2[api.AuditRecord, error]

	// VerifyAudit checks the audit log's hash chain and returns the first
	// record that breaks it, or nil when the log is intact.
	VerifyAudit(ctx context.Context) (*AuditBreak, error)

	// CreateToken stores a bearer token by its digest and audits it as a
	// create of kind "tokens" named by the subject, with the token's id as
	// uid, made by actor. Returns EALREADYEXISTS when the digest or id is
	// taken.
	CreateToken(ctx context.Context, tok Token, actor string) error

	// FindToken returns the token with the hex SHA-256 digest, expired or
	// not, or ENOTFOUND.
	FindToken(ctx context.Context, sha256Hex string) (*Token, error)

	// CountTokens returns how many tokens are stored.
	CountTokens(ctx context.Context) (int, error)

	// AppendMetrics stores metric points, all or none, in one transaction
	// of its own that does not queue behind object writes where the
	// database allows. Points are never merged: two replicas' points for
	// the same series and second are both kept and summed by readers.
	AppendMetrics(ctx context.Context, points []MetricPoint) error

	// AppendMetricsOnce stores points like AppendMetrics and, when
	// opts.IdempotencyKey is set, records the key in the same transaction:
	// a later call with the same key and Fingerprint stores nothing and
	// returns replayed=true; with another Fingerprint (or a key an object
	// write used) it fails with ECONFLICT. A refused append records no
	// key. Keys share one namespace with WriteOptions.IdempotencyKey.
	AppendMetricsOnce(ctx context.Context, points []MetricPoint, opts MetricWriteOptions) (replayed bool, err error)

	// QueryMetrics returns the points q selects, ordered by time.
	QueryMetrics(ctx context.Context, q MetricQuery) ([]MetricPoint, error)

	// PruneMetrics deletes the points older than before and returns how
	// many it deleted.
	PruneMetrics(ctx context.Context, before time.Time) (int64, error)

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	// Close releases the database.
	Close() error
}

// Clock returns the current time; stores take it once per transaction so
// every timestamp written by one write agrees.
type Clock func() time.Time

// AuditBreak is where the audit log's hash chain breaks.
type AuditBreak struct {
	// Seq is the first record that does not fit the chain.
	Seq int64
	// Reason says how it does not fit.
	Reason string
	// Record is the record as stored.
	Record api.AuditRecord
}

// Token is a bearer token of mlopsd -auth on. Only the digest of its secret
// is stored.
type Token struct {
	// SHA256 is the hex SHA-256 digest of the secret.
	SHA256 string
	// ID names the token in logs and audit records without revealing it.
	ID string
	// Subject is "admin" or the name of a service account.
	Subject string
	// CreatedAt is when the token was made; zero means now on create.
	CreatedAt time.Time
	// ExpiresAt is when the token stops working; zero for never.
	ExpiresAt time.Time
}

// Expired reports whether the token no longer works at now.
func (t *Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// MetricPoint aggregates the observations of one series in one bucket of
// api.MetricBucketSeconds. Metrics are not objects: they are neither
// audited nor versioned, and they are pruned after the retention.
type MetricPoint struct {
	// Environment is the environment the series belongs to.
	Environment string
	// Series is api.SeriesPredictions, api.SeriesInputs or
	// api.CustomSeriesPrefix + a custom metric's name.
	Series string
	// Endpoint, Variant and ModelVersion are the series' dimensions; empty
	// where they do not apply (a custom metric pushed without them).
	Endpoint     string
	Variant      string
	ModelVersion string
	// Time is the bucket's start, UTC, a whole second.
	Time time.Time
	// Count is the number of observations; Errors how many of them failed
	// (predictions only).
	Count  int64
	Errors int64
	// Sum, Min and Max are exact over the observed values (the latency in
	// milliseconds of predictions, the values of a custom metric); zero
	// for inputs.
	Sum, Min, Max float64
	// Samples is a uniform sample of the observed values, at most
	// api.MaxMetricSamples of them.
	Samples []float64
	// Inputs is, for api.SeriesInputs, a uniform sample of the input
	// vectors, at most api.MaxMetricSamples of them; Count is how many
	// vectors were seen.
	Inputs [][]float64
}

// MetricWriteOptions make an append of metric points safe to retry.
type MetricWriteOptions struct {
	// IdempotencyKey and Fingerprint mean what they mean in WriteOptions.
	IdempotencyKey string
	Fingerprint    string
}

// MetricQuery selects metric points. Empty dimension fields select every
// value of the dimension.
type MetricQuery struct {
	// Environment and Series must match exactly; both are required.
	Environment string
	Series      string
	// Endpoint, Variant and ModelVersion narrow the points when set.
	Endpoint     string
	Variant      string
	ModelVersion string
	// From (inclusive) and To (exclusive) bound the points' Time; both
	// are required.
	From, To time.Time
}
