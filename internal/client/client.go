// Package client is the typed Go client of the mlopsd HTTP/JSON API.
//
// It is the one place where the provider builds HTTP requests, so auth,
// retries with idempotency keys, logging and error decoding are written once.
// Resources call typed methods such as GetComputePool(ctx, env, name) and
// never see a URL.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-cleanhttp"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxRetries     = 4
	DefaultUserAgent      = "terraform-provider-mlops"
)

// exampleEndpoint is quoted in endpoint errors so the fix is one copy away.
const exampleEndpoint = "http://127.0.0.1:8080"

// maxResponseBytes bounds how much of a response body is read. The largest
// legitimate body is a list page of api.MaxPageSize objects; anything far
// beyond that is a misbehaving server or proxy, not data worth buffering.
const maxResponseBytes = 64 << 20

// maxIdleConnsPerHost is how many idle connections to mlopsd are kept for
// reuse: more than Terraform's default parallelism of 10, with room for
// the long-poll waits that hold a connection while others are used.
const maxIdleConnsPerHost = 32

// Config says how to reach mlopsd.
type Config struct {
	// Endpoint is the absolute http or https URL of mlopsd, e.g.
	// http://127.0.0.1:8080. A path prefix is kept, for mlopsd behind a proxy.
	Endpoint string
	// Token is sent as "Authorization: Bearer <token>" when not empty. It is
	// never logged.
	Token string
	// CACertFile is a PEM file of the CA that signed mlopsd's certificate.
	// When set, only the certificates in it are trusted.
	CACertFile string
	// Insecure skips TLS certificate verification; for local testing only.
	Insecure bool
	// RequestTimeout bounds each attempt of a request, not the whole call;
	// the caller's ctx bounds the whole call. Zero or less means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// MaxRetries is how many times a failed attempt may be repeated. Zero
	// means DefaultMaxRetries; a negative value disables retries.
	MaxRetries int
	// UserAgent is sent as the User-Agent header; empty means
	// DefaultUserAgent.
	UserAgent string
}

// Client talks to one mlopsd. It is safe for concurrent use, so the provider
// builds one in Configure and shares it between resources.
type Client struct {
	endpoint       string // validated, without a trailing slash
	token          string
	userAgent      string
	requestTimeout time.Duration
	maxRetries     int
	httpClient     *http.Client

	// backoffBase and backoffMax shape the wait between attempts; they are
	// fields rather than constants so tests can retry without sleeping.
	backoffBase time.Duration
	backoffMax  time.Duration
	// pollBase and pollMax shape the polling of waits against an mlopsd
	// that does not long-poll (poll.go).
	pollBase time.Duration
	pollMax  time.Duration
}

