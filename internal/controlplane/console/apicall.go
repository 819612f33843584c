package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// apiError is an error answer of the API, with its HTTP status.
type apiError struct {
	Status int
	Body   api.Error
}

func (e *apiError) Error() string {
	if e.Body.Field != "" {
		return fmt.Sprintf("%s (field %s)", e.Body.Message, e.Body.Field)
	}
	return e.Body.Message
}

// statusOf returns the HTTP status an error should be shown with.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return http.StatusInternalServerError
}

func isStatus(err error, status int) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == status
}

// recorder is a minimal http.ResponseWriter that keeps the answer.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// caller makes API requests as one session.
type caller struct {
	api   http.Handler
	token string
}

// maxAnswerBytes bounds what the console reads of one answer.
const maxAnswerBytes = 32 << 20

// do sends one request to the API in-process and returns the answer. A
// status of 400 or more becomes an *apiError.
func (c caller) do(ctx context.Context, method, path string, query url.Values, body any, headers map[string]string) (*recorder, error) {
	var rdr io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rdr = bytes.NewReader(b)
	}
	u := path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rdr)
	if err != nil {
		return nil, err
	}
	req.RequestURI = u
	req.RemoteAddr = "console"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := &recorder{header: http.Header{}}
	c.api.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.body.Len() > maxAnswerBytes {
		return nil, fmt.Errorf("%s %s: answer of %d bytes is too large", method, path, rec.body.Len())
	}
	if rec.status >= 400 {
		ae := &apiError{Status: rec.status}
		if err := json.Unmarshal(rec.body.Bytes(), &ae.Body); err != nil || ae.Body.Message == "" {
			ae.Body.Code, ae.Body.Message = api.EINTERNAL, fmt.Sprintf("%s %s answered %d", method, path, rec.status)
		}
		return nil, ae
	}
	return rec, nil
}

// getJSON reads path into out.
func (c caller) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	rec, err := c.do(ctx, http.MethodGet, path, query, nil, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(rec.body.Bytes(), out)
}

// getText reads a text answer.
func (c caller) getText(ctx context.Context, path string, query url.Values) (string, error) {
	rec, err := c.do(ctx, http.MethodGet, path, query, nil, nil)
	if err != nil {
		return "", err
	}
	return rec.body.String(), nil
}

// write sends a write with an idempotency key (a double-submitted form
// then does one thing) and, when etag is set, If-Match.
func (c caller) write(ctx context.Context, method, path string, body any, etag string, out any) error {
	headers := map[string]string{api.HeaderIdempotencyKey: "console-" + randomID()}
	if etag != "" {
		headers[api.HeaderIfMatch] = etag
	}
	rec, err := c.do(ctx, method, path, nil, body, headers)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(rec.body.Bytes(), out)
}

// listAll reads every page of a list route into items.
func listAll[T any](ctx context.Context, c caller, path string) ([]T, error) {
	var out []T
	q := url.Values{"limit": {fmt.Sprint(api.MaxPageSize)}}
	for {
		var page struct {
			Items         []T    `json:"items"`
			NextPageToken string `json:"next_page_token"`
		}
		if err := c.getJSON(ctx, path, q, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.NextPageToken == "" {
			return out, nil
		}
		q.Set("page_token", page.NextPageToken)
	}
}

func envPath(env string) string { return "/v1/environments/" + url.PathEscape(env) }

func objPath(env, kind, name string) string {
	p := envPath(env) + "/" + kind
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}
