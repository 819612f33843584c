// Package harness holds what the benchmarks under bench/cmd share: building
// mlopsd and the provider from this checkout, starting mlopsd on a free
// loopback port, and reading a process's memory from /proc.
package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/tfcli"
)

// Provider address and version the mirror installs.
const (
	ProviderAddr    = tfcli.ProviderAddr
	ProviderVersion = tfcli.ProviderVersion
	// FloorProviderAddr is bench/cmd/floorprovider's, the no-op framework
	// provider that stands in for the HashiCorp null provider.
	FloorProviderAddr = "registry.terraform.io/mlops-bench/floor"
)

// ModuleRoot returns the directory of this module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("run the benchmark from inside the module (go run ./bench/cmd/...)")
	}
	return filepath.Dir(mod), nil
}

// BuildMlopsd builds cmd/mlopsd into dir and returns the binary's path.
func BuildMlopsd(root, dir string) (string, error) {
	return Build(root, dir, "./cmd/mlopsd", "mlopsd")
}

// Build builds the main package pkg (e.g. ./bench/cmd/mlopsdprof) into
// dir/name and returns the binary's path.
func Build(root, dir, pkg, name string) (string, error) {
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// BuildProviderMirror builds the provider and the floor provider into a
// filesystem mirror under dir (internal/tfcli, as the module tests do) and
// returns the path of a terraform CLI configuration that installs them
// from there only.
func BuildProviderMirror(root, dir string) (string, error) {
	return tfcli.BuildMirror(root, dir, tfcli.MLOps,
		tfcli.Provider{Addr: FloorProviderAddr, Name: "floor", Pkg: "./bench/cmd/floorprovider"})
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("listener address is a %T", ln.Addr())
	}
	return addr.Port, nil
}

// Mlopsd is a running mlopsd process.
type Mlopsd struct {
	URL  string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// StartMlopsd runs bin on a free loopback port with a fresh SQLite file in
// dir and waits until /healthz answers.
func StartMlopsd(bin, dir string, args ...string) (*Mlopsd, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	all := append([]string{"-addr", addr, "-data", filepath.Join(dir, "mlops.db"), "-log-level", "warn"}, args...)
	cmd := exec.Command(bin, all...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MLOPSD_TOKEN=", "MLOPSD_TOKEN_FILE=", "MLOPSD_AUTH=off")
	m := &Mlopsd{URL: "http://" + addr, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = m.out, m.out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = cmd.Wait()
		close(m.done)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(m.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, nil
			}
		}
		select {
		case <-m.done:
			return nil, fmt.Errorf("mlopsd exited at start:\n%s", m.out)
		default:
		}
		if time.Now().After(deadline) {
			m.Stop()
			return nil, fmt.Errorf("mlopsd does not answer on %s:\n%s", m.URL, m.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the process id of mlopsd.
func (m *Mlopsd) Pid() int { return m.cmd.Process.Pid }

// Output is what mlopsd wrote to stdout and stderr so far.
func (m *Mlopsd) Output() string { return m.out.String() }

// Stop sends SIGTERM, then SIGKILL after 10 s, and waits for the exit.
func (m *Mlopsd) Stop() {
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Signal(syscall.SIGKILL)
		<-m.done
	}
}

// Memory is what /proc/<pid>/status says about a process's memory, in KiB.
type Memory struct {
	HWM int64 // VmHWM: peak resident set size
	RSS int64 // VmRSS: resident set size now
}

// ReadMemory reads VmHWM and VmRSS of pid.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			m.HWM = v
		case "VmRSS:":
			m.RSS = v
		}
	}
	return m, nil
}

// PeakSampler polls /proc for the peak VmHWM of one process and of its
// direct children whose command name starts with a prefix (Linux cuts comm
// at 15 bytes), and for the CPU time those children used, until stopped.
type PeakSampler struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	self   int64
	child  int64
	// childCPU is the last CPU time seen of each matching child: Terraform
	// starts its provider more than once in one command.
	childCPU map[int]time.Duration
}

// SamplePeaks starts polling pid and its children named childPrefix* every
// interval.
func SamplePeaks(pid int, childPrefix string, interval time.Duration) *PeakSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &PeakSampler{cancel: cancel, childCPU: map[int]time.Duration{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			s.sample(pid, childPrefix)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *PeakSampler) sample(pid int, childPrefix string) {
	if m, err := ReadMemory(pid); err == nil {
		s.mu.Lock()
		s.self = max(s.self, m.HWM)
		s.mu.Unlock()
	}
	if childPrefix == "" {
		return
	}
	for _, c := range children(pid) {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", c))
		if err != nil || !strings.HasPrefix(strings.TrimSpace(string(comm)), childPrefix) {
			continue
		}
		m, merr := ReadMemory(c)
		cpu, cerr := ReadCPU(c)
		s.mu.Lock()
		if merr == nil {
			s.child = max(s.child, m.HWM)
		}
		if cerr == nil {
			s.childCPU[c] = max(s.childCPU[c], cpu)
		}
		s.mu.Unlock()
	}
}

// Stop ends the polling and returns the peaks in KiB: of the process and
// of the largest matching child (0 when none was seen).
func (s *PeakSampler) Stop() (self, child int64) {
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.self, s.child
}

// ChildCPU returns the CPU time (user and system) the matching children
// used, summed over every one seen, as of each one's last sample: up to one
// interval of a child's last moments is missed.
func (s *PeakSampler) ChildCPU() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum time.Duration
	for _, d := range s.childCPU {
		sum += d
	}
	return sum
}

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ),
// 100 per second on every Linux the benchmarks run on.
const clockTick = 10 * time.Millisecond

// ReadCPU reads the CPU time, user and system, that pid itself has used
// so far (not its children) from /proc/<pid>/stat.
func ReadCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// children lists the direct children of pid from /proc/<pid>/task/*/children.
func children(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// MiB formats KiB as MiB, or "-" for 0.
func MiB(kib int64) string {
	if kib <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(kib)/1024)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	// Keep the last 64 KiB: enough to explain a failure.
	if b.b.Len() > 64<<10 {
		rest := b.b.Bytes()[b.b.Len()-32<<10:]
		b.b = *bytes.NewBuffer(append([]byte(nil), rest...))
	}
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