// New validates cfg and builds a Client. It does not contact mlopsd, because
// Terraform configures providers even for runs that make no API call.
func New(cfg Config) (*Client, error) {
	endpoint, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}

	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACertFile != "" {
		pool, err := loadCACertFile(cfg.CACertFile)
		if err != nil {
			return nil, err
		}
		tlsConfig.RootCAs = pool
	}
	if cfg.Insecure {
		// The user asked for this explicitly (insecure = true), typically for
		// a self-signed mlopsd on a laptop.
		tlsConfig.InsecureSkipVerify = true //nolint:gosec // opt-in, documented as testing only
	}
	transport := cleanhttp.DefaultPooledTransport()
	transport.TLSClientConfig = tlsConfig
	// cleanhttp keeps GOMAXPROCS+1 idle connections per host, fewer than
	// the 10 operations Terraform runs at once by default: every burst
	// would close the rest and open new ones, each a TCP (and TLS)
	// handshake and a new server connection.
	transport.MaxIdleConnsPerHost = maxIdleConnsPerHost

	c := &Client{
		endpoint:       endpoint,
		token:          cfg.Token,
		userAgent:      cfg.UserAgent,
		requestTimeout: cfg.RequestTimeout,
		maxRetries:     cfg.MaxRetries,
		httpClient: &http.Client{
			Transport: transport,
			// An API client must not follow redirects: Go turns a redirected
			// DELETE into a GET, and a redirect to another host could carry the
			// request somewhere the user did not configure. A 3xx surfaces as
			// an error instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		backoffBase: 200 * time.Millisecond,
		backoffMax:  5 * time.Second,
		pollBase:    100 * time.Millisecond,
		pollMax:     2 * time.Second,
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if c.requestTimeout <= 0 {
		c.requestTimeout = DefaultRequestTimeout
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	return c, nil
}

// Endpoint returns the validated endpoint, for messages that tell the user
// which mlopsd the provider talks to.
func (c *Client) Endpoint() string { return c.endpoint }

func parseEndpoint(raw string) (string, error) {
	fail := func(what string) error {
		return fmt.Errorf("invalid mlopsd endpoint %q: %s; use an absolute http:// or https:// URL such as %s", raw, what, exampleEndpoint)
	}
	if strings.TrimSpace(raw) == "" {
		return "", fail("it is empty")
	}
	if !strings.Contains(raw, "://") {
		if strings.HasPrefix(raw, "/") {
			return "", fail("the scheme is missing")
		}
		// The usual slip is host:port without a scheme.
		return "", fail(fmt.Sprintf("the scheme is missing (did you mean http://%s?)", raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fail(err.Error())
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fail(fmt.Sprintf("scheme %q is not supported", u.Scheme))
	case u.Host == "":
		return "", fail("the host is missing")
	case u.User != nil:
		return "", fail("credentials in the URL are not supported (set the token instead)")
	case u.RawQuery != "" || u.Fragment != "":
		return "", fail("a query or fragment is not allowed")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func loadCACertFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the CA certificate file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA certificate file %s contains no PEM certificates; it must hold one or more \"-----BEGIN CERTIFICATE-----\" blocks", path)
	}
	return pool, nil
}

// request is one logical API call; do may send it several times.
type request struct {
	method  string
	path    string     // escaped, starting with "/"
	query   url.Values // may be nil
	body    any        // encoded as JSON when not nil
	ifMatch string     // sent as If-Match when not empty
}

// response is the part of an HTTP response the typed methods need. The body
// is read in full inside the attempt, so no connection outlives do.
type response struct {
	status int
	header http.Header
	body   []byte
}

// doJSON sends r and decodes the 2xx body into a new T. It is the core every
// typed method is built on.
func doJSON[T any](ctx context.Context, c *Client, r request) (*T, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if err := json.Unmarshal(resp.body, out); err != nil {
		return nil, fmt.Errorf("%s %s: mlopsd answered %d with a body that is not the expected JSON (%v); check that the endpoint points at mlopsd and that the provider and mlopsd versions match", r.method, r.path, resp.status, err)
	}
	return out, nil
}

// do sends r, retrying as retry.go allows, and returns the first 2xx
// response. A non-2xx answer becomes *Error and a transport failure
// *UnreachableError.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("%s %s: encoding the request body: %w", r.method, r.path, err)
		}
	}
	// One key per logical call, reused by every attempt: that is what lets
	// mlopsd answer a retried write with the stored result instead of
	// applying it twice.
	var idemKey string
	if r.method != http.MethodGet && r.method != http.MethodHead {
		idemKey = uuid.NewString()
	}
	if c.token != "" {
		// Defence in depth: should a field or message ever carry the token,
		// tflog masks it in this call's log lines.
		ctx = tflog.MaskLogStrings(ctx, c.token)
	}
	target := c.endpoint + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}

	var lastErr error
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, r, target, body, idemKey, attempt)
		switch {
		case err == nil && resp.status >= 200 && resp.status < 300:
			return resp, nil
		case err != nil && ctx.Err() != nil:
			// The caller's deadline or cancellation, not a network fault.
			return nil, stopped(ctx, r, lastErr)
		case err != nil:
			lastErr = &UnreachableError{Endpoint: c.endpoint, Method: r.method, Path: r.path, Attempts: attempt, Err: err}
		default:
			lastErr = decodeError(r, resp)
		}

		wait, ok := c.retryWait(ctx, attempt, resp, err)
		if !ok {
			return nil, lastErr
		}
		tflog.Warn(ctx, "retrying mlopsd request", map[string]any{
			"method":       r.method,
			"path":         r.path,
			"attempt":      attempt,
			"max_attempts": c.maxRetries + 1,
			"wait_ms":      wait.Milliseconds(),
			"reason":       lastErr.Error(),
		})
		if err := sleep(ctx, wait); err != nil {
			return nil, stopped(ctx, r, lastErr)
		}
	}
}

// attempt sends r once. Each attempt gets its own RequestTimeout so that one
// hung connection does not use up the caller's whole deadline.
func (c *Client) attempt(ctx context.Context, r request, target string, body []byte, idemKey string, attempt int) (*response, error) {
	attemptCtx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()

	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(attemptCtx, r.method, target, reader)
	if err != nil {
		return nil, err
	}
	c.setHeaders(req, r, body != nil, idemKey)

	fields := map[string]any{"method": r.method, "path": r.path, "attempt": attempt}
	start := time.Now()
	resp, err := c.httpClient.Do(req)
	if err != nil {
		// *url.Error repeats the method and URL that our errors already name.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within the request timeout of %s: %w", c.requestTimeout, err)
		}
		fields["duration_ms"] = time.Since(start).Milliseconds()
		fields["error"] = err.Error()
		tflog.Debug(ctx, "mlopsd request failed", fields)
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	fields["duration_ms"] = time.Since(start).Milliseconds()
	fields["status"] = resp.StatusCode
	if resp.Header.Get(api.HeaderIdempotentReplay) == "true" {
		fields["idempotent_replay"] = true
	}
	if err != nil {
		fields["error"] = err.Error()
		tflog.Debug(ctx, "mlopsd request failed while reading the response", fields)
		return nil, fmt.Errorf("reading the response to %s %s: %w", r.method, r.path, err)
	}
	tflog.Debug(ctx, "mlopsd request", fields)
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// setHeaders is the one place that sets the Authorization header; nothing
// else reads the token, and no header is ever logged.
func (c *Client) setHeaders(req *http.Request, r request, hasBody bool, idemKey string) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if idemKey != "" {
		req.Header.Set(api.HeaderIdempotencyKey, idemKey)
	}
	if r.ifMatch != "" {
		req.Header.Set(api.HeaderIfMatch, r.ifMatch)
	}
}

