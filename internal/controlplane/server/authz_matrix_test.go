package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Requirements of the authz matrix: the public probes, a role of the
// environment in the path, or admin.
const (
	needPublic = "public"
	needAdmin  = "admin"
	// needToken is any valid token, whatever its roles.
	needToken = "token"
)

// operationNeeds says what every operation that is not a generic object
// operation needs. TestAuthz_EveryRouteAndRole fails for a route missing
// here, so a new route cannot ship without deciding who may call it.
var operationNeeds = map[string]string{
	"healthz":                        needPublic,
	"readyz":                         needPublic,
	"openapi":                        needPublic,
	"listAudit":                      needAdmin, // without ?environment: the whole log
	api.OpIDIssueServiceAccountToken: needAdmin,
	api.OpIDPredict:                  api.RoleInvoker,
	api.OpIDPredictAction:            api.RoleInvoker,
	api.OpIDStartPipelineRun:         api.RoleInvoker,
	api.OpIDCancelPipelineRun:        api.RoleInvoker,
	api.OpIDGetPipelineRunLogs:       api.RoleViewer,
	api.OpIDPushMetrics:              api.RoleInvoker,
	api.OpIDStartBatchInferenceRun:   api.RoleInvoker,
	api.OpIDCancelBatchInferenceRun:  api.RoleInvoker,
	api.OpIDGetEndpointMetrics:       api.RoleViewer,
	api.OpIDAcknowledgeAlarm:         api.RoleInvoker,
	api.OpIDVerifyAudit:              needAdmin,
	api.OpIDWhoAmI:                   needToken,
}

// objectNeeds says what the generic operations on objects of a kind need:
// reads, and writes.
func objectNeeds(kind, op string) string {
	read := op == api.OpGet || op == api.OpList
	switch kind {
	case api.KindServiceAccount:
		return needAdmin
	case api.KindEnvironment:
		if op == api.OpGet {
			return api.RoleViewer
		}
		return needAdmin
	case api.KindRoleBinding:
		if read {
			return api.RoleViewer
		}
		return api.RoleOwner
	}
	if read {
		return api.RoleViewer
	}
	return api.RoleEditor
}

// matrixPath fills a route's path for the matrix: environment dev, and a
// name that exists for the one harmless read of an existing object (GET
// /v1/environments/dev) and is missing everywhere else, so that no allowed
// call changes the fixture.
func matrixPath(rt api.Route) string {
	p := strings.ReplaceAll(rt.Path, "{env}", "dev")
	name := "missing"
	if rt.Kind == api.KindEnvironment && rt.Op == api.OpGet {
		name = "dev"
	}
	return strings.ReplaceAll(p, "{name}", name)
}

// TestAuthz_EveryRouteAndRole calls every route of the API as every role:
// without a token (401), as a service account with no role in the
// environment, as viewer, invoker, editor and owner of it, and as admin.
// A caller below what the route needs gets 403, and gets it before any
// lookup or body check (so the 403 says nothing about names or input);
// every other caller gets past authorization (any status but 401 and 403).
func TestAuthz_EveryRouteAndRole(t *testing.T) {
	admin, clients := rbacFixture(t)
	roles := []string{"nobody", api.RoleViewer, api.RoleInvoker, api.RoleEditor, api.RoleOwner}
	for _, rt := range api.Routes {
		need := operationNeeds[rt.OperationID]
		if rt.Kind != "" {
			need = objectNeeds(rt.Kind, rt.Op)
		}
		if need == "" {
			t.Errorf("route %s %s (%s) has no entry in operationNeeds: decide who may call it", rt.Method, rt.Path, rt.OperationID)
			continue
		}
		path := matrixPath(rt)
		var body any
		if rt.Method == http.MethodPost || rt.Method == http.MethodPut {
			body = "{}"
		}
		check := func(who string, c *apiClient, allowed bool) {
			t.Helper()
			r := c.do(rt.Method, path, body)
			switch {
			case allowed && (r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden):
				t.Errorf("%s: %s %s (needs %s) = %s; want it let through", who, rt.Method, path, need, r)
			case !allowed && r.Status != http.StatusForbidden:
				t.Errorf("%s: %s %s (needs %s) = %s; want 403", who, rt.Method, path, need, r)
			case !allowed:
				wantError(t, r, http.StatusForbidden, api.EFORBIDDEN, "")
			}
		}
		anon := admin.as("")
		r := anon.do(rt.Method, path, body)
		if need == needPublic {
			if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
				t.Errorf("anonymous: %s %s is public but answered %s", rt.Method, path, r)
			}
		} else if r.Status != http.StatusUnauthorized {
			t.Errorf("anonymous: %s %s = %s; want 401", rt.Method, path, r)
		}
		for _, role := range roles {
			allowed := need == needPublic || need == needToken || (need != needAdmin && api.RoleRank(role) >= api.RoleRank(need))
			check(role, clients[role], allowed)
		}
		check("admin", admin, true)
	}
}
