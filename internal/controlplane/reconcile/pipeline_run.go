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
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// logTailLines is how much of a failed step's log a run's message quotes.
const logTailLines = 20

// RunHandler runs pipeline runs through the step driver of the run's
// compute pool:
//
//	pending ──(first step starts)──▶ running ──▶ succeeded | failed | cancelled
//
// On each pass it asks the driver about the running steps, retries failed
// attempts up to the step's retries, and starts the steps whose
// dependencies all succeeded, while the pool has room: at most max_nodes
// steps run at once per pool, over all runs. The first step that fails for
// good stops the others and fails the run, quoting the end of its log; a
// cancel (spec.cancel) stops every step. When every step succeeded and the
// output directory holds model.json, the run registers a model version
// (register.go).
//
// Jobs are named by runtime.NewJobID(run uid, step, attempt), so a pass
// that crashed after Submit and before writing the status submits the same
// job again, which the driver ignores.
type RunHandler struct {
	Store store.Store
	// Drivers run steps, keyed by the compute pool driver (api.DriverLocal).
	Drivers map[string]runtime.StepDriver
	// Layout places the runs' files; the drivers use the same.
	Layout runtime.RunLayout
	// Now is injectable for tests; nil means time.Now.
	Now func() time.Time
}

var _ Handler = (*RunHandler)(nil)

// runPass is one Reconcile of one run.
type runPass struct {
	h      *RunHandler
	obj    *store.Object
	spec   api.PipelineRunSpec
	st     api.PipelineRunStatus
	steps  map[string]api.PipelineStep
	now    time.Time
	driver runtime.StepDriver
	// pool is nil when the compute pool no longer exists.
	pool *api.ComputePoolSpec
}

