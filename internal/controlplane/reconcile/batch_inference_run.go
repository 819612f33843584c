package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// maxBatchAttempts bounds the attempts of a batch run's step. Only an
// attempt the driver lost (mlopsd restarted while it ran) is tried again:
// scoring the same input with the same model gives the same files, so a
// repeat is safe; an attempt that failed fails the run.
const maxBatchAttempts = 3

// BatchRunHandler runs batch inference runs. A run's spec is fixed when
// it starts (batch.StartRun: the job's spec and the model version with its
// artifact), so the handler resolves nothing itself:
//
//	pending ──(step starts)──▶ running ──▶ succeeded | failed | cancelled
//
// It submits ONE step through the step driver of the job's compute pool,
// `<Scorer> batch-score ...` in the run's directory (logs under Layout),
// while the pool has room (pipeline and batch steps share max_nodes). On
// later passes it asks the driver about the step; once it ended, it reads
// summary.json from the run's output folder into status.summary and ends
// succeeded, or failed with the summary's message or the end of the step's
// log. A cancel (spec.cancel) kills the step. The scorer verifies the
// artifact's SHA-256 before it scores.
//
// Deleting a run stops its step and removes its logs; its output folder
// is the product and stays.
type BatchRunHandler struct {
	Store store.Store
	// Drivers run the step, keyed by the compute pool driver.
	Drivers map[string]runtime.StepDriver
	// Layout places the runs' working directories and logs; the drivers
	// use the same. It is a tree of its own, apart from pipeline runs'.
	Layout runtime.RunLayout
	// Scorer is the program, and any leading arguments, that runs the
	// scorer: the mlopsd executable. The run adds batch-score and its
	// flags. Empty fails every run with reason NoScorer.
	Scorer []string
	// Now is injectable for tests; nil means time.Now.
	Now func() time.Time
}

var _ Handler = (*BatchRunHandler)(nil)

// batchRunPass is one Reconcile of one batch run.
type batchRunPass struct {
	h      *BatchRunHandler
	obj    *store.Object
	spec   api.BatchInferenceRunSpec
	st     api.BatchInferenceRunStatus
	now    time.Time
	driver runtime.StepDriver
	// pool is nil when the compute pool no longer exists.
	pool *api.ComputePoolSpec
	// out is the run's output folder.
	out string
}

