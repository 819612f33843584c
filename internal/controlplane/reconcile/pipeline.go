package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// triggerActor is who the audit log names for runs that triggers start.
const triggerActor = "pipeline-trigger"

// maxRunProbe bounds how many run names one pass looks at to catch up with
// runs that others started.
const maxRunProbe = 100

// PipelineHandler watches training pipelines. It sees every pipeline on
// every pass (it is a Watcher) because what it reacts to changes outside the
// store:
//
//   - a cron schedule comes due: one run starts, even when several fire
//     times passed while mlopsd was down;
//   - a file watched by on_new_data changes content (its SHA-256): one run
//     starts; the first hash seen is the baseline and starts nothing;
//   - an alarm named in triggers.on_alarm, or one whose
//     actions.start_pipelines names the pipeline, enters ALARM: one run
//     starts per such transition (trigger alarm); of the transitions an
//     alarm made before the pipeline first saw it, only the newest into
//     ALARM made since both existed starts one (firstSightBaseline);
//   - runs started by others (the manual-run route) are counted into
//     status.run_count and status.last_run.
//
// Runs a trigger starts carry an idempotency key derived from the
// pipeline's uid and the fire time, the hashes or the alarm's uid and
// transition, so a crash between the
// run's create and the status write never starts a second run.
//
// Deleting a pipeline cancels its active runs, waits until they stopped,
// deletes all of its runs and their directories, then removes the
// pipeline. The audit log keeps the runs' history; the model versions they
// registered stay, with lineage naming the run.
type PipelineHandler struct {
	Store store.Store
	// Now is injectable for tests; nil means time.Now.
	Now func() time.Time

	hashes pipeline.HashCache
}

var _ Watcher = (*PipelineHandler)(nil)

// WatchAll implements Watcher.
func (h *PipelineHandler) WatchAll() bool { return true }

func (h *PipelineHandler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// Reconcile implements Handler.
func (h *PipelineHandler) Reconcile(ctx context.Context, obj *store.Object) error {
	now := h.now()
	var st api.TrainingPipelineStatus
	if err := json.Unmarshal(obj.Status, &st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", obj.Ref(), err)
	}
	if obj.Meta.DeletionRequestedAt != nil {
		return h.teardown(ctx, obj, st, now)
	}
	var spec api.TrainingPipelineSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	st.ObservedGeneration = obj.Meta.Generation
	if err := h.countRuns(ctx, obj, &st); err != nil {
		return err
	}

	// A pipeline whose pool or model is gone cannot run; triggers wait.
	if reason, msg, err := h.checkRefs(ctx, obj.Meta.Environment, spec); err != nil {
		return err
	} else if reason != "" {
		st.Phase, st.Reason, st.Message = api.PhaseFailed, reason, msg
		st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: reason, Message: msg}, now)
		return h.write(ctx, obj, st)
	}

	var notes []string
	if err := h.schedule(ctx, obj, spec, &st, now); err != nil {
		return err
	}
	if st.NextScheduledAt != nil {
		notes = append(notes, "next scheduled run at "+st.NextScheduledAt.Format(time.RFC3339))
	}
	waiting, err := h.newData(ctx, obj, spec, &st, now)
	if err != nil {
		return err
	}
	if n := len(spec.Triggers.OnNewData); n > 0 {
		notes = append(notes, fmt.Sprintf("watching %d file(s) for new data", n))
	}
	notes = append(notes, waiting...)
	alarmNotes, err := h.alarmTriggers(ctx, obj, spec, &st)
	if err != nil {
		return err
	}
	notes = append(notes, alarmNotes...)
	if len(notes) == 0 {
		notes = append(notes, "runs start manually")
	}
	st.Phase, st.Reason, st.Message = api.PhaseReady, "", strings.Join(notes, "; ")
	st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionTrue, Reason: "TriggersArmed", Message: st.Message}, now)
	return h.write(ctx, obj, st)
}