func (h *RunHandler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// Reconcile implements Handler.
func (h *RunHandler) Reconcile(ctx context.Context, obj *store.Object) error {
	p := &runPass{h: h, obj: obj, now: h.now()}
	if err := json.Unmarshal(obj.Spec, &p.spec); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	if err := json.Unmarshal(obj.Status, &p.st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	if api.RunFinished(p.st.Phase) && obj.Meta.DeletionRequestedAt == nil {
		// A cancel that came too late changes the generation only.
		p.st.ObservedGeneration = obj.Meta.Generation
		return p.write(ctx)
	}
	p.st.ObservedGeneration = obj.Meta.Generation
	p.steps = map[string]api.PipelineStep{}
	for _, s := range p.spec.PipelineSpec.Steps {
		p.steps[s.Name] = s
	}
	p.alignSteps()
	if err := p.resolveDriver(ctx); err != nil {
		return err
	}
	if obj.Meta.DeletionRequestedAt != nil {
		return p.teardown(ctx)
	}
	if p.driver == nil {
		return p.finish(ctx, api.PhaseFailed, "NoDriver", fmt.Sprintf("compute pool %q uses a driver this mlopsd cannot run steps on", p.spec.PipelineSpec.ComputePool))
	}
	if p.st.StartedAt == nil {
		p.begin()
	}
	if err := p.observe(ctx); err != nil {
		return err
	}

	if p.spec.Cancel {
		running, err := p.stopAll(ctx, "not run: the run was cancelled")
		if err != nil {
			return err
		}
		if running > 0 {
			return p.progress(ctx, "Cancelling", fmt.Sprintf("cancelling: waiting for %d step(s) to stop", running))
		}
		return p.finish(ctx, api.PhaseCancelled, "Cancelled", "cancelled on request")
	}
	if failed := p.firstFailed(); failed != nil {
		running, err := p.stopAll(ctx, fmt.Sprintf("not run: step %q failed", failed.Name))
		if err != nil {
			return err
		}
		if running > 0 {
			return p.progress(ctx, "StepFailed", fmt.Sprintf("step %q failed; waiting for %d other step(s) to stop", failed.Name, running))
		}
		return p.finish(ctx, api.PhaseFailed, "StepFailed", p.failureMessage(failed))
	}
	if p.allSucceeded() {
		return p.complete(ctx)
	}
	if p.pool == nil {
		if p.countRunning() > 0 {
			return p.progress(ctx, "ComputePoolNotFound", "the compute pool is gone; waiting for the running steps to end")
		}
		return p.finish(ctx, api.PhaseFailed, "ComputePoolNotFound",
			fmt.Sprintf("compute pool %q no longer exists in environment %q; start a new run once the pipeline points at an existing pool", p.spec.PipelineSpec.ComputePool, p.obj.Meta.Environment))
	}
	return p.startReady(ctx)
}

// alignSteps makes status.steps list the run's steps in spec order.
func (p *runPass) alignSteps() {
	have := map[string]api.StepStatus{}
	for _, s := range p.st.Steps {
		have[s.Name] = s
	}
	steps := make([]api.StepStatus, 0, len(p.spec.PipelineSpec.Steps))
	for _, s := range p.spec.PipelineSpec.Steps {
		ss, ok := have[s.Name]
		if !ok {
			ss = api.StepStatus{Name: s.Name, Phase: api.PhasePending}
		}
		steps = append(steps, ss)
	}
	p.st.Steps = steps
}

// resolveDriver finds the pool and its step driver. When the pool is gone
// the local driver is asked about (and told to stop) the steps, since the
// only pools that exist so far use it.
func (p *runPass) resolveDriver(ctx context.Context) error {
	name := p.spec.PipelineSpec.ComputePool
	obj, err := p.h.Store.Get(ctx, api.Ref{Kind: api.KindComputePool, Environment: p.obj.Meta.Environment, Name: name})
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

// begin records the start and the training data as found now.
func (p *runPass) begin() {
	now := p.now
	p.st.StartedAt = &now
	uri := pipeline.DatasetURI(p.spec.PipelineSpec)
	if uri == "" {
		return
	}
	p.st.DatasetURI = uri
	if path, err := pipeline.FilePath(uri); err == nil {
		if sum, err := pipeline.HashFile(path); err == nil {
			p.st.DatasetSHA256 = sum
		}
	}
}

func (p *runPass) jobID(s *api.StepStatus) runtime.JobID {
	return runtime.NewJobID(p.obj.Meta.UID, s.Name, s.Attempts)
}

// observe asks the driver about every running step and records what ended.
func (p *runPass) observe(ctx context.Context) error {
	for i := range p.st.Steps {
		s := &p.st.Steps[i]
		if s.Phase != api.PhaseRunning {
			continue
		}
		js, err := p.driver.Status(ctx, p.jobID(s))
		if err != nil {
			return fmt.Errorf("asking the driver about step %q of %s: %w", s.Name, p.obj.Ref(), err)
		}
		if js.Phase == runtime.JobRunning {
			continue
		}
		s.ExitCode = js.ExitCode
		if js.Phase == runtime.JobSucceeded {
			s.Phase, s.Message = api.PhaseSucceeded, ""
			s.FinishedAt = p.finishedAt(js)
			continue
		}
		// Only this handler cancels jobs, when the run stops; a cancel
		// nobody asked for counts as a failed attempt.
		if js.Phase == runtime.JobCancelled && p.stopping() {
			s.Phase, s.Message = api.PhaseCancelled, "cancelled while running"
			s.FinishedAt = p.finishedAt(js)
			continue
		}
		what := describeJob(js)
		if retries := p.steps[s.Name].Retries; !p.spec.Cancel && s.Attempts <= retries {
			s.Phase = api.PhasePending
			s.Message = fmt.Sprintf("attempt %d %s; retrying (retry %d of %d)", s.Attempts, what, s.Attempts, retries)
			continue
		}
		s.Phase, s.Message = api.PhaseFailed, what
		s.FinishedAt = p.finishedAt(js)
	}
	return nil
}

// stopping reports whether the run is being stopped: cancelled, deleted,
// or failed by a step.
func (p *runPass) stopping() bool {
	return p.spec.Cancel || p.obj.Meta.DeletionRequestedAt != nil || p.firstFailed() != nil
}

func (p *runPass) finishedAt(js runtime.JobState) *time.Time {
	t := p.now
	if !js.FinishedAt.IsZero() {
		t = js.FinishedAt.UTC()
	}
	return &t
}

// describeJob says how an attempt ended, e.g. "exit code 3".
func describeJob(js runtime.JobState) string {
	switch js.Phase {
	case runtime.JobLost:
		return "was lost (" + js.Message + ")"
	case runtime.JobCancelled:
		return "was cancelled"
	}
	if js.Message != "" {
		return js.Message
	}
	return "failed"
}

// stopAll cancels the running steps and marks the pending ones as not run.
// It returns how many steps still run.
func (p *runPass) stopAll(ctx context.Context, notRun string) (int, error) {
	running := 0
	for i := range p.st.Steps {
		s := &p.st.Steps[i]
		switch s.Phase {
		case api.PhasePending:
			s.Phase, s.Message = api.PhaseCancelled, notRun
		case api.PhaseRunning:
			id := p.jobID(s)
			if err := p.driver.Cancel(ctx, id); err != nil {
				return 0, fmt.Errorf("cancelling step %q of %s: %w", s.Name, p.obj.Ref(), err)
			}
			js, err := p.driver.Status(ctx, id)
			if err != nil {
				return 0, fmt.Errorf("asking the driver about step %q of %s: %w", s.Name, p.obj.Ref(), err)
			}
			if js.Phase == runtime.JobRunning {
				running++
				continue
			}
			s.Phase, s.Message, s.ExitCode = api.PhaseCancelled, "cancelled while running", js.ExitCode
			s.FinishedAt = p.finishedAt(js)
		}
	}
	return running, nil
}

func (p *runPass) firstFailed() *api.StepStatus {
	for i := range p.st.Steps {
		if p.st.Steps[i].Phase == api.PhaseFailed {
			return &p.st.Steps[i]
		}
	}
	return nil
}

func (p *runPass) allSucceeded() bool {
	for _, s := range p.st.Steps {
		if s.Phase != api.PhaseSucceeded {
			return false
		}
	}
	return true
}

func (p *runPass) countRunning() int {
	n := 0
	for _, s := range p.st.Steps {
		if s.Phase == api.PhaseRunning {
			n++
		}
	}
	return n
}

// failureMessage names the failed step, how it ended and the end of its log.
func (p *runPass) failureMessage(s *api.StepStatus) string {
	msg := fmt.Sprintf("step %q failed (%s) after %d attempt(s)", s.Name, s.Message, s.Attempts)
	if s.Attempts == 0 {
		return msg
	}
	tail := tailLines(p.h.Layout.LogPath(p.obj.Meta.Environment, p.obj.Meta.Name, s.Name, s.Attempts), logTailLines)
	if tail == "" {
		return msg + "; its log is empty"
	}
	return msg + "; last lines of its log:\n" + tail
}

// tailLines returns the last n lines of a file, reading at most its last
// 64 KiB.
func tailLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const maxRead = 64 << 10
	if info, err := f.Stat(); err == nil && info.Size() > maxRead {
		if _, err := f.Seek(info.Size()-maxRead, 0); err != nil {
			return ""
		}
	}
	buf := make([]byte, maxRead)
	k, _ := f.Read(buf)
	lines := strings.Split(strings.TrimRight(string(buf[:k]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startReady starts the pending steps whose dependencies all succeeded,
// while the pool has room.
func (p *runPass) startReady(ctx context.Context) error {
	used, err := p.poolUsage(ctx)
	if err != nil {
		return err
	}
	capacity := p.pool.MaxNodes
	succeeded := map[string]bool{}
	for _, s := range p.st.Steps {
		succeeded[s.Name] = s.Phase == api.PhaseSucceeded
	}
	waiting := false
	var submitErr error
	for i := range p.st.Steps {
		s := &p.st.Steps[i]
		if s.Phase != api.PhasePending || !depsDone(p.steps[s.Name], succeeded) {
			continue
		}
		if used >= capacity {
			waiting = true
			break
		}
		step := p.steps[s.Name]
		job := runtime.StepJob{
			RunUID:      p.obj.Meta.UID,
			Step:        s.Name,
			Attempt:     s.Attempts + 1,
			Environment: p.obj.Meta.Environment,
			Run:         p.obj.Meta.Name,
			Pool:        p.spec.PipelineSpec.ComputePool,
			Command:     step.Command,
			Image:       step.Image,
			Env:         step.Env,
			Parameters:  p.spec.Parameters,
			Timeout:     time.Duration(step.TimeoutSeconds) * time.Second,
		}
		if _, err := p.driver.Submit(ctx, job); err != nil {
			submitErr = fmt.Errorf("starting step %q of %s: %w", s.Name, p.obj.Ref(), err)
			break
		}
		now := p.now
		s.Attempts++
		s.Phase, s.StartedAt, s.FinishedAt, s.ExitCode = api.PhaseRunning, &now, nil, nil
		if s.Attempts == 1 {
			s.Message = ""
		}
		used++
	}

	var done []string
	var running []string
	for _, s := range p.st.Steps {
		switch s.Phase {
		case api.PhaseSucceeded:
			done = append(done, s.Name)
		case api.PhaseRunning:
			running = append(running, s.Name)
		}
	}
	msg := fmt.Sprintf("%d of %d step(s) succeeded", len(done), len(p.st.Steps))
	if len(running) > 0 {
		msg += "; running " + strings.Join(running, ", ")
	}
	reason := "Running"
	if waiting {
		reason = "WaitingForCapacity"
		msg += fmt.Sprintf("; waiting for room in compute pool %q (%d of %d step slots busy)", p.spec.PipelineSpec.ComputePool, used, capacity)
	}
	if submitErr != nil {
		reason = "SubmitFailed"
		msg += "; " + submitErr.Error()
	}
	if err := p.progress(ctx, reason, msg); err != nil {
		return err
	}
	return submitErr
}

func depsDone(step api.PipelineStep, succeeded map[string]bool) bool {
	for _, d := range step.DependsOn {
		if !succeeded[d] {
			return false
		}
	}
	return true
}

// poolUsage counts the steps running on the run's pool: this run's, as
// this pass sees them, and those of the other active runs of the
// environment (pipeline and batch inference runs), as stored.
func (p *runPass) poolUsage(ctx context.Context) (int64, error) {
	others, err := stepsOnPool(ctx, p.h.Store, p.obj.Meta.Environment, p.spec.PipelineSpec.ComputePool, p.obj.Meta.UID)
	if err != nil {
		return 0, err
	}
	return int64(p.countRunning()) + others, nil
}

// complete registers the model version of a run whose steps all succeeded
// and finishes it.
func (p *runPass) complete(ctx context.Context) error {
	version, err := p.register(ctx)
	var regErr *registrationError
	if errors.As(err, &regErr) {
		return p.finish(ctx, api.PhaseFailed, "RegistrationFailed", fmt.Sprintf("all %d step(s) succeeded, but the model version could not be registered: %v", len(p.st.Steps), regErr.err))
	}
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("all %d step(s) succeeded", len(p.st.Steps))
	if version != "" {
		p.st.ModelVersion = version
		msg += fmt.Sprintf("; registered model version %q of model %q (approval pending)", version, p.spec.PipelineSpec.Model)
	} else {
		msg += "; the output directory holds no model.json, so no model version was registered"
	}
	return p.finish(ctx, api.PhaseSucceeded, "", msg)
}

// progress writes the status of a run that goes on.
func (p *runPass) progress(ctx context.Context, reason, msg string) error {
	p.st.Phase = api.PhasePending
	for _, s := range p.st.Steps {
		if s.Attempts > 0 {
			p.st.Phase = api.PhaseRunning
			break
		}
	}
	p.st.Reason, p.st.Message = reason, msg
	p.st.Conditions = setCondition(p.st.Conditions, api.Condition{Type: api.ConditionSucceeded, Status: api.ConditionUnknown, Reason: reason, Message: msg}, p.now)
	return p.write(ctx)
}

// finish writes a terminal status, then lets the driver forget the run's
// jobs: only after the write, so a failed write never leaves a finished
// job looking lost.
func (p *runPass) finish(ctx context.Context, phase, reason, msg string) error {
	now := p.now
	p.st.Phase, p.st.Reason, p.st.Message, p.st.FinishedAt = phase, reason, msg, &now
	cond := api.Condition{Type: api.ConditionSucceeded, Status: api.ConditionFalse, Reason: reason, Message: msg}
	if phase == api.PhaseSucceeded {
		cond.Status, cond.Reason = api.ConditionTrue, "AllStepsSucceeded"
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

// forgetJobs deletes every attempt of every step from the driver, best
// effort: a driver that restarted has forgotten them anyway.
func (p *runPass) forgetJobs(ctx context.Context) {
	for i := range p.st.Steps {
		s := &p.st.Steps[i]
		for a := int64(1); a <= s.Attempts; a++ {
			_ = p.driver.Delete(ctx, runtime.NewJobID(p.obj.Meta.UID, s.Name, a))
		}
	}
}

// teardown stops the run's steps, removes its directory (logs and
// outputs; registered artifacts live elsewhere and stay) and the run.
func (p *runPass) teardown(ctx context.Context) error {
	if p.driver != nil {
		running, err := p.stopAll(ctx, "not run: the run was deleted")
		if err != nil {
			return err
		}
		if running > 0 {
			p.st.Reason, p.st.Message = "Deleting", fmt.Sprintf("deleting: waiting for %d step(s) to stop", running)
			return p.write(ctx)
		}
		p.forgetJobs(ctx)
	}
	dir := p.h.Layout.RunDir(p.obj.Meta.Environment, p.obj.Meta.Name)
	if b, err := os.ReadFile(p.h.Layout.OwnerFile(p.obj.Meta.Environment, p.obj.Meta.Name)); err == nil && string(b) == p.obj.Meta.UID {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("removing the directory of %s: %w", p.obj.Ref(), err)
		}
	}
	return p.h.Store.Finalize(ctx, p.obj.Ref(), p.obj.Meta.UID, "reconciler")
}

func (p *runPass) write(ctx context.Context) error {
	return writeStatus(ctx, p.h.Store, p.obj, p.st)
}
