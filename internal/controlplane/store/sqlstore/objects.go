package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// objectColumns are the columns scanObject reads, in its order.
const objectColumns = `kind, environment, name, uid, generation, etag, parent, spec, status,
	created_at, updated_at, deletion_requested_at`

// maxBlockersNamed is how many dependent objects a refused delete names
// before it only counts the rest.
const maxBlockersNamed = 5

// Create inserts a new object with generation 1, a new uid and etag. It
// returns EALREADYEXISTS when the name is taken, and EINVALID (field
// "environment") when the environment does not exist or is being deleted.
// Errors from opts.Check are returned unchanged.
func (s *Store) Create(ctx context.Context, obj *store.Object, opts store.WriteOptions) (*store.Result, error) {
	return s.idempotentWrite(ctx, opts, func(tx *tx) (*store.Result, error) {
		created, err := createObject(ctx, tx, obj, opts.Check)
		if err != nil {
			return nil, err
		}
		if err := appendAudit(ctx, tx, opts.Actor, api.AuditCreate, nil, created); err != nil {
			return nil, err
		}
		return &store.Result{Object: created}, nil
	})
}

// Get returns the object, or ENOTFOUND.
func (s *Store) Get(ctx context.Context, ref api.Ref) (*store.Object, error) {
	return readOne(ctx, s, func(tx *tx) (*store.Object, error) {
		return findObject(ctx, tx, ref)
	})
}

// List returns one page of objects of kind in env, ordered by name, and the
// token of the next page ("" on the last page). It returns EINVALID (field
// "limit") for a limit outside 0..api.MaxPageSize and (field "page_token")
// for a token it did not issue.
func (s *Store) List(ctx context.Context, kind, env string, opts api.ListOptions) ([]*store.Object, string, error) {
	limit, err := pageLimit(opts.Limit)
	if err != nil {
		return nil, "", err
	}
	after, err := decodePageToken(opts.PageToken)
	if err != nil {
		return nil, "", err
	}

	// One row more than the page tells whether another page follows, so the
	// last page never comes with a token that leads to an empty page.
	objs, err := readOne(ctx, s, func(tx *tx) ([]*store.Object, error) {
		return queryObjects(ctx, tx, `SELECT `+objectColumns+` FROM objects
			WHERE kind = ? AND environment = ? AND name > ?
			ORDER BY name LIMIT ?`, kind, env, after, limit+1)
	})
	if err != nil {
		return nil, "", err
	}

	next := ""
	if len(objs) > limit {
		objs = objs[:limit]
		next = encodePageToken(objs[limit-1].Meta.Name)
	}
	return objs, next, nil
}

// UpdateSpec replaces the spec, bumps the generation and the etag. A spec
// equal (as JSON) to the current one changes nothing, skips opts.Check and
// is not an error. It returns ENOTFOUND, and ECONFLICT when opts.IfMatch is
// stale or the object is being deleted.
func (s *Store) UpdateSpec(ctx context.Context, ref api.Ref, spec json.RawMessage, opts store.WriteOptions) (*store.Result, error) {
	return s.idempotentWrite(ctx, opts, func(tx *tx) (*store.Result, error) {
		before, after, err := updateObjectSpec(ctx, tx, ref, spec, opts)
		if err != nil {
			return nil, err
		}
		if after.Meta.Generation != before.Meta.Generation {
			if err := appendAudit(ctx, tx, opts.Actor, api.AuditUpdate, before, after); err != nil {
				return nil, err
			}
			if opts.Settle != nil {
				status, err := opts.Settle(after)
				if err != nil {
					return nil, err
				}
				// after is the object just written: no need to read it back.
				compact, summary, err := normalizeStatus(status)
				if err != nil {
					return nil, err
				}
				if err := writeObjectStatus(ctx, tx, after, compact, summary); err != nil {
					return nil, err
				}
			}
		}
		return &store.Result{Object: after}, nil
	})
}

