package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// batchTriggerActor is who the audit log names for batch runs that
// triggers start.
const batchTriggerActor = "batch-trigger"

// BatchJobHandler watches batch inference jobs, as PipelineHandler watches
// pipelines. It sees every job on every pass (it is a Watcher) because what
// it reacts to changes outside the store:
//
//   - the cron schedule comes due: one run starts, even when several fire
//     times passed while mlopsd was down;
//   - with on_new_data, the input's content changes (its digest: a file's
//     SHA-256, or the digest of a folder's scored files): one run starts.
//     The first content seen is the baseline and starts nothing, and an
//     input that became empty starts nothing either;
//   - runs started by others (the manual-run route) are counted into
//     status.run_count and status.last_run.
//
// Runs a trigger starts carry an idempotency key derived from the job's
// uid and the fire time or the digests, so a crash between the run's create
// and the status write never starts a second run. Each run resolves the
// job's alias when it starts (batch.StartRun).
//
// Deleting a job cancels its active runs, waits until they stopped, deletes
// all of its runs (their logs go; their output folders, the product, stay)
// and then removes the job.
type BatchJobHandler struct {
	Store store.Store
	// Now is injectable for tests; nil means time.Now.
	Now func() time.Time

	hashes pipeline.HashCache
}

var _ Watcher = (*BatchJobHandler)(nil)

// WatchAll implements Watcher.
func (h *BatchJobHandler) WatchAll() bool { return true }

func (h *BatchJobHandler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// Reconcile implements Handler.
func (h *BatchJobHandler) Reconcile(ctx context.Context, obj *store.Object) error {
	now := h.now()
	var st api.BatchInferenceJobStatus
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	if obj.Meta.DeletionRequestedAt != nil {
		return h.teardown(ctx, obj, st, now)
	}
	var spec api.BatchInferenceJobSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	st.ObservedGeneration = obj.Meta.Generation
	if err := h.countRuns(ctx, obj, spec, &st); err != nil {
		return err
	}

	// A job whose pool or model version is gone cannot run; triggers wait.
	if reason, msg, err := h.checkRefs(ctx, obj.Meta.Environment, spec); err != nil {
		return err
	} else if reason != "" {
		st.Phase, st.Reason, st.Message = api.PhaseFailed, reason, msg
		st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: reason, Message: msg}, now)
		return writeStatus(ctx, h.Store, obj, st)
	}

	var notes []string
	if err := h.schedule(ctx, obj, spec, &st, now); err != nil {
		return err
	}
	if st.NextScheduledAt != nil {
		notes = append(notes, "next scheduled run at "+st.NextScheduledAt.Format(time.RFC3339))
	}
	note, err := h.newData(ctx, obj, spec, &st, now)
	if err != nil {
		return err
	}
	if note != "" {
		notes = append(notes, note)
	}
	if len(notes) == 0 {
		notes = append(notes, "runs start manually")
	}
	st.Phase, st.Reason, st.Message = api.PhaseReady, "", strings.Join(notes, "; ")
	st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionTrue, Reason: "TriggersArmed", Message: st.Message}, now)
	return writeStatus(ctx, h.Store, obj, st)
}

// checkRefs returns a reason and message when the job's compute pool, or
// the model version or alias it scores with, is gone.
func (h *BatchJobHandler) checkRefs(ctx context.Context, env string, spec api.BatchInferenceJobSpec) (reason, msg string, err error) {
	_, err = h.Store.Get(ctx, api.Ref{Kind: api.KindComputePool, Environment: env, Name: spec.ComputePool})
	if hasCode(err, api.ENOTFOUND) {
		return "ComputePoolNotFound", fmt.Sprintf("compute pool %q does not exist in environment %q; create it again or point the job at another one", spec.ComputePool, env), nil
	}
	if err != nil {
		return "", "", err
	}
	_, err = batch.ResolveModel(ctx, h.Store, env, spec)
	var apiErr *api.Error
	if errors.As(err, &apiErr) && apiErr.Code == api.EINVALID {
		return "ModelVersionUnavailable", apiErr.Message, nil
	}
	return "", "", err
}

