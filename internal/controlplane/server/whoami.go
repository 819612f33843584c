package server

import (
	"net/http"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// handleWhoAmI says who the caller acts as. Any caller that got past
// authentication may ask about itself; the roles are read from the store
// without an authorization check because they are the caller's own.
func (s *Server) handleWhoAmI(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	out := api.WhoAmI{Actor: actorFrom(ctx), AuthEnabled: s.rbac || len(s.auth.digests) > 0}
	p, ok := principalFrom(ctx)
	if !s.rbac || !ok || p.subject == api.SubjectAdmin {
		out.Subject, out.Admin = api.SubjectAdmin, true
		writeJSON(w, http.StatusOK, out)
		return
	}
	out.Subject = p.subject
	envs, err := s.listAll(ctx, api.KindEnvironment, "")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, env := range envs {
		role, err := s.roleIn(ctx, p.subject, env.Meta.Name)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if role != "" {
			if out.Roles == nil {
				out.Roles = map[string]string{}
			}
			out.Roles[env.Meta.Name] = role
		}
	}
	writeJSON(w, http.StatusOK, out)
}
