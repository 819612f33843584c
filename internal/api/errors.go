package api

import (
	"fmt"
	"net/http"
)

// Error codes. The server maps each to one HTTP status (StatusForCode) and the
// client maps statuses back, so both sides share this one table.
const (
	ECONFLICT       = "conflict"       // etag mismatch, or an operation in progress
	EALREADYEXISTS  = "already_exists" // create of a name that is taken
	EINVALID        = "invalid"        // bad input; Field says where
	ENOTFOUND       = "not_found"      // no such object
	EUNAUTHORIZED   = "unauthorized"   // missing or unknown token
	EFORBIDDEN      = "forbidden"      // token may not do this
	EFAILEDPRECOND  = "failed_precondition"
	EINTERNAL       = "internal"    // a bug or a fault; details only in the server log
	EUNAVAILABLE    = "unavailable" // the database or a dependency is down; retry
	ETOOMANYREQUEST = "too_many_requests"
)

// Error is the body of every non-2xx response.
type Error struct {
	// Code is one of the E* constants.
	Code string `json:"code"`
	// Message says what is wrong and how to fix it.
	Message string `json:"message"`
	// Field is the JS-style path of the offending input, e.g.
	// spec.features[2].type, when one field is to blame.
	Field string `json:"field,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

var codeStatus = map[string]int{
	ECONFLICT:       http.StatusConflict,
	EALREADYEXISTS:  http.StatusConflict,
	EINVALID:        http.StatusBadRequest,
	ENOTFOUND:       http.StatusNotFound,
	EUNAUTHORIZED:   http.StatusUnauthorized,
	EFORBIDDEN:      http.StatusForbidden,
	EFAILEDPRECOND:  http.StatusPreconditionFailed,
	EINTERNAL:       http.StatusInternalServerError,
	EUNAVAILABLE:    http.StatusServiceUnavailable,
	ETOOMANYREQUEST: http.StatusTooManyRequests,
}

// StatusForCode returns the HTTP status for an error code.
func StatusForCode(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// CodeForStatus is the inverse of StatusForCode, for bodies that carry no code
// (a proxy's error page, say).
func CodeForStatus(status int) string {
	switch status {
	case http.StatusConflict:
		return ECONFLICT
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return EINVALID
	case http.StatusNotFound:
		return ENOTFOUND
	case http.StatusUnauthorized:
		return EUNAUTHORIZED
	case http.StatusForbidden:
		return EFORBIDDEN
	case http.StatusPreconditionFailed:
		return EFAILEDPRECOND
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return EUNAVAILABLE
	case http.StatusTooManyRequests:
		return ETOOMANYREQUEST
	}
	return EINTERNAL
}

// NewError builds an *Error.
func NewError(code, field, message string) *Error {
	return &Error{Code: code, Field: field, Message: message}
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}