func (h *BatchRunHandler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// Reconcile implements Handler.
func (h *BatchRunHandler) Reconcile(ctx context.Context, obj *store.Object) error {
	p := &batchRunPass{h: h, obj: obj, now: h.now()}
	if err := json.Unmarshal(obj.Spec, &p.spec); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	if err := json.Unmarshal(obj.Status, &p.st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	p.st.ObservedGeneration = obj.Meta.Generation
	if api.RunFinished(p.st.Phase) && obj.Meta.DeletionRequestedAt == nil {
		// A cancel that came too late changes the generation only.
		return p.write(ctx)
	}
	if p.st.Step == nil {
		p.st.Step = &api.StepStatus{Name: batch.StepName, Phase: api.PhasePending}
	}
	if err := p.resolveDriver(ctx); err != nil {
		return err
	}
	if obj.Meta.DeletionRequestedAt != nil {
		return p.teardown(ctx)
	}
	out, err := batch.OutputDir(p.spec.JobSpec.OutputURI, obj.Meta.Name)
	if err != nil {
		return p.finish(ctx, api.PhaseFailed, "InvalidSpec", fmt.Sprintf("spec.job_spec.output_uri: %v", err))
	}
	p.out = out
	if p.st.OutputURI == "" {
		p.st.OutputURI = batch.FileURI(out)
	}
	switch {
	case p.driver == nil:
		return p.finish(ctx, api.PhaseFailed, "NoDriver", fmt.Sprintf("compute pool %q uses a driver this mlopsd cannot run steps on", p.spec.JobSpec.ComputePool))
	case len(h.Scorer) == 0:
		return p.finish(ctx, api.PhaseFailed, "NoScorer", "this mlopsd has no batch scorer configured (mlopsd runs its own executable's batch-score subcommand; an embedded control plane must set one, e.g. mlopsdtest.ServeBatchScorer in tests)")
	}
	if p.st.StartedAt == nil {
		now := p.now
		p.st.StartedAt = &now
	}
	if err := p.observe(ctx); err != nil {
		return err
	}
	s := p.st.Step
	switch {
	case p.spec.Cancel:
		running, err := p.stop(ctx, "not run: the run was cancelled")
		if err != nil {
			return err
		}
		if running {
			return p.progress(ctx, "Cancelling", "cancelling: waiting for the scoring step to stop")
		}
		return p.finish(ctx, api.PhaseCancelled, "Cancelled", "cancelled on request")
	case s.Phase == api.PhaseFailed:
		return p.failed(ctx)
	case s.Phase == api.PhaseSucceeded:
		return p.complete(ctx)
	case p.pool == nil:
		if s.Phase == api.PhaseRunning {
			return p.progress(ctx, "ComputePoolNotFound", "the compute pool is gone; waiting for the scoring step to end")
		}
		return p.finish(ctx, api.PhaseFailed, "ComputePoolNotFound",
			fmt.Sprintf("compute pool %q no longer exists in environment %q; start a new run once the job points at an existing pool", p.spec.JobSpec.ComputePool, p.obj.Meta.Environment))
	case s.Phase == api.PhasePending:
		return p.submit(ctx)
	}
	return p.progress(ctx, "Running", fmt.Sprintf("scoring with model version %q (attempt %d)", p.spec.ModelVersion, s.Attempts))
}

// resolveDriver finds the pool and its step driver. When the pool is gone
// the local driver is asked about (and told to stop) the step, as the
// pipeline run handler does.
func (p *batchRunPass) resolveDriver(ctx context.Context) error {
	obj, err := p.h.Store.Get(ctx, api.Ref{Kind: api.KindComputePool, Environment: p.obj.Meta.Environment, Name: p.spec.JobSpec.ComputePool})
	switch {
	case hasCode(err, api.ENOTFOUND):
		p.driver = p.h.Drivers[api.DriverLocal]
		return nil
	case err != nil:
		return err
	}
	var pool api.ComputePoolSpec
	if err := json.Unmarshal(obj.Spec, &pool); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	p.pool = &pool
	p.driver = p.h.Drivers[pool.Driver]
	return nil
}

func (p *batchRunPass) jobID(attempt int64) runtime.JobID {
	return runtime.NewJobID(p.obj.Meta.UID, batch.StepName, attempt)
}

func (p *batchRunPass) finishedAt(js runtime.JobState) *time.Time {
	t := p.now
	if !js.FinishedAt.IsZero() {
		t = js.FinishedAt.UTC()
	}
	return &t
}

// observe asks the driver about the running step and records how it ended.
func (p *batchRunPass) observe(ctx context.Context) error {
	s := p.st.Step
	if s.Phase != api.PhaseRunning {
		return nil
	}
	js, err := p.driver.Status(ctx, p.jobID(s.Attempts))
	if err != nil {
		return fmt.Errorf("asking the driver about the scoring step of %s: %w", p.obj.Ref(), err)
	}
	if js.Phase == runtime.JobRunning {
		return nil
	}
	s.ExitCode = js.ExitCode
	switch {
	case js.Phase == runtime.JobSucceeded:
		s.Phase, s.Message, s.FinishedAt = api.PhaseSucceeded, "", p.finishedAt(js)
	case js.Phase == runtime.JobCancelled && (p.spec.Cancel || p.obj.Meta.DeletionRequestedAt != nil):
		s.Phase, s.Message, s.FinishedAt = api.PhaseCancelled, "cancelled while running", p.finishedAt(js)
	case js.Phase == runtime.JobLost && !p.spec.Cancel && s.Attempts < maxBatchAttempts:
		// Whatever the lost attempt wrote must not pass for the next
		// attempt's result.
		if err := os.Remove(filepath.Join(p.out, batch.SummaryFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the summary of a lost attempt of %s: %w", p.obj.Ref(), err)
		}
		s.Phase = api.PhasePending
		s.Message = fmt.Sprintf("attempt %d %s; trying again (attempt %d of at most %d)", s.Attempts, describeJob(js), s.Attempts+1, maxBatchAttempts)
	default:
		s.Phase, s.Message, s.FinishedAt = api.PhaseFailed, describeJob(js), p.finishedAt(js)
	}
	return nil
}

// stop cancels a running step, or marks a pending one as not run. It
// reports whether the step still runs.
func (p *batchRunPass) stop(ctx context.Context, notRun string) (bool, error) {
	s := p.st.Step
	switch s.Phase {
	case api.PhasePending:
		s.Phase, s.Message = api.PhaseCancelled, notRun
	case api.PhaseRunning:
		id := p.jobID(s.Attempts)
		if err := p.driver.Cancel(ctx, id); err != nil {
			return false, fmt.Errorf("cancelling the scoring step of %s: %w", p.obj.Ref(), err)
		}
		js, err := p.driver.Status(ctx, id)
		if err != nil {
			return false, fmt.Errorf("asking the driver about the scoring step of %s: %w", p.obj.Ref(), err)
		}
		if js.Phase == runtime.JobRunning {
			return true, nil
		}
		s.Phase, s.Message, s.ExitCode = api.PhaseCancelled, "cancelled while running", js.ExitCode
		s.FinishedAt = p.finishedAt(js)
	}
	return false, nil
}

// submit starts the scoring step while the pool has room.
func (p *batchRunPass) submit(ctx context.Context) error {
	used, err := stepsOnPool(ctx, p.h.Store, p.obj.Meta.Environment, p.spec.JobSpec.ComputePool, p.obj.Meta.UID)
	if err != nil {
		return err
	}
	if used >= p.pool.MaxNodes {
		return p.progress(ctx, "WaitingForCapacity", fmt.Sprintf("waiting for room in compute pool %q (%d of %d step slots busy)", p.spec.JobSpec.ComputePool, used, p.pool.MaxNodes))
	}
	input, err := pipeline.FilePath(p.spec.JobSpec.InputURI)
	if err != nil {
		return p.finish(ctx, api.PhaseFailed, "InvalidSpec", fmt.Sprintf("spec.job_spec.input_uri: %v", err))
	}
	js := p.spec.JobSpec
	command := append(append([]string(nil), p.h.Scorer...), batch.ScoreCommand)
	command = append(command, batch.Args(batch.Options{
		ArtifactURI:      p.spec.ArtifactURI,
		ArtifactSHA256:   p.spec.ArtifactSHA256,
		Input:            input,
		Format:           js.InputFormat,
		Columns:          js.FeatureColumns,
		Output:           p.out,
		ModelVersion:     p.spec.ModelVersion,
		MaxFailedPercent: js.MaxFailedRowsPercent,
	})...)
	s := p.st.Step
	timeout := js.TimeoutSeconds
	if timeout <= 0 {
		timeout = pipeline.DefaultTimeoutSeconds
	}
	job := runtime.StepJob{
		RunUID:      p.obj.Meta.UID,
		Step:        batch.StepName,
		Attempt:     s.Attempts + 1,
		Environment: p.obj.Meta.Environment,
		Run:         p.obj.Meta.Name,
		Pool:        js.ComputePool,
		Command:     command,
		Timeout:     time.Duration(timeout) * time.Second,
	}
	if _, err := p.driver.Submit(ctx, job); err != nil {
		submitErr := fmt.Errorf("starting the scoring step of %s: %w", p.obj.Ref(), err)
		if werr := p.progress(ctx, "SubmitFailed", submitErr.Error()); werr != nil {
			return werr
		}
		return submitErr
	}
	now := p.now
	s.Attempts++
	s.Phase, s.StartedAt, s.FinishedAt, s.ExitCode = api.PhaseRunning, &now, nil, nil
	if s.Attempts == 1 {
		s.Message = ""
	}
	return p.progress(ctx, "Running", fmt.Sprintf("scoring with model version %q (attempt %d)", p.spec.ModelVersion, s.Attempts))
}

// complete reads the summary of a step that succeeded and finishes the run.
func (p *batchRunPass) complete(ctx context.Context) error {
	sum, err := batch.ReadSummary(p.out)
	if err != nil {
		return p.finish(ctx, api.PhaseFailed, "NoSummary", fmt.Sprintf("the scoring step ended without error, but its summary cannot be read (%v)%s", errorText(err), p.logTail()))
	}
	p.record(sum)
	if sum.Message != "" {
		return p.finish(ctx, api.PhaseFailed, "ScoringFailed", sum.Message)
	}
	return p.finish(ctx, api.PhaseSucceeded, "", fmt.Sprintf("scored %d of %d row(s) (%d failed) from %d file(s) with model version %q into %s",
		sum.RowsScored, sum.RowsTotal, sum.RowsFailed, len(sum.Files), p.spec.ModelVersion, p.st.OutputURI))
}

// failed finishes a run whose step failed, with the summary's message when
// the scorer wrote one, and the end of the step's log otherwise.
func (p *batchRunPass) failed(ctx context.Context) error {
	s := p.st.Step
	if sum, err := batch.ReadSummary(p.out); err == nil {
		p.record(sum)
		if sum.Message != "" {
			msg := sum.Message
			// The scorer exits 1 on its own failures; anything else (a
			// timeout, a signal) is said first.
			if !strings.HasPrefix(s.Message, "exit code ") {
				msg = fmt.Sprintf("the scoring step failed (%s): %s", s.Message, msg)
			}
			return p.finish(ctx, api.PhaseFailed, "ScoringFailed", msg)
		}
	}
	return p.finish(ctx, api.PhaseFailed, "StepFailed", fmt.Sprintf("the scoring step failed (%s) after %d attempt(s)%s", s.Message, s.Attempts, p.logTail()))
}

// record keeps what the summary says in the run's status.
func (p *batchRunPass) record(sum *api.BatchRunSummary) {
	p.st.Summary = sum
	p.st.InputSHA256 = sum.InputSHA256
}

// logTail quotes the end of the last attempt's log for a message.
func (p *batchRunPass) logTail() string {
	n := p.st.Step.Attempts
	if n == 0 {
		return ""
	}
	tail := tailLines(p.h.Layout.LogPath(p.obj.Meta.Environment, p.obj.Meta.Name, batch.StepName, n), logTailLines)
	if tail == "" {
		return "; its log is empty"
	}
	return "; last lines of its log:\n" + tail
}

// progress writes the status of a run that goes on.
func (p *batchRunPass) progress(ctx context.Context, reason, msg string) error {
	p.st.Phase = api.PhasePending
	if p.st.Step.Attempts > 0 {
		p.st.Phase = api.PhaseRunning
	}
	p.st.Reason, p.st.Message = reason, msg
	p.st.Conditions = setCondition(p.st.Conditions, api.Condition{Type: api.ConditionSucceeded, Status: api.ConditionUnknown, Reason: reason, Message: msg}, p.now)
	return p.write(ctx)
}

// finish writes a terminal status, then lets the driver forget the step's
// attempts: only after the write, so a failed write never leaves a finished
// job looking lost.
func (p *batchRunPass) finish(ctx context.Context, phase, reason, msg string) error {
	now := p.now
	p.st.Phase, p.st.Reason, p.st.Message, p.st.FinishedAt = phase, reason, msg, &now
	if s := p.st.Step; s.Phase == api.PhasePending {
		s.Phase = api.PhaseCancelled
		if s.Message == "" {
			s.Message = "not run"
		}
	}
	cond := api.Condition{Type: api.ConditionSucceeded, Status: api.ConditionFalse, Reason: reason, Message: msg}
	if phase == api.PhaseSucceeded {
		cond.Status, cond.Reason = api.ConditionTrue, "Scored"
	}
	p.st.Conditions = setCondition(p.st.Conditions, cond, now)
	if err := p.write(ctx); err != nil {
		return err
	}
	if p.driver != nil {
		p.forgetJobs(ctx)
	}
	return nil
}

// forgetJobs deletes every attempt from the driver, best effort.
func (p *batchRunPass) forgetJobs(ctx context.Context) {
	for a := int64(1); a <= p.st.Step.Attempts; a++ {
		_ = p.driver.Delete(ctx, p.jobID(a))
	}
}

// teardown stops the step, removes the run's directory (its logs) and the
// run. The output folder is the product and stays.
func (p *batchRunPass) teardown(ctx context.Context) error {
	if p.driver != nil {
		running, err := p.stop(ctx, "not run: the run was deleted")
		if err != nil {
			return err
		}
		if running {
			p.st.Reason, p.st.Message = "Deleting", "deleting: waiting for the scoring step to stop"
			return p.write(ctx)
		}
		p.forgetJobs(ctx)
	}
	env, name := p.obj.Meta.Environment, p.obj.Meta.Name
	if b, err := os.ReadFile(p.h.Layout.OwnerFile(env, name)); err == nil && string(b) == p.obj.Meta.UID {
		if err := os.RemoveAll(p.h.Layout.RunDir(env, name)); err != nil {
			return fmt.Errorf("removing the directory of %s: %w", p.obj.Ref(), err)
		}
	}
	return p.h.Store.Finalize(ctx, p.obj.Ref(), p.obj.Meta.UID, "reconciler")
}

func (p *batchRunPass) write(ctx context.Context) error {
	return writeStatus(ctx, p.h.Store, p.obj, p.st)
}
