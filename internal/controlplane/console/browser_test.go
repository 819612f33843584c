package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

// chromium finds a Chromium (or Chrome) to drive. Without one the browser
// tests fail under CI=true, where .ci/run installs Debian's chromium, and
// are skipped elsewhere.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on PATH and CI=true: install it (apt-get install -y chromium) so the console's browser tests run")
	}
	t.Skip("no Chromium on PATH; apt-get install -y chromium to run the console's browser tests")
	return ""
}

// screenshotDir is where the tests save screenshots: MLOPS_SCREENSHOT_DIR,
// or a temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MLOPS_SCREENSHOT_DIR")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Chromium; each user gets a tab in a browser
// context of its own, with its own cookies.
type browser struct {
	t     *testing.T
	root  context.Context
	base  string
	shots string
}

func startBrowser(t *testing.T, base string) *browser {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 1000),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	root, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(root, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return &browser{t: t, root: root, base: base, shots: screenshotDir(t)}
}

// user is one signed-in browser session.
type user struct {
	b   *browser
	ctx context.Context
}

// signIn opens a new browser context and signs in through the login form.
func (b *browser) signIn(t *testing.T, token string) *user {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first action on a context opens its tab, which lives as long as
	// that action's context: it must not be one with a timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	u := &user{b: b, ctx: ctx}
	u.do(t, chromedp.Navigate(b.base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#login input[name=token]`)),
		chromedp.SendKeys(chromedp.CSS(`#login input[name=token]`), token),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#environments`)),
	)
	return u
}

func (u *user) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func run[T any](t *testing.T, u *user, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// open navigates to path and waits for sel.
func (u *user) open(t *testing.T, path, sel string) {
	t.Helper()
	u.do(t, chromedp.Navigate(u.b.base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

func (u *user) text(t *testing.T, sel string) string {
	t.Helper()
	return run(t, u, chromedp.Text(chromedp.CSS(sel)))
}

// screenshot saves the whole page as name.png.
func (u *user) screenshot(t *testing.T, name string) {
	t.Helper()
	png := run(t, u, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(u.b.shots, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// notPwned checks that no injected script ran on the page.
func (u *user) notPwned(t *testing.T) {
	t.Helper()
	if got := run(t, u, chromedp.Evaluate[string](`typeof window.pwned`)); got != "undefined" {
		t.Errorf("window.pwned is %s: an injected script ran", got)
	}
}

func wantText(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("text %q lacks %q", got, w)
		}
	}
}

func testBrowser(t *testing.T, f *fixture) {
	b := startBrowser(t, f.srv.URL)

	t.Run("PagesRenderWithRealData", func(t *testing.T) {
		u := b.signIn(t, f.tokens[api.RoleOwner])
		u.screenshot(t, "01-environments")
		wantText(t, u.text(t, "#whoami"), "service-account:owner-sa")

		u.open(t, "/ui/env/dev", "#pools")
		wantText(t, u.text(t, "#pools"), "cpu", "local")
		wantText(t, u.text(t, "#endpoints"), "api", "primary → v1 (100%)")
		wantText(t, u.text(t, "#alarms"), "backlog", "ALARM")
		u.screenshot(t, "02-environment")

		u.open(t, "/ui/env/dev/compute-pools/cpu", "#pool-nodes")
		u.screenshot(t, "03-compute-pool")

		u.open(t, "/ui/env/dev/feature-groups/users", "#schema")
		wantText(t, u.text(t, "#schema"), "user_id", "age", "int64", "spend")
		wantText(t, u.text(t, "#history"), "create", "admin")
		u.screenshot(t, "04-feature-group")

		u.open(t, "/ui/env/dev/training-pipelines/train", "#runs")
		wantText(t, u.text(t, "#runs"), "train-1", "manual", "succeeded")
		u.screenshot(t, "05-pipeline")

		u.open(t, "/ui/env/dev/pipeline-runs/train-1", "#steps")
		wantText(t, u.text(t, "#steps"), "prep", "train", "succeeded")
		if n := run(t, u, chromedp.Evaluate[int](`document.querySelectorAll('svg .node.ok').length`)); n != 2 {
			t.Errorf("the run's DAG shows %d succeeded steps, want 2", n)
		}
		u.do(t, chromedp.Click(chromedp.CSS(`details summary`)))
		wantText(t, u.text(t, "#steps"), "preparing 3 epochs")
		u.screenshot(t, "06-run")

		u.open(t, "/ui/env/dev/models/churn", "#versions")
		wantText(t, u.text(t, "#versions"), "v1", "train-1", "0.91", "0.88")
		wantText(t, u.text(t, "#aliases"), "champion", "v1")
		u.screenshot(t, "07-model")

		u.open(t, "/ui/env/dev/model-versions/v1", "#approval-history")
		nodes := run(t, u, chromedp.Evaluate[[]string](`[...document.querySelectorAll('svg [data-node]')].map(n => n.dataset.node)`))
		if strings.Join(nodes, " ") != "dataset run version endpoint/api" {
			t.Errorf("lineage graph nodes = %v, want dataset → run → version → endpoint", nodes)
		}
		u.screenshot(t, "08-model-version")

		u.open(t, "/ui/env/dev/model-endpoints/api", "#latency-chart")
		wantText(t, u.text(t, "#variants"), "primary", "v1", "100%")
		if pts := run(t, u, chromedp.Evaluate[string](`document.querySelector('#volume-chart polyline').getAttribute('points')`)); pts == "" {
			t.Error("the predictions chart has no points")
		}
		if n := run(t, u, chromedp.Evaluate[int](`document.querySelectorAll('#latency-chart circle').length`)); n == 0 {
			t.Error("the latency chart has no points")
		}
		u.screenshot(t, "09-endpoint")

		u.open(t, "/ui/env/dev/alarms/backlog", "#alarm-chart")
		wantText(t, u.text(t, "#alarm-state"), "ALARM")
		if run(t, u, chromedp.Evaluate[int](`document.querySelectorAll('#alarm-chart line.threshold').length`)) != 1 {
			t.Error("the alarm chart has no threshold line")
		}
		wantText(t, u.text(t, "#transitions"), "INSUFFICIENT_DATA", "ALARM")
		u.screenshot(t, "10-alarm")

		u.open(t, "/ui/env/dev/model-endpoints/ranker", "#rollout-progress")
		wantText(t, u.text(t, "#rollout-step"), "Step 1 of 2", "25%", "v2", "Baking")
		markers := run(t, u, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#rollout-progress text.marker')].map(e => e.textContent)`))
		if strings.Join(markers, " ") != "25% 100%" {
			t.Errorf("rollout progress markers = %q, want 25%% then 100%%", markers)
		}
		if w := run(t, u, chromedp.Evaluate[string](`document.querySelector('#rollout-progress rect.canary').getAttribute('width')`)); w != "150" {
			t.Errorf("rollout progress fill = %s px of 600, want 150 (25%%)", w)
		}
		if n := run(t, u, chromedp.Evaluate[int](`document.querySelectorAll('#rollouts svg.steps polyline.ok').length`)); n != 1 {
			t.Errorf("rollout history shows %d step charts of succeeded rollouts, want 1", n)
		}
		u.screenshot(t, "14-endpoint-rollout")

		u.open(t, "/ui/env/dev/alarms/ranker-drift", "#feature-drift-chart")
		legend := run(t, u, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#feature-drift-chart .legend span')].map(e => e.textContent)`))
		if strings.Join(legend, " ") != "■ spend ■ tenure" {
			t.Errorf("feature drift legend = %q, want spend and tenure", legend)
		}
		if n := run(t, u, chromedp.Evaluate[int](`document.querySelectorAll('#feature-drift-chart polyline').length`)); n != 2 {
			t.Errorf("feature drift chart has %d lines, want 2", n)
		}
		if run(t, u, chromedp.Evaluate[int](`document.querySelectorAll('#feature-drift-chart line.threshold').length`)) != 1 {
			t.Error("the feature drift chart has no threshold line")
		}
		rows := run(t, u, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#feature-drift-table tr td:first-child')].map(e => e.textContent)`))
		if strings.Join(rows, " ") != "tenure spend" {
			t.Errorf("newest period's features = %q, want tenure (drifted most) then spend", rows)
		}
		u.screenshot(t, "15-alarm-feature-drift")
	})

	t.Run("XSSRendersInert", func(t *testing.T) {
		u := b.signIn(t, f.tokens[api.RoleViewer])
		for _, tc := range []struct{ path, sel, prefix string }{
			{"/ui/env/dev", "#env-description", "development "},
			{"/ui/env/dev/feature-groups/users", "#fg-description", "user features "},
			{"/ui/env/dev/training-pipelines/train", "#pipeline-description", "nightly training "},
			{"/ui/env/dev/model-versions/v1", "#version-description", "candidate "},
			{"/ui/env/dev/alarms/backlog", "#alarm-description", "queue backlog "},
		} {
			u.open(t, tc.path, tc.sel)
			u.notPwned(t)
			if got := u.text(t, tc.sel); got != tc.prefix+xss {
				t.Errorf("%s %s shows %q, want the payload as text", tc.path, tc.sel, got)
			}
			if n := run(t, u, chromedp.Evaluate[int](`[...document.scripts].length`)); n != 0 {
				t.Errorf("%s has %d script elements", tc.path, n)
			}
		}
		u.open(t, "/ui/env/dev", "#env-description")
		u.screenshot(t, "11-xss-inert")
	})

	t.Run("ViewerCannotApprove", func(t *testing.T) {
		u := b.signIn(t, f.tokens[api.RoleViewer])
		u.open(t, "/ui/env/dev/model-versions/v1", "#approval-needs-owner")
		if run(t, u, chromedp.Evaluate[bool](`document.querySelector('#approve') === null && document.querySelector('#approval-form') === null`)) != true {
			t.Error("a viewer sees the approve form")
		}
		// A forged POST with the viewer's own session and CSRF token: the
		// API refuses it.
		status := run(t, u, chromedp.Evaluate[int](`fetch('/ui/env/dev/model-versions/v1/approval', {method: 'POST',
			body: new URLSearchParams({csrf: document.querySelector('meta[name=csrf-token]').content, decision: 'approved', reason: 'forged'})}).then(r => r.status)`,
			chromedp.EvalAwaitPromise))
		if status != 403 {
			t.Errorf("forged approval POST = %d, want 403", status)
		}
		v := mlopsdtest.Must(f.admin.GetModelVersion(context.Background(), "dev", "v1"))(t)
		if v.Spec.Approval.Status != api.ApprovalPending {
			t.Fatalf("the forged POST changed the approval: %+v", v.Spec.Approval)
		}
		u.screenshot(t, "12-viewer-model-version")
	})

	t.Run("OwnerApprovesAndTheAuditShowsIt", func(t *testing.T) {
		u := b.signIn(t, f.tokens[api.RoleOwner])
		u.open(t, "/ui/env/dev/model-versions/v1", "#approval-form")
		u.do(t,
			chromedp.SendKeys(chromedp.CSS(`#approval-reason-input`), "offline metrics beat the champion"),
			chromedp.Click(chromedp.CSS(`#approve`)),
			chromedp.WaitVisible(chromedp.CSS(`#notice`)),
		)
		wantText(t, u.text(t, "#approval-state"), "approved")
		wantText(t, u.text(t, "#approval-history"), "approved", "service-account:owner-sa", "offline metrics beat the champion")
		v := mlopsdtest.Must(f.admin.GetModelVersion(context.Background(), "dev", "v1"))(t)
		if v.Spec.Approval.Status != api.ApprovalApproved {
			t.Fatalf("approval after the form = %+v", v.Spec.Approval)
		}
		u.open(t, "/ui/audit?environment=dev&kind=model-versions&name=v1", "#audit")
		rows := run(t, u, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#audit tr')].slice(1).map(r => r.innerText)`))
		if len(rows) < 2 || !strings.Contains(rows[0], "service-account:owner-sa") || !strings.Contains(rows[0], "update") {
			t.Errorf("newest audit records of v1 = %q, want the owner's update first", rows)
		}
		u.screenshot(t, "13-audit")
	})

	t.Run("OwnerAcknowledgesAndTriggers", func(t *testing.T) {
		u := b.signIn(t, f.tokens[api.RoleOwner])
		u.open(t, "/ui/env/dev/alarms/backlog", "#ack-form")
		u.do(t,
			chromedp.SendKeys(chromedp.CSS(`#ack-form input[name=reason]`), "draining the queue"),
			chromedp.Click(chromedp.CSS(`#acknowledge`)),
			chromedp.WaitVisible(chromedp.CSS(`#acknowledged`)),
		)
		wantText(t, u.text(t, "#acknowledged"), "service-account:owner-sa", "draining the queue")
		u.open(t, "/ui/env/dev/training-pipelines/train", "#start-run")
		u.do(t, chromedp.Click(chromedp.CSS(`#start-run button`)), chromedp.WaitVisible(chromedp.CSS(`#notice`)))
		wantText(t, u.text(t, "#run-trigger"), "manual")
		u.open(t, "/ui/audit?environment=dev", "#audit")
		wantText(t, u.text(t, "#audit"), "service-account:owner-sa", "alarms/backlog", "pipeline-runs/train-2")
	})
}
