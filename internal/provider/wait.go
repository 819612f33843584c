package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// pollInterval is how often the provider asks whether an object settled.
// The control plane reconciles on writes at once, so short is cheap.
var pollInterval = 250 * time.Millisecond

// waitSettled polls get until the status describes the object's current
// generation in a terminal phase. A failed phase is an error that carries
// the control plane's reason and message: an apply never reports success for
// an object that did not become ready.
func waitSettled(ctx context.Context, what string, get func(ctx context.Context) (api.Metadata, api.Status, error)) error {
	var last api.Status
	err := client.Poll(ctx, pollInterval, func(ctx context.Context) (bool, error) {
		meta, st, err := get(ctx)
		if err != nil {
			return false, err
		}
		last = st
		return st.Settled(meta.Generation), nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s did not become ready in time (last phase %q: %s); raise the timeouts block or check mlopsd's logs: %w",
				what, last.Phase, last.Message, err)
		}
		return err
	}
	if last.Phase == api.PhaseFailed {
		return fmt.Errorf("%s failed: %s: %s", what, last.Reason, last.Message)
	}
	return nil
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
