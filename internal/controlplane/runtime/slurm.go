package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Slurm talks to an existing Slurm cluster through its command-line
// clients (sinfo, scontrol, squeue, sbatch, scancel), which find the
// cluster through SLURM_CONF. The machine mlopsd runs on needs those
// clients and munge with the cluster's key.
type Slurm struct {
	// Conf is the cluster's slurm.conf; empty means the clients' default.
	Conf string
	// Timeout bounds each client command (default 20s).
	Timeout time.Duration
}

// run runs a Slurm client and returns its standard output. Its error holds
// the client's standard error, which is where Slurm explains itself.
func (s *Slurm) run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env == nil {
		env = os.Environ()
	}
	if s.Conf != "" {
		env = append(env, "SLURM_CONF="+s.Conf)
	}
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		if msg == "" {
			msg = err.Error()
		}
		return stdout.String(), &slurmError{cmd: name, msg: msg}
	}
	return stdout.String(), nil
}

type slurmError struct{ cmd, msg string }

func (e *slurmError) Error() string { return e.cmd + ": " + e.msg }

// SlurmPartition is the partition a Slurm pool maps onto: its
// slurm_partition, or else its name.
func SlurmPartition(pool string, spec api.ComputePoolSpec) string {
	if spec.SlurmPartition != "" {
		return spec.SlurmPartition
	}
	return pool
}

// PoolObservation is what a driver that does not provision nodes itself
// observed about a pool's capacity.
type PoolObservation struct {
	// NodesUp is how many nodes can run work now.
	NodesUp int64
	// NodesTotal is how many nodes the pool has in any state.
	NodesTotal int64
	// GPUsTotal and GPUsFree count the accelerators of the nodes up.
	GPUsTotal, GPUsFree int64
	// Detail is a short description for the pool's status message.
	Detail string
}

// PoolObserver is implemented by pool drivers whose nodes exist outside
// mlopsd (a Slurm partition): the pool reconciler reports what Observe sees
// instead of stepping towards a node count. A nil observation means the
// driver of this spec has nothing to observe.
type PoolObserver interface {
	Observe(ctx context.Context, ref api.Ref, spec api.ComputePoolSpec) (*PoolObservation, error)
}

// Observes reports whether d, or one of the drivers it picks from, is a
// PoolObserver whose pools must be looked at on every pass, at rest too.
func Observes(d PoolDriver) bool {
	if m, ok := d.(PoolDrivers); ok {
		for _, d := range m {
			if Observes(d) {
				return true
			}
		}
		return false
	}
	_, ok := d.(PoolObserver)
	return ok
}

// PoolError is a failure of a pool with a reason for its status.
type PoolError struct {
	Reason  string
	Message string
}

func (e *PoolError) Error() string { return e.Message }

// PoolDrivers picks the pool driver by the spec's driver.
type PoolDrivers map[string]PoolDriver

var (
	_ PoolDriver   = PoolDrivers(nil)
	_ PoolObserver = PoolDrivers(nil)
)

// Capacity implements PoolDriver.
func (m PoolDrivers) Capacity(spec api.ComputePoolSpec) int64 {
	if d, ok := m[spec.Driver]; ok {
		return d.Capacity(spec)
	}
	return 0
}

// Step implements PoolDriver.
func (m PoolDrivers) Step(ctx context.Context, ref api.Ref, spec api.ComputePoolSpec, current, target int64) (int64, error) {
	d, ok := m[spec.Driver]
	if !ok {
		if target < current {
			// Nothing this mlopsd can release: let the pool go.
			return target, nil
		}
		return current, fmt.Errorf("driver %q is not configured in this mlopsd", spec.Driver)
	}
	return d.Step(ctx, ref, spec, current, target)
}

// Observe implements PoolObserver.
func (m PoolDrivers) Observe(ctx context.Context, ref api.Ref, spec api.ComputePoolSpec) (*PoolObservation, error) {
	if o, ok := m[spec.Driver].(PoolObserver); ok {
		return o.Observe(ctx, ref, spec)
	}
	return nil, nil
}

