package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// needAdmin is the requirement of operations only admin may perform; it is
// no role of an environment.
const needAdmin = "admin"

// principal is who a request acts as under -auth on.
type principal struct {
	// subject is "admin" or a service account's name.
	subject string
}

type principalKey struct{}

func principalFrom(ctx context.Context) (principal, bool) {
	p, ok := ctx.Value(principalKey{}).(principal)
	return p, ok
}

// authorize returns nil when the request's principal has need (a role, or
// needAdmin) in env, and EFORBIDDEN otherwise. It is checked before the
// request looks anything up, so a 403 never says whether a name exists.
// Without -auth on every caller may do everything.
func (s *Server) authorize(ctx context.Context, env, need string) error {
	if !s.rbac {
		return nil
	}
	p, ok := principalFrom(ctx)
	if !ok {
		return api.NewError(api.EUNAUTHORIZED, "", "missing bearer token; set the provider's token or MLOPS_TOKEN")
	}
	if p.subject == api.SubjectAdmin {
		return nil
	}
	if need == needAdmin || env == "" {
		return api.Errorf(api.EFORBIDDEN, "", "service account %q may not do this: it needs an admin token", p.subject)
	}
	role, err := s.roleIn(ctx, p.subject, env)
	if err != nil {
		return err
	}
	if api.RoleRank(role) >= api.RoleRank(need) {
		return nil
	}
	has := "no role"
	if role != "" {
		has = "role " + role
	}
	return api.Errorf(api.EFORBIDDEN, "",
		"service account %q has %s in environment %q and this needs %s; an owner of the environment can grant it with a role binding (mlops_role_binding)",
		p.subject, has, env, need)
}

// roleIn returns the strongest role the subject's bindings grant in env, ""
// for none.
func (s *Server) roleIn(ctx context.Context, subject, env string) (string, error) {
	bindings, err := s.listAll(ctx, api.KindRoleBinding, env)
	if err != nil {
		return "", err
	}
	best := ""
	for _, b := range bindings {
		spec, err := decodeRoleBinding(b)
		if err != nil {
			return "", err
		}
		if spec.Subject == subject && api.RoleRank(spec.Role) > api.RoleRank(best) {
			best = spec.Role
		}
	}
	return best, nil
}

func decodeRoleBinding(obj *store.Object) (api.RoleBindingSpec, error) {
	var spec api.RoleBindingSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return spec, fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	return spec, nil
}

// objectPermission says what an operation on an object of kind needs, and
// in which environment.
func objectPermission(kind, op string, r *http.Request) (env, need string) {
	read := op == api.OpGet || op == api.OpList
	switch kind {
	case api.KindServiceAccount:
		return "", needAdmin
	case api.KindEnvironment:
		// Reading one environment is part of working in it; listing them
		// would show the names of all, and writing them is admin's.
		if op == api.OpGet {
			return r.PathValue("name"), api.RoleViewer
		}
		return "", needAdmin
	case api.KindRoleBinding:
		if read {
			return r.PathValue("env"), api.RoleViewer
		}
		return r.PathValue("env"), api.RoleOwner
	}
	if read {
		return r.PathValue("env"), api.RoleViewer
	}
	return r.PathValue("env"), api.RoleEditor
}

// authorizeObject checks objectPermission before next runs.
func (s *Server) authorizeObject(k kindHandler, op string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		env, need := objectPermission(k.segment(), op, r)
		if err := s.authorize(r.Context(), env, need); err != nil {
			s.writeError(w, r, err)
			return
		}
		next(w, r)
	}
}

// requireRole checks that the caller has role in the route's {env} before
// next runs.
func (s *Server) requireRole(role string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(r.Context(), r.PathValue("env"), role); err != nil {
			s.writeError(w, r, err)
			return
		}
		next(w, r)
	}
}

// authorizeAudit lets viewers of an environment read its audit records; the
// whole log is admin's.
func (s *Server) authorizeAudit(r *http.Request, env string) error {
	if env == "" {
		return s.authorize(r.Context(), "", needAdmin)
	}
	return s.authorize(r.Context(), env, api.RoleViewer)
}

// authorizeApproval refuses a model version write that records an approval
// decision unless the caller is an owner of the environment. merged is the
// spec after the server merged the decision history in; before is the stored
// spec (nil on create).
func (s *Server) authorizeApproval(ctx context.Context, env string, before, merged json.RawMessage) error {
	if !s.rbac {
		return nil
	}
	var a, b api.ModelVersionSpec
	if before != nil {
		if err := json.Unmarshal(before, &a); err != nil {
			return fmt.Errorf("decoding stored model version spec: %w", err)
		}
	}
	if err := json.Unmarshal(merged, &b); err != nil {
		return fmt.Errorf("decoding model version spec: %w", err)
	}
	if len(b.ApprovalHistory) == len(a.ApprovalHistory) {
		return nil
	}
	if err := s.authorize(ctx, env, api.RoleOwner); err != nil {
		var apiErr *api.Error
		if errors.As(err, &apiErr) && apiErr.Code == api.EFORBIDDEN {
			return api.Errorf(api.EFORBIDDEN, "spec.approval", "deciding a model version's approval needs role owner: %s", apiErr.Message)
		}
		return err
	}
	return nil
}

// GenerateToken returns a new bearer token secret and an id that names it
// without revealing it.
func GenerateToken() (secret, id string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	var i [8]byte
	if _, err := rand.Read(i[:]); err != nil {
		return "", "", err
	}
	return "mlops_" + base64.RawURLEncoding.EncodeToString(b[:]), "tok_" + hex.EncodeToString(i[:]), nil
}

// handleIssueToken issues a token for a service account. Admin only, and
// only with -auth on: without it tokens are not checked, and a token minted
// by an anonymous caller must not start working once auth is turned on.
func (s *Server) handleIssueToken(w http.ResponseWriter, r *http.Request) {
	if err := s.authorize(r.Context(), "", needAdmin); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !s.rbac {
		s.writeError(w, r, api.NewError(api.EINVALID, "",
			"mlopsd runs with -auth off, so tokens are not checked; start it with -auth on (MLOPSD_AUTH=on) to issue service account tokens"))
		return
	}
	name := r.PathValue("name")
	if err := validateName("name", name); err != nil {
		s.writeError(w, r, err)
		return
	}
	var body api.IssueTokenRequest
	if err := readBody(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if body.TTLSeconds < api.MinTokenTTLSeconds || body.TTLSeconds > api.MaxTokenTTLSeconds {
		s.writeError(w, r, api.Errorf(api.EINVALID, "ttl_seconds", "ttl_seconds must be from %d to %d (a year)", api.MinTokenTTLSeconds, api.MaxTokenTTLSeconds))
		return
	}
	if _, err := s.store.Get(r.Context(), api.Ref{Kind: api.KindServiceAccount, Name: name}); err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, id, err := GenerateToken()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	tok := store.Token{SHA256: tokenDigest(secret), ID: id, Subject: name, CreatedAt: now,
		ExpiresAt: now.Add(time.Duration(body.TTLSeconds) * time.Second)}
	if err := s.store.CreateToken(r.Context(), tok, actorFrom(r.Context())); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, api.IssuedToken{ID: id, Token: secret, Subject: name, ExpiresAt: tok.ExpiresAt})
}
