package server_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

const adminToken = "admin-secret"

// rbacFixture is a control plane with -auth on, environments dev and prod,
// model churn in dev, and service accounts bound in dev as their names say
// ("nobody" has no binding). It returns the admin client and a client per
// service account.
func rbacFixture(t *testing.T) (*apiClient, map[string]*apiClient) {
	t.Helper()
	admin := MustStart(t, mlopsdtest.WithAuth(adminToken)).as(adminToken)
	createEnv(admin, "dev", api.EnvironmentSpec{})
	createEnv(admin, "prod", api.EnvironmentSpec{})
	createModel(admin, "churn")
	clients := map[string]*apiClient{}
	for _, name := range []string{"viewer", "invoker", "editor", "owner", "nobody"} {
		admin.must(http.StatusCreated, http.MethodPost, "/v1/service-accounts", api.CreateServiceAccountRequest{Name: name})
		if name != "nobody" {
			admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindRoleBinding, ""), api.CreateRoleBindingRequest{
				Name: name + "-binding", Spec: api.RoleBindingSpec{Subject: name, Role: name},
			})
		}
		r := admin.must(http.StatusCreated, http.MethodPost, "/v1/service-accounts/"+name+"/tokens", api.IssueTokenRequest{TTLSeconds: 3600})
		tok := decode[api.IssuedToken](t, r)
		if tok.Subject != name || !regexp.MustCompile(`^mlops_[A-Za-z0-9_-]{43}$`).MatchString(tok.Token) || tok.ID == "" {
			t.Fatalf("issued token = %+v", tok)
		}
		clients[name] = admin.as(tok.Token)
	}
	return admin, clients
}

func TestRBAC_Authentication(t *testing.T) {
	admin, _ := rbacFixture(t)
	path := objPath("dev", api.KindComputePool, "")
	wantError(t, admin.as("").do(http.MethodGet, path, nil), http.StatusUnauthorized, api.EUNAUTHORIZED, "")
	wantError(t, admin.as("made-up").do(http.MethodGet, path, nil), http.StatusUnauthorized, api.EUNAUTHORIZED, "")
	admin.must(http.StatusOK, http.MethodGet, path, nil)
	// Probes stay open.
	admin.as("").must(http.StatusOK, http.MethodGet, "/healthz", nil)
}

