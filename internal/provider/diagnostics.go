package provider

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// clientFromProviderData type-asserts the configured client. A nil
// ProviderData means Terraform is only validating the configuration, so
// there is nothing to do yet.
func clientFromProviderData(data any, diags *diag.Diagnostics) *client.Client {
	if data == nil {
		return nil
	}
	c, ok := data.(*client.Client)
	if !ok {
		diags.AddError("Unexpected provider data",
			fmt.Sprintf("Expected *client.Client, got %T. This is a bug in the provider; please report it.", data))
		return nil
	}
	return c
}

// addAPIError reports a control-plane error. When the server names the
// field at fault, the diagnostic points at the matching attribute, so the
// user sees the error next to the line to fix.
func addAPIError(diags *diag.Diagnostics, summary, object string, err error) {
	detail := fmt.Sprintf("%s: %s", object, err.Error())
	if p, ok := fieldPath(client.ErrorField(err)); ok {
		diags.AddAttributeError(p, summary, detail)
		return
	}
	diags.AddError(summary, detail)
}

var segmentRE = regexp.MustCompile(`^([a-z0-9_]+)((?:\[[^\]]+\])*)$`)
var indexRE = regexp.MustCompile(`\[([^\]]+)\]`)

// fieldPath maps an API field path such as spec.features[2].value_type onto
// the attribute path features[2].value_type. Attribute names equal API names
// by design, so only the spec. prefix goes.
func fieldPath(field string) (path.Path, bool) {
	field = strings.TrimPrefix(field, "spec.")
	if field == "" || field == "spec" {
		return path.Empty(), false
	}
	var p path.Path
	for i, seg := range strings.Split(field, ".") {
		m := segmentRE.FindStringSubmatch(seg)
		if m == nil {
			return path.Empty(), false
		}
		if i == 0 {
			p = path.Root(m[1])
		} else {
			p = p.AtName(m[1])
		}
		for _, idx := range indexRE.FindAllStringSubmatch(m[2], -1) {
			if n, err := strconv.Atoi(idx[1]); err == nil {
				p = p.AtListIndex(n)
			} else if key, err := strconv.Unquote(idx[1]); err == nil {
				p = p.AtMapKey(key)
			} else {
				return path.Empty(), false
			}
		}
	}
	return p, true
}