// checkRefs returns a reason and message when the pipeline's compute pool
// or model no longer exists.
func (h *PipelineHandler) checkRefs(ctx context.Context, env string, spec api.TrainingPipelineSpec) (reason, msg string, err error) {
	for _, ref := range []struct{ kind, name, reason, what string }{
		{api.KindComputePool, spec.ComputePool, "ComputePoolNotFound", "compute pool"},
		{api.KindModel, spec.Model, "ModelNotFound", "model"},
	} {
		_, err := h.Store.Get(ctx, api.Ref{Kind: ref.kind, Environment: env, Name: ref.name})
		if hasCode(err, api.ENOTFOUND) {
			return ref.reason, fmt.Sprintf("%s %q does not exist in environment %q; create it again or point the pipeline at another one", ref.what, ref.name, env), nil
		}
		if err != nil {
			return "", "", err
		}
	}
	return "", "", nil
}

// countRuns moves status.last_run and run_count past the runs that exist:
// those the manual-run route started since the last pass.
func (h *PipelineHandler) countRuns(ctx context.Context, obj *store.Object, st *api.TrainingPipelineStatus) error {
	last, _ := pipeline.RunNumber(obj.Meta.Name, st.LastRun)
	for n := last + 1; n <= last+maxRunProbe; n++ {
		name := pipeline.RunName(obj.Meta.Name, n)
		run, err := h.Store.Get(ctx, api.Ref{Kind: api.KindPipelineRun, Environment: obj.Meta.Environment, Name: name})
		if hasCode(err, api.ENOTFOUND) {
			// StartRun skips the names of model versions (registered by
			// runs of an earlier pipeline of this name): look past them.
			if _, err := h.Store.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: obj.Meta.Environment, Name: name}); err == nil {
				continue
			} else if !hasCode(err, api.ENOTFOUND) {
				return err
			}
			return nil
		}
		if err != nil {
			return err
		}
		var rs api.PipelineRunSpec
		if err := json.Unmarshal(run.Spec, &rs); err != nil {
			return fmt.Errorf("decoding spec of %s: %w", run.Ref(), err)
		}
		// Runs of an earlier pipeline of the same name are history of
		// that one, not this one's.
		if rs.PipelineUID == obj.Meta.UID {
			st.RunCount++
			st.LastRun = name
		}
	}
	return nil
}

// started records a run this handler started.
func started(obj *store.Object, st *api.TrainingPipelineStatus, run *store.Object) {
	n, ok := pipeline.RunNumber(obj.Meta.Name, run.Meta.Name)
	last, _ := pipeline.RunNumber(obj.Meta.Name, st.LastRun)
	if ok && n > last {
		st.RunCount++
		st.LastRun = run.Meta.Name
	}
}

// startRun starts a run with the pipeline's default parameters.
func (h *PipelineHandler) startRun(ctx context.Context, obj *store.Object, spec api.TrainingPipelineSpec, st *api.TrainingPipelineStatus, trigger, key string) error {
	params, err := pipeline.ResolveParameters(spec.Parameters, nil)
	if err != nil {
		// The server refuses triggers on pipelines with required
		// parameters, so this is a spec written around the rules.
		return fmt.Errorf("%s trigger of %s: %w", trigger, obj.Ref(), err)
	}
	res, err := pipeline.StartRun(ctx, h.Store, obj, trigger, params, pipeline.SystemWrite(triggerActor, key))
	if err != nil {
		return fmt.Errorf("starting a %s run of %s: %w", trigger, obj.Ref(), err)
	}
	started(obj, st, res.Object)
	return nil
}

// schedule keeps status.next_scheduled_at and starts a run when it passed.
func (h *PipelineHandler) schedule(ctx context.Context, obj *store.Object, spec api.TrainingPipelineSpec, st *api.TrainingPipelineStatus, now time.Time) error {
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
		if err := h.startRun(ctx, obj, spec, st, api.TriggerSchedule, key); err != nil {
			return err
		}
	}
	st.NextScheduledAt = &next
	return nil
}

