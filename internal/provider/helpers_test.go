package provider

import (
	"regexp"
	"strings"
)

// words turns "does not exist" into a pattern that also matches when
// Terraform wraps the message between the words.
func words(s string) string {
	return strings.Join(strings.Fields(regexp.QuoteMeta(s)), `\s+`)
}

// expectErrorWords matches an error that contains each part in order.
// Terraform wraps long diagnostics, so the spaces inside a part match any
// whitespace, line breaks included.
func expectErrorWords(parts ...string) *regexp.Regexp {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = words(p)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(quoted, `.*`))
}