// SlurmPool is the pool driver of pools with driver "slurm": a pool is a
// Slurm partition, whose nodes Slurm owns. It provisions nothing; it reads
// the partition's nodes and GRES with sinfo and checks that they can serve
// the pool's accelerators.
type SlurmPool struct {
	Slurm *Slurm
}

var (
	_ PoolDriver   = (*SlurmPool)(nil)
	_ PoolObserver = (*SlurmPool)(nil)
)

// Capacity implements PoolDriver: the partition, not mlopsd, bounds the
// pool, so Observe checks min_nodes against it.
func (p *SlurmPool) Capacity(api.ComputePoolSpec) int64 { return 1000 }

// Step implements PoolDriver. Slurm owns the nodes: nothing is provisioned
// or released, so the pool is at its target at once (deleting a pool
// leaves the partition alone).
func (p *SlurmPool) Step(_ context.Context, _ api.Ref, _ api.ComputePoolSpec, _, target int64) (int64, error) {
	return target, nil
}

// slurmNode is one line of sinfo -N for a partition.
type slurmNode struct {
	name, state string
	gres        []gres
	gpusUsed    int64
}

type gres struct {
	typ   string
	count int64
}

// Observe implements PoolObserver.
func (p *SlurmPool) Observe(ctx context.Context, ref api.Ref, spec api.ComputePoolSpec) (*PoolObservation, error) {
	part := SlurmPartition(ref.Name, spec)
	if _, err := p.Slurm.run(ctx, nil, "scontrol", "show", "partition", part, "-o"); err != nil {
		if strings.Contains(err.Error(), "not found") {
			return nil, &PoolError{Reason: "PartitionNotFound", Message: fmt.Sprintf(
				"Slurm partition %q does not exist; create it in slurm.conf, or set slurm_partition to an existing partition (sinfo lists them)", part)}
		}
		return nil, fmt.Errorf("asking Slurm about partition %q: %w", part, err)
	}
	out, err := p.Slurm.run(ctx, nil, "sinfo", "-h", "-N", "-p", part, "-O", "NodeHost:|,StateLong:|,Gres:|,GresUsed:|")
	if err != nil {
		return nil, fmt.Errorf("listing the nodes of Slurm partition %q: %w", part, err)
	}
	nodes := parseSinfoNodes(out)
	obs := &PoolObservation{NodesTotal: int64(len(nodes))}
	var fitting int64
	var offered []string
	for _, n := range nodes {
		gpus := n.gpus("")
		up := nodeUp(n.state)
		if up {
			obs.NodesUp++
			obs.GPUsTotal += gpus
			obs.GPUsFree += max(gpus-n.gpusUsed, 0)
		}
		for _, g := range n.gres {
			offered = append(offered, fmt.Sprintf("gpu:%s:%d", g.typ, g.count))
		}
		if spec.AcceleratorCount == 0 || n.fits(spec.AcceleratorType, spec.AcceleratorCount) {
			fitting++
		}
	}
	if len(nodes) == 0 {
		return nil, &PoolError{Reason: "PartitionEmpty", Message: fmt.Sprintf("Slurm partition %q has no nodes", part)}
	}
	if fitting == 0 {
		have := "no GPUs"
		if len(offered) > 0 {
			have = "GRES " + strings.Join(dedupe(offered), ", ")
		}
		return nil, &PoolError{Reason: "InsufficientAccelerators", Message: fmt.Sprintf(
			"no node of Slurm partition %q can serve %d × %s per node: its nodes have %s; use a partition whose GRES (gres.conf) has at least %d GPUs of a type matching %q, or change accelerator_type/accelerator_count",
			part, spec.AcceleratorCount, spec.AcceleratorType, have, spec.AcceleratorCount, spec.AcceleratorType)}
	}
	if spec.MinNodes > fitting {
		return nil, &PoolError{Reason: "InsufficientCapacity", Message: fmt.Sprintf(
			"min_nodes %d is more than the %d nodes of Slurm partition %q that fit the pool; lower min_nodes", spec.MinNodes, fitting, part)}
	}
	obs.Detail = fmt.Sprintf("Slurm partition %q: %d of %d nodes up, %d of %d GPUs free", part, obs.NodesUp, obs.NodesTotal, obs.GPUsFree, obs.GPUsTotal)
	return obs, nil
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// nodeUp reports whether a node in this sinfo state can run jobs.
func nodeUp(state string) bool {
	state = strings.TrimRight(state, "*~#!%$@^-")
	base, flags, _ := strings.Cut(state, "+")
	switch base {
	case "idle", "mixed", "allocated", "completing":
	default:
		return false
	}
	return !strings.Contains(flags, "drain") && !strings.Contains(flags, "fail") && !strings.Contains(flags, "maint")
}

// gpus counts the node's GPUs of a type matching accel ("" counts all).
func (n slurmNode) gpus(accel string) int64 {
	var c int64
	for _, g := range n.gres {
		if accel == "" || typeMatches(accel, g.typ) {
			c += g.count
		}
	}
	return c
}

func (n slurmNode) fits(accel string, count int64) bool { return n.gpus(accel) >= count }

// typeMatches reports whether a GRES type serves an accelerator_type: an
// untyped GRES serves any, and a type matches the accelerator type itself
// or its last dash-separated part(s) (a100 serves nvidia-a100).
func typeMatches(accel, typ string) bool {
	typ = strings.ToLower(typ)
	return typ == "" || typ == accel || strings.HasSuffix(accel, "-"+typ)
}

// parseSinfoNodes parses sinfo -N -O NodeHost:|,StateLong:|,Gres:|,GresUsed:|.
func parseSinfoNodes(out string) []slurmNode {
	var nodes []slurmNode
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) < 4 || f[0] == "" || seen[f[0]] {
			continue
		}
		seen[f[0]] = true
		n := slurmNode{name: f[0], state: strings.ToLower(f[1]), gres: parseGres(f[2])}
		for _, g := range parseGres(f[3]) {
			n.gpusUsed += g.count
		}
		nodes = append(nodes, n)
	}
	return nodes
}

