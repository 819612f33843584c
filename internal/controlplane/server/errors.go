package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// writeError sends err as an api.Error body. Errors that are not *api.Error
// are faults of ours: the client gets "Internal error." and the detail goes
// only to the log, so internals never leak to callers.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *api.Error
	if !errors.As(err, &apiErr) {
		s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		apiErr = api.NewError(api.EINTERNAL, "", "Internal error.")
		if errors.Is(err, errUnavailable) {
			apiErr = api.NewError(api.EUNAVAILABLE, "", "The database is not answering; retry shortly.")
		}
	}
	s.metrics.errors.WithLabelValues(apiErr.Code).Inc()
	writeJSON(w, api.StatusForCode(apiErr.Code), apiErr)
}

var errUnavailable = errors.New("unavailable")

// writeJSON encodes v with status. Encoding errors can only be write errors
// to a gone client, so they are not reported further.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