func TestRBAC_Matrix(t *testing.T) {
	admin, c := rbacFixture(t)
	pool := func(name string) api.CreateComputePoolRequest {
		return api.CreateComputePoolRequest{Name: name, Spec: gpuPool("nvidia-a100", 1, 0, 1)}
	}
	type call struct {
		method, path string
		body         any
	}
	listPools := call{http.MethodGet, objPath("dev", api.KindComputePool, ""), nil}
	getMissing := call{http.MethodGet, objPath("dev", api.KindComputePool, "missing"), nil}
	getMissingProd := call{http.MethodGet, objPath("prod", api.KindComputePool, "missing"), nil}
	createPool := call{http.MethodPost, objPath("dev", api.KindComputePool, ""), pool("p")}
	createBinding := call{http.MethodPost, objPath("dev", api.KindRoleBinding, ""), api.CreateRoleBindingRequest{
		Name: "extra", Spec: api.RoleBindingSpec{Subject: "nobody", Role: api.RoleViewer}}}
	listBindings := call{http.MethodGet, objPath("dev", api.KindRoleBinding, ""), nil}
	getEnv := call{http.MethodGet, envPath("dev"), nil}
	getEnvProd := call{http.MethodGet, envPath("prod"), nil}
	listEnvs := call{http.MethodGet, "/v1/environments", nil}
	createEnvCall := call{http.MethodPost, "/v1/environments", api.CreateEnvironmentRequest{Name: "qa"}}
	listSAs := call{http.MethodGet, "/v1/service-accounts", nil}
	issue := call{http.MethodPost, "/v1/service-accounts/viewer/tokens", api.IssueTokenRequest{TTLSeconds: 60}}
	issueMissing := call{http.MethodPost, "/v1/service-accounts/missing/tokens", api.IssueTokenRequest{TTLSeconds: 60}}
	auditDev := call{http.MethodGet, "/v1/audit?environment=dev", nil}
	auditProd := call{http.MethodGet, "/v1/audit?environment=prod", nil}
	auditAll := call{http.MethodGet, "/v1/audit", nil}
	startRun := call{http.MethodPost, "/v1/environments/dev/" + api.KindTrainingPipeline + "/missing/runs", map[string]any{}}
	datapoints := api.PushMetricsRequest{Datapoints: []api.CustomDatapoint{{Name: "online_accuracy", Value: 0.9}}}
	pushMetrics := call{http.MethodPost, "/v1/environments/dev/metrics", datapoints}
	pushMetricsProd := call{http.MethodPost, "/v1/environments/prod/metrics", datapoints}
	predictMissing := call{http.MethodPost, objPath("dev", api.KindModelEndpoint, "missing") + ":predict", api.PredictRequest{Inputs: []float64{1}}}
	listAlarms := call{http.MethodGet, objPath("dev", api.KindAlarm, ""), nil}
	getAlarmProd := call{http.MethodGet, objPath("prod", api.KindAlarm, "missing"), nil}
	createAlarm := call{http.MethodPost, objPath("dev", api.KindAlarm, ""), api.CreateAlarmRequest{Name: "a", Spec: api.AlarmSpec{
		Metric: api.AlarmMetricCustom, MetricName: "accuracy", Comparison: api.ComparisonLessThan, Threshold: "0.8", PeriodSeconds: 60, EvaluationPeriods: 1}}}
	listChannels := call{http.MethodGet, objPath("dev", api.KindNotificationChannel, ""), nil}
	createChannel := call{http.MethodPost, objPath("dev", api.KindNotificationChannel, ""), api.CreateNotificationChannelRequest{Name: "ops", Spec: api.NotificationChannelSpec{
		Type: api.ChannelWebhook, URL: "https://hooks.example.com/x"}}}

	const F = http.StatusForbidden
	for _, tc := range []struct {
		who  string
		c    call
		want int
	}{
		{"nobody", listPools, F},
		{"nobody", getEnv, F},
		{"nobody", listAlarms, F},
		{"viewer", listPools, http.StatusOK},
		{"viewer", getMissing, http.StatusNotFound},
		// 403 before 404: the caller learns nothing about names in prod.
		{"viewer", getMissingProd, F},
		{"viewer", createPool, F},
		{"viewer", getEnv, http.StatusOK},
		{"viewer", getEnvProd, F},
		{"viewer", listBindings, http.StatusOK},
		{"viewer", auditDev, http.StatusOK},
		{"viewer", auditProd, F},
		{"viewer", auditAll, F},
		{"viewer", startRun, F},
		{"invoker", startRun, http.StatusNotFound},
		{"nobody", pushMetrics, F},
		{"viewer", pushMetrics, F},
		{"invoker", pushMetrics, http.StatusOK},
		{"invoker", pushMetricsProd, F},
		{"editor", pushMetrics, http.StatusOK},
		{"admin", pushMetricsProd, http.StatusOK},
		{"viewer", predictMissing, F},
		{"invoker", predictMissing, http.StatusNotFound},
		{"invoker", createPool, F},
		{"editor", createPool, http.StatusCreated},
		{"editor", createBinding, F},
		{"editor", listEnvs, F},
		{"editor", createEnvCall, F},
		{"owner", createBinding, http.StatusCreated},
		{"owner", listSAs, F},
		{"owner", issue, F},
		{"owner", issueMissing, F},
		{"admin", issueMissing, http.StatusNotFound},
		{"admin", listSAs, http.StatusOK},
		{"admin", auditAll, http.StatusOK},
		{"admin", getMissingProd, http.StatusNotFound},
		{"viewer", listAlarms, http.StatusOK},
		{"viewer", listChannels, http.StatusOK},
		{"viewer", getAlarmProd, F},
		{"viewer", createAlarm, F},
		{"viewer", createChannel, F},
		{"invoker", createAlarm, F},
		{"editor", createAlarm, http.StatusCreated},
		{"editor", createChannel, http.StatusCreated},
	} {
		cl := admin
		if tc.who != "admin" {
			cl = c[tc.who]
		}
		r := cl.do(tc.c.method, tc.c.path, tc.c.body)
		if r.Status != tc.want {
			t.Errorf("%s: %s %s = %s; want %d", tc.who, tc.c.method, tc.c.path, r, tc.want)
		}
		if tc.want == F {
			wantError(t, r, F, api.EFORBIDDEN, "")
		}
	}
}