// Delete removes the object, or with graceful marks it for deletion. A
// missing object is not an error, and deleting an object already marked
// gracefully changes nothing. It returns ECONFLICT when opts.IfMatch is stale
// or other objects depend on this one.
func (s *Store) Delete(ctx context.Context, ref api.Ref, graceful bool, opts store.WriteOptions) (*store.Result, error) {
	return s.idempotentWrite(ctx, opts, func(tx *tx) (*store.Result, error) {
		return deleteObject(ctx, tx, ref, graceful, opts)
	})
}

// UpdateStatus replaces the status of the object with the given uid. It
// returns ENOTFOUND when ref no longer names the object with that uid.
func (s *Store) UpdateStatus(ctx context.Context, ref api.Ref, uid string, status json.RawMessage) (*store.Object, error) {
	return writeTx(ctx, s, func(tx *tx) (*store.Object, error) {
		return updateObjectStatus(ctx, tx, ref, uid, status)
	})
}

// Finalize removes the object with the given uid once its teardown is done
// and audits the removal. A missing object is not an error. It returns
// ECONFLICT when the object is not marked for deletion, so a reconciler bug
// cannot skip the checks Delete makes.
func (s *Store) Finalize(ctx context.Context, ref api.Ref, uid string, actor string) error {
	_, err := writeTx(ctx, s, func(tx *tx) (struct{}, error) {
		return struct{}{}, finalizeObject(ctx, tx, ref, uid, actor)
	})
	return err
}

// pendingCondition selects the objects a reconciler must look at: status
// behind the spec, a phase that is not terminal (api.PhaseReady,
// PhaseFailed, PhaseSucceeded, PhaseCancelled), or a deletion asked for. It
// is the WHERE clause of the partial index objects_pending (migration
// 0005_pending_index) word for word, with the phases as literals, so that
// Pending reads only the index's few rows; the backends' tests check that
// their planners use the index.
const pendingCondition = `(observed_generation < generation
       OR phase NOT IN ('ready', 'failed', 'succeeded', 'cancelled')
       OR deletion_requested_at IS NOT NULL)`

// Pending returns the objects of kind a reconciler must look at, ordered by
// environment and name.
func (s *Store) Pending(ctx context.Context, kind string) ([]*store.Object, error) {
	return readOne(ctx, s, func(tx *tx) ([]*store.Object, error) {
		return queryObjects(ctx, tx, PendingQuery, kind)
	})
}

// PendingQuery is Pending's query, with one parameter: the kind. It is
// exported for the backends' tests of its query plan.
const PendingQuery = `SELECT ` + objectColumns + ` FROM objects
			WHERE kind = ? AND ` + pendingCondition + `
			ORDER BY environment, name`

// idempotentWrite runs write in a write transaction, unless
// opts.IdempotencyKey names an earlier write: then it returns that write's
// result, marked Replayed, and changes nothing. Otherwise it stores the key
// with write's result in the same transaction.
func (s *Store) idempotentWrite(ctx context.Context, opts store.WriteOptions, write func(tx *tx) (*store.Result, error)) (*store.Result, error) {
	return writeTx(ctx, s, func(tx *tx) (*store.Result, error) {
		if res, err := findIdempotentResult(ctx, tx, opts); err != nil || res != nil {
			return res, err
		}
		res, err := write(tx)
		if err != nil {
			return nil, err
		}
		return res, recordIdempotencyKey(ctx, tx, opts, res)
	})
}

