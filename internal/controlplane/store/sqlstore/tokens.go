package sqlstore

import (
	"context"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// CreateToken stores a token by the hex SHA-256 of its secret and audits it
// (kind "tokens", name the subject, uid the token's id) in one transaction.
// Returns EALREADYEXISTS when a token with that digest or id exists.
func (s *Store) CreateToken(ctx context.Context, tok store.Token, actor string) error {
	_, err := writeTx(ctx, s, func(tx *tx) (struct{}, error) {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM tokens WHERE token_sha256 = ? OR id = ?`, tok.SHA256, tok.ID).Scan(&n); err != nil {
			return struct{}{}, tx.errorf("create token: %w", err)
		}
		if n > 0 {
			return struct{}{}, api.NewError(api.EALREADYEXISTS, "", "a token with this secret or id exists already")
		}
		created := tok.CreatedAt
		if created.IsZero() {
			created = tx.now
		}
		expires := ""
		if !tok.ExpiresAt.IsZero() {
			expires = formatTime(tok.ExpiresAt)
		}
		if _, err := tx.exec(ctx, `INSERT INTO tokens (token_sha256, id, subject, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			tok.SHA256, tok.ID, tok.Subject, formatTime(created), expires); err != nil {
			return struct{}{}, tx.errorf("create token: %w", err)
		}
		audited := &store.Object{Kind: TokenAuditKind, Meta: api.Metadata{Name: tok.Subject, UID: tok.ID}}
		return struct{}{}, appendAudit(ctx, tx, actor, api.AuditCreate, nil, audited)
	})
	return err
}

// TokenAuditKind is the kind of the audit records of issued tokens.
const TokenAuditKind = "tokens"

// FindToken returns the token whose secret has the hex SHA-256 digest, or
// ENOTFOUND. It does not look at the expiry: the caller does.
func (s *Store) FindToken(ctx context.Context, sha256Hex string) (*store.Token, error) {
	return inTx(ctx, s.beginRead, func(tx *tx) (*store.Token, error) {
		tok := store.Token{SHA256: sha256Hex}
		var created, expires string
		err := tx.queryRow(ctx, `SELECT id, subject, created_at, expires_at FROM tokens WHERE token_sha256 = ?`, sha256Hex).
			Scan(&tok.ID, &tok.Subject, &created, &expires)
		if isNoRows(err) {
			return nil, api.NewError(api.ENOTFOUND, "", "unknown token")
		} else if err != nil {
			return nil, tx.errorf("find token: %w", err)
		}
		if tok.CreatedAt, err = parseTime(created); err != nil {
			return nil, tx.errorf("find token: %w", err)
		}
		if expires != "" {
			if tok.ExpiresAt, err = parseTime(expires); err != nil {
				return nil, tx.errorf("find token: %w", err)
			}
		}
		return &tok, nil
	})
}

// CountTokens returns how many tokens are stored, expired ones included.
func (s *Store) CountTokens(ctx context.Context) (int, error) {
	return inTx(ctx, s.beginRead, func(tx *tx) (int, error) {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM tokens`).Scan(&n); err != nil {
			return 0, tx.errorf("count tokens: %w", err)
		}
		return n, nil
	})
}
