package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// authenticator checks bearer tokens against stored SHA-256 digests, so the
// server never holds a token in plain text.
type authenticator struct {
	digests [][]byte
}

func newAuthenticator(hexDigests []string) *authenticator {
	a := &authenticator{}
	for _, h := range hexDigests {
		if b, err := hex.DecodeString(strings.TrimSpace(h)); err == nil && len(b) == sha256.Size {
			a.digests = append(a.digests, b)
		}
	}
	return a
}

type actorKey struct{}

// actorFrom returns who is making the request, for the audit log.
func actorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok {
		return a
	}
	return "anonymous"
}

// authed wraps a handler with bearer authentication. With -auth off and no
// tokens configured every caller is "anonymous" (development on loopback);
// with tokens configured each must present one of them. With -auth on the
// configured tokens are admin tokens, and the others are looked up by
// digest in the store's token table.
func (s *Server) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.rbac && len(s.auth.digests) == 0 {
			next(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, "anonymous")))
			return
		}
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mlopsd"`)
			s.writeError(w, r, api.NewError(api.EUNAUTHORIZED, "", "missing bearer token; set the provider's token or MLOPS_TOKEN"))
			return
		}
		sum := sha256.Sum256([]byte(token))
		for i, d := range s.auth.digests {
			if subtle.ConstantTimeCompare(sum[:], d) == 1 {
				ctx := context.WithValue(r.Context(), actorKey{}, "token-"+strconv.Itoa(i+1))
				ctx = context.WithValue(ctx, principalKey{}, principal{subject: api.SubjectAdmin})
				next(w, r.WithContext(ctx))
				return
			}
		}
		if s.rbac {
			// The lookup is by digest, so the comparison leaks nothing of
			// stored tokens' secrets.
			tok, err := s.store.FindToken(r.Context(), hex.EncodeToString(sum[:]))
			switch {
			case err == nil && !tok.Expired(time.Now()):
				actor := tok.Subject
				if actor != api.SubjectAdmin {
					actor = "service-account:" + actor
				}
				ctx := context.WithValue(r.Context(), actorKey{}, actor)
				ctx = context.WithValue(ctx, principalKey{}, principal{subject: tok.Subject})
				next(w, r.WithContext(ctx))
				return
			case err == nil:
				w.Header().Set("WWW-Authenticate", `Bearer realm="mlopsd", error="invalid_token"`)
				s.writeError(w, r, api.Errorf(api.EUNAUTHORIZED, "", "bearer token %s expired at %s; issue a new one", tok.ID, tok.ExpiresAt.Format(time.RFC3339)))
				return
			case !isCode(err, api.ENOTFOUND):
				s.writeError(w, r, err)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="mlopsd"`)
		s.writeError(w, r, api.NewError(api.EUNAUTHORIZED, "", "unknown bearer token; check the provider's token or MLOPS_TOKEN"))
	}
}

// tokenDigest is how tokens are stored: hex SHA-256 of the secret.
func tokenDigest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// bearerToken reads the token of an Authorization header. The scheme is
// case-insensitive (RFC 9110, section 11.1).
func bearerToken(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func parseInt(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
func formatInt(n int64) string         { return strconv.FormatInt(n, 10) }
