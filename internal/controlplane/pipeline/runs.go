package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// maxNameAttempts bounds how many taken run names StartRun skips, e.g.
// those of model versions that runs of an earlier pipeline of the same name
// registered: deleting a pipeline deletes its runs, but not the versions.
const maxNameAttempts = 1000

// errNameTaken makes StartRun try the next run name.
var errNameTaken = errors.New("run name taken by a model version")

// StartRun creates a run of the pipeline obj with trigger and the resolved
// params, named "<pipeline>-<N>". N starts after the pipeline's newest run
// as its status knows it; when that name is taken (a concurrent creator, a
// status that lags behind, or a model version of that name, since a run
// registers its version under its own name) N is bumped and the create
// tried again, so two creators never share a run. opts carry the caller's idempotency key,
// which makes a retried start return the first run; its fingerprint must
// not depend on the name.
//
// Returns ENOTFOUND when the pipeline is gone and ECONFLICT when it is
// being deleted, checked in the create's transaction.
func StartRun(ctx context.Context, st store.Store, obj *store.Object, trigger string, params map[string]string, opts store.WriteOptions) (*store.Result, error) {
	var spec api.TrainingPipelineSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return nil, fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	var status api.TrainingPipelineStatus
	if err := json.Unmarshal(obj.Status, &status); err != nil {
		return nil, fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	runSpec := api.PipelineRunSpec{
		Pipeline:           obj.Meta.Name,
		PipelineUID:        obj.Meta.UID,
		Trigger:            trigger,
		Parameters:         params,
		PipelineGeneration: obj.Meta.Generation,
		PipelineSpec:       spec,
	}
	specJSON, err := json.Marshal(runSpec)
	if err != nil {
		return nil, err
	}
	runStatus := api.PipelineRunStatus{Status: api.Status{Phase: api.PhasePending, Reason: "Created", Message: "waiting for the reconciler"}}
	for _, s := range spec.Steps {
		runStatus.Steps = append(runStatus.Steps, api.StepStatus{Name: s.Name, Phase: api.PhasePending})
	}
	statusJSON, err := json.Marshal(runStatus)
	if err != nil {
		return nil, err
	}

	pipelineRef, uid := obj.Ref(), obj.Meta.UID
	callerCheck := opts.Check
	opts.Check = func(ctx context.Context, v store.View, before, after *store.Object) error {
		p, err := v.Get(ctx, pipelineRef)
		if err != nil {
			return err
		}
		if p.Meta.UID != uid {
			return api.Errorf(api.ENOTFOUND, "", "training pipeline %q in environment %q was deleted and created again; start the run again", pipelineRef.Name, pipelineRef.Environment)
		}
		if p.Meta.DeletionRequestedAt != nil {
			return api.Errorf(api.ECONFLICT, "", "training pipeline %q in environment %q is being deleted; it starts no new runs", pipelineRef.Name, pipelineRef.Environment)
		}
		_, err = v.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: after.Meta.Environment, Name: after.Meta.Name})
		if err == nil {
			return errNameTaken
		}
		var apiErr *api.Error
		if !errors.As(err, &apiErr) || apiErr.Code != api.ENOTFOUND {
			return err
		}
		if callerCheck != nil {
			return callerCheck(ctx, v, before, after)
		}
		return nil
	}

	n := status.RunCount
	if last, ok := RunNumber(obj.Meta.Name, status.LastRun); ok && last > n {
		n = last
	}
	for range maxNameAttempts {
		n++
		run := &store.Object{
			Kind:   api.KindPipelineRun,
			Meta:   api.Metadata{Name: RunName(obj.Meta.Name, n), Environment: obj.Meta.Environment},
			Spec:   specJSON,
			Status: statusJSON,
		}
		res, err := st.Create(ctx, run, opts)
		var apiErr *api.Error
		if errors.As(err, &apiErr) && apiErr.Code == api.EALREADYEXISTS || errors.Is(err, errNameTaken) {
			continue
		}
		return res, err
	}
	return nil, api.Errorf(api.ECONFLICT, "", "training pipeline %q found %d run names after run %d taken; delete old runs of this name and retry", obj.Meta.Name, maxNameAttempts, n-maxNameAttempts)
}

// SystemWrite returns the write options of a write the control plane makes
// on its own (a trigger, a registration), keyed by key so that a write
// repeated after a crash returns the first result instead of a duplicate.
func SystemWrite(actor, key string) store.WriteOptions {
	sum := sha256.Sum256([]byte(key))
	return store.WriteOptions{
		Actor: actor,
		// A NUL cannot appear in an HTTP header, so no API caller's key
		// (scoped as actor NUL key) can collide with these.
		IdempotencyKey: "mlopsd\x00" + key,
		Fingerprint:    hex.EncodeToString(sum[:]),
	}
}
