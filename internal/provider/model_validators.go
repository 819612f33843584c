package provider

import (
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// The model registry's rules, the same as the server's, so most mistakes
// show at plan time.
var (
	sha256HexRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	frameworkRE    = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,62}$`)
	decimalRE      = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	parameterKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-/]{0,127}$`)
	// codeRefRE is anything without spaces or control characters: a git
	// commit, repo@sha, or an image digest.
	codeRefRE = regexp.MustCompile(`^[^\x00-\x20\x7f]{1,256}$`)
)

// sha256Validator checks hex SHA-256 digests.
func sha256Validator() validator.String {
	return stringvalidator.RegexMatches(sha256HexRE, "must be a SHA-256 digest: 64 lowercase hex digits, as sha256sum prints them")
}

// frameworkValidator checks model framework names.
func frameworkValidator() validator.String {
	return stringvalidator.RegexMatches(frameworkRE,
		"must be 1-63 lowercase letters, digits, '.', '_' and '-', starting with a letter, e.g. sklearn, xgboost, pytorch, onnx or mlops-linear")
}

// decimalValidator checks metric values: decimal numbers kept as strings.
func decimalValidator() validator.String {
	return stringvalidator.RegexMatches(decimalRE, `must be a decimal number written as a string, e.g. "0.91" or "1e-3"`)
}

// parameterKeyValidator checks training parameter names.
func parameterKeyValidator() validator.String {
	return stringvalidator.RegexMatches(parameterKeyRE,
		"parameter names use 1-128 letters, digits, '_', '.', '-' and '/', starting with a letter or '_'")
}

// codeRefValidator checks code references.
func codeRefValidator() validator.String {
	return stringvalidator.RegexMatches(codeRefRE,
		"must be 1-256 characters without spaces, e.g. a git commit, git@host:repo@sha or an image digest")
}