// createObject validates and inserts obj and returns what was stored.
func createObject(ctx context.Context, tx *tx, obj *store.Object, check checkFunc) (*store.Object, error) {
	if obj == nil {
		return nil, api.NewError(api.EINVALID, "", "no object given")
	}
	if obj.Kind == "" {
		return nil, api.NewError(api.EINVALID, "kind", "kind is required")
	}
	if obj.Meta.Name == "" {
		return nil, api.NewError(api.EINVALID, "name", "name is required; "+api.NameHint)
	}
	spec, err := canonicalSpec(obj.Spec)
	if err != nil {
		return nil, err
	}
	status, summary, err := normalizeStatus(obj.Status)
	if err != nil {
		return nil, err
	}

	ref := obj.Ref()
	if err := checkEnvironmentUsable(ctx, tx, ref); err != nil {
		return nil, err
	}
	if existing, err := findObject(ctx, tx, ref); err == nil {
		if existing.Meta.DeletionRequestedAt != nil {
			return nil, api.Errorf(api.EALREADYEXISTS, "name",
				"%s already exists and is being deleted; wait until it is gone, or choose another name", describe(ref))
		}
		return nil, api.Errorf(api.EALREADYEXISTS, "name",
			"%s already exists; choose another name, or import the existing one into Terraform state (terraform import)",
			describe(ref))
	} else if !isNotFound(err) {
		return nil, err
	}

	uid := uuid.NewString()
	created := &store.Object{
		Kind: obj.Kind,
		Meta: api.Metadata{
			Name:        obj.Meta.Name,
			Environment: obj.Meta.Environment,
			UID:         uid,
			Generation:  1,
			ETag:        etag(uid, 1),
			CreatedAt:   tx.now,
			UpdatedAt:   tx.now,
		},
		Parent: obj.Parent,
		Spec:   spec,
		Status: status,
	}
	if err := runCheck(ctx, tx, check, nil, created); err != nil {
		return nil, err
	}
	if err := insertObject(ctx, tx, created, summary); err != nil {
		return nil, err
	}
	return created, nil
}

// checkEnvironmentUsable returns EINVALID (field "environment") unless ref's
// environment exists and is not being deleted. Environments themselves live
// in no environment.
func checkEnvironmentUsable(ctx context.Context, tx *tx, ref api.Ref) error {
	if api.ClusterScoped(ref.Kind) {
		if ref.Environment != "" {
			return api.Errorf(api.EINVALID, "environment", "%s do not belong to an environment; leave environment empty", ref.Kind)
		}
		return nil
	}
	if ref.Environment == "" {
		return api.NewError(api.EINVALID, "environment", "environment is required; set it to the name of an environment (mlops_environment)")
	}
	env, err := findObject(ctx, tx, api.Ref{Kind: api.KindEnvironment, Name: ref.Environment})
	if isNotFound(err) {
		return api.Errorf(api.EINVALID, "environment",
			"environment %q does not exist; create it first (mlops_environment)", ref.Environment)
	} else if err != nil {
		return err
	}
	if env.Meta.DeletionRequestedAt != nil {
		return api.Errorf(api.EINVALID, "environment",
			"environment %q is being deleted; choose another environment or wait and create it again", ref.Environment)
	}
	return nil
}

// updateObjectSpec writes the new spec and returns the object before and
// after. When the spec is unchanged, after is before.
func updateObjectSpec(ctx context.Context, tx *tx, ref api.Ref, spec json.RawMessage, opts store.WriteOptions) (before, after *store.Object, err error) {
	newSpec, err := canonicalSpec(spec)
	if err != nil {
		return nil, nil, err
	}
	before, err = findObject(ctx, tx, ref)
	if err != nil {
		return nil, nil, err
	}
	if err := checkIfMatch(before, opts.IfMatch); err != nil {
		return nil, nil, err
	}
	if before.Meta.DeletionRequestedAt != nil {
		return nil, nil, api.Errorf(api.ECONFLICT, "",
			"%s is being deleted; wait until it is gone, then create it again", describe(ref))
	}
	// Stored specs are canonical, so byte equality is JSON equality.
	if string(newSpec) == string(before.Spec) {
		return before, before, nil
	}

	after = cloneObject(before)
	after.Spec = newSpec
	after.Meta.Generation++
	after.Meta.ETag = etag(after.Meta.UID, after.Meta.Generation)
	after.Meta.UpdatedAt = tx.now
	if err := runCheck(ctx, tx, opts.Check, before, after); err != nil {
		return nil, nil, err
	}

	if _, err := tx.exec(ctx, `UPDATE objects
		SET spec = ?, generation = ?, etag = ?, updated_at = ?
		WHERE uid = ?`,
		string(after.Spec), after.Meta.Generation, after.Meta.ETag, formatTime(tx.now), after.Meta.UID); err != nil {
		return nil, nil, tx.errorf("update spec of %s: %w", ref, err)
	}
	return before, after, nil
}