// parseGres parses a GRES list such as "gpu:tesla:2(S:0),gpu:1" or
// "gpu:tesla:0(IDX:N/A)", keeping the GPUs.
func parseGres(s string) []gres {
	var out []gres
	// Commas also appear inside "(S:0-1)" parentheses; drop those first.
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	for _, item := range strings.Split(b.String(), ",") {
		parts := strings.Split(strings.TrimSpace(item), ":")
		if len(parts) < 2 || parts[0] != "gpu" {
			continue
		}
		count, err := strconv.ParseInt(parts[len(parts)-1], 10, 64)
		if err != nil {
			continue
		}
		g := gres{count: count}
		if len(parts) >= 3 {
			g.typ = parts[1]
		}
		out = append(out, g)
	}
	return out
}

// PoolSpecFunc looks up a compute pool's spec.
type PoolSpecFunc func(ctx context.Context, env, pool string) (api.ComputePoolSpec, error)

// SlurmSteps is the StepDriver of Slurm pools: every attempt is one batch
// job, submitted with sbatch to the pool's partition, with --gres=gpu:<n>
// for pools with accelerators, its working directory the run's directory
// and its output the step's log (RunLayout.LogPath), so the run directory
// must be on a file system the cluster's nodes share with mlopsd.
//
// The job's name is "mlops-<JobID>" and its comment the JobID, so that
// Submit finds a job it submitted before (squeue --name) instead of
// submitting twice. Slurm forgets finished jobs after MinJobAge; the batch
// script writes its exit code to a file under <root>/_slurm, which keeps the
// outcome as long as the runs directory.
type SlurmSteps struct {
	Slurm  *Slurm
	Layout RunLayout
	// Pools looks up the spec of the pool a step runs on.
	Pools PoolSpecFunc
	// Base is the environment every step starts from (exported to the job);
	// nil means mlopsd's environment without MLOPS_* and MLOPSD_* variables.
	Base []string
}

var _ StepDriver = (*SlurmSteps)(nil)

// JobName is the Slurm job name of an attempt.
func (s *SlurmSteps) JobName(id JobID) string { return "mlops-" + string(id) }

func (s *SlurmSteps) stateDir() string { return filepath.Join(s.Layout.Root, "_slurm") }

