package mlopsdtest

import "testing"

// Must(call())(t) returns call's value, failing the test on its error:
// for the client calls that set a test up, one line each.
func Must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}
