package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// maxNameAttempts bounds how many taken run names StartRun skips.
const maxNameAttempts = 1000

// Getter reads objects: a store.Store, or a store.View inside a write.
type Getter interface {
	Get(ctx context.Context, ref api.Ref) (*store.Object, error)
}

// Model is the model version a run scores with, as registered.
type Model struct {
	Version        string
	ArtifactURI    string
	ArtifactSHA256 string
}

// ResolveModel finds the model version a job with spec scores with now:
// spec.model_version, or the version alias spec.alias of spec.model points
// at. A version or alias that is missing, being deleted, of another model
// or of a framework the scorer cannot run is an EINVALID naming the job's
// field and the fix, fit for the job's checks, its status and a manual
// start alike.
func ResolveModel(ctx context.Context, g Getter, env string, spec api.BatchInferenceJobSpec) (Model, error) {
	field, version := "spec.model_version", spec.ModelVersion
	if version == "" {
		field = "spec.alias"
		obj, err := g.Get(ctx, api.Ref{Kind: api.KindModelAlias, Environment: env, Name: spec.Alias})
		if hasCode(err, api.ENOTFOUND) {
			return Model{}, api.Errorf(api.EINVALID, field, "model alias %q does not exist in environment %q; create it (mlops_model_alias) or fix the name", spec.Alias, env)
		}
		if err != nil {
			return Model{}, err
		}
		if obj.Meta.DeletionRequestedAt != nil {
			return Model{}, api.Errorf(api.EINVALID, field, "model alias %q is being deleted; point the job at another alias or a model version", spec.Alias)
		}
		var alias api.ModelAliasSpec
		if err := json.Unmarshal(obj.Spec, &alias); err != nil {
			return Model{}, fmt.Errorf("decoding %s: %w", obj.Ref(), err)
		}
		if alias.Model != spec.Model {
			return Model{}, api.Errorf(api.EINVALID, field, "model alias %q belongs to model %q, not %q; set model to %q or use an alias of model %q", spec.Alias, alias.Model, spec.Model, alias.Model, spec.Model)
		}
		version = alias.Version
	}
	obj, err := g.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: env, Name: version})
	if hasCode(err, api.ENOTFOUND) {
		if field == "spec.alias" {
			return Model{}, api.Errorf(api.EINVALID, field, "model alias %q points at model version %q, which does not exist; move the alias to a registered version", spec.Alias, version)
		}
		return Model{}, api.Errorf(api.EINVALID, field, "model version %q does not exist in environment %q; register it first (mlops_model_version) or fix the name", version, env)
	}
	if err != nil {
		return Model{}, err
	}
	if obj.Meta.DeletionRequestedAt != nil {
		return Model{}, api.Errorf(api.EINVALID, field, "model version %q is being deleted; score with another version", version)
	}
	var mv api.ModelVersionSpec
	if err := json.Unmarshal(obj.Spec, &mv); err != nil {
		return Model{}, fmt.Errorf("decoding %s: %w", obj.Ref(), err)
	}
	if mv.Framework != api.FrameworkMLOpsLinear {
		return Model{}, api.Errorf(api.EINVALID, field, "model version %q has framework %q; batch scoring runs the built-in model runtime, which runs only %q models", version, mv.Framework, api.FrameworkMLOpsLinear)
	}
	return Model{Version: version, ArtifactURI: mv.ArtifactURI, ArtifactSHA256: mv.ArtifactSHA256}, nil
}

// StartRun creates a run of the batch inference job obj with trigger,
// named "<job>-<N>" like a pipeline's runs. The run's spec is fixed here:
// a copy of the job's spec and the model version it scores with, the
// alias resolved now. N starts after the job's newest run as its status
// knows it; a name that is taken, as a run or as an output folder that an
// earlier job of the same name left (output folders outlive their runs), is
// skipped. opts carry the idempotency key that makes a repeated start
// return the first run; its fingerprint must not depend on the name.
//
// Returns EINVALID (naming the job's field) when the model version cannot
// be resolved, ENOTFOUND when the job is gone and ECONFLICT when it is
// being deleted, the latter two checked in the create's transaction.
func StartRun(ctx context.Context, st store.Store, obj *store.Object, trigger string, opts store.WriteOptions) (*store.Result, error) {
	var spec api.BatchInferenceJobSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return nil, fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	var status api.BatchInferenceJobStatus
	if err := json.Unmarshal(obj.Status, &status); err != nil {
		return nil, fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	model, err := ResolveModel(ctx, st, obj.Meta.Environment, spec)
	if err != nil {
		return nil, err
	}
	specJSON, err := json.Marshal(api.BatchInferenceRunSpec{
		Job:            obj.Meta.Name,
		JobUID:         obj.Meta.UID,
		Trigger:        trigger,
		JobGeneration:  obj.Meta.Generation,
		JobSpec:        spec,
		ModelVersion:   model.Version,
		ArtifactURI:    model.ArtifactURI,
		ArtifactSHA256: model.ArtifactSHA256,
	})
	if err != nil {
		return nil, err
	}

	jobRef, uid := obj.Ref(), obj.Meta.UID
	callerCheck := opts.Check
	opts.Check = func(ctx context.Context, v store.View, before, after *store.Object) error {
		j, err := v.Get(ctx, jobRef)
		if err != nil {
			return err
		}
		if j.Meta.UID != uid {
			return api.Errorf(api.ENOTFOUND, "", "batch inference job %q in environment %q was deleted and created again; start the run again", jobRef.Name, jobRef.Environment)
		}
		if j.Meta.DeletionRequestedAt != nil {
			return api.Errorf(api.ECONFLICT, "", "batch inference job %q in environment %q is being deleted; it starts no new runs", jobRef.Name, jobRef.Environment)
		}
		if callerCheck != nil {
			return callerCheck(ctx, v, before, after)
		}
		return nil
	}

	n := status.RunCount
	if last, ok := pipeline.RunNumber(obj.Meta.Name, status.LastRun); ok && last > n {
		n = last
	}
	for range maxNameAttempts {
		n++
		name := pipeline.RunName(obj.Meta.Name, n)
		out, err := OutputDir(spec.OutputURI, name)
		if err != nil {
			return nil, api.Errorf(api.EINVALID, "spec.output_uri", "%v", err)
		}
		if _, err := os.Lstat(out); err == nil {
			continue
		}
		statusJSON, err := json.Marshal(api.BatchInferenceRunStatus{
			Status:    api.Status{Phase: api.PhasePending, Reason: "Created", Message: "waiting for the reconciler"},
			Step:      &api.StepStatus{Name: StepName, Phase: api.PhasePending},
			OutputURI: FileURI(out),
		})
		if err != nil {
			return nil, err
		}
		run := &store.Object{
			Kind:   api.KindBatchInferenceRun,
			Meta:   api.Metadata{Name: name, Environment: obj.Meta.Environment},
			Spec:   specJSON,
			Status: statusJSON,
		}
		res, err := st.Create(ctx, run, opts)
		if hasCode(err, api.EALREADYEXISTS) {
			continue
		}
		return res, err
	}
	return nil, api.Errorf(api.ECONFLICT, "", "batch inference job %q found %d run names after run %d taken (as runs or output folders); delete old runs or move their output folders, and retry", obj.Meta.Name, maxNameAttempts, n-maxNameAttempts)
}

// hasCode reports whether err is an *api.Error with code.
func hasCode(err error, code string) bool {
	var apiErr *api.Error
	return errors.As(err, &apiErr) && apiErr.Code == code
}