// deleteObject removes or marks the object and audits it.
func deleteObject(ctx context.Context, tx *tx, ref api.Ref, graceful bool, opts store.WriteOptions) (*store.Result, error) {
	before, err := findObject(ctx, tx, ref)
	if isNotFound(err) {
		return &store.Result{}, nil
	} else if err != nil {
		return nil, err
	}
	if err := checkIfMatch(before, opts.IfMatch); err != nil {
		return nil, err
	}
	// A repeated graceful delete finds the teardown already under way.
	if graceful && before.Meta.DeletionRequestedAt != nil {
		return &store.Result{Object: before}, nil
	}
	// The caller's check runs first, so a kind can refuse with a message of
	// its own that names its dependents and the fix (a model's versions and
	// aliases, and force); the generic refusal below stays the backstop.
	if err := runCheck(ctx, tx, opts.Check, before, nil); err != nil {
		return nil, err
	}
	if err := checkNoDependents(ctx, tx, before); err != nil {
		return nil, err
	}

	if !graceful {
		if err := removeObject(ctx, tx, before, opts.Actor); err != nil {
			return nil, err
		}
		return &store.Result{Object: before, Removed: true}, nil
	}

	after := cloneObject(before)
	now := tx.now
	after.Meta.DeletionRequestedAt = &now
	after.Meta.UpdatedAt = now
	if _, err := tx.exec(ctx, `UPDATE objects
		SET deletion_requested_at = ?, updated_at = ?
		WHERE uid = ?`, formatTime(now), formatTime(now), after.Meta.UID); err != nil {
		return nil, tx.errorf("mark %s for deletion: %w", ref, err)
	}
	if err := appendAudit(ctx, tx, opts.Actor, api.AuditDeleteRequested, before, after); err != nil {
		return nil, err
	}
	return &store.Result{Object: after}, nil
}

// removeObject deletes the row of obj and audits the removal.
func removeObject(ctx context.Context, tx *tx, obj *store.Object, actor string) error {
	if _, err := tx.exec(ctx, `DELETE FROM objects WHERE uid = ?`, obj.Meta.UID); err != nil {
		return tx.errorf("delete %s: %w", obj.Ref(), err)
	}
	return appendAudit(ctx, tx, actor, api.AuditDelete, obj, nil)
}

// finalizeObject removes the marked object with uid, if it still exists.
func finalizeObject(ctx context.Context, tx *tx, ref api.Ref, uid string, actor string) error {
	obj, err := findObjectByUID(ctx, tx, ref, uid)
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if obj.Meta.DeletionRequestedAt == nil {
		return api.Errorf(api.ECONFLICT, "",
			"%s is not marked for deletion; delete it before finalizing it", describe(ref))
	}
	return removeObject(ctx, tx, obj, actor)
}

// updateObjectStatus writes status into the object with uid and returns it.
func updateObjectStatus(ctx context.Context, tx *tx, ref api.Ref, uid string, status json.RawMessage) (*store.Object, error) {
	compact, summary, err := normalizeStatus(status)
	if err != nil {
		return nil, err
	}
	obj, err := findObjectByUID(ctx, tx, ref, uid)
	if err != nil {
		return nil, err
	}
	if err := writeObjectStatus(ctx, tx, obj, compact, summary); err != nil {
		return nil, err
	}
	return obj, nil
}

// writeObjectStatus writes compact, a status that normalizeStatus returned
// with its summary, into obj, an object this transaction has read or
// written: in the database and in obj itself.
func writeObjectStatus(ctx context.Context, tx *tx, obj *store.Object, compact json.RawMessage, summary api.Status) error {
	obj.Status = compact
	obj.Meta.UpdatedAt = tx.now
	if _, err := tx.exec(ctx, `UPDATE objects
		SET status = ?, phase = ?, observed_generation = ?, updated_at = ?
		WHERE uid = ?`,
		string(compact), summary.Phase, summary.ObservedGeneration, formatTime(tx.now), obj.Meta.UID); err != nil {
		return tx.errorf("update status of %s: %w", obj.Ref(), err)
	}
	return nil
}