// Health returns nil when mlopsd answers GET /healthz with a 2xx status.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, request{method: http.MethodGet, path: "/healthz"})
	return err
}

// collectionPath is the escaped path of a kind's collection: environments
// live at /v1/environments, every other kind below its environment.
func collectionPath(kind, env string) (string, error) {
	if api.ClusterScoped(kind) {
		return "/v1/" + kind, nil
	}
	if err := checkSegment("environment", env); err != nil {
		return "", err
	}
	return "/v1/environments/" + url.PathEscape(env) + "/" + kind, nil
}

// objectPath is the escaped path of one object.
func objectPath(kind, env, name string) (string, error) {
	base, err := collectionPath(kind, env)
	if err != nil {
		return "", err
	}
	if err := checkSegment("name", name); err != nil {
		return "", err
	}
	return base + "/" + url.PathEscape(name), nil
}

// checkSegment refuses names that PathEscape cannot make safe: an empty name
// would address the collection, and "." or ".." would be cleaned away by a
// router or proxy, so a DELETE could land on another object. mlopsd owns all
// other name rules.
func checkSegment(field, value string) error {
	if value != "" && value != "." && value != ".." {
		return nil
	}
	return &Error{
		Code:    api.EINVALID,
		Field:   field,
		Message: fmt.Sprintf("%q is not a valid %s; %s", value, field, api.NameHint),
	}
}

// listQuery encodes api.ListOptions, leaving out zero values so mlopsd
// applies its defaults.
func listQuery(opts api.ListOptions) url.Values {
	q := url.Values{}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.PageToken != "" {
		q.Set("page_token", opts.PageToken)
	}
	return q
}

// The generic operations below are the whole API surface of every kind; the
// typed methods in environments.go, compute_pools.go and so on only pick T.

func createObject[T any](ctx context.Context, c *Client, kind, env string, body any) (*T, error) {
	path, err := collectionPath(kind, env)
	if err != nil {
		return nil, err
	}
	return doJSON[T](ctx, c, request{method: http.MethodPost, path: path, body: body})
}

func getObject[T any](ctx context.Context, c *Client, kind, env, name string) (*T, error) {
	path, err := objectPath(kind, env, name)
	if err != nil {
		return nil, err
	}
	return doJSON[T](ctx, c, request{method: http.MethodGet, path: path})
}

func updateObject[T any](ctx context.Context, c *Client, kind, env, name string, body any, ifMatch string) (*T, error) {
	path, err := objectPath(kind, env, name)
	if err != nil {
		return nil, err
	}
	return doJSON[T](ctx, c, request{method: http.MethodPut, path: path, body: body, ifMatch: ifMatch})
}

func listObjects[T any](ctx context.Context, c *Client, kind, env string, opts api.ListOptions) (*T, error) {
	path, err := collectionPath(kind, env)
	if err != nil {
		return nil, err
	}
	return doJSON[T](ctx, c, request{method: http.MethodGet, path: path, query: listQuery(opts)})
}

// DeleteResult is the outcome of a successful delete.
type DeleteResult struct {
	// Pending is true when mlopsd accepted the delete (202) but tears the
	// object down asynchronously; it disappears later, and a Get returns
	// it with metadata.deletion_requested_at set until then. False means the
	// object is gone (204, or 404 because it already was).
	Pending bool
}

// deleteObject treats 404 as success: the caller wants the object gone, and
// it is, whether or not this call removed it.
func deleteObject(ctx context.Context, c *Client, kind, env, name string) (*DeleteResult, error) {
	return deleteObjectQuery(ctx, c, kind, env, name, nil)
}

// deleteObjectQuery is deleteObject with query parameters, e.g. force.
func deleteObjectQuery(ctx context.Context, c *Client, kind, env, name string, query url.Values) (*DeleteResult, error) {
	path, err := objectPath(kind, env, name)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: http.MethodDelete, path: path, query: query})
	switch {
	case IsNotFound(err):
		return &DeleteResult{}, nil
	case err != nil:
		return nil, err
	}
	return &DeleteResult{Pending: resp.status == http.StatusAccepted}, nil
}
