// Package slurmtest gives tests a real, single-node Slurm cluster.
//
// The first call to Start in a test binary starts one cluster for the whole
// binary, as the notes in the repository's shared notes describe it (Slurm
// 22.05 from Debian's packages): when sbatch, slurmctld, slurmd or munged
// are missing it installs them with apt-get (slurmctld slurmd slurm-client
// munge); then it writes slurm.conf and gres.conf into a new directory under
// /tmp, makes two fake GPU device nodes there (mknod, so that the gres/gpu
// plugin counts them), and starts a private munged (as the munge user, on a
// socket in that directory), slurmctld and slurmd, each in the foreground as
// a child of the test binary, on free ports. Start returns once sinfo says
// the node is idle. The cluster has one node, named after `hostname -s`,
// with 2 CPUs, 1000 MB and gres gpu:tesla:2, in two partitions: "gpu" (the
// default) and "cpu". Main cancels every job, stops the daemons and removes
// the directory once all tests have run, so a package that calls Start needs
//
//	func TestMain(m *testing.M) { slurmtest.Main(m) }
//
// Where Slurm cannot start (not root, no apt-get, the daemons fail) the
// tests that call Start are skipped with the reason, unless the environment
// variable CI is "true": then they fail, so that CI cannot pass without
// running them.
package slurmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Partitions and GRES of the test cluster.
const (
	// GPUPartition is the default partition; its node has GPUs gpu:tesla:2.
	GPUPartition = "gpu"
	// CPUPartition holds the same node.
	CPUPartition = "cpu"
	// GPUType is the GRES type of the fake GPUs.
	GPUType = "tesla"
	// GPUs is how many fake GPUs the node has.
	GPUs = 2
	// CPUs is how many CPUs the node has.
	CPUs = 2
)

// startTimeout bounds the wait for the node to become idle.
const startTimeout = 90 * time.Second

var (
	mainCalled atomic.Bool
	startOnce  sync.Once
	shared     *Cluster
	startErr   error
)

// Cluster is a running test cluster.
type Cluster struct {
	// Dir holds the configuration, state, logs and fake devices.
	Dir string
	// Conf is the slurm.conf path: SLURM_CONF for clients.
	Conf string
	// Node is the node's name.
	Node string

	procs []*exec.Cmd
}

// Env returns the environment variables a Slurm client needs for this
// cluster (SLURM_CONF).
func (c *Cluster) Env() []string { return []string{"SLURM_CONF=" + c.Conf} }

// Main runs the tests of m and then stops the cluster Start may have
// started and removes its files. Call it from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	if code != 0 {
		os.Exit(code)
	}
}

// Start returns the binary's cluster, starting it on the first call. It
// skips tb when Slurm cannot run here (fails it under CI=true) and logs
// the cluster's sinfo, so that test logs show that Slurm tests ran.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatal("slurmtest: Start needs slurmtest.Main to stop the cluster when the tests end; " +
			"add func TestMain(m *testing.M) { slurmtest.Main(m) } to the package's tests")
	}
	startOnce.Do(func() { shared, startErr = start() })
	if startErr != nil {
		var cannot cannotRunError
		if errors.As(startErr, &cannot) && os.Getenv("CI") != "true" {
			tb.Skipf("slurmtest: skipping, Slurm cannot run here: %v", startErr)
		}
		tb.Fatalf("slurmtest: %v", startErr)
	}
	out, _ := shared.Run(context.Background(), "sinfo", "-o", "%P %a %D %T %N %G")
	tb.Logf("slurmtest: Slurm cluster up (SLURM_CONF=%s):\n%s", shared.Conf, out)
	return shared
}

// cannotRunError says that this machine cannot run Slurm at all, as
// opposed to a cluster that failed to start.
type cannotRunError struct{ msg string }

func (e cannotRunError) Error() string { return e.msg }

// Run runs a Slurm client command against the cluster and returns its
// combined output.
func (c *Cluster) Run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), c.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

