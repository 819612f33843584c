package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Sentinels for errors.Is. An *Error matches the sentinel of its code, and an
// *UnreachableError matches ErrUnreachable, so callers may write either
// errors.Is(err, client.ErrNotFound) or client.IsNotFound(err).
var (
	ErrNotFound      = errors.New(api.ENOTFOUND)
	ErrConflict      = errors.New(api.ECONFLICT)
	ErrAlreadyExists = errors.New(api.EALREADYEXISTS)
	ErrInvalid       = errors.New(api.EINVALID)
	ErrUnreachable   = errors.New("unreachable")
)

// unreachableHint is the fix for the most common cause of a connection
// failure: mlopsd is not running, or the provider points somewhere else.
const unreachableHint = "check that mlopsd is running (make mlopsd) and that the provider's endpoint / MLOPS_ENDPOINT points at it"

// Error is a non-2xx answer of mlopsd, decoded from its {code, message, field}
// body, or a request the client refused to send (StatusCode 0).
type Error struct {
	// Code is one of the api.E* constants.
	Code string
	// Message says what is wrong and, for errors a user can cause, the fix.
	Message string
	// Field is the JS-style path of the offending input, e.g.
	// spec.max_nodes, when one field is to blame.
	Field string
	// StatusCode is the HTTP status, or 0 when nothing was sent.
	StatusCode int
	// Method and Path identify the request; Path has no query string.
	Method string
	Path   string
}

// Error puts the message first, because Terraform shows it to the user, and
// the request that failed after it, for whoever debugs the run.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Message)
	if e.StatusCode == 0 {
		b.WriteString(" (not sent to mlopsd)")
	} else {
		fmt.Fprintf(&b, " (mlopsd answered %s %s with %d %s)", e.Method, e.Path, e.StatusCode, e.Code)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) and the other code sentinels work.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == api.ENOTFOUND
	case ErrConflict:
		return e.Code == api.ECONFLICT
	case ErrAlreadyExists:
		return e.Code == api.EALREADYEXISTS
	case ErrInvalid:
		return e.Code == api.EINVALID
	}
	return false
}

// APIError returns the wire form of e, e.g. to hand it on unchanged.
func (e *Error) APIError() *api.Error {
	return api.NewError(e.Code, e.Field, e.Message)
}

// UnreachableError means no HTTP answer came back from mlopsd: the
// connection was refused, reset or timed out on every attempt, or TLS failed.
type UnreachableError struct {
	// Endpoint is the configured mlopsd URL.
	Endpoint string
	// Method and Path identify the request.
	Method string
	Path   string
	// Attempts is how many times the request was sent.
	Attempts int
	// Err is the transport error of the last attempt.
	Err error
}

// Error names the endpoint, the cause and the fix, in that order.
func (e *UnreachableError) Error() string {
	attempts := "1 attempt"
	if e.Attempts != 1 {
		attempts = fmt.Sprintf("%d attempts", e.Attempts)
	}
	return fmt.Sprintf("cannot reach mlopsd at %s (%s %s, %s): %v; %s", e.Endpoint, e.Method, e.Path, attempts, e.Err, e.hint())
}

// hint picks the fix. TLS mistakes get their own, because "is mlopsd
// running?" would send the user looking in the wrong place.
func (e *UnreachableError) hint() string {
	switch {
	case isCertificateError(e.Err):
		return "mlopsd's TLS certificate is not trusted: configure the provider's CA certificate file with the CA that signed it (or, for local testing only, insecure mode)"
	case isPlainHTTPServer(e.Err):
		return "mlopsd serves plain HTTP on that address: use an http:// endpoint, or start mlopsd with TLS"
	}
	return unreachableHint
}

// Unwrap exposes the transport error, e.g. for errors.Is(err, syscall.ECONNREFUSED).
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) work.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// IsNotFound reports whether err says the object does not exist. Read uses it
// to tell "gone, remove from state" from "broken".
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsConflict reports whether err is a 409 conflict: a stale If-Match etag, or
// another change of the object still in progress.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// IsAlreadyExists reports whether a create failed because the name is taken.
func IsAlreadyExists(err error) bool { return errors.Is(err, ErrAlreadyExists) }

// IsInvalid reports whether mlopsd rejected the input; ErrorField says where.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// IsUnreachable reports whether no answer came back from mlopsd at all.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }

// ErrorField returns the field path an *Error blames, e.g. spec.max_nodes, so
// the provider can attach the diagnostic to that attribute; "" otherwise.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// decodeError turns a non-2xx response into an *Error. A body that is not an
// api.Error (a proxy's error page, say) still yields the code of its status,
// so IsNotFound and friends keep working behind proxies.
func decodeError(r request, resp *response) *Error {
	e := &Error{StatusCode: resp.status, Method: r.method, Path: r.path}
	var body api.Error
	if err := json.Unmarshal(resp.body, &body); err == nil && body.Code != "" {
		e.Code, e.Message, e.Field = body.Code, body.Message, body.Field
		if e.Message == "" {
			e.Message = http.StatusText(resp.status)
		}
		return e
	}
	e.Code = api.CodeForStatus(resp.status)
	e.Message = http.StatusText(resp.status)
	if e.Message == "" {
		e.Message = fmt.Sprintf("HTTP status %d", resp.status)
	}
	if loc := resp.header.Get("Location"); resp.status >= 300 && resp.status < 400 && loc != "" {
		e.Message = fmt.Sprintf("redirect to %s was not followed; set the provider's endpoint to the address mlopsd serves on", loc)
	} else if text := snippet(resp.body); text != "" {
		e.Message += ": " + text
	}
	return e
}

// snippet is the start of a non-JSON body, on one line, so an HTML error page
// from a proxy neither floods the terminal nor vanishes entirely.
func snippet(body []byte) string {
	const limit = 200
	if !utf8.Valid(body) {
		return ""
	}
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	return text
}

// stopped is the error of a call cut short by its ctx. It wraps both ctx.Err()
// (so callers can see the deadline) and the last failure (so the user sees
// why the call had not succeeded by then).
func stopped(ctx context.Context, r request, lastErr error) error {
	if lastErr == nil {
		return fmt.Errorf("%s %s: %w", r.method, r.path, ctx.Err())
	}
	return fmt.Errorf("%w (stopped retrying: %w)", lastErr, ctx.Err())
}

func isCertificateError(err error) bool {
	var (
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid)
}

// isPlainHTTPServer matches the error net/http returns when an https://
// endpoint is answered in plain HTTP; it has no type to match on.
func isPlainHTTPServer(err error) bool {
	return err != nil && strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}
