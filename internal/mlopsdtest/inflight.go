package mlopsdtest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// StartInFlightPredict sends POST /predict to a model replica at baseURL
// and returns once the replica is reading its body, as StartInFlight does.
func StartInFlightPredict(tb testing.TB, baseURL, body string) (finish func() (int, string)) {
	tb.Helper()
	return StartInFlight(tb, baseURL, "/predict", body)
}

// StartInFlight sends POST path to the server at baseURL and returns once
// the server's handler is reading the request body: the request carries
// "Expect: 100-continue", and a Go HTTP server sends "100 Continue" when
// its handler first reads the body. The body is held back until finish is
// called, so the request stays in flight in between (e.g. while the server
// is being stopped); finish sends it and returns the response's status and
// body.
func StartInFlight(tb testing.TB, baseURL, path, body string) (finish func() (int, string)) {
	tb.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"Expect: 100-continue\r\nConnection: close\r\n\r\n", path, u.Host, len(body))
	br := bufio.NewReader(conn)
	cont, err := http.ReadResponse(br, nil)
	if err != nil {
		tb.Fatalf("waiting for 100 Continue: %v", err)
	}
	if cont.StatusCode != http.StatusContinue {
		tb.Fatalf("the server answered %s before reading the body", cont.Status)
	}
	return func() (int, string) {
		tb.Helper()
		if _, err := io.WriteString(conn, body); err != nil {
			tb.Fatalf("sending the body of the request in flight: %v", err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			tb.Fatalf("reading the answer to the request in flight: %v", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			tb.Fatalf("reading the answer to the request in flight: %v", err)
		}
		return resp.StatusCode, string(b)
	}
}

// WaitRefused waits until nothing accepts connections at baseURL any more,
// e.g. a replica that stopped listening because it is draining.
func WaitRefused(tb testing.TB, baseURL string) {
	tb.Helper()
	u, err := url.Parse(baseURL)
	if err != nil {
		tb.Fatal(err)
	}
	for {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			return
		}
		_ = c.Close()
		time.Sleep(5 * time.Millisecond)
	}
}
