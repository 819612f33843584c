package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// kindHandler is what the generic object handlers need from a kind. The
// typed implementation is kind[S]; the interface lets the router hold all
// kinds in one table.
type kindHandler interface {
	segment() string
	// decodeSpec strictly decodes and validates a spec, filling defaults, and
	// returns it re-encoded in canonical form.
	decodeSpec(raw json.RawMessage) (json.RawMessage, error)
	// prepare returns the parent ref and the initial status of a new object.
	prepare(spec json.RawMessage) (parent string, status json.RawMessage, err error)
	// check runs inside the write transaction; before is nil on create.
	check(ctx context.Context, v store.View, ref api.Ref, before *store.Object, after json.RawMessage) error
	graceful() bool
	// decorate adds derived, read-time status to an object about to be sent.
	decorate(ctx context.Context, s store.Store, obj *store.Object) error
	// admit checks, before a create and outside any transaction, what only
	// a create needs, e.g. that a local artifact matches its digest.
	admit(ctx context.Context, spec json.RawMessage) error
	// ownsSpecFields reports whether the spec has fields only the server
	// writes, so an update must read, merge and write atomically.
	ownsSpecFields() bool
	// merge fills the server-owned spec fields of a client's validated spec
	// from the stored spec (nil on create), the caller and the time.
	merge(before, after json.RawMessage, actor string, now time.Time) (json.RawMessage, error)
	// checkDelete runs inside a delete's transaction and may refuse it.
	checkDelete(ctx context.Context, v store.View, obj *store.Object) error
	// dependentKinds lists, in order, the kinds of the children a forced
	// delete removes first; nil when the kind cannot be force-deleted.
	dependentKinds() []string
	// settledAt reports whether obj is at rest for a long poll on
	// generation (see wait.go).
	settledAt(obj *store.Object, generation int64) (bool, error)
}

// kind is one resource kind's rules. Rules live here, in the control plane,
// so Terraform, the CLI and direct API users all meet the same ones.
type kind[S any] struct {
	name string // URL segment, e.g. compute-pools
	// validate checks a decoded spec and fills server defaults in place.
	validate func(spec *S) error
	// immutable rejects changes to fields that cannot change in place.
	immutable func(old, s *S) error
	// crossCheck checks the spec against other objects (quota, references).
	crossCheck func(ctx context.Context, v store.View, ref api.Ref, spec *S) error
	// parentOf names the object this one depends on, "kind/name" or "".
	parentOf func(spec *S) string
	// initialStatus is the status a new object starts with.
	initialStatus func(spec *S) any
	// teardown is true when a reconciler must release resources before the
	// object disappears, so deletes are graceful.
	teardown bool
	// readHook derives read-time status.
	readHook func(ctx context.Context, s store.Store, obj *store.Object) error
	// admitCreate checks a new spec before the create's transaction, for
	// checks too slow to hold the write lock (reading an artifact).
	admitCreate func(ctx context.Context, spec *S) error
	// mergeOwned fills server-owned fields of after (the client's validated
	// spec, whose copies of those fields were cleared by validate) from
	// before (the stored spec, nil on create), recording actor and now. It
	// may refuse the change, e.g. an illegal approval transition.
	mergeOwned func(before, after *S, actor string, now time.Time) error
	// deleteCheck runs inside a delete's transaction, e.g. to refuse
	// deleting an object that another one points at.
	deleteCheck func(ctx context.Context, v store.View, obj *store.Object) error
	// forceDeletes lists, in the order they are deleted, the kinds of the
	// children (objects whose Parent is this one) that DELETE ?force=true
	// removes before the object itself. Empty: the kind takes no force.
	forceDeletes []string
	// settled reports whether a status describes generation in one of the
	// kind's terminal phases, which ends a long poll; nil means
	// api.Status.Settled. Kinds whose status has terminal phases of its own
	// set it to settledAs[TheirStatus].
	settled func(status json.RawMessage, generation int64) (bool, error)
}

func (k *kind[S]) segment() string { return k.name }
func (k *kind[S]) graceful() bool  { return k.teardown }

func (k *kind[S]) decode(raw json.RawMessage) (*S, error) {
	spec := new(S)
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, api.NewError(api.EINVALID, "spec", "spec is required")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(spec); err != nil {
		return nil, jsonError("spec", raw, spec, true, err)
	}
	// Decode stops after the first value; anything behind it is not a spec
	// this server can vouch for having read.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, api.NewError(api.EINVALID, "spec", "must be one JSON object with nothing after it")
	}
	return spec, nil
}

