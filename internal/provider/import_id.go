package provider

import (
	"fmt"
	"strings"
)

// parseEnvNameID splits an import ID of the form env/name.
func parseEnvNameID(id, example string) (env, name string, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", fmt.Errorf("import ID %q is not of the form <environment>/<name>, e.g. %s", id, example)
	}
	return parts[0], parts[1], nil
}
