package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// browserless is an HTTP client with a cookie jar that does not follow
// redirects, so tests see each answer.
type browserless struct {
	tb   testing.TB
	base string
	http *http.Client
}

func newBrowserless(tb testing.TB, base string) *browserless {
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &browserless{tb: tb, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browserless) do(method, path string, form url.Values) page {
	b.tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.tb.Fatal(err)
	}
	return page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *browserless) get(path string) page { return b.do(http.MethodGet, path, nil) }

var csrfRE = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)

// csrf returns the CSRF token of a page's forms.
func csrf(tb testing.TB, p page) string {
	tb.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		tb.Fatalf("no CSRF token on the page:\n%s", p.body)
	}
	return html.UnescapeString(m[1])
}

// signIn signs in with token through the login form.
func (b *browserless) signIn(token string) {
	b.tb.Helper()
	form := b.get("/ui/login")
	p := b.do(http.MethodPost, "/ui/login", url.Values{"csrf": {csrf(b.tb, form)}, "token": {token}, "next": {"/ui/"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/" {
		b.tb.Fatalf("sign-in = %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
}

func wantPage(tb testing.TB, p page, status int, contains ...string) {
	tb.Helper()
	if p.status != status {
		tb.Fatalf("status %d, want %d:\n%s", p.status, status, p.body)
	}
	for _, s := range contains {
		if !strings.Contains(p.body, s) {
			tb.Errorf("page lacks %q:\n%s", s, p.body)
		}
	}
}

// TestConsole_AuthOff: without authentication (the quickstart default) the
// console works at once as the anonymous admin, and still wants the CSRF
// token on every form.
func TestConsole_AuthOff(t *testing.T) {
	srv := mlopsdtest.Start(t)
	c := newClient(t, srv.URL, "")
	if _, err := c.CreateEnvironment(context.Background(), "dev", api.EnvironmentSpec{Description: "quickstart " + xss}); err != nil {
		t.Fatal(err)
	}
	b := newBrowserless(t, srv.URL)
	home := b.get("/ui/")
	wantPage(t, home, http.StatusOK, "anonymous (authentication off)", `href="/ui/env/dev"`)
	env := b.get("/ui/env/dev")
	wantPage(t, env, http.StatusOK, "quickstart &lt;script&gt;window.pwned=1&lt;/script&gt;")
	if strings.Contains(env.body, xss) {
		t.Error("the environment page carries the description unescaped")
	}
	wantPage(t, b.get("/ui/login"), http.StatusOK, "mlopsd runs without authentication")
	wantPage(t, b.get("/ui"), http.StatusMovedPermanently)
	t.Run("ErrNoCSRF", func(t *testing.T) {
		wantPage(t, b.do(http.MethodPost, "/ui/env/dev/alarms/x/acknowledge", url.Values{"reason": {"r"}}), http.StatusForbidden, "security token")
		wantPage(t, b.do(http.MethodPost, "/ui/env/dev/alarms/x/acknowledge", url.Values{"csrf": {"forged"}}), http.StatusForbidden, "security token")
	})
	t.Run("APIErrorsShown", func(t *testing.T) {
		p := b.do(http.MethodPost, "/ui/env/dev/alarms/missing/acknowledge", url.Values{"csrf": {csrf(t, home)}})
		wantPage(t, p, http.StatusNotFound, "missing")
		wantPage(t, b.get("/ui/env/dev/models/none"), http.StatusNotFound)
		wantPage(t, b.get("/ui/no/such/page"), http.StatusNotFound)
	})
}

// TestConsole runs the console against one real mlopsd with -auth on: over
// plain HTTP first, then in a real browser (browser_test.go).
func TestConsole(t *testing.T) {
	f := startFixture(t)
	t.Run("HTTP", func(t *testing.T) { testHTTP(t, f) })
	t.Run("Browser", func(t *testing.T) { testBrowser(t, f) })
}

func testHTTP(t *testing.T, f *fixture) {
	t.Run("SignInRequired", func(t *testing.T) {
		b := newBrowserless(t, f.srv.URL)
		p := b.get("/ui/env/dev")
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/login?next=%2Fui%2Fenv%2Fdev" {
			t.Fatalf("unsigned request = %d %s", p.status, p.header.Get("Location"))
		}
		var ck *http.Cookie
		for _, c := range (&http.Response{Header: p.header}).Cookies() {
			if c.Name == "mlops_console" {
				ck = c
			}
		}
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/ui/" || ck.Secure {
			t.Fatalf("session cookie = %+v", ck)
		}
	})
	t.Run("ErrBadToken", func(t *testing.T) {
		b := newBrowserless(t, f.srv.URL)
		form := b.get("/ui/login")
		wantPage(t, b.do(http.MethodPost, "/ui/login", url.Values{"csrf": {csrf(t, form)}, "token": {"made-up"}}), http.StatusUnauthorized, "unknown or expired")
		wantPage(t, b.do(http.MethodPost, "/ui/login", url.Values{"token": {adminToken}}), http.StatusForbidden)
	})
	t.Run("ErrOpenRedirect", func(t *testing.T) {
		b := newBrowserless(t, f.srv.URL)
		form := b.get("/ui/login")
		p := b.do(http.MethodPost, "/ui/login", url.Values{"csrf": {csrf(t, form)}, "token": {adminToken}, "next": {"//evil.example/ui/"}})
		if p.header.Get("Location") != "/ui/" {
			t.Fatalf("redirect after sign-in = %q", p.header.Get("Location"))
		}
	})
	t.Run("PagesAsOwner", func(t *testing.T) {
		b := newBrowserless(t, f.srv.URL)
		b.signIn(f.tokens[api.RoleOwner])
		wantPage(t, b.get("/ui/"), http.StatusOK, "service-account:owner-sa", `href="/ui/env/dev"`)
		for path, want := range map[string][]string{
			"/ui/env/dev":                               {"cpu", "users", "train", "churn", "api", "backlog", "nvidia-a100"},
			"/ui/env/dev/compute-pools/cpu":             {"Nodes and GPUs", `href="/ui/env/dev/model-endpoints/api"`},
			"/ui/env/dev/feature-groups/users":          {"user_id", "spend", "float64", "admin"},
			"/ui/env/dev/training-pipelines/train":      {`data-node="prep"`, `data-node="train"`, "train-1", "manual", `id="start-run"`},
			"/ui/env/dev/pipeline-runs/train-1":         {"succeeded", "preparing 3 epochs", "training"},
			"/ui/env/dev/models/churn":                  {"auc", "0.91", "0.88", "champion"},
			"/ui/env/dev/model-versions/v1":             {"file:///data/churn.csv", `data-node="run"`, `data-node="endpoint/api"`, `id="approve"`},
			"/ui/env/dev/model-endpoints/api":           {"primary 100%", "Latency (ms)", "<polyline"},
			"/ui/env/dev/alarms/backlog":                {"ALARM", "threshold 5", `id="acknowledge"`},
			"/ui/audit?environment=dev&kind=alarms":     {"backlog", "Chain verification: service account"},
			"/ui/env/dev/model-endpoints/api?window=1h": {"<strong>1h</strong>"},
			"/ui/env/dev/model-endpoints/ranker":        {`id="rollout-progress"`, "Step 1 of 2", "Baking:", "succeeded", `class="steps"`},
			"/ui/env/dev/alarms/ranker-drift":           {"PSI per feature", "tenure", "spend", `id="feature-drift-table"`},
		} {
			p := b.get(path)
			wantPage(t, p, http.StatusOK, want...)
			if strings.Contains(p.body, xss) {
				t.Errorf("%s carries %s unescaped", path, xss)
			}
		}
	})
	t.Run("CancelFinishedRun", func(t *testing.T) {
		b := newBrowserless(t, f.srv.URL)
		b.signIn(f.tokens[api.RoleOwner])
		p := b.do(http.MethodPost, "/ui/env/dev/pipeline-runs/train-1/cancel", url.Values{"csrf": {csrf(t, b.get("/ui/"))}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/ui/env/dev/pipeline-runs/train-1?done=cancelled" {
			t.Fatalf("cancel = %d %s\n%s", p.status, p.header.Get("Location"), p.body)
		}
		run := mlopsdtest.Must(f.admin.GetPipelineRun(context.Background(), "dev", "train-1"))(t)
		if run.Status.Phase != api.PhaseSucceeded || run.Spec.Cancel {
			t.Fatalf("a finished run changed: %s, cancel %v", run.Status.Phase, run.Spec.Cancel)
		}
	})
	t.Run("AuditAsAdmin", func(t *testing.T) {
		b := newBrowserless(t, f.srv.URL)
		b.signIn(adminToken)
		wantPage(t, b.get("/ui/audit"), http.StatusOK, "Hash chain verified", "role-bindings/owner-binding")
	})
	t.Run("ViewerCannotApprove", func(t *testing.T) {
		b := newBrowserless(t, f.srv.URL)
		b.signIn(f.tokens[api.RoleViewer])
		p := b.get("/ui/env/dev/model-versions/v1")
		wantPage(t, p, http.StatusOK, "needs role owner")
		if strings.Contains(p.body, `id="approve"`) {
			t.Error("a viewer is offered the approve button")
		}
		forged := b.do(http.MethodPost, "/ui/env/dev/model-versions/v1/approval", url.Values{"csrf": {csrf(t, p)}, "decision": {"approved"}, "reason": {"forged"}})
		wantPage(t, forged, http.StatusForbidden, "has role viewer")
		v := mlopsdtest.Must(f.admin.GetModelVersion(context.Background(), "dev", "v1"))(t)
		if v.Spec.Approval.Status != api.ApprovalPending {
			t.Fatalf("a viewer's forged POST changed the approval: %+v", v.Spec.Approval)
		}
		cancel := b.do(http.MethodPost, "/ui/env/dev/pipeline-runs/train-1/cancel", url.Values{"csrf": {csrf(t, p)}})
		wantPage(t, cancel, http.StatusForbidden, "needs invoker")
		// The audit page is the viewer's environment's; verification is admin's.
		wantPage(t, b.get("/ui/audit"), http.StatusOK, "needs an admin token")
	})
}