// countRuns moves status.last_run and run_count past the runs that exist:
// those the manual-run route started since the last pass. Names that
// batch.StartRun skipped (output folders of runs of an earlier job of this
// name) are looked past.
func (h *BatchJobHandler) countRuns(ctx context.Context, obj *store.Object, spec api.BatchInferenceJobSpec, st *api.BatchInferenceJobStatus) error {
	last, _ := pipeline.RunNumber(obj.Meta.Name, st.LastRun)
	for n := last + 1; n <= last+maxRunProbe; n++ {
		name := pipeline.RunName(obj.Meta.Name, n)
		run, err := h.Store.Get(ctx, api.Ref{Kind: api.KindBatchInferenceRun, Environment: obj.Meta.Environment, Name: name})
		if hasCode(err, api.ENOTFOUND) {
			if dir, derr := batch.OutputDir(spec.OutputURI, name); derr == nil {
				if _, serr := os.Lstat(dir); serr == nil {
					continue
				}
			}
			return nil
		}
		if err != nil {
			return err
		}
		var rs api.BatchInferenceRunSpec
		if err := json.Unmarshal(run.Spec, &rs); err != nil {
			return fmt.Errorf("decoding spec of %s: %w", run.Ref(), err)
		}
		if rs.JobUID == obj.Meta.UID {
			st.RunCount++
			st.LastRun = name
		}
	}
	return nil
}

// startRun starts a run with trigger and records it.
func (h *BatchJobHandler) startRun(ctx context.Context, obj *store.Object, st *api.BatchInferenceJobStatus, trigger, key string) error {
	res, err := batch.StartRun(ctx, h.Store, obj, trigger, pipeline.SystemWrite(batchTriggerActor, key))
	if err != nil {
		return fmt.Errorf("starting a %s run of %s: %w", trigger, obj.Ref(), err)
	}
	n, ok := pipeline.RunNumber(obj.Meta.Name, res.Object.Meta.Name)
	last, _ := pipeline.RunNumber(obj.Meta.Name, st.LastRun)
	if ok && n > last {
		st.RunCount++
		st.LastRun = res.Object.Meta.Name
	}
	return nil
}

// schedule keeps status.next_scheduled_at and starts a run when it passed.
func (h *BatchJobHandler) schedule(ctx context.Context, obj *store.Object, spec api.BatchInferenceJobSpec, st *api.BatchInferenceJobStatus, now time.Time) error {
	if spec.Triggers.Schedule == "" {
		st.NextScheduledAt = nil
		return nil
	}
	next, due, err := pipeline.ScheduleStep(spec.Triggers.Schedule, st.NextScheduledAt, now)
	if err != nil {
		return fmt.Errorf("schedule of %s: %w", obj.Ref(), err)
	}
	if due != nil {
		key := fmt.Sprintf("trigger/%s/schedule/%s", obj.Meta.UID, due.Format(time.RFC3339))
		if err := h.startRun(ctx, obj, st, api.TriggerSchedule, key); err != nil {
			return err
		}
	}
	st.NextScheduledAt = &next
	return nil
}

