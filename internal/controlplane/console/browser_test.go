package console_test

import "testing"

func testBrowser(t *testing.T, f *fixture) { t.Skip("TODO") }
