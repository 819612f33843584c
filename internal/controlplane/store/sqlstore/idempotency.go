package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// storedResult is how a store.Result is kept in idempotency_keys.response.
// It has its own JSON tags so the stored format does not change when
// store.Object gains a field.
type storedResult struct {
	Object  *storedObject `json:"object"`
	Removed bool          `json:"removed,omitempty"`
}

// storedObject is a store.Object as kept in storedResult.
type storedObject struct {
	Kind   string          `json:"kind"`
	Meta   api.Metadata    `json:"metadata"`
	Parent string          `json:"parent,omitempty"`
	Spec   json.RawMessage `json:"spec"`
	Status json.RawMessage `json:"status"`
}

// findIdempotentResult returns the stored result of an earlier write with
// opts.IdempotencyKey, marked Replayed, or nil when the key is new (or not
// set). A key first used with another fingerprint is ECONFLICT: replaying
// the other request's result would tell the client a lie.
func findIdempotentResult(ctx context.Context, tx *tx, opts store.WriteOptions) (*store.Result, error) {
	if opts.IdempotencyKey == "" {
		return nil, nil
	}
	var fingerprint, response string
	err := tx.queryRow(ctx, `SELECT fingerprint, response FROM idempotency_keys WHERE key = ?`,
		tx.store.keyArg(opts.IdempotencyKey)).Scan(&fingerprint, &response)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, tx.errorf("find idempotency key: %w", err)
	}
	if fingerprint != opts.Fingerprint {
		return nil, api.Errorf(api.ECONFLICT, "",
			"Idempotency-Key %q was already used for a different request; use a new key", opts.IdempotencyKey)
	}

	var stored storedResult
	if err := json.Unmarshal([]byte(response), &stored); err != nil {
		return nil, tx.errorf("decode result of idempotency key %q: %w", opts.IdempotencyKey, err)
	}
	res := &store.Result{Removed: stored.Removed, Replayed: true}
	if o := stored.Object; o != nil {
		res.Object = &store.Object{Kind: o.Kind, Meta: o.Meta, Parent: o.Parent, Spec: o.Spec, Status: o.Status}
	}
	return res, nil
}

// recordIdempotencyKey stores res under opts.IdempotencyKey, if set. It runs
// in the write's transaction, so the key exists exactly when the write
// committed.
func recordIdempotencyKey(ctx context.Context, tx *tx, opts store.WriteOptions, res *store.Result) error {
	if opts.IdempotencyKey == "" {
		return nil
	}
	stored := storedResult{Removed: res.Removed}
	if o := res.Object; o != nil {
		stored.Object = &storedObject{Kind: o.Kind, Meta: o.Meta, Parent: o.Parent, Spec: o.Spec, Status: o.Status}
	}
	// Without SetEscapeHTML(false) the encoder would rewrite "<" in the spec
	// as "\u003c", and a replay would return other bytes than the original.
	var response strings.Builder
	enc := json.NewEncoder(&response)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(stored); err != nil {
		return tx.errorf("encode result of idempotency key %q: %w", opts.IdempotencyKey, err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO idempotency_keys (key, fingerprint, response, created_at)
		VALUES (?, ?, ?, ?)`, tx.store.keyArg(opts.IdempotencyKey), opts.Fingerprint, response.String(), formatTime(tx.now)); err != nil {
		return tx.errorf("record idempotency key %q: %w", opts.IdempotencyKey, err)
	}
	return nil
}
