package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
)

// importEnvName imports an object that lives in an environment by its ID
// env/name: it parses and checks the ID and sets the environment and name
// attributes, which Read then fills the rest from. kind names the object in
// errors ("compute pool") and example is shown as the fix for a malformed
// ID. It returns the two halves; on a bad ID it adds an error instead.
func importEnvName(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse, kind, example string) (env, name string) {
	env, name, err := parseEnvNameID(req.ID, example)
	if err == nil {
		err = validateEnvNameID(req.ID, kind, env, name)
	}
	if err != nil {
		resp.Diagnostics.AddError("Invalid import ID", err.Error())
		return "", ""
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("environment"), env)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	return env, name
}

// parseEnvNameID splits an import ID of the form env/name.
func parseEnvNameID(id, example string) (env, name string, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", fmt.Errorf("import ID %q is not of the form <environment>/<name>, e.g. %s", id, example)
	}
	return parts[0], parts[1], nil
}

// validateEnvNameID checks both halves of an env/name import ID, so a typo
// is reported as such rather than as a missing object.
func validateEnvNameID(id, kind, env, name string) error {
	if err := validateNameValue(env); err != nil {
		return fmt.Errorf("environment %q in import ID %q is not a valid name: %w", env, id, err)
	}
	if err := validateNameValue(name); err != nil {
		return fmt.Errorf("%s name %q in import ID %q is not a valid name: %w", kind, name, id, err)
	}
	return nil
}
