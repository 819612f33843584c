package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// pollInterval is how often the provider asks whether an object settled.
// The control plane reconciles on writes at once, so short is cheap.
var pollInterval = 250 * time.Millisecond

// waitReady polls get until the status describes the object's current
// generation in a terminal phase. A failed phase is an error that carries
// the control plane's reason and message: an apply never reports success for
// an object that did not become ready. It returns the last object read, also
// with an error, so callers can record what exists. status picks the
// metadata and status out of the kind's object.
func waitReady[O any](ctx context.Context, what string, get func(context.Context) (*O, error), status func(*O) (api.Metadata, api.Status)) (*O, error) {
	var last *O
	var lastStatus api.Status
	err := client.Poll(ctx, pollInterval, func(ctx context.Context) (bool, error) {
		obj, err := get(ctx)
		if err != nil {
			return false, err
		}
		last = obj
		meta, st := status(obj)
		lastStatus = st
		return st.Settled(meta.Generation), nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return last, fmt.Errorf("%s did not become ready in time (last phase %q: %s); raise the timeouts block or check mlopsd's logs: %w",
				what, lastStatus.Phase, lastStatus.Message, err)
		}
		return last, err
	}
	if lastStatus.Phase == api.PhaseFailed {
		return last, fmt.Errorf("%s failed: %s: %s", what, lastStatus.Reason, lastStatus.Message)
	}
	return last, nil
}

// waitGone polls until get reports the object missing, for deletes that
// run a teardown.
func waitGone(ctx context.Context, what string, get func(ctx context.Context) error) error {
	err := client.Poll(ctx, pollInterval, func(ctx context.Context) (bool, error) {
		err := get(ctx)
		if client.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%s was not deleted in time; raise the timeouts block or check mlopsd's logs: %w", what, err)
	}
	return err
}

// deleteAndWait deletes an object with del and, when the control plane
// tears it down in the background, waits with get until it is gone, so
// Terraform does not go on (e.g. to delete the environment) while the object
// still exists. kind words the diagnostics' summaries ("feature store") and
// what names the object in their details.
func deleteAndWait(ctx context.Context, diags *diag.Diagnostics, kind, what string,
	del func(context.Context) (*client.DeleteResult, error), get func(context.Context) error) {
	res, err := del(ctx)
	if err != nil {
		addAPIError(diags, "Error deleting "+kind, what, err)
		return
	}
	if res.Pending {
		if err := waitGone(ctx, what, get); err != nil {
			diags.AddError("Error waiting for "+kind+" deletion", err.Error())
		}
	}
}