// checkIfMatch returns ECONFLICT when ifMatch is set and is not obj's etag.
func checkIfMatch(obj *store.Object, ifMatch string) error {
	if ifMatch == "" || ifMatch == obj.Meta.ETag {
		return nil
	}
	return api.Errorf(api.ECONFLICT, "",
		"%s changed since it was read (If-Match %q, current etag %q); refresh and retry",
		describe(obj.Ref()), ifMatch, obj.Meta.ETag)
}

// checkNoDependents returns ECONFLICT naming the objects that keep obj from
// being deleted: everything in an environment, or the children of any other
// object. Objects already marked for deletion still count, since they exist
// until their teardown finishes.
func checkNoDependents(ctx context.Context, tx *tx, obj *store.Object) error {
	var where string
	var args []any
	if obj.Kind == api.KindEnvironment {
		where, args = `environment = ?`, []any{obj.Meta.Name}
	} else {
		where, args = `environment = ? AND parent = ?`, []any{obj.Meta.Environment, obj.Kind + "/" + obj.Meta.Name}
	}

	var total int
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM objects WHERE `+where, args...).Scan(&total); err != nil {
		return tx.errorf("count dependents of %s: %w", obj.Ref(), err)
	}
	if total == 0 {
		return nil
	}

	rows, err := tx.query(ctx, `SELECT kind, name FROM objects WHERE `+where+`
		ORDER BY kind, name LIMIT ?`, append(args, maxBlockersNamed)...)
	if err != nil {
		return tx.errorf("list dependents of %s: %w", obj.Ref(), err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			return tx.errorf("list dependents of %s: %w", obj.Ref(), err)
		}
		names = append(names, kind+"/"+name)
	}
	if err := rows.Err(); err != nil {
		return tx.errorf("list dependents of %s: %w", obj.Ref(), err)
	}

	list := strings.Join(names, ", ")
	if more := total - len(names); more > 0 {
		list += " and " + strconv.Itoa(more) + " more"
	}
	if obj.Kind == api.KindEnvironment {
		return api.Errorf(api.ECONFLICT, "",
			"environment %q still contains %s; delete them first", obj.Meta.Name, list)
	}
	return api.Errorf(api.ECONFLICT, "",
		"%s is still used by %s; delete them first", describe(obj.Ref()), list)
}

// checkFunc is the type of store.WriteOptions.Check.
type checkFunc = func(ctx context.Context, v store.View, before, after *store.Object) error

// runCheck calls check, if any, with copies of before and after so that the
// check cannot change what gets written.
func runCheck(ctx context.Context, tx *tx, check checkFunc, before, after *store.Object) error {
	if check == nil {
		return nil
	}
	return check(ctx, txView{tx: tx}, cloneObject(before), cloneObject(after))
}

// txView is the store.View a Check callback reads through: the write
// transaction itself, so it sees exactly the state the write commits on.
type txView struct {
	tx *tx
}

// Get returns the object, or ENOTFOUND.
func (v txView) Get(ctx context.Context, ref api.Ref) (*store.Object, error) {
	return findObject(ctx, v.tx, ref)
}

// ListAll returns every object of kind in env, ordered by name.
func (v txView) ListAll(ctx context.Context, kind, env string) ([]*store.Object, error) {
	return queryObjects(ctx, v.tx, `SELECT `+objectColumns+` FROM objects
		WHERE kind = ? AND environment = ? ORDER BY name`, kind, env)
}

// findObject returns the object ref names, or ENOTFOUND.
func findObject(ctx context.Context, tx *tx, ref api.Ref) (*store.Object, error) {
	row := tx.queryRow(ctx, `SELECT `+objectColumns+` FROM objects
		WHERE kind = ? AND environment = ? AND name = ?`, ref.Kind, ref.Environment, ref.Name)
	obj, err := scanObject(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, api.Errorf(api.ENOTFOUND, "", "%s does not exist", describe(ref))
	} else if err != nil {
		return nil, tx.errorf("get %s: %w", ref, err)
	}
	return obj, nil
}

// findObjectByUID returns the object ref names if it still has uid, or
// ENOTFOUND. A name can be deleted and reused; the uid tells the
// incarnations apart.
func findObjectByUID(ctx context.Context, tx *tx, ref api.Ref, uid string) (*store.Object, error) {
	row := tx.queryRow(ctx, `SELECT `+objectColumns+` FROM objects
		WHERE uid = ? AND kind = ? AND environment = ? AND name = ?`, uid, ref.Kind, ref.Environment, ref.Name)
	obj, err := scanObject(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, api.Errorf(api.ENOTFOUND, "", "%s with uid %q does not exist", describe(ref), uid)
	} else if err != nil {
		return nil, tx.errorf("get %s: %w", ref, err)
	}
	return obj, nil
}

// queryObjects runs a SELECT of objectColumns and scans every row.
func queryObjects(ctx context.Context, tx *tx, query string, args ...any) ([]*store.Object, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, tx.errorf("list objects: %w", err)
	}
	defer rows.Close()
	objs := []*store.Object{}
	for rows.Next() {
		obj, err := scanObject(rows)
		if err != nil {
			return nil, tx.errorf("list objects: %w", err)
		}
		objs = append(objs, obj)
	}
	if err := rows.Err(); err != nil {
		return nil, tx.errorf("list objects: %w", err)
	}
	return objs, nil
}

// insertObject writes a new row for obj, whose status summarizes to summary.
func insertObject(ctx context.Context, tx *tx, obj *store.Object, summary api.Status) error {
	if _, err := tx.exec(ctx, `INSERT INTO objects (
			kind, environment, name, uid, generation, etag, parent, spec, status,
			phase, observed_generation, created_at, updated_at, deletion_requested_at
		) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
		obj.Kind, obj.Meta.Environment, obj.Meta.Name, obj.Meta.UID, obj.Meta.Generation, obj.Meta.ETag,
		obj.Parent, string(obj.Spec), string(obj.Status), summary.Phase, summary.ObservedGeneration,
		formatTime(obj.Meta.CreatedAt), formatTime(obj.Meta.UpdatedAt)); err != nil {
		return tx.errorf("insert %s: %w", obj.Ref(), err)
	}
	return nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// scanObject reads one row of objectColumns.