// file is a per-attempt file of the driver: .sh (batch script), .jobid
// (Slurm's job ID, once submitted), .exit (exit code, once it ended),
// .cancelled (Cancel was asked).
func (s *SlurmSteps) file(id JobID, ext string) string {
	return filepath.Join(s.stateDir(), string(id)+ext)
}

// slurmJob is what squeue and scontrol say about a job.
type slurmJob struct {
	id      string
	state   string
	reason  string
	exit    string
	start   string
	end     string
	comment string
}

// find returns the newest job named for id that Slurm still knows.
func (s *SlurmSteps) find(ctx context.Context, id JobID) (*slurmJob, error) {
	out, err := s.Slurm.run(ctx, nil, "squeue", "-h", "-t", "all", "--name="+s.JobName(id), "-o", "%i|%T|%k")
	if err != nil {
		return nil, fmt.Errorf("asking Slurm for job %s: %w", s.JobName(id), err)
	}
	var best *slurmJob
	bestN := -1
	for _, line := range strings.Split(out, "\n") {
		f := strings.SplitN(strings.TrimSpace(line), "|", 3)
		if len(f) < 3 || f[2] != string(id) {
			continue
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < bestN {
			continue
		}
		bestN, best = n, &slurmJob{id: f[0], state: f[1], comment: f[2]}
	}
	if best == nil {
		return nil, nil
	}
	// scontrol has the exit code and times; the job may be gone already.
	if out, err := s.Slurm.run(ctx, nil, "scontrol", "show", "job", "-o", best.id); err == nil {
		kv := parseKV(out)
		best.state = kv["JobState"]
		best.reason = kv["Reason"]
		best.exit = kv["ExitCode"]
		best.start = kv["StartTime"]
		best.end = kv["EndTime"]
	}
	return best, nil
}

// parseKV parses scontrol's one-line key=value output.
func parseKV(out string) map[string]string {
	kv := map[string]string{}
	for _, f := range strings.Fields(out) {
		if k, v, ok := strings.Cut(f, "="); ok {
			if _, dup := kv[k]; !dup {
				kv[k] = v
			}
		}
	}
	return kv
}

// Submit implements StepDriver.
func (s *SlurmSteps) Submit(ctx context.Context, job StepJob) (JobID, error) {
	id := job.ID()
	if job.RunUID == "" || job.Step == "" || job.Attempt < 1 || job.Environment == "" || job.Run == "" {
		return "", fmt.Errorf("job %q lacks its run, step or attempt", id)
	}
	existing, err := s.find(ctx, id)
	if err != nil {
		return "", err
	}
	if existing != nil {
		return id, nil
	}
	for _, ext := range []string{".jobid", ".exit"} {
		if _, err := os.Stat(s.file(id, ext)); err == nil {
			return id, nil
		}
	}
	runDir := s.Layout.RunDir(job.Environment, job.Run)
	if err := prepareRunDir(runDir, s.Layout.OwnerFile(job.Environment, job.Run), job.RunUID); err != nil {
		return "", err
	}
	for _, dir := range []string{s.Layout.OutputDir(job.Environment, job.Run), s.Layout.LogDir(job.Environment, job.Run), s.stateDir()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	logPath := s.Layout.LogPath(job.Environment, job.Run, job.Step, job.Attempt)
	if len(job.Command) == 0 {
		msg := "the step has no command"
		if job.Image != "" {
			msg = fmt.Sprintf("the slurm driver runs commands, not container images (%s); set command instead of image", job.Image)
		}
		return s.failNow(id, logPath, msg)
	}
	spec, err := s.Pools(ctx, job.Environment, job.Pool)
	if err != nil {
		return "", fmt.Errorf("looking up compute pool %q: %w", job.Pool, err)
	}
	script := s.script(id, job.Command)
	if err := os.WriteFile(s.file(id, ".sh"), []byte(script), 0o755); err != nil {
		return "", err
	}
	args := []string{
		"--parsable",
		"--job-name=" + s.JobName(id),
		"--comment=" + string(id),
		"--partition=" + SlurmPartition(job.Pool, spec),
		"--chdir=" + runDir,
		"--output=" + logPath,
		"--open-mode=append",
		"--export=ALL",
		"--nodes=1", "--ntasks=1",
	}
	if spec.AcceleratorCount > 0 {
		args = append(args, fmt.Sprintf("--gres=gpu:%d", spec.AcceleratorCount))
	}
	if job.Timeout > 0 {
		args = append(args, fmt.Sprintf("--time=%d", int64((job.Timeout+time.Minute-1)/time.Minute)))
	}
	args = append(args, s.file(id, ".sh"))
	out, err := s.Slurm.run(ctx, s.environ(job, runDir), "sbatch", args...)
	var se *slurmError
	if errors.As(err, &se) && strings.Contains(se.msg, "Batch job submission failed") {
		// slurmctld refused the job itself (more GPUs or CPUs than the
		// partition has, say): submitting again cannot help, so the
		// attempt fails with Slurm's reason.
		return s.failNow(id, logPath, fmt.Sprintf("Slurm refused the job on partition %q: %s", SlurmPartition(job.Pool, spec), strings.TrimPrefix(se.msg, "sbatch: error: ")))
	}
	if err != nil {
		return "", fmt.Errorf("submitting %s to Slurm partition %q: %w", s.JobName(id), SlurmPartition(job.Pool, spec), err)
	}
	jobID, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if err := os.WriteFile(s.file(id, ".jobid"), []byte(jobID+"\n"), 0o644); err != nil {
		return "", err
	}
	return id, nil
}

// failNow records an attempt that cannot start as failed, in its log and
// its exit file, without submitting anything.
func (s *SlurmSteps) failNow(id JobID, logPath, msg string) (JobID, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(f, "mlopsd: %s\n", msg)
	f.Close()
	if err := os.WriteFile(s.file(id, ".exit"), []byte("failed "+msg+"\n"), 0o644); err != nil {
		return "", err
	}
	return id, nil
}

// script is the batch script: it runs the command, then writes its exit
// code to the .exit file (through a rename, so a reader never sees half).
func (s *SlurmSteps) script(id JobID, command []string) string {
	quoted := make([]string, len(command))
	for i, a := range command {
		quoted[i] = shellQuote(a)
	}
	exit := shellQuote(s.file(id, ".exit"))
	return fmt.Sprintf(`#!/bin/sh
# mlopsd step %s
%s
rc=$?
if [ "$rc" -ne 0 ]; then echo "mlopsd: exit code $rc"; fi
echo "$rc" > %s.tmp && mv %s.tmp %s
exit "$rc"
`, id, strings.Join(quoted, " "), exit, exit, exit)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// environ is sbatch's environment, which --export=ALL hands to the job:
// the base, the step's variables, then the MLOPS_* variables.
func (s *SlurmSteps) environ(job StepJob, runDir string) []string {
	base := s.Base
	if base == nil {
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "MLOPS_") && !strings.HasPrefix(kv, "MLOPSD_") {
				base = append(base, kv)
			}
		}
	}
	l := &LocalSteps{layout: s.Layout, base: base}
	return l.environ(job, runDir)
}

// Status implements StepDriver.
func (s *SlurmSteps) Status(ctx context.Context, id JobID) (JobState, error) {
	j, err := s.find(ctx, id)
	if err != nil {
		return JobState{}, err
	}
	_, cancelErr := os.Stat(s.file(id, ".cancelled"))
	cancelled := cancelErr == nil
	if j != nil {
		return s.fromSlurm(id, j, cancelled), nil
	}
	// Slurm forgot the job (or never had it): the exit file tells.
	if st, ok := s.fromExitFile(id, cancelled); ok {
		return st, nil
	}
	if _, err := os.Stat(s.file(id, ".jobid")); err == nil {
		if cancelled {
			return JobState{Phase: JobCancelled, Message: "cancelled"}, nil
		}
		return JobState{Phase: JobLost, Message: "Slurm no longer knows job " + s.JobName(id) + " and it left no exit code: its node may have failed"}, nil
	}
	return JobState{Phase: JobLost, Message: "this attempt was never submitted to Slurm"}, nil
}

func (s *SlurmSteps) fromExitFile(id JobID, cancelled bool) (JobState, bool) {
	b, err := os.ReadFile(s.file(id, ".exit"))
	if err != nil {
		return JobState{}, false
	}
	text := strings.TrimSpace(string(b))
	if msg, ok := strings.CutPrefix(text, "failed "); ok {
		return JobState{Phase: JobFailed, Message: msg}, true
	}
	code, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return JobState{Phase: JobFailed, Message: "unreadable exit code " + strconv.Quote(text)}, true
	}
	st := JobState{ExitCode: &code}
	switch {
	case code == 0:
		st.Phase = JobSucceeded
	case cancelled:
		st.Phase, st.Message = JobCancelled, "cancelled"
	default:
		st.Phase, st.Message = JobFailed, fmt.Sprintf("exit code %d", code)
	}
	return st, true
}