// newData digests the input and starts one run when its content changed
// since the last pass; while a file of it was modified less than
// pipeline.QuietPeriod ago, it waits. It returns a note for the job's
// message.
func (h *BatchJobHandler) newData(ctx context.Context, obj *store.Object, spec api.BatchInferenceJobSpec, st *api.BatchInferenceJobStatus, now time.Time) (string, error) {
	if !spec.Triggers.OnNewData {
		st.InputSHA256, st.InputURI = "", ""
		return "", nil
	}
	if st.InputURI != spec.InputURI {
		// Another input: its first digest is a baseline.
		st.InputSHA256, st.InputURI = "", spec.InputURI
	}
	path, err := pipeline.FilePath(spec.InputURI)
	if err != nil {
		return "", fmt.Errorf("input of %s: %w", obj.Ref(), err)
	}
	digest, files, err := batch.InputDigest(path, spec.InputFormat, func(path string) (string, error) {
		return h.hashes.SettledHash(path, now)
	})
	if errors.Is(err, pipeline.ErrSettling) {
		// A file is still being written: its digest waits for the writer,
		// so that the run starts once, on the whole file.
		return fmt.Sprintf("watching %s for new data; waiting for a file being written", spec.InputURI), nil
	}
	if err != nil {
		// An input that is missing now (being replaced, say) keeps its
		// last digest: its return with other content is a change.
		return fmt.Sprintf("watching %s for new data; cannot read it now: %v", spec.InputURI, errorText(err)), nil
	}
	old := st.InputSHA256
	st.InputSHA256 = digest
	if old != "" && old != digest && files > 0 {
		key := fmt.Sprintf("trigger/%s/new_data/%s>%s", obj.Meta.UID, old, digest)
		if err := h.startRun(ctx, obj, st, api.TriggerNewData, key); err != nil {
			st.InputSHA256 = old
			return "", err
		}
	}
	return fmt.Sprintf("watching %s for new data (%d file(s) now)", spec.InputURI, files), nil
}

// teardown cancels the job's active runs, waits until they stopped,
// deletes all of its runs (their teardown removes their logs; output
// folders stay) and removes the job once none is left. Runs are matched by
// the job's name and uid, so the runs of an earlier job of the same name
// are not this one's.
func (h *BatchJobHandler) teardown(ctx context.Context, obj *store.Object, st api.BatchInferenceJobStatus, now time.Time) error {
	runs, err := listEnv(ctx, h.Store, api.KindBatchInferenceRun, obj.Meta.Environment)
	if err != nil {
		return err
	}
	var active, left int
	for _, run := range runs {
		var rs api.BatchInferenceRunSpec
		var rst api.BatchInferenceRunStatus
		if err := json.Unmarshal(run.Spec, &rs); err != nil {
			return fmt.Errorf("decoding spec of %s: %w", run.Ref(), err)
		}
		if err := json.Unmarshal(run.Status, &rst); err != nil {
			return fmt.Errorf("decoding status of %s: %w", run.Ref(), err)
		}
		if rs.Job != obj.Meta.Name || rs.JobUID != obj.Meta.UID {
			continue
		}
		left++
		if run.Meta.DeletionRequestedAt != nil {
			continue
		}
		if !api.RunFinished(rst.Phase) {
			active++
			if rs.Cancel {
				continue
			}
			rs.Cancel = true
			b, err := json.Marshal(rs)
			if err != nil {
				return err
			}
			if _, err := h.Store.UpdateSpec(ctx, run.Ref(), b, store.WriteOptions{Actor: "reconciler", IfMatch: run.Meta.ETag}); err != nil && !hasCode(err, api.ECONFLICT) {
				return err
			}
			continue
		}
		if _, err := h.Store.Delete(ctx, run.Ref(), true, store.WriteOptions{Actor: "reconciler", IfMatch: run.Meta.ETag}); err != nil && !hasCode(err, api.ECONFLICT) {
			return err
		}
	}
	if left == 0 {
		return h.Store.Finalize(ctx, obj.Ref(), obj.Meta.UID, "reconciler")
	}
	st.Phase = api.PhaseDeleting
	if active > 0 {
		st.Reason = "CancellingRuns"
		st.Message = fmt.Sprintf("waiting for %d active run(s) to stop before deleting the job's %d run(s)", active, left)
	} else {
		st.Reason = "DeletingRuns"
		st.Message = fmt.Sprintf("deleting the job's %d run(s); their output folders stay", left)
	}
	st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: "Deleting", Message: st.Message}, now)
	return writeStatus(ctx, h.Store, obj, st)
}