func scanObject(s scanner) (*store.Object, error) {
	var (
		obj                 store.Object
		spec, status        string
		created, updated    string
		deletionRequestedAt sql.NullString
	)
	if err := s.Scan(&obj.Kind, &obj.Meta.Environment, &obj.Meta.Name, &obj.Meta.UID, &obj.Meta.Generation,
		&obj.Meta.ETag, &obj.Parent, &spec, &status, &created, &updated, &deletionRequestedAt); err != nil {
		return nil, err
	}
	obj.Spec = json.RawMessage(spec)
	obj.Status = json.RawMessage(status)
	var err error
	if obj.Meta.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if obj.Meta.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	if deletionRequestedAt.Valid {
		t, err := parseTime(deletionRequestedAt.String)
		if err != nil {
			return nil, err
		}
		obj.Meta.DeletionRequestedAt = &t
	}
	return &obj, nil
}

// cloneObject returns a deep copy of obj (nil for nil).
func cloneObject(obj *store.Object) *store.Object {
	if obj == nil {
		return nil
	}
	c := *obj
	c.Spec = append(json.RawMessage(nil), obj.Spec...)
	c.Status = append(json.RawMessage(nil), obj.Status...)
	if obj.Meta.DeletionRequestedAt != nil {
		t := *obj.Meta.DeletionRequestedAt
		c.Meta.DeletionRequestedAt = &t
	}
	return &c
}

// etag derives the etag from what identifies a spec version, so it needs no
// column of its own to stay consistent with the generation.
func etag(uid string, generation int64) string {
	sum := sha256.Sum256([]byte(uid + "/" + strconv.FormatInt(generation, 10)))
	return hex.EncodeToString(sum[:])[:16]
}

// describe names ref in error messages the way users declared it.
func describe(ref api.Ref) string {
	if ref.Kind == api.KindEnvironment {
		return fmt.Sprintf("environment %q", ref.Name)
	}
	return fmt.Sprintf("%s %q in environment %q", ref.Kind, ref.Name, ref.Environment)
}

// isNotFound reports whether err is an ENOTFOUND *api.Error.
func isNotFound(err error) bool {
	var apiErr *api.Error
	return errors.As(err, &apiErr) && apiErr.Code == api.ENOTFOUND
}
