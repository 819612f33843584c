package api

import "time"

// Query parameters of GET .../{kind}/{name} that turn it into a long poll:
// with wait_for_generation=N the server answers once the object's status
// observed generation N or later in a settled phase, once the object is gone
// (404), or once timeout passed (200 with the object as it is then, so the
// client simply asks again). Without wait_for_generation the GET answers at
// once, as always.
const (
	QueryWaitForGeneration = "wait_for_generation"
	QueryWaitTimeout       = "timeout"
)

// Bounds of a long poll's timeout.
const (
	// DefaultWaitTimeout is the timeout of a long poll that names none.
	DefaultWaitTimeout = 30 * time.Second
	// MaxWaitTimeout is the longest timeout a long poll may ask for, well
	// below the request timeouts of clients and proxies.
	MaxWaitTimeout = 60 * time.Second
)

// HeaderWaited is set on the answer to a long poll, to the time the server
// waited (a Go duration such as "12ms"). A client that sent
// wait_for_generation and finds no such header talks to a server that does
// not wait, and polls with a backoff of its own instead.
const HeaderWaited = "Mlops-Waited"

// waitQueryParams document the long poll on every kind's get route.
var waitQueryParams = []QueryParam{
	{Name: QueryWaitForGeneration, Type: "integer",
		Description: "Long poll: answer once status.observed_generation is at least this generation and the phase is settled " +
			"(the kind's terminal phases: ready or failed; for model endpoints also rolled_back; an object being deleted is not settled), " +
			"or with 404 once the object is gone, or with the object as it is when timeout passes. A whole number of at least 1, " +
			"usually metadata.generation of the write being waited for. The answer carries the header " + HeaderWaited + "."},
	{Name: QueryWaitTimeout, Type: "string",
		Description: "Longest wait of a long poll, as a Go duration from 0s to 60s (e.g. 30s, 500ms); default 30s. Only with wait_for_generation."},
}