// newData hashes the watched files and starts one run when any changed
// since the last pass. A file modified less than pipeline.QuietPeriod ago
// is not looked at yet, so a file being written starts one run, on its
// whole content. It returns notes on files it cannot read.
func (h *PipelineHandler) newData(ctx context.Context, obj *store.Object, spec api.TrainingPipelineSpec, st *api.TrainingPipelineStatus, now time.Time) ([]string, error) {
	if len(spec.Triggers.OnNewData) == 0 {
		st.DataHashes = nil
		return nil, nil
	}
	var notes, changed []string
	hashes := map[string]string{}
	for _, uri := range spec.Triggers.OnNewData {
		old, seen := st.DataHashes[uri]
		path, err := pipeline.FilePath(uri)
		if err == nil {
			var sum string
			if sum, err = h.hashes.SettledHash(path, now); err == nil {
				hashes[uri] = sum
				if seen && old != sum {
					changed = append(changed, uri+"@"+old+">"+sum)
				}
				continue
			}
		}
		// A file that is missing now (being replaced, say) or still being
		// written keeps its last hash: its return, or its writer's end,
		// with other content is a change.
		if seen {
			hashes[uri] = old
		}
		if errors.Is(err, pipeline.ErrSettling) {
			// Not worth a status write: it settles within a second.
			continue
		}
		notes = append(notes, fmt.Sprintf("cannot read %s: %v", uri, errorText(err)))
	}
	if len(changed) > 0 {
		sort.Strings(changed)
		key := fmt.Sprintf("trigger/%s/new_data/%s", obj.Meta.UID, strings.Join(changed, ","))
		if err := h.startRun(ctx, obj, spec, st, api.TriggerNewData, key); err != nil {
			return nil, err
		}
	}
	st.DataHashes = hashes
	if len(hashes) == 0 {
		st.DataHashes = nil
	}
	return notes, nil
}

func errorText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// teardown cancels the pipeline's active runs, waits until they stopped,
// deletes all of its runs (their teardown removes their directories;
// registered artifacts live elsewhere and stay) and removes the pipeline
// once none is left. Runs are matched by the pipeline's name and uid, so
// the runs of an earlier pipeline of the same name are not this one's. The
// audit log keeps the runs' history, and model versions keep their lineage
// by run name.
func (h *PipelineHandler) teardown(ctx context.Context, obj *store.Object, st api.TrainingPipelineStatus, now time.Time) error {
	runs, err := listEnv(ctx, h.Store, api.KindPipelineRun, obj.Meta.Environment)
	if err != nil {
		return err
	}
	var active, left int
	for _, run := range runs {
		var rs api.PipelineRunSpec
		var rst api.PipelineRunStatus
		if err := json.Unmarshal(run.Spec, &rs); err != nil {
			return fmt.Errorf("decoding spec of %s: %w", run.Ref(), err)
		}
		if err := json.Unmarshal(run.Status, &rst); err != nil {
			return fmt.Errorf("decoding status of %s: %w", run.Ref(), err)
		}
		if rs.Pipeline != obj.Meta.Name || rs.PipelineUID != obj.Meta.UID {
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
		// A finished run goes; the run reconciler removes its directory
		// and then the run.
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
		st.Message = fmt.Sprintf("waiting for %d active run(s) to stop before deleting the pipeline's %d run(s)", active, left)
	} else {
		st.Reason = "DeletingRuns"
		st.Message = fmt.Sprintf("deleting the pipeline's %d run(s)", left)
	}
	st.Conditions = setCondition(st.Conditions, api.Condition{Type: api.ConditionReady, Status: api.ConditionFalse, Reason: "Deleting", Message: st.Message}, now)
	return h.write(ctx, obj, st)
}

func (h *PipelineHandler) write(ctx context.Context, obj *store.Object, st api.TrainingPipelineStatus) error {
	return writeStatus(ctx, h.Store, obj, st)
}

// writeStatus stores st unless it equals the stored status, so a pass that
// changes nothing writes nothing.
func writeStatus(ctx context.Context, s store.Store, obj *store.Object, st any) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if string(b) == string(obj.Status) {
		return nil
	}
	_, err = s.UpdateStatus(ctx, obj.Ref(), obj.Meta.UID, b)
	return err
}

