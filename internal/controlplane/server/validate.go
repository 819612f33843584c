package server

import (
	"fmt"
	"regexp"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

var (
	labelKeyRE    = regexp.MustCompile(`^[a-z0-9]([a-z0-9_.\/-]{0,61}[a-z0-9])?$`)
	acceleratorRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	identifierRE  = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	uriRE         = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://[^\s]+$`)
)

const maxDescription = 1024

func validateDescription(field, d string) error {
	if len(d) > maxDescription {
		return api.Errorf(api.EINVALID, field, "is %d characters long; use at most %d", len(d), maxDescription)
	}
	return nil
}

// validateLabels checks spec.labels, the same rules for every kind.
func validateLabels(labels map[string]string) error {
	const field = "spec.labels"
	if len(labels) > 64 {
		return api.Errorf(api.EINVALID, field, "has %d labels; use at most 64", len(labels))
	}
	for k, v := range labels {
		if !labelKeyRE.MatchString(k) {
			return api.Errorf(api.EINVALID, fmt.Sprintf("%s[%q]", field, k), "label key %q is not valid; use 1-63 lowercase letters, digits, '_', '.', '/' or '-', starting and ending with a letter or digit", k)
		}
		if len(v) > 256 {
			return api.Errorf(api.EINVALID, fmt.Sprintf("%s[%q]", field, k), "label value is %d characters long; use at most 256", len(v))
		}
	}
	return nil
}

func validateRange(field string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return api.Errorf(api.EINVALID, field, "is %d; it must be between %d and %d", v, lo, hi)
	}
	return nil
}

func oneOf(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return api.Errorf(api.EINVALID, field, "is %q; it must be one of %q", v, allowed)
}
