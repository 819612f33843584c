package server

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// writeError sends err as an api.Error body. Errors that are not *api.Error
// are faults of ours: the client gets "Internal error." and the detail goes
// only to the log, so internals never leak to callers.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var apiErr *api.Error
	if !errors.As(err, &apiErr) {
		if isUnavailable(err) {
			s.log.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
			apiErr = api.NewError(api.EUNAVAILABLE, "", "The database is not answering; retry shortly.")
		} else {
			s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
			apiErr = api.NewError(api.EINTERNAL, "", "Internal error.")
		}
	}
	s.metrics.errors.WithLabelValues(apiErr.Code).Inc()
	writeJSON(w, api.StatusForCode(apiErr.Code), apiErr)
}

var errUnavailable = errors.New("unavailable")

// isUnavailable reports whether err means that the database cannot be
// reached right now (refused or broken connections, a server shutting down
// or starting up), rather than a fault of ours: the client then gets 503
// unavailable, which it may retry, instead of 500.
func isUnavailable(err error) bool {
	if errors.Is(err, errUnavailable) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down, crashed or not yet accepting connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err)
}

// writeJSON encodes v with status. Encoding errors can only be write errors
// to a gone client, so they are not reported further.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
