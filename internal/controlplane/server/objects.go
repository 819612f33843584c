package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/reconcile"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// maxBodyBytes bounds request bodies; a feature group with a thousand
// features fits many times over.
const maxBodyBytes = 4 << 20

// wireObject is the JSON shape shared by every kind: the typed api structs
// (api.ComputePool, ...) decode it on the client side.
type wireObject struct {
	Metadata api.Metadata    `json:"metadata"`
	Spec     json.RawMessage `json:"spec"`
	Status   json.RawMessage `json:"status"`
}

type wireList struct {
	Items         []wireObject `json:"items"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

type createBody struct {
	Name string          `json:"name"`
	Spec json.RawMessage `json:"spec"`
}

type updateBody struct {
	Spec json.RawMessage `json:"spec"`
}

// objectHandler returns the handler of one operation on one kind.
func (s *Server) objectHandler(k kindHandler, op string) http.HandlerFunc {
	var h func(k kindHandler) http.HandlerFunc
	switch op {
	case api.OpCreate:
		h = s.handleCreate
	case api.OpList:
		h = s.handleList
	case api.OpGet:
		h = s.handleGet
	case api.OpUpdate:
		h = s.handleUpdate
	case api.OpDelete:
		h = s.handleDelete
	default:
		panic("server: unknown operation " + op)
	}
	return s.authed(s.authorizeObject(k, op, h(k)))
}

// target resolves the object ref of a request; the name is "" for
// collection routes.
func target(r *http.Request, k kindHandler) (api.Ref, error) {
	ref := api.Ref{Kind: k.segment(), Name: r.PathValue("name")}
	if !api.ClusterScoped(k.segment()) {
		ref.Environment = r.PathValue("env")
		if err := validateName("environment", ref.Environment); err != nil {
			return api.Ref{}, err
		}
	}
	return ref, nil
}

func readBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return api.Errorf(api.EINVALID, "", "cannot read request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return api.Errorf(api.EINVALID, "", "request body is larger than %d bytes", maxBodyBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return jsonError("", body, v, false, err)
	}
	return nil
}

// fingerprint identifies a write for idempotency: the same key with another
// method, path or body is a client bug, not a retry.
func fingerprint(r *http.Request, canonicalBody []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(canonicalBody)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) writeOptions(r *http.Request, canonicalBody []byte) (store.WriteOptions, error) {
	key, err := idempotencyKey(r)
	if err != nil {
		return store.WriteOptions{}, err
	}
	actor := actorFrom(r.Context())
	if key != "" {
		// Keys are scoped to the caller: another caller who happens to
		// choose the same key must neither see this caller's result nor be
		// refused because of it.
		key = actor + "\x00" + key
	}
	return store.WriteOptions{
		Actor:          actor,
		IdempotencyKey: key,
		Fingerprint:    fingerprint(r, canonicalBody),
		IfMatch:        canonicalETag(r.Header.Get(api.HeaderIfMatch)),
	}, nil
}

func (s *Server) sendObject(w http.ResponseWriter, r *http.Request, k kindHandler, obj *store.Object, status int, replayed bool) {
	if err := k.decorate(r.Context(), s.store, obj); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set(api.HeaderETag, `"`+obj.Meta.ETag+`"`)
	if replayed {
		w.Header().Set(api.HeaderIdempotentReplay, "true")
	}
	writeJSON(w, status, toWire(obj))
}

func toWire(obj *store.Object) wireObject {
	return wireObject{Metadata: obj.Meta, Spec: obj.Spec, Status: obj.Status}
}

func (s *Server) handleCreate(k kindHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref, err := target(r, k)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		var body createBody
		if err := readBody(r, &body); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := validateName("name", body.Name); err != nil {
			s.writeError(w, r, err)
			return
		}
		// Collection routes carry no name; the checks need the new one, e.g.
		// to tell this object from the others of its environment.
		ref.Name = body.Name
		spec, err := k.decodeSpec(body.Spec)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		// The fingerprint covers what the client sent, not the server-owned
		// fields merged in below, which hold the time: a retry must match.
		canonical, _ := json.Marshal(createBody{Name: body.Name, Spec: spec})
		opts, err := s.writeOptions(r, canonical)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := k.admit(r.Context(), spec); err != nil {
			s.writeError(w, r, err)
			return
		}
		if spec, err = k.merge(nil, spec, opts.Actor, clock()); err != nil {
			s.writeError(w, r, err)
			return
		}
		if k.segment() == api.KindModelVersion {
			if err := s.authorizeApproval(r.Context(), ref.Environment, nil, spec); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if k.segment() == api.KindServiceAccount {
			if err := validateServiceAccountName(body.Name); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		parent, status, err := k.prepare(spec)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		opts.Check = func(ctx context.Context, v store.View, before, after *store.Object) error {
			return k.check(ctx, v, ref, nil, spec)
		}
		obj := &store.Object{
			Kind:   k.segment(),
			Meta:   api.Metadata{Name: body.Name, Environment: ref.Environment},
			Parent: parent,
			Spec:   spec,
			Status: status,
		}
		res, err := s.store.Create(r.Context(), obj, opts)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.notify(k.segment())
		s.sendObject(w, r, k, res.Object, http.StatusCreated, res.Replayed)
	}
}

func (s *Server) handleGet(k kindHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref, err := target(r, k)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		wait, err := parseWait(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if wait == nil {
			obj, err := s.store.Get(r.Context(), ref)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			s.sendObject(w, r, k, obj, http.StatusOK, false)
			return
		}
		start := time.Now()
		obj, err := s.waitSettled(r.Context(), k, ref, wait)
		if r.Context().Err() != nil {
			return // the client went away; nobody reads an answer
		}
		w.Header().Set(api.HeaderWaited, time.Since(start).Round(time.Millisecond).String())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.sendObject(w, r, k, obj, http.StatusOK, false)
	}
}

func (s *Server) handleList(k kindHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref, err := target(r, k)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		opts := api.ListOptions{PageToken: r.URL.Query().Get("page_token")}
		if l := r.URL.Query().Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil || n < 1 || n > api.MaxPageSize {
				s.writeError(w, r, api.Errorf(api.EINVALID, "limit", "limit must be a whole number from 1 to %d", api.MaxPageSize))
				return
			}
			opts.Limit = n
		}
		objs, next, err := s.store.List(r.Context(), k.segment(), ref.Environment, opts)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		out := wireList{Items: make([]wireObject, 0, len(objs)), NextPageToken: next}
		for _, obj := range objs {
			if err := k.decorate(r.Context(), s.store, obj); err != nil {
				s.writeError(w, r, err)
				return
			}
			out.Items = append(out.Items, toWire(obj))
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) handleUpdate(k kindHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref, err := target(r, k)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		var body updateBody
		if err := readBody(r, &body); err != nil {
			s.writeError(w, r, err)
			return
		}
		spec, err := k.decodeSpec(body.Spec)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		canonical, _ := json.Marshal(updateBody{Spec: spec})
		opts, err := s.writeOptions(r, canonical)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if reconcile.RealisedByStoring(ref.Kind) {
			// Nothing is left to realise: the update settles the status
			// in its own transaction, and the client need not wait.
			opts.Settle = func(after *store.Object) (json.RawMessage, error) {
				return reconcile.StoredStatus(after, after.Meta.UpdatedAt)
			}
		}
		var res *store.Result
		if k.ownsSpecFields() {
			res, err = s.mergeAndUpdate(r.Context(), k, ref, spec, opts)
		} else {
			opts.Check = func(ctx context.Context, v store.View, before, after *store.Object) error {
				return k.check(ctx, v, ref, before, spec)
			}
			res, err = s.store.UpdateSpec(r.Context(), ref, spec, opts)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.notify(k.segment())
		s.sendObject(w, r, k, res.Object, http.StatusOK, res.Replayed)
	}
}

func (s *Server) handleDelete(k kindHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ref, err := target(r, k)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		force, err := forceParam(r, k)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		var canonical []byte
		if force {
			// The same key with and without force is not the same request.
			canonical = []byte(api.QueryForce + "=true")
		}
		opts, err := s.writeOptions(r, canonical)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		opts.Check = func(ctx context.Context, v store.View, before, _ *store.Object) error {
			return k.checkDelete(ctx, v, before)
		}
		res, err := s.store.Delete(r.Context(), ref, k.graceful(), opts)
		// A forced delete first tries the plain one: a retried request is
		// answered from its idempotency record before anything else is
		// deleted, and an object without children needs nothing more.
		if force && isCode(err, api.ECONFLICT) {
			if err = s.deleteDependents(r.Context(), k, ref, opts); err == nil {
				res, err = s.store.Delete(r.Context(), ref, k.graceful(), opts)
			}
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if res.Object == nil || res.Removed {
			if res.Replayed {
				w.Header().Set(api.HeaderIdempotentReplay, "true")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.notify(k.segment())
		s.sendObject(w, r, k, res.Object, http.StatusAccepted, res.Replayed)
	}
}

// forceParam reads the force query parameter of a delete. Only kinds with
// dependent kinds take it.
func forceParam(r *http.Request, k kindHandler) (bool, error) {
	v := r.URL.Query().Get(api.QueryForce)
	if v == "" {
		return false, nil
	}
	force, err := strconv.ParseBool(v)
	if err != nil {
		return false, api.Errorf(api.EINVALID, api.QueryForce, "%s=%q is not a boolean; use %s=true or leave it out", api.QueryForce, v, api.QueryForce)
	}
	if force && len(k.dependentKinds()) == 0 {
		return false, api.Errorf(api.EINVALID, api.QueryForce, "%s cannot be deleted with force; only models take %s=true (it deletes their aliases and versions first)", k.segment(), api.QueryForce)
	}
	return force, nil
}

// deleteDependents deletes the children of ref that a forced delete removes
// first, kind by kind in the order the kind lists them (a model's aliases,
// then its versions), each as a delete of its own: checked by its kind's
// rules and audited under the caller's name. It stops at the first refusal;
// repeating the forced delete continues where it stopped. A stale If-Match
// deletes nothing.
func (s *Server) deleteDependents(ctx context.Context, k kindHandler, ref api.Ref, opts store.WriteOptions) error {
	obj, err := s.store.Get(ctx, ref)
	if isCode(err, api.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return err
	}
	if opts.IfMatch != "" && opts.IfMatch != obj.Meta.ETag {
		return api.Errorf(api.ECONFLICT, "",
			"%s changed since it was read (If-Match %q, current etag %q); refresh and retry", ref, opts.IfMatch, obj.Meta.ETag)
	}
	parent := ref.Kind + "/" + ref.Name
	for _, kind := range k.dependentKinds() {
		child := s.kinds[kind]
		children, err := s.listAll(ctx, kind, ref.Environment)
		if err != nil {
			return err
		}
		for _, c := range children {
			if c.Parent != parent {
				continue
			}
			_, err := s.store.Delete(ctx, c.Ref(), child.graceful(), store.WriteOptions{
				Actor: opts.Actor,
				Check: func(ctx context.Context, v store.View, before, _ *store.Object) error {
					return child.checkDelete(ctx, v, before)
				},
			})
			if err != nil {
				return err
			}
			s.notify(kind)
		}
	}
	return nil
}

// listAll returns every object of kind in env, page by page.
func (s *Server) listAll(ctx context.Context, kind, env string) ([]*store.Object, error) {
	var out []*store.Object
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		objs, next, err := s.store.List(ctx, kind, env, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
		if next == "" {
			return out, nil
		}
		opts.PageToken = next
	}
}

// clock is the time the server records in server-owned spec fields, such as
// when an approval was decided.
var clock = func() time.Time { return time.Now().UTC() }

// mergeAttempts bounds how often an update of a kind with server-owned spec
// fields is merged again after a concurrent writer got in between.
const mergeAttempts = 5

// errStaleMerge aborts a write whose merge was based on an object that
// changed before the write's transaction began.
var errStaleMerge = errors.New("stale merge")

// mergeAndUpdate updates an object of a kind whose spec holds server-owned
// fields (approval history, alias moves): it reads the stored object, merges
// the client's spec into it and writes the result only if the object is
// still the one that was read, so no concurrent decision is lost. A
// concurrent writer makes it merge again, a few times. An If-Match from the
// client and a retried Idempotency-Key are honoured by the store as usual:
// both are checked before the merge's own precondition.
func (s *Server) mergeAndUpdate(ctx context.Context, k kindHandler, ref api.Ref, spec json.RawMessage, opts store.WriteOptions) (*store.Result, error) {
	for attempt := 1; ; attempt++ {
		cur, err := s.store.Get(ctx, ref)
		if err != nil {
			return nil, err
		}
		merged, err := k.merge(cur.Spec, spec, opts.Actor, clock())
		if err != nil {
			return nil, err
		}
		if k.segment() == api.KindModelVersion {
			if err := s.authorizeApproval(ctx, ref.Environment, cur.Spec, merged); err != nil {
				return nil, err
			}
		}
		opts.Check = func(ctx context.Context, v store.View, before, after *store.Object) error {
			if before.Meta.ETag != cur.Meta.ETag {
				return errStaleMerge
			}
			return k.check(ctx, v, ref, before, merged)
		}
		res, err := s.store.UpdateSpec(ctx, ref, merged, opts)
		if !errors.Is(err, errStaleMerge) {
			return res, err
		}
		if attempt == mergeAttempts {
			return nil, api.Errorf(api.ECONFLICT, "",
				"%s was changed by other writers %d times while this update was applied; retry", ref, mergeAttempts)
		}
	}
}
