package reconcile

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// stepsOnPool counts the steps running on compute pool pool of env, as
// stored: those of active pipeline runs and of active batch inference runs,
// which share the pool's max_nodes, leaving out the run with uid except
// (the caller's own, which it counts as its pass sees it).
func stepsOnPool(ctx context.Context, st store.Store, env, pool, except string) (int64, error) {
	var used int64
	runs, err := listEnv(ctx, st, api.KindPipelineRun, env)
	if err != nil {
		return 0, err
	}
	for _, run := range runs {
		if run.Meta.UID == except {
			continue
		}
		var rst api.PipelineRunStatus
		if err := json.Unmarshal(run.Status, &rst); err != nil {
			return 0, fmt.Errorf("decoding status of %s: %w", run.Ref(), err)
		}
		if api.RunFinished(rst.Phase) {
			continue
		}
		var spec api.PipelineRunSpec
		if err := json.Unmarshal(run.Spec, &spec); err != nil {
			return 0, fmt.Errorf("decoding spec of %s: %w", run.Ref(), err)
		}
		if spec.PipelineSpec.ComputePool != pool {
			continue
		}
		for _, s := range rst.Steps {
			if s.Phase == api.PhaseRunning {
				used++
			}
		}
	}
	batchRuns, err := listEnv(ctx, st, api.KindBatchInferenceRun, env)
	if err != nil {
		return 0, err
	}
	for _, run := range batchRuns {
		if run.Meta.UID == except {
			continue
		}
		var rst api.BatchInferenceRunStatus
		if err := json.Unmarshal(run.Status, &rst); err != nil {
			return 0, fmt.Errorf("decoding status of %s: %w", run.Ref(), err)
		}
		if api.RunFinished(rst.Phase) || rst.Step == nil || rst.Step.Phase != api.PhaseRunning {
			continue
		}
		var spec api.BatchInferenceRunSpec
		if err := json.Unmarshal(run.Spec, &spec); err != nil {
			return 0, fmt.Errorf("decoding spec of %s: %w", run.Ref(), err)
		}
		if spec.JobSpec.ComputePool == pool {
			used++
		}
	}
	return used, nil
}