func start() (*Cluster, error) {
	if os.Geteuid() != 0 {
		return nil, cannotRunError{"a test Slurm cluster needs root (to start munged as munge and to make device nodes)"}
	}
	if err := install(); err != nil {
		return nil, err
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, cannotRunError{fmt.Sprintf("no hostname: %v", err)}
	}
	host, _, _ = strings.Cut(host, ".")
	dir, err := os.MkdirTemp("", "slurmtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), Node: host}
	if err := c.boot(); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// install installs Slurm and munge from the distribution when missing.
func install() error {
	missing := false
	for _, bin := range []string{"sbatch", "squeue", "scontrol", "sinfo", "scancel", "slurmctld", "slurmd", "munged"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return cannotRunError{"Slurm is not installed and there is no apt-get to install it"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"update", "-qq", "-o", "DPkg::Lock::Timeout=600"}, {"install", "-y", "-qq", "-o", "DPkg::Lock::Timeout=600", "slurmctld", "slurmd", "slurm-client", "munge"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return cannotRunError{fmt.Sprintf("apt-get %s: %v: %s", strings.Join(args, " "), err, tail(string(out), 10))}
		}
	}
	return nil
}

func (c *Cluster) boot() error {
	dir := c.Dir
	// munged, running as munge, must reach its socket directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{"state", "spool", "dev", "munge"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	// Fake GPUs: Slurm 22.05 drops GPUs without device files.
	for i := range GPUs {
		dev := filepath.Join(dir, "dev", fmt.Sprintf("nvidia%d", i))
		if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, int(unixMkdev(195, uint32(i)))); err != nil {
			return cannotRunError{fmt.Sprintf("making fake GPU device %s: %v", dev, err)}
		}
	}
	mungeDir := filepath.Join(dir, "munge")
	if err := exec.Command("chown", "munge:munge", mungeDir).Run(); err != nil {
		return cannotRunError{fmt.Sprintf("chown munge %s: %v (is the munge user there?)", mungeDir, err)}
	}
	if _, err := os.Stat("/etc/munge/munge.key"); err != nil {
		if out, err := exec.Command("setpriv", "--reuid=munge", "--regid=munge", "--init-groups", "mungekey", "-c", "-k", "/etc/munge/munge.key").CombinedOutput(); err != nil {
			return fmt.Errorf("creating the munge key: %v: %s", err, out)
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	nodeAddr := ""
	if _, err := net.LookupHost(c.Node); err != nil {
		nodeAddr = " NodeAddr=127.0.0.1"
	}
	ctlHost := c.Node
	if nodeAddr != "" {
		ctlHost += "(127.0.0.1)"
	}
	sock := filepath.Join(mungeDir, "munge.socket")
	conf := fmt.Sprintf(`ClusterName=mlopstest
SlurmctldHost=%[1]s
SlurmctldPort=%[2]d
SlurmdPort=%[3]d
AuthType=auth/munge
AuthInfo=socket=%[4]s
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=%[5]s/state
SlurmdSpoolDir=%[5]s/spool
SlurmctldPidFile=%[5]s/slurmctld.pid
SlurmdPidFile=%[5]s/slurmd.pid
SlurmctldLogFile=%[5]s/slurmctld.log
SlurmdLogFile=%[5]s/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
EnforcePartLimits=ALL
MailProg=/bin/true
ReturnToService=2
MinJobAge=300
KillWait=2
InactiveLimit=0
NodeName=%[6]s%[7]s Gres=gpu:%[8]s:%[9]d Sockets=1 CoresPerSocket=%[10]d ThreadsPerCore=1 RealMemory=1000 State=UNKNOWN
PartitionName=%[11]s Nodes=%[6]s Default=YES MaxTime=INFINITE State=UP
PartitionName=%[12]s Nodes=%[6]s MaxTime=INFINITE State=UP
`, ctlHost, ports[0], ports[1], sock, dir, c.Node, nodeAddr, GPUType, GPUs, CPUs, GPUPartition, CPUPartition)
	gres := fmt.Sprintf("NodeName=%s Name=gpu Type=%s File=%s/dev/nvidia[0-%d]\n", c.Node, GPUType, dir, GPUs-1)
	if err := os.WriteFile(c.Conf, []byte(conf), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "gres.conf"), []byte(gres), 0o644); err != nil {
		return err
	}

	if err := c.spawn("munged", "setpriv", "--reuid=munge", "--regid=munge", "--init-groups",
		"munged", "-F", "--socket="+sock, "--pid-file="+filepath.Join(mungeDir, "munged.pid"),
		"--seed-file="+filepath.Join(mungeDir, "munged.seed"), "--log-file="+filepath.Join(mungeDir, "munged.log")); err != nil {
		return err
	}
	if err := waitFor(10*time.Second, func() bool { _, err := os.Stat(sock); return err == nil }); err != nil {
		return fmt.Errorf("munged did not create %s: %s", sock, c.logTail("munge/munged.log"))
	}
	if err := c.spawn("slurmctld", "slurmctld", "-D", "-i", "-f", c.Conf); err != nil {
		return err
	}
	ctx := context.Background()
	if err := waitFor(30*time.Second, func() bool { _, err := c.Run(ctx, "scontrol", "ping"); return err == nil }); err != nil {
		return fmt.Errorf("slurmctld did not answer: %s", c.logTail("slurmctld.log"))
	}
	if err := c.spawn("slurmd", "slurmd", "-D", "-f", c.Conf); err != nil {
		return err
	}
	deadline := time.Now().Add(startTimeout)
	for {
		out, err := c.Run(ctx, "sinfo", "-h", "-n", c.Node, "-o", "%T")
		states := strings.Fields(out)
		if err == nil && len(states) > 0 && allIdle(states) {
			return nil
		}
		if err == nil && strings.Contains(out, "drain") {
			_, _ = c.Run(ctx, "scontrol", "update", "NodeName="+c.Node, "State=RESUME")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not idle after %s (sinfo: %q %v); slurmd log: %s; slurmctld log: %s",
				c.Node, startTimeout, out, err, c.logTail("slurmd.log"), c.logTail("slurmctld.log"))
		}
		for _, p := range c.procs {
			if p.ProcessState != nil {
				return fmt.Errorf("%s exited: %s", p.Path, c.logTail(filepath.Base(p.Path)+".log"))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func allIdle(states []string) bool {
	for _, s := range states {
		if s != "idle" {
			return false
		}
	}
	return true
}

// spawn starts a daemon in the foreground, in its own process group, with
// its output in <dir>/<name>.out.
func (c *Cluster) spawn(name string, argv ...string) error {
	out, err := os.Create(filepath.Join(c.Dir, name+".out"))
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.Env()...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return cannotRunError{fmt.Sprintf("starting %s: %v", name, err)}
	}
	c.procs = append(c.procs, cmd)
	go func() { _ = cmd.Wait() }()
	return nil
}

// stop cancels all jobs, stops the daemons (newest first) and removes the
// directory.
func (c *Cluster) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if len(c.procs) >= 3 {
		_, _ = c.Run(ctx, "scancel", "--full", "--user=root")
		_ = waitFor(5*time.Second, func() bool {
			out, err := c.Run(ctx, "squeue", "-h", "-o", "%i")
			return err != nil || strings.TrimSpace(out) == ""
		})
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		_ = p.Process.Signal(syscall.SIGTERM)
		if waitFor(5*time.Second, func() bool { return syscall.Kill(p.Process.Pid, 0) != nil }) != nil {
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			_ = p.Process.Kill()
		}
	}
	_ = os.RemoveAll(c.Dir)
}

func (c *Cluster) logTail(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, name))
	if len(b) == 0 {
		b, _ = os.ReadFile(filepath.Join(c.Dir, strings.TrimSuffix(name, ".log")+".out"))
	}
	return tail(string(b), 15)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func waitFor(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		_, p, _ := net.SplitHostPort(l.Addr().String())
		port, _ := strconv.Atoi(p)
		ports = append(ports, port)
	}
	return ports, nil
}

// unixMkdev is Linux's makedev for major/minor numbers below 4096/256.
func unixMkdev(major, minor uint32) uint64 {
	return uint64(major)<<8 | uint64(minor)
}
