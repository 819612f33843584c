package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

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

// authed wraps a handler with bearer authentication. With no tokens
// configured every caller is "anonymous" (development on loopback).
func (s *Server) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if len(s.auth.digests) == 0 {
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
				next(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, "token-"+strconv.Itoa(i+1))))
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="mlopsd"`)
		s.writeError(w, r, api.NewError(api.EUNAUTHORIZED, "", "unknown bearer token; check the provider's token or MLOPS_TOKEN"))
	}
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