func (k *kind[S]) decodeSpec(raw json.RawMessage) (json.RawMessage, error) {
	spec, err := k.decode(raw)
	if err != nil {
		return nil, err
	}
	if k.validate != nil {
		if err := k.validate(spec); err != nil {
			return nil, err
		}
	}
	return json.Marshal(spec)
}

func (k *kind[S]) prepare(raw json.RawMessage) (string, json.RawMessage, error) {
	spec, err := k.decode(raw)
	if err != nil {
		return "", nil, err
	}
	parent := ""
	if k.parentOf != nil {
		parent = k.parentOf(spec)
	}
	var status any = api.Status{Phase: api.PhasePending}
	if k.initialStatus != nil {
		status = k.initialStatus(spec)
	}
	b, err := json.Marshal(status)
	return parent, b, err
}

func (k *kind[S]) check(ctx context.Context, v store.View, ref api.Ref, before *store.Object, after json.RawMessage) error {
	newSpec, err := k.decode(after)
	if err != nil {
		return err
	}
	if before != nil && k.immutable != nil {
		oldSpec, err := k.decode(before.Spec)
		if err != nil {
			return fmt.Errorf("decoding stored spec of %s: %w", before.Ref(), err)
		}
		if err := k.immutable(oldSpec, newSpec); err != nil {
			return err
		}
	}
	if k.crossCheck != nil {
		return k.crossCheck(ctx, v, ref, newSpec)
	}
	return nil
}

func (k *kind[S]) decorate(ctx context.Context, s store.Store, obj *store.Object) error {
	if k.readHook == nil {
		return nil
	}
	return k.readHook(ctx, s, obj)
}

func (k *kind[S]) admit(ctx context.Context, raw json.RawMessage) error {
	if k.admitCreate == nil {
		return nil
	}
	spec, err := k.decode(raw)
	if err != nil {
		return err
	}
	return k.admitCreate(ctx, spec)
}

func (k *kind[S]) ownsSpecFields() bool { return k.mergeOwned != nil }

func (k *kind[S]) merge(before, after json.RawMessage, actor string, now time.Time) (json.RawMessage, error) {
	if k.mergeOwned == nil {
		return after, nil
	}
	newSpec, err := k.decode(after)
	if err != nil {
		return nil, err
	}
	var oldSpec *S
	if before != nil {
		if oldSpec, err = k.decode(before); err != nil {
			return nil, fmt.Errorf("decoding stored spec: %w", err)
		}
	}
	if err := k.mergeOwned(oldSpec, newSpec, actor, now); err != nil {
		return nil, err
	}
	return json.Marshal(newSpec)
}

func (k *kind[S]) checkDelete(ctx context.Context, v store.View, obj *store.Object) error {
	if k.deleteCheck == nil {
		return nil
	}
	return k.deleteCheck(ctx, v, obj)
}

func (k *kind[S]) dependentKinds() []string { return k.forceDeletes }

var nameRE = regexp.MustCompile(api.NamePattern)

// validateName checks an object name against the shared rule.
func validateName(field, name string) error {
	if name == "" {
		return api.Errorf(api.EINVALID, field, "%s is required; %s", field, api.NameHint)
	}
	if !nameRE.MatchString(name) {
		return api.Errorf(api.EINVALID, field, "%q is not a valid name; %s", name, api.NameHint)
	}
	return nil
}

// canonicalETag strips the quotes and weak prefix clients may add. "*"
// matches any current version (RFC 9110), which is no condition at all.
func canonicalETag(h string) string {
	h = strings.TrimSpace(h)
	if h == "*" {
		return ""
	}
	h = strings.TrimPrefix(h, "W/")
	return strings.Trim(h, `"`)
}

// idempotencyKey reads and checks the Idempotency-Key header.
func idempotencyKey(r *http.Request) (string, error) {
	key := r.Header.Get(api.HeaderIdempotencyKey)
	if len(key) > 200 {
		return "", api.Errorf(api.EINVALID, "Idempotency-Key", "header is %d characters long; use at most 200 (a UUID is ideal)", len(key))
	}
	return key, nil
}
