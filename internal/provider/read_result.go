package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// readFailed handles the error of the Get call in a resource's Read. An
// object deleted outside Terraform leaves state, so the next plan recreates
// it instead of failing forever; any other error is a diagnostic. It reports
// whether Read must stop.
func readFailed(ctx context.Context, resp *resource.ReadResponse, err error, kind, object string, fields map[string]any) bool {
	if client.IsNotFound(err) {
		tflog.Info(ctx, kind+" not found, removing from state", fields)
		resp.State.RemoveResource(ctx)
		return true
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading "+kind, object, err)
		return true
	}
	return false
}
