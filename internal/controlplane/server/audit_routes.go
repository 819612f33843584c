package server

import (
	"net/http"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// auditQuery reads the query parameters of GET /v1/audit.
func auditQuery(r *http.Request) (api.AuditQuery, error) {
	v := r.URL.Query()
	q := api.AuditQuery{
		Environment: v.Get(api.AuditParamEnvironment),
		Kind:        v.Get(api.AuditParamKind),
		Name:        v.Get(api.AuditParamName),
		Actor:       v.Get(api.AuditParamActor),
		Limit:       api.DefaultPageSize,
	}
	switch order := v.Get(api.AuditParamOrder); order {
	case "", "asc":
	case "desc":
		q.Newest = true
	default:
		return q, api.Errorf(api.EINVALID, api.AuditParamOrder, "order=%q is neither asc (oldest first) nor desc (newest first)", order)
	}
	// page_token continues in the page's direction: it is after_seq for
	// oldest first and before_seq for newest first.
	cursor := api.AuditParamAfterSeq
	if q.Newest {
		cursor = api.AuditParamBeforeSeq
	}
	fields := map[string]string{api.AuditParamAfterSeq: api.AuditParamAfterSeq, api.AuditParamBeforeSeq: api.AuditParamBeforeSeq}
	if tok := v.Get("page_token"); tok != "" {
		if c := v.Get(cursor); c != "" && c != tok {
			return q, api.Errorf(api.EINVALID, "page_token", "page_token and %s name different pages; send one of them", cursor)
		}
		v.Set(cursor, tok)
		fields[cursor] = "page_token"
	}
	for _, p := range []struct {
		param string
		n     *int64
	}{{api.AuditParamAfterSeq, &q.AfterSeq}, {api.AuditParamBeforeSeq, &q.BeforeSeq}} {
		if s := v.Get(p.param); s != "" {
			n, err := parseInt(s)
			if err != nil || n < 0 {
				field := fields[p.param]
				return q, api.Errorf(api.EINVALID, field, "%s must be a whole number >= 0 (the seq of the last record read)", field)
			}
			*p.n = n
		}
	}
	if l := v.Get("limit"); l != "" {
		n, err := parseInt(l)
		if err != nil || n < 1 || n > api.MaxPageSize {
			return q, api.Errorf(api.EINVALID, "limit", "limit must be a whole number from 1 to %d", api.MaxPageSize)
		}
		q.Limit = int(n)
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{api.AuditParamSince, &q.Since}, {api.AuditParamUntil, &q.Until}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, api.Errorf(api.EINVALID, p.name, "%s=%q is not an RFC 3339 time; use e.g. 2030-01-02T15:04:05Z", p.name, s)
			}
			*p.t = t
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return q, api.NewError(api.EINVALID, api.AuditParamUntil, "until must be later than since")
	}
	return q, nil
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) {
	q, err := auditQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.authorizeAudit(r, q.Environment); err != nil {
		s.writeError(w, r, err)
		return
	}
	recs, err := s.store.QueryAudit(r.Context(), q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := api.AuditRecordList{Items: recs}
	// A full page may be followed by more; the token is the page's last
	// seq, which the caller passes back as page_token, or as after_seq
	// (oldest first) or before_seq (newest first). A newest-first page
	// that reached seq 1 has nothing after it.
	if len(recs) == q.Limit && (!q.Newest || recs[len(recs)-1].Seq > 1) {
		out.NextPageToken = formatInt(recs[len(recs)-1].Seq)
	}
	if out.Items == nil {
		out.Items = []api.AuditRecord{}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleVerifyAudit checks the whole audit log's hash chain; admin only,
// since it reads every record.
func (s *Server) handleVerifyAudit(w http.ResponseWriter, r *http.Request) {
	if err := s.authorize(r.Context(), "", needAdmin); err != nil {
		s.writeError(w, r, err)
		return
	}
	brk, err := s.store.VerifyAudit(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := api.AuditVerification{Intact: brk == nil, CheckedAt: time.Now().UTC()}
	if brk != nil {
		out.BrokenAtSeq, out.Reason = brk.Seq, brk.Reason
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}