func (s *SlurmSteps) fromSlurm(id JobID, j *slurmJob, cancelled bool) JobState {
	st := JobState{StartedAt: parseSlurmTime(j.start), FinishedAt: parseSlurmTime(j.end)}
	base, _, _ := strings.Cut(j.state, " ")
	switch base {
	case "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD":
		// The exit file may already be there while Slurm completes the job.
		if base == "COMPLETING" {
			if fs, ok := s.fromExitFile(id, cancelled); ok {
				fs.StartedAt = st.StartedAt
				return fs
			}
		}
		st.Phase = JobRunning
		st.FinishedAt = time.Time{}
		if base == "PENDING" && j.reason != "" && j.reason != "None" {
			st.Message = "pending in Slurm: " + j.reason
		}
		return st
	}
	code, signal := parseExitCode(j.exit)
	if fs, ok := s.fromExitFile(id, cancelled); ok && base != "CANCELLED" && base != "TIMEOUT" {
		fs.StartedAt, fs.FinishedAt = st.StartedAt, st.FinishedAt
		return fs
	}
	switch base {
	case "COMPLETED":
		st.Phase, st.ExitCode = JobSucceeded, &code
	case "CANCELLED":
		st.Phase, st.Message = JobCancelled, "cancelled"
		if !cancelled {
			st.Phase, st.Message = JobFailed, "cancelled in Slurm (scancel) outside mlopsd"
		}
	case "TIMEOUT":
		st.Phase, st.TimedOut, st.Message = JobFailed, true, "timed out: Slurm ended the job at its time limit"
	default:
		st.Phase = JobFailed
		switch {
		case signal != 0:
			st.Message = fmt.Sprintf("Slurm job %s %s: killed by signal %d", j.id, base, signal)
			minus := int64(-1)
			st.ExitCode = &minus
		default:
			st.Message = fmt.Sprintf("Slurm job %s %s: exit code %d", j.id, base, code)
			st.ExitCode = &code
		}
	}
	return st
}

