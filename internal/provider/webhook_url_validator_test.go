package provider

import (
	"strings"
	"testing"
)

func TestWebhookURLProblem(t *testing.T) {
	for _, tc := range []struct {
		url, want string
	}{
		{"https://hooks.example.com/mlops", ""},
		{"http://127.0.0.1:8080/hook?x=1", ""},
		{"ftp://hooks.example.com/", "is not an absolute http:// or https:// URL with a host"},
		{"hooks.example.com/mlops", "is not an absolute http:// or https:// URL with a host"},
		{"https:///path", "is not an absolute http:// or https:// URL with a host"},
		{"https://user:pw@hooks.example.com/", "carries credentials"},
		{"https://hooks.example.com/#top", "has a fragment"},
		{"https://hooks.example.com/" + strings.Repeat("a", 2048), "use at most 2048"},
	} {
		got := webhookURLProblem(tc.url)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("webhookURLProblem(%.40q) = %q; want %q", tc.url, got, tc.want)
		}
		if strings.Contains(got, "pw@") {
			t.Errorf("the message quotes the credentials: %q", got)
		}
	}
}
