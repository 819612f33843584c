package notify

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func TestSign(t *testing.T) {
	// Computed independently: python3 -c 'import hmac, hashlib;
	// print(hmac.new(b"0123456789abcdef", b"1700000000." + b"{\"alarm\":\"errors\"}", hashlib.sha256).hexdigest())'
	const want = "sha256=b83bb89bcb7c28b7d31f85fb477bf4f8545a0133cd36964b5e6a51e038b1424b"
	body := []byte(`{"alarm":"errors"}`)
	if got := Sign("0123456789abcdef", 1700000000, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !Verify("0123456789abcdef", "1700000000", body, want) {
		t.Fatal("Verify refused a good signature")
	}
	for _, tc := range []struct{ secret, ts, body, sig string }{
		{"another-secret-xx", "1700000000", string(body), want},
		{"0123456789abcdef", "1700000001", string(body), want},
		{"0123456789abcdef", "1700000000", `{"alarm":"other"}`, want},
		{"0123456789abcdef", "not-a-time", string(body), want},
		{"0123456789abcdef", "1700000000", string(body), strings.TrimPrefix(want, SignaturePrefix)},
	} {
		if Verify(tc.secret, tc.ts, []byte(tc.body), tc.sig) {
			t.Errorf("Verify accepted %+v", tc)
		}
	}
}

func TestSend(t *testing.T) {
	const secret = "0123456789abcdef"
	at := time.Unix(1700000000, 0)
	body := []byte(`{"delivery_id":"d1"}`)
	var got *http.Request
	var gotBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		gotBody, _ = io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusAccepted)
		case "/refuse":
			http.Error(w, "try later", http.StatusServiceUnavailable)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		}
	}))
	defer srv.Close()
	s := &Sender{Timeout: 200 * time.Millisecond}
	ctx := context.Background()

	if err := s.Send(ctx, Delivery{URL: srv.URL + "/ok", Secret: secret, ID: "d1", Body: body, At: at}); err != nil {
		t.Fatal(err)
	}
	if got.Method != http.MethodPost || got.Header.Get("Content-Type") != "application/json" || got.Header.Get(api.HeaderDeliveryID) != "d1" ||
		got.Header.Get(api.HeaderTimestamp) != "1700000000" || string(gotBody) != string(body) {
		t.Fatalf("request = %s %v %s", got.Method, got.Header, gotBody)
	}
	if !Verify(secret, got.Header.Get(api.HeaderTimestamp), gotBody, got.Header.Get(api.HeaderSignature)) {
		t.Fatalf("signature %q does not verify", got.Header.Get(api.HeaderSignature))
	}

	if err := s.Send(ctx, Delivery{URL: srv.URL + "/ok", ID: "d2", Body: body, At: at}); err != nil {
		t.Fatal(err)
	}
	if sig := got.Header.Get(api.HeaderSignature); sig != "" {
		t.Fatalf("a channel without a secret sent signature %q", sig)
	}

	for path, want := range map[string]string{
		"/refuse":   "answered 503 Service Unavailable: try later",
		"/redirect": "answered 302 Found",
		"/slow":     "no answer within 200ms",
	} {
		err := s.Send(ctx, Delivery{URL: srv.URL + path, Secret: secret, ID: "d3", Body: body, At: at})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one containing %q", path, err, want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error quotes the secret: %v", path, err)
		}
	}
	if err := s.Send(ctx, Delivery{URL: "http://127.0.0.1:1/", ID: "d4", Body: body, At: at}); err == nil || !strings.Contains(err.Error(), "POST http://127.0.0.1:1/") {
		t.Errorf("closed port: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	for attempts, want := range map[int64]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 7: 30 * time.Second, 100: 30 * time.Second} {
		if got := Backoff(attempts, 30*time.Second); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
}
