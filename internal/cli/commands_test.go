package cli

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // to tamper with the test mlopsd's audit log

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

func TestHelp_EveryCommand(t *testing.T) {
	f := &fixture{t: t, ctx: t.Context(), env: map[string]string{}}
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		out := f.ok(append(path, "--help")...)
		if !strings.Contains(out, "Exit codes:") || !strings.Contains(out, "Usage:") {
			t.Errorf("mlopsctl %s --help has no usage or exit codes:\n%s", strings.Join(path, " "), out)
		}
		for _, sub := range c.Commands() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	root := (&app{io: IO{Getenv: func(string) string { return "" }}}).rootCommand()
	walk(root, nil)
}

func TestCompletion(t *testing.T) {
	f := newFixture(t)
	f.createEnv("dev", api.EnvironmentPolicy{})
	for shell, want := range map[string]string{"bash": "__start_mlopsctl", "zsh": "#compdef mlopsctl", "fish": "complete -c mlopsctl"} {
		if out := f.ok("completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s has no %q", shell, want)
		}
	}
	// What the scripts ask mlopsctl at TAB: kinds, then names from mlopsd.
	if out := f.ok("__complete", "get", ""); !strings.Contains(out, "model-versions\n") || !strings.Contains(out, "batch-inference-runs\n") {
		t.Errorf("completing a kind:\n%s", out)
	}
	if out := f.ok("__complete", "get", "models", "-e", "dev", ""); !strings.Contains(out, "m\n") {
		t.Errorf("completing a model name:\n%s", out)
	}
	f.want(ExitUsage, "completion", "tcsh")
	f.want(ExitUsage, "versions")
	f.want(ExitUsage, "audit", "frobnicate")
}

