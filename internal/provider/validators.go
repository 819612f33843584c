package provider

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

var nameRE = regexp.MustCompile(api.NamePattern)

// nameValidator checks object names at plan time with the server's rule.
func nameValidator() validator.String {
	return stringvalidator.RegexMatches(nameRE, "must be a valid name: "+api.NameHint)
}

func validateNameValue(s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("%s", api.NameHint)
	}
	return nil
}

// labelKeyValidator checks label keys with the server's rule.
func labelKeyValidator() validator.String {
	return stringvalidator.RegexMatches(regexp.MustCompile(`^[a-z0-9]([a-z0-9_.\/-]{0,61}[a-z0-9])?$`),
		"label keys use 1-63 lowercase letters, digits, '_', '.', '/' or '-', starting and ending with a letter or digit")
}

// acceleratorTypeValidator checks accelerator type names.
func acceleratorTypeValidator() validator.String {
	return stringvalidator.RegexMatches(regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`),
		"accelerator types use lowercase letters, digits and '-', e.g. nvidia-a100")
}