// parseExitCode parses scontrol's ExitCode=<code>:<signal>.
func parseExitCode(s string) (code int64, signal int64) {
	c, sig, _ := strings.Cut(s, ":")
	code, _ = strconv.ParseInt(c, 10, 64)
	signal, _ = strconv.ParseInt(sig, 10, 64)
	return code, signal
}

func parseSlurmTime(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// Cancel implements StepDriver.
func (s *SlurmSteps) Cancel(ctx context.Context, id JobID) error {
	j, err := s.find(ctx, id)
	if err != nil {
		return err
	}
	if j == nil {
		return nil
	}
	if st := s.fromSlurm(id, j, true); st.Phase.Done() {
		return nil
	}
	if err := os.WriteFile(s.file(id, ".cancelled"), nil, 0o644); err != nil {
		return err
	}
	if _, err := s.Slurm.run(ctx, nil, "scancel", j.id); err != nil {
		return fmt.Errorf("cancelling Slurm job %s: %w", j.id, err)
	}
	return nil
}

// Delete implements StepDriver: it cancels the job if it still runs and
// removes the driver's files of the attempt; the log stays.
func (s *SlurmSteps) Delete(ctx context.Context, id JobID) error {
	if err := s.Cancel(ctx, id); err != nil {
		return err
	}
	var errs []error
	for _, ext := range []string{".sh", ".jobid", ".exit", ".cancelled"} {
		if err := os.Remove(s.file(id, ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
