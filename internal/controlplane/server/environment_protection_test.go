package server_test

import (
	"net/http"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// TestEnvironment_DeletionProtection: a protected environment cannot be
// deleted until its protection is turned off.
func TestEnvironment_DeletionProtection(t *testing.T) {
	t.Parallel()
	c := MustStart(t)
	createEnv(c, "prod", api.EnvironmentSpec{Policy: api.EnvironmentPolicy{DeletionProtection: true}})

	e := wantError(t, c.do(http.MethodDelete, envPath("prod"), nil), http.StatusConflict, api.ECONFLICT, "spec.policy.deletion_protection")
	const want = `environment "prod" has deletion_protection = true; set it to false and apply first, then delete`
	if e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
	got := decode[api.Environment](t, c.must(http.StatusOK, http.MethodGet, envPath("prod"), nil))
	if !got.Spec.Policy.DeletionProtection {
		t.Errorf("policy = %+v, want deletion_protection kept", got.Spec.Policy)
	}

	c.must(http.StatusOK, http.MethodPut, envPath("prod"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{}})
	c.must(http.StatusNoContent, http.MethodDelete, envPath("prod"), nil)
	c.must(http.StatusNotFound, http.MethodGet, envPath("prod"), nil)
}