func TestRBAC_Approval(t *testing.T) {
	admin, c := rbacFixture(t)
	spec := versionSpec("churn")
	createVersion(c["editor"], "v1", spec)

	approved := spec
	approved.Approval = api.ApprovalRequest{Status: api.ApprovalApproved, Reason: "beats the champion"}
	wantError(t, updateVersion(c["editor"], "v1", approved), http.StatusForbidden, api.EFORBIDDEN, "spec.approval")
	// Registering a version that is approved from the start is a decision too.
	r := c["editor"].do(http.MethodPost, objPath("dev", api.KindModelVersion, ""), api.CreateModelVersionRequest{Name: "v2", Spec: approved})
	wantError(t, r, http.StatusForbidden, api.EFORBIDDEN, "spec.approval")
	// Editing the description is no decision.
	described := spec
	described.Description = "first try"
	if r := updateVersion(c["editor"], "v1", described); r.Status != http.StatusOK {
		t.Fatalf("editor's description change = %s; want 200", r)
	}

	approved.Description = described.Description
	if r := updateVersion(c["owner"], "v1", approved); r.Status != http.StatusOK {
		t.Fatalf("owner's approval = %s; want 200", r)
	}
	v := getVersion(admin, "v1")
	wantDecisions(t, v.Spec.ApprovalHistory, api.ApprovalApproved+"/service-account:owner")
}

func TestRBAC_ServiceAccounts(t *testing.T) {
	admin, _ := rbacFixture(t)
	r := admin.do(http.MethodPost, "/v1/service-accounts", api.CreateServiceAccountRequest{Name: api.SubjectAdmin})
	wantError(t, r, http.StatusBadRequest, api.EINVALID, "name")
	r = admin.do(http.MethodPost, objPath("dev", api.KindRoleBinding, ""), api.CreateRoleBindingRequest{
		Name: "ghost", Spec: api.RoleBindingSpec{Subject: "ghost", Role: api.RoleViewer}})
	wantError(t, r, http.StatusBadRequest, api.EINVALID, "spec.subject")
	r = admin.do(http.MethodPost, objPath("dev", api.KindRoleBinding, ""), api.CreateRoleBindingRequest{
		Name: "bad-role", Spec: api.RoleBindingSpec{Subject: "nobody", Role: "superuser"}})
	wantError(t, r, http.StatusBadRequest, api.EINVALID, "spec.role")
	r = admin.do(http.MethodPut, objPath("dev", api.KindRoleBinding, "viewer-binding"), api.UpdateRoleBindingRequest{
		Spec: api.RoleBindingSpec{Subject: "nobody", Role: api.RoleViewer}})
	wantError(t, r, http.StatusBadRequest, api.EINVALID, "spec.subject")
	// A bound service account cannot be deleted.
	wantError(t, admin.do(http.MethodDelete, "/v1/service-accounts/viewer", nil), http.StatusConflict, api.ECONFLICT, "")
	admin.must(http.StatusNoContent, http.MethodDelete, "/v1/service-accounts/nobody", nil)

	r = admin.do(http.MethodPost, "/v1/service-accounts/viewer/tokens", api.IssueTokenRequest{TTLSeconds: 1})
	wantError(t, r, http.StatusBadRequest, api.EINVALID, "ttl_seconds")

	// Issued tokens are audited, without the secret.
	l := decode[api.AuditRecordList](t, admin.must(http.StatusOK, http.MethodGet, "/v1/audit?kind=tokens&name=viewer", nil))
	if len(l.Items) != 1 || l.Items[0].Actor != api.SubjectAdmin {
		t.Fatalf("token audit records = %+v; want one by admin", l.Items)
	}
}

func TestRBAC_AuthOffRefusesTokens(t *testing.T) {
	c := MustStart(t)
	c.must(http.StatusCreated, http.MethodPost, "/v1/service-accounts", api.CreateServiceAccountRequest{Name: "ci"})
	r := c.do(http.MethodPost, "/v1/service-accounts/ci/tokens", api.IssueTokenRequest{TTLSeconds: 3600})
	wantError(t, r, http.StatusBadRequest, api.EINVALID, "")
}
