package api_test

import (
	"net/http"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// allCodes lists every error code the API defines.
var allCodes = []string{
	api.ECONFLICT, api.EALREADYEXISTS, api.EINVALID, api.ENOTFOUND, api.EUNAUTHORIZED,
	api.EFORBIDDEN, api.EFAILEDPRECOND, api.EINTERNAL, api.EUNAVAILABLE, api.ETOOMANYREQUEST,
}

func TestStatusForCode_RoundTrip(t *testing.T) {
	byStatus := map[int][]string{}
	for _, code := range allCodes {
		s := api.StatusForCode(code)
		if s < 400 || s > 599 {
			t.Errorf("StatusForCode(%q) = %d, not an error status", code, s)
		}
		if s == http.StatusInternalServerError && code != api.EINTERNAL {
			t.Errorf("StatusForCode(%q) = 500; only internal maps there", code)
		}
		byStatus[s] = append(byStatus[s], code)
	}
	for s, codes := range byStatus {
		back := api.CodeForStatus(s)
		if len(codes) == 1 {
			// A status only one code uses maps back to that code.
			if back != codes[0] {
				t.Errorf("CodeForStatus(StatusForCode(%q)) = %q", codes[0], back)
			}
			continue
		}
		// A shared status maps back to one of the codes that use it.
		found := false
		for _, c := range codes {
			found = found || c == back
		}
		if !found {
			t.Errorf("CodeForStatus(%d) = %q, not one of %q", s, back, codes)
		}
	}
	if got := api.CodeForStatus(http.StatusConflict); got != api.ECONFLICT {
		t.Errorf("CodeForStatus(409) = %q, want conflict (already_exists shares 409)", got)
	}
}

func TestStatusForCode_Unknown(t *testing.T) {
	if s := api.StatusForCode("no_such_code"); s != http.StatusInternalServerError {
		t.Errorf("unknown code -> %d, want 500", s)
	}
	for status, want := range map[int]string{
		http.StatusTeapot:              api.EINTERNAL,
		http.StatusBadGateway:          api.EUNAVAILABLE,
		http.StatusGatewayTimeout:      api.EUNAVAILABLE,
		http.StatusUnprocessableEntity: api.EINVALID,
		http.StatusOK:                  api.EINTERNAL,
	} {
		if got := api.CodeForStatus(status); got != want {
			t.Errorf("CodeForStatus(%d) = %q, want %q", status, got, want)
		}
	}
}

func TestError_Error(t *testing.T) {
	for _, tc := range []struct {
		err  *api.Error
		want string
	}{
		{api.NewError(api.EINVALID, "spec.max_nodes", "is 0"), "spec.max_nodes: is 0"},
		{api.NewError(api.ENOTFOUND, "", "no such pool"), "no such pool"},
		{api.Errorf(api.EINVALID, "spec.features[2].value_type", "is %q", "text"), `spec.features[2].value_type: is "text"`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
