// Package notify signs and sends alarm notifications to webhook channels.
// It knows the wire format (api.AlarmNotificationBody and its headers) and
// HTTP, nothing of the store: the alarm evaluator decides what to send and
// records the outcome.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// SignaturePrefix starts the value of the X-Mlops-Signature header.
const SignaturePrefix = "sha256="

// Sign returns the X-Mlops-Signature value of body sent at timestamp (Unix
// seconds): "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
// Binding the timestamp lets a receiver refuse replays of old deliveries.
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return SignaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signature is Sign(secret, timestamp, body), in
// constant time. timestamp is the X-Mlops-Timestamp header as received.
func Verify(secret, timestamp string, body []byte, signature string) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}

// DefaultTimeout bounds one delivery attempt when Sender.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxErrorBody is how much of a refusing receiver's body an error quotes.
const maxErrorBody = 256

// Sender posts notifications. The zero value is usable.
type Sender struct {
	// Client sends the requests; nil means a client that follows no
	// redirects (a 3xx is a failed delivery, not a hop to another host).
	Client *http.Client
	// Timeout bounds one attempt; zero means DefaultTimeout.
	Timeout time.Duration
}

// Delivery is one notification to send.
type Delivery struct {
	// URL is the channel's webhook address.
	URL string
	// Secret is the channel's signing secret; "" sends no signature.
	Secret string
	// ID is the notification's id (X-Mlops-Delivery).
	ID string
	// Body is the JSON of an api.AlarmNotificationBody.
	Body []byte
	// At is the time sent as X-Mlops-Timestamp.
	At time.Time
}

// Send posts d once and returns nil when the receiver answered 2xx. The
// error of a failed attempt says what happened without quoting the secret.
func (s *Sender) Send(ctx context.Context, d Delivery) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return fmt.Errorf("building the request to %s: %w", d.URL, err)
	}
	ts := d.At.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mlopsd-notify/1")
	req.Header.Set(api.HeaderDeliveryID, d.ID)
	req.Header.Set(api.HeaderTimestamp, strconv.FormatInt(ts, 10))
	if d.Secret != "" {
		req.Header.Set(api.HeaderSignature, Sign(d.Secret, ts, d.Body))
	}
	resp, err := s.client().Do(req)
	if err != nil {
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("POST %s: no answer within %s", d.URL, timeout)
		}
		return fmt.Errorf("POST %s: %w", d.URL, unwrapURLError(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	msg := strings.TrimSpace(string(snippet))
	if msg != "" {
		msg = ": " + strings.ToValidUTF8(msg, "?")
	}
	return fmt.Errorf("POST %s: the receiver answered %s%s", d.URL, resp.Status, msg)
}

func (s *Sender) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return defaultClient
}

var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// unwrapURLError drops the *url.Error wrapper, whose text repeats the
// method and URL that Send's message already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// Backoff returns how long to wait after the attempts-th failed attempt (1
// for the first): 1s, 2s, 4s, ..., at most max.
func Backoff(attempts int64, maxWait time.Duration) time.Duration {
	d := time.Second
	for i := int64(1); i < attempts && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}