func TestLogin(t *testing.T) {
	srv := mlopsdtest.Start(t, mlopsdtest.WithAuth("admin-secret"))
	f := newFixtureFor(t, srv, "")
	delete(f.env, "MLOPS_ENDPOINT")
	cfgPath := f.env["MLOPS_CONFIG"]

	t.Run("ErrBadToken", func(t *testing.T) {
		f.t = t
		r := f.runStdin("wrong\n", "login", "--endpoint", srv.URL, "--token-stdin")
		if r.code != ExitAPI || !strings.Contains(r.stderr, "does not accept the token") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		if _, err := os.Stat(cfgPath); !os.IsNotExist(err) {
			t.Errorf("a config file was written for a refused token: %v", err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		f.t = t
		r := f.runStdin("admin-secret\n", "login", "--endpoint", srv.URL, "--token-stdin")
		if r.code != ExitOK || !strings.Contains(r.stdout, "logged in to "+srv.URL) {
			t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		info, err := os.Stat(cfgPath)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("config file: %v, mode %v; want 0600", err, info.Mode().Perm())
		}
		var cfg fileConfig
		b, _ := os.ReadFile(cfgPath)
		if err := json.Unmarshal(b, &cfg); err != nil || cfg.Endpoint != srv.URL || cfg.Token != "admin-secret" {
			t.Fatalf("config file %s: %+v (%v)", b, cfg, err)
		}
	})
	t.Run("UsesConfig", func(t *testing.T) {
		f.t = t
		if out := f.ok("list", "environments"); !strings.HasPrefix(out, "NAME") {
			t.Errorf("list with the saved login:\n%s", out)
		}
		// The environment variable beats the file.
		f.env["MLOPS_TOKEN"] = "wrong"
		defer delete(f.env, "MLOPS_TOKEN")
		if r := f.want(ExitAPI, "list", "environments"); !strings.Contains(r.stderr, "401") {
			t.Errorf("stderr %q", r.stderr)
		}
		// And the flag beats the environment variable.
		f.ok("list", "environments", "--token", "admin-secret")
	})
	t.Run("WarnsWhenReadable", func(t *testing.T) {
		f.t = t
		if err := os.Chmod(cfgPath, 0o644); err != nil {
			t.Fatal(err)
		}
		if r := f.run("list", "environments"); r.code != ExitOK || !strings.Contains(r.stderr, "chmod 600") {
			t.Errorf("exit %d, stderr %q; want a warning", r.code, r.stderr)
		}
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		f.t = t
		if r := f.want(ExitUnreachable, "list", "environments", "--endpoint", "http://127.0.0.1:1"); !strings.Contains(r.stderr, "cannot reach mlopsd") {
			t.Errorf("stderr %q", r.stderr)
		}
		f.want(ExitUsage, "list", "environments", "--endpoint", "127.0.0.1:8080")
	})
}

// TestVersions_Approve approves and rejects as an owner, and is refused as
// a viewer with mlopsd's 403 message.
func TestVersions_Approve(t *testing.T) {
	srv := mlopsdtest.Start(t, mlopsdtest.WithAuth("admin-secret"))
	admin := newFixtureFor(t, srv, "admin-secret")
	admin.createEnv("prod", api.EnvironmentPolicy{})
	admin.createVersion("prod", "v1", 2)
	token := func(sa, role string) string {
		mlopsdtest.Must(admin.c.CreateServiceAccount(admin.ctx, sa, api.ServiceAccountSpec{}))(t)
		mlopsdtest.Must(admin.c.CreateRoleBinding(admin.ctx, "prod", sa, api.RoleBindingSpec{Subject: sa, Role: role}))(t)
		return mlopsdtest.Must(admin.c.IssueServiceAccountToken(admin.ctx, sa, 3600))(t).Token
	}
	viewer := newFixtureFor(t, srv, token("auditor", api.RoleViewer))
	owner := newFixtureFor(t, srv, token("boss", api.RoleOwner))

	t.Run("ErrViewerForbidden", func(t *testing.T) {
		viewer.t = t
		r := viewer.want(ExitAPI, "versions", "approve", "v1", "-e", "prod", "--reason", "looks fine")
		if !strings.Contains(r.stderr, "403") || !strings.Contains(r.stderr, "owner") {
			t.Errorf("stderr %q; want mlopsd's 403 naming role owner", r.stderr)
		}
		if mv := mlopsdtest.Must(admin.c.GetModelVersion(admin.ctx, "prod", "v1"))(t); mv.Spec.Approval.Status != api.ApprovalPending {
			t.Errorf("approval = %+v after a refused approve", mv.Spec.Approval)
		}
	})
	t.Run("ErrNoReason", func(t *testing.T) {
		owner.t = t
		owner.want(ExitUsage, "versions", "approve", "v1", "-e", "prod")
	})
	t.Run("Approve", func(t *testing.T) {
		owner.t = t
		out := owner.ok("versions", "approve", "v1", "-e", "prod", "--reason", "eval ok")
		if !strings.Contains(out, "approved by service-account:boss (eval ok)") {
			t.Errorf("stdout %q", out)
		}
		mv := mlopsdtest.Must(admin.c.GetModelVersion(admin.ctx, "prod", "v1"))(t)
		h := mv.Spec.ApprovalHistory
		if mv.Spec.Approval.Status != api.ApprovalApproved || len(h) == 0 || h[len(h)-1].Approver != "service-account:boss" || h[len(h)-1].Reason != "eval ok" {
			t.Errorf("approval %+v, history %+v", mv.Spec.Approval, h)
		}
	})
	t.Run("RejectJSON", func(t *testing.T) {
		owner.t = t
		var mv api.ModelVersion
		if err := json.Unmarshal([]byte(owner.ok("versions", "reject", "v1", "-e", "prod", "--reason", "drift in eval", "-o", "json")), &mv); err != nil {
			t.Fatal(err)
		}
		if mv.Spec.Approval.Status != api.ApprovalRejected || len(mv.Spec.ApprovalHistory) < 2 {
			t.Errorf("rejected version: %+v", mv.Spec)
		}
	})
	t.Run("ViewerReads", func(t *testing.T) {
		viewer.t = t
		if out := viewer.ok("get", "versions", "v1", "-e", "prod"); !strings.Contains(out, "rejected") {
			t.Errorf("get as viewer:\n%s", out)
		}
		viewer.want(ExitNo, "versions", "approve", "nope", "-e", "prod", "--reason", "x")
	})
}

func TestEndpoints_Predict(t *testing.T) {
	f := newFixture(t)
	f.createEnv("dev", api.EnvironmentPolicy{})
	f.createVersion("dev", "v1", 2)
	mlopsdtest.Must(f.c.CreateModelEndpoint(f.ctx, "dev", "ep", api.ModelEndpointSpec{
		Variants: []api.EndpointVariant{{Name: "primary", ModelVersion: "v1", ComputePool: "cpu", Replicas: 1, TrafficPercent: 100}},
		Rollout:  api.EndpointRollout{Strategy: api.RolloutAllAtOnce, StepPercent: 10},
	}))(t)
	f.waitEndpointReady("dev", "ep")

	// slope 2, intercept 1: 3 → 7.
	if out := f.ok("endpoints", "predict", "ep", "-e", "dev", "--data", `{"inputs": [3]}`); !strings.Contains(out, "primary") || !strings.Contains(out, " 7\n") {
		t.Errorf("predict table:\n%s", out)
	}
	r := f.runStdin("[3]\n", "endpoints", "predict", "ep", "-e", "dev", "-o", "json")
	var resp api.PredictResponse
	if r.code != ExitOK || json.Unmarshal([]byte(r.stdout), &resp) != nil || resp != (api.PredictResponse{Variant: "primary", ModelVersion: "v1", Prediction: 7}) {
		t.Errorf("predict from stdin: exit %d, %+v\n%s%s", r.code, resp, r.stdout, r.stderr)
	}
	file := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(file, []byte(`{"inputs":[0]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := f.ok("endpoints", "predict", "ep", "-e", "dev", "--data", "@"+file); !strings.Contains(out, " 1\n") {
		t.Errorf("predict from a file:\n%s", out)
	}
	f.want(ExitUsage, "endpoints", "predict", "ep", "-e", "dev", "--data", `{"input": [3]}`)
	f.want(ExitUsage, "endpoints", "predict", "ep", "-e", "dev", "--data", "@"+file+".missing")
	f.want(ExitNo, "endpoints", "predict", "nope", "-e", "dev", "--data", "[1]")
}

func TestAlarms_History(t *testing.T) {
	f := newFixture(t)
	f.createEnv("dev", api.EnvironmentPolicy{})
	v1, v2 := 0.91, 0.62
	spec := api.AlarmSpec{Metric: api.AlarmMetricCustom, MetricName: "accuracy", Statistic: api.StatisticAverage, Comparison: api.ComparisonLessThan,
		Threshold: "0.8", PeriodSeconds: 60, EvaluationPeriods: 1, DatapointsToAlarm: 1, MissingData: api.MissingDataIgnore}
	if err := f.srv.PutAlarm(f.ctx, "dev", "accuracy", spec, api.AlarmStatus{
		Status: api.Status{Phase: api.PhaseReady, ObservedGeneration: 1}, State: api.AlarmStateAlarm, TransitionCount: 2,
		History: []api.AlarmTransition{
			{Seq: 1, From: api.AlarmStateInsufficientData, To: api.AlarmStateOK, Reason: "accuracy 0.91 not below 0.8", Value: &v1},
			{Seq: 2, From: api.AlarmStateOK, To: api.AlarmStateAlarm, Reason: "accuracy 0.62 below 0.8", Value: &v2},
		},
	}); err != nil {
		t.Fatal(err)
	}
	out := f.ok("alarms", "history", "accuracy", "-e", "dev")
	i, j := strings.Index(out, "INSUFFICIENT_DATA  OK"), strings.Index(out, "OK                 ALARM")
	if !strings.HasPrefix(out, "SEQ") || i < 0 || j < i || !strings.Contains(out, "0.62") {
		t.Errorf("history table:\n%s", out)
	}
	var hist []api.AlarmTransition
	if err := json.Unmarshal([]byte(f.ok("alarms", "history", "accuracy", "-e", "dev", "-o", "json")), &hist); err != nil || len(hist) < 2 || hist[1].To != api.AlarmStateAlarm {
		t.Errorf("history json: %+v (%v)", hist, err)
	}
	f.want(ExitNo, "alarms", "history", "nope", "-e", "dev")
}

func TestRuns_Logs(t *testing.T) {
	f := newFixture(t)
	f.createEnv("dev", api.EnvironmentPolicy{})
	mlopsdtest.Must(f.c.CreateTrainingPipeline(f.ctx, "dev", "train", api.TrainingPipelineSpec{ComputePool: "cpu", Model: "m", Steps: []api.PipelineStep{
		{Name: "prep", Command: []string{"sh", "-c", "echo prep-out"}},
		{Name: "fit", Command: []string{"sh", "-c", "echo fit-begin; sleep 1; echo fit-end"}, DependsOn: []string{"prep"}},
	}}))(t)
	mlopsdtest.Must(f.c.CreateTrainingPipeline(f.ctx, "dev", "broken", api.TrainingPipelineSpec{ComputePool: "cpu", Model: "m", Steps: []api.PipelineStep{
		{Name: "fit", Command: []string{"sh", "-c", "echo oops; exit 3"}},
	}}))(t)

	t.Run("FollowUntilSucceeded", func(t *testing.T) {
		f.t = t
		run := mlopsdtest.Must(f.c.StartPipelineRun(f.ctx, "dev", "train", nil))(t)
		out := f.ok("runs", "logs", run.Metadata.Name, "-e", "dev", "-f", "--interval", "50ms")
		// -f returned: the run must be over, and every line there, in order.
		got := mlopsdtest.Must(f.c.GetPipelineRun(f.ctx, "dev", run.Metadata.Name))(t)
		if got.Status.Phase != api.PhaseSucceeded {
			t.Fatalf("logs -f returned while the run is %s", got.Status.Phase)
		}
		last := -1
		for _, want := range []string{"==> step prep attempt 1 <==", "prep-out", "==> step fit attempt 1 <==", "fit-begin", "fit-end"} {
			i := strings.Index(out, want)
			if i <= last {
				t.Fatalf("logs -f output lacks %q in order:\n%s", want, out)
			}
			last = i
		}
		if strings.Count(out, "fit-begin") != 1 {
			t.Errorf("a line was printed twice:\n%s", out)
		}

		// Without -f: the server's view of all steps, or one step.
		if all := f.ok("runs", "logs", run.Metadata.Name, "-e", "dev"); !strings.Contains(all, "==> step fit attempt 1 (succeeded) <==") || !strings.Contains(all, "prep-out") {
			t.Errorf("logs:\n%s", all)
		}
		if one := f.ok("runs", "logs", run.Metadata.Name, "-e", "dev", "--step", "fit"); one != "fit-begin\nfit-end\n" {
			t.Errorf("logs --step fit = %q", one)
		}
		if one := f.ok("runs", "logs", run.Metadata.Name, "-e", "dev", "--step", "fit", "-f"); one != "fit-begin\nfit-end\n" {
			t.Errorf("logs --step fit -f of a finished run = %q", one)
		}
		if r := f.want(ExitAPI, "runs", "logs", run.Metadata.Name, "-e", "dev", "--step", "nope"); !strings.Contains(r.stderr, "no step") {
			t.Errorf("stderr %q", r.stderr)
		}
		f.want(ExitUsage, "runs", "logs", run.Metadata.Name, "-e", "dev", "-f", "--tail", "1")
	})
	t.Run("FollowUntilFailed", func(t *testing.T) {
		f.t = t
		run := mlopsdtest.Must(f.c.StartPipelineRun(f.ctx, "dev", "broken", nil))(t)
		r := f.want(ExitNo, "runs", "logs", run.Metadata.Name, "-e", "dev", "-f", "--interval", "50ms")
		if !strings.Contains(r.stdout, "oops") || !strings.Contains(r.stderr, "failed") {
			t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
		}
	})
	t.Run("FollowPastTheReadLimit", func(t *testing.T) {
		// A log longer than one read of mlopsd (8 MiB) arrives whole and
		// once: -f reads on from offsets instead of re-reading the tail.
		f.t = t
		mlopsdtest.Must(f.c.CreateTrainingPipeline(f.ctx, "dev", "chatty", api.TrainingPipelineSpec{ComputePool: "cpu", Model: "m", Steps: []api.PipelineStep{
			{Name: "talk", Command: []string{"sh", "-c", "echo first; head -c 9437184 /dev/zero | tr '\\0' a; echo; sleep 1; echo last"}},
		}}))(t)
		run := mlopsdtest.Must(f.c.StartPipelineRun(f.ctx, "dev", "chatty", nil))(t)
		out := f.ok("runs", "logs", run.Metadata.Name, "-e", "dev", "--step", "talk", "-f", "--interval", "50ms")
		if want := len("first\n") + 9437184 + len("\nlast\n"); len(out) != want || !strings.HasPrefix(out, "first\naaa") || !strings.HasSuffix(out, "aaa\nlast\n") {
			t.Errorf("logs -f printed %d bytes (%.20q ... %q), want %d", len(out), out, out[max(0, len(out)-20):], want)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		f.t = t
		f.want(ExitNo, "runs", "logs", "nope", "-e", "dev", "-f")
	})
}

func TestAudit(t *testing.T) {
	f := newFixture(t)
	f.createEnv("dev", api.EnvironmentPolicy{})
	f.createEnv("prod", api.EnvironmentPolicy{})
	f.createVersion("dev", "v1", 2)

	all := mlopsdtest.Must(f.c.QueryAudit(f.ctx, api.AuditQuery{Limit: api.MaxPageSize}))(t).Items
	t.Run("Export", func(t *testing.T) {
		f.t = t
		sc := bufio.NewScanner(strings.NewReader(f.ok("audit", "export")))
		var got []api.AuditRecord
		for sc.Scan() {
			var rec api.AuditRecord
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			got = append(got, rec)
		}
		if len(got) != len(all) || got[0].Hash != all[0].Hash || got[len(got)-1].Seq != all[len(all)-1].Seq {
			t.Errorf("export has %d records, the API %d", len(got), len(all))
		}
		for _, rec := range got {
			if rec.Hash != api.AuditHash(rec) {
				t.Errorf("exported record %d does not hash to its hash", rec.Seq)
			}
		}
		dev := f.ok("audit", "export", "-e", "dev", "--kind", "mv")
		if n := strings.Count(dev, "\n"); n != 1 || !strings.Contains(dev, `"name":"v1"`) {
			t.Errorf("export -e dev --kind mv:\n%s", dev)
		}
	})
	t.Run("Query", func(t *testing.T) {
		f.t = t
		out := f.ok("audit", "query", "-e", "dev", "--kind", "model-versions")
		if !strings.HasPrefix(out, "SEQ") || !strings.Contains(out, "dev/model-versions/v1") || strings.Contains(out, "prod") {
			t.Errorf("query:\n%s", out)
		}
		var list api.AuditRecordList
		if err := json.Unmarshal([]byte(f.ok("audit", "query", "--since", "1h", "-o", "json")), &list); err != nil || len(list.Items) != len(all) {
			t.Errorf("query -o json: %d records (%v), want %d", len(list.Items), err, len(all))
		}
		f.want(ExitUsage, "audit", "query", "--since", "yesterday")

		var newest api.AuditRecordList
		if err := json.Unmarshal([]byte(f.ok("audit", "query", "--newest", "2", "-o", "json")), &newest); err != nil {
			t.Fatal(err)
		}
		last := all[len(all)-1].Seq
		if len(newest.Items) != 2 || newest.Items[0].Seq != last || newest.Items[1].Seq != last-1 {
			t.Errorf("query --newest 2: %+v, want seqs %d and %d", newest.Items, last, last-1)
		}
		f.want(ExitUsage, "audit", "query", "--newest", "-1")
	})
	t.Run("VerifyIntact", func(t *testing.T) {
		f.t = t
		if out := f.ok("audit", "verify"); !strings.Contains(out, "intact") || !strings.Contains(out, "whole chain") {
			t.Errorf("verify: %s", out)
		}
		if out := f.ok("audit", "verify", "-e", "prod"); !strings.Contains(out, "intact") || !strings.Contains(out, "selected records") {
			t.Errorf("verify -e prod: %s", out)
		}
	})
	t.Run("VerifyTampered", func(t *testing.T) {
		f.t = t
		// The server's reconcilers keep writing (status settles, events), so
		// this second writer waits for the lock as mlopsd's own connections
		// do instead of failing at once with SQLITE_BUSY.
		db, err := sql.Open("sqlite", filepath.Join(filepath.Dir(f.srv.RunsDir), "mlops.db")+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(f.ctx, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		r := f.want(ExitNo, "audit", "verify")
		if !strings.Contains(r.stdout, "broken at seq 2") || !strings.Contains(r.stdout, "was changed") || !strings.Contains(r.stderr, "broken") {
			t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
		}
	})
}
