package runtime

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// StepDriver runs the steps of pipeline runs on a compute pool's machines.
// Reconcilers call it on every pass, so every method returns at once and is
// idempotent: a job is named by a JobID that the caller can compute again
// (NewJobID), so a reconciler that crashed between Submit and recording it
// submits again and gets the same job, never a second one.
type StepDriver interface {
	// Submit starts job, or does nothing when a job with its ID exists, and
	// returns the ID. An error means nothing was started and the caller may
	// try again; a job that starts but cannot run (a missing program) is
	// started, and Status reports it failed.
	Submit(ctx context.Context, job StepJob) (JobID, error)
	// Status reports the job's state. A job the driver does not know (it
	// never ran, or the driver restarted and lost it) is JobLost, not an
	// error; errors mean the driver could not be asked.
	Status(ctx context.Context, id JobID) (JobState, error)
	// Cancel asks the job to stop; it ends JobCancelled once its processes
	// are gone. Cancelling a finished or unknown job does nothing.
	Cancel(ctx context.Context, id JobID) error
	// Delete stops the job if it still runs and forgets it; its logs stay.
	// Deleting an unknown job does nothing.
	Delete(ctx context.Context, id JobID) error
}

// JobID names one attempt of one step of one run.
type JobID string

// NewJobID is the ID of an attempt: the same inputs always give the same ID.
func NewJobID(runUID, step string, attempt int64) JobID {
	return JobID(runUID + "." + step + "." + strconv.FormatInt(attempt, 10))
}

// StepJob is one attempt of one step.
type StepJob struct {
	// RunUID, Step and Attempt make the JobID.
	RunUID  string
	Step    string
	Attempt int64
	// Environment and Run name the run; they place its directory.
	Environment string
	Run         string
	// Pool is the compute pool the step runs on.
	Pool string
	// Command is the program and its arguments; Image is a container image
	// for drivers that run containers. Exactly one is set.
	Command []string
	Image   string
	// Env is the step's own environment.
	Env map[string]string
	// Parameters are the run's resolved parameters; each is passed as
	// MLOPS_PARAM_<NAME in upper case>.
	Parameters map[string]string
	// Timeout bounds the attempt; zero means none.
	Timeout time.Duration
}

// ID returns the job's JobID.
func (j StepJob) ID() JobID { return NewJobID(j.RunUID, j.Step, j.Attempt) }

// JobPhase is where a job is.
type JobPhase string

// Job phases.
const (
	JobRunning   JobPhase = "running"
	JobSucceeded JobPhase = "succeeded"
	JobFailed    JobPhase = "failed"
	JobCancelled JobPhase = "cancelled"
	// JobLost means the driver does not know the job: it never ran here, or
	// the driver restarted while it ran. Its outcome is unknown.
	JobLost JobPhase = "lost"
)

// Done reports whether the job ended.
func (p JobPhase) Done() bool { return p != JobRunning }

// JobState is what a driver observed about a job.
type JobState struct {
	Phase JobPhase
	// ExitCode is set once the process exited on its own or by a signal
	// (-1 then); nil while running, for lost jobs, and when it never started.
	ExitCode *int64
	// Message explains a failure, e.g. "exit code 3" or "timed out after 60s".
	Message string
	// TimedOut is true when the driver killed the job at its timeout.
	TimedOut   bool
	StartedAt  time.Time
	FinishedAt time.Time
}

// RunLayout places the files of runs under one directory, the same for the
// driver that writes them and the control plane that reads them (logs,
// outputs, artifacts). A driver for a cluster uses a shared file system.
//
//	<root>/<env>/<run>/                 the run's working directory
//	<root>/<env>/<run>/output/          MLOPS_OUTPUT_DIR, shared by the steps
//	<root>/<env>/<run>/logs/<step>.<attempt>.log
//	<root>/_artifacts/<env>/<run>/<run uid>/   registered artifacts, never overwritten
//
// "_artifacts" cannot be an environment name, so the trees never meet.
type RunLayout struct {
	Root string
}

// RunDir is the run's working directory.
func (l RunLayout) RunDir(env, run string) string { return filepath.Join(l.Root, env, run) }

// OutputDir is the directory the run's steps write their outputs to.
func (l RunLayout) OutputDir(env, run string) string {
	return filepath.Join(l.RunDir(env, run), "output")
}

// OwnerFile holds the uid of the run a run directory belongs to, so that a
// directory left by an earlier run of the same name is never taken for the
// current run's.
func (l RunLayout) OwnerFile(env, run string) string {
	return filepath.Join(l.RunDir(env, run), ".run-uid")
}

// LogDir holds the run's step logs.
func (l RunLayout) LogDir(env, run string) string { return filepath.Join(l.RunDir(env, run), "logs") }

// LogPath is the log of one attempt of one step.
func (l RunLayout) LogPath(env, run, step string, attempt int64) string {
	return filepath.Join(l.LogDir(env, run), fmt.Sprintf("%s.%d.log", step, attempt))
}

// ArtifactDir is where a run's registered artifacts are kept. The run's uid
// is part of it, so a later run that reuses the name never overwrites them.
func (l RunLayout) ArtifactDir(env, run, runUID string) string {
	return filepath.Join(l.Root, "_artifacts", env, run, runUID)
}
