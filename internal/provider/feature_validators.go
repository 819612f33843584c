package provider

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// uriOrEmptyRE is the server's URI rule, plus the empty string that means
// "not set" (the attributes that use it default to "").
var uriOrEmptyRE = regexp.MustCompile(`^([a-z][a-z0-9+.-]*://[^\s]+)?$`)

// uriValidator checks URIs with the server's rule at plan time. example is
// shown in the message as the fix.
func uriValidator(example string) validator.String {
	return stringvalidator.RegexMatches(uriOrEmptyRE, "must be a URI of the form scheme://location, e.g. "+example+", or empty")
}

// identifierRE is the server's rule for entity and feature names: they
// become column names, so they follow identifier rules rather than the
// object name rule.
var identifierRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// identifierValidator checks entity and feature names.
func identifierValidator() validator.String {
	return stringvalidator.RegexMatches(identifierRE,
		"must be 1-63 lowercase letters, digits and '_', starting with a letter or '_' (e.g. customer_id)")
}
