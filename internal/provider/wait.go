package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// pollInterval is how often the waits that still poll with plain GETs
// (deleteAndWait's get, for kinds without a client Wait*Gone: alarms and
// notification channels) ask whether an object is gone. The others
// long-poll: mlopsd answers as soon as the status settles
// (client.Client.Wait*).
var pollInterval = 250 * time.Millisecond

// waitReady waits until the status describes the object's current
// generation in a terminal phase. written is what the create or update
// returned: when its status is settled already (kinds that are ready as
// soon as they are stored), nothing is asked; otherwise wait, a client
// Wait*Settled method, long-polls from its generation. A failed phase is an
// error that carries the control plane's reason and message: an apply
// never reports success for an object that did not become ready. It
// returns the last object read, also with an error, so callers can record
// what exists. status picks the metadata and status out of the kind's
// object. ctx, which carries the user's timeouts, bounds the wait.
func waitReady[O any](ctx context.Context, what string, written *O,
	wait func(ctx context.Context, generation int64) (*O, error), status func(*O) (api.Metadata, api.Status)) (*O, error) {
	last := written
	meta, st := status(written)
	if !st.Settled(meta.Generation) {
		obj, err := wait(ctx, meta.Generation)
		if obj != nil {
			last = obj
			_, st = status(obj)
		}
		if err != nil {
			if ctx.Err() != nil {
				return last, fmt.Errorf("%s did not become ready in time (last phase %q: %s); raise the timeouts block or check mlopsd's logs: %w",
					what, st.Phase, st.Message, err)
			}
			return last, err
		}
	}
	if st.Phase == api.PhaseFailed {
		return last, fmt.Errorf("%s failed: %s: %s", what, st.Reason, st.Message)
	}
	return last, nil
}

// waitGone waits with gone, a client Wait*Gone method, until the object is
// missing, for deletes that run a teardown.
func waitGone(ctx context.Context, what string, gone func(ctx context.Context) error) error {
	err := gone(ctx)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%s was not deleted in time; raise the timeouts block or check mlopsd's logs: %w", what, err)
	}
	return err
}

// deleteAndWaitGone deletes an object with del and, when the control plane
// tears it down in the background, waits with gone (a client Wait*Gone
// method) until it is gone, so Terraform does not go on (e.g. to delete the
// environment) while the object still exists. kind words the diagnostics'
// summaries ("feature store") and what names the object in their details.
func deleteAndWaitGone(ctx context.Context, diags *diag.Diagnostics, kind, what string,
	del func(context.Context) (*client.DeleteResult, error), gone func(context.Context) error) {
	res, err := del(ctx)
	if err != nil {
		addAPIError(diags, "Error deleting "+kind, what, err)
		return
	}
	if res.Pending {
		if err := waitGone(ctx, what, gone); err != nil {
			diags.AddError("Error waiting for "+kind+" deletion", err.Error())
		}
	}
}

// deleteAndWait is deleteAndWaitGone for callers that check existence with
// get (nil while the object exists, a not-found error once it is gone) and
// so poll every pollInterval. New code uses deleteAndWaitGone.
func deleteAndWait(ctx context.Context, diags *diag.Diagnostics, kind, what string,
	del func(context.Context) (*client.DeleteResult, error), get func(context.Context) error) {
	deleteAndWaitGone(ctx, diags, kind, what, del, func(ctx context.Context) error {
		return client.Poll(ctx, pollInterval, func(ctx context.Context) (bool, error) {
			err := get(ctx)
			if client.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
	})
}