// hasCode reports whether err is an *api.Error with code.
func hasCode(err error, code string) bool {
	var apiErr *api.Error
	return errors.As(err, &apiErr) && apiErr.Code == code
}

// firstSightBaseline is the transition count below which a pipeline that
// sees alarm a for the first time starts nothing. An alarm can enter ALARM
// before the pipeline handler's first pass over it (an alarm created with
// actions.start_pipelines whose metric is already over the threshold), and
// that transition must still start its run; transitions from before both
// existed (an old alarm named by a new pipeline) start nothing. Of those in
// between, only the newest into ALARM counts, so a relation declared late
// starts at most one run for what happened before it was seen.
func firstSightBaseline(pipeline, a *store.Object, as api.AlarmStatus) int64 {
	since := pipeline.Meta.CreatedAt
	if a.Meta.CreatedAt.After(since) {
		since = a.Meta.CreatedAt
	}
	for i := len(as.History) - 1; i >= 0; i-- {
		tr := as.History[i]
		if tr.At.Before(since) {
			break
		}
		if tr.To == api.AlarmStateAlarm {
			return tr.Seq - 1
		}
	}
	return as.TransitionCount
}

// alarmTriggers starts one run for each transition into ALARM of the alarms
// the pipeline watches since it last looked, and returns notes on what it
// watches. The alarms are those of triggers.on_alarm (which need not exist
// yet) and those whose actions.start_pipelines name the pipeline. Each
// alarm is known by its uid, so a deleted and recreated alarm starts over.
func (h *PipelineHandler) alarmTriggers(ctx context.Context, obj *store.Object, spec api.TrainingPipelineSpec, st *api.TrainingPipelineStatus) ([]string, error) {
	alarms, err := listEnv(ctx, h.Store, api.KindAlarm, obj.Meta.Environment)
	if err != nil {
		return nil, err
	}
	byName := map[string]*store.Object{}
	var watched []string
	for _, a := range alarms {
		byName[a.Meta.Name] = a
		var as api.AlarmSpec
		if err := json.Unmarshal(a.Spec, &as); err != nil {
			return nil, fmt.Errorf("decoding spec of %s: %w", a.Ref(), err)
		}
		if slices.Contains(as.Actions.StartPipelines, obj.Meta.Name) {
			watched = append(watched, a.Meta.Name)
		}
	}
	var missing []string
	for _, name := range spec.Triggers.OnAlarm {
		if byName[name] == nil {
			missing = append(missing, name)
		} else if !slices.Contains(watched, name) {
			watched = append(watched, name)
		}
	}
	sort.Strings(watched)
	seen := map[string]int64{}
	for _, name := range watched {
		a := byName[name]
		var as api.AlarmStatus
		if err := json.Unmarshal(a.Status, &as); err != nil {
			return nil, fmt.Errorf("decoding status of %s: %w", a.Ref(), err)
		}
		last, known := st.AlarmTransitions[a.Meta.UID]
		if !known {
			last = firstSightBaseline(obj, a, as)
		}
		for _, tr := range as.History {
			if tr.Seq <= last || tr.To != api.AlarmStateAlarm {
				continue
			}
			key := fmt.Sprintf("trigger/%s/alarm/%s/%d", obj.Meta.UID, a.Meta.UID, tr.Seq)
			if err := h.startRun(ctx, obj, spec, st, api.TriggerAlarm, key); err != nil {
				return nil, err
			}
		}
		seen[a.Meta.UID] = max(as.TransitionCount, last)
	}
	st.AlarmTransitions = seen
	if len(seen) == 0 {
		st.AlarmTransitions = nil
	}
	var notes []string
	if len(watched) > 0 {
		notes = append(notes, fmt.Sprintf("a run starts whenever alarm %s enters ALARM", quoteJoin(watched)))
	}
	if len(missing) > 0 {
		notes = append(notes, fmt.Sprintf("alarm %s of triggers.on_alarm does not exist yet", quoteJoin(missing)))
	}
	return notes, nil
}

// quoteJoin quotes names and joins them with commas.
func quoteJoin(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
