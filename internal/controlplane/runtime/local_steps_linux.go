package runtime

import (
	"os/exec"
	goruntime "runtime"
	"sync"
	"syscall"
)

// On Linux a step dies with mlopsd: its process gets SIGKILL when mlopsd
// dies, however it dies (a SIGKILL or a crash included), so that no step
// outlives the control plane that watches it and runs on as an orphan
// while a restarted mlopsd, or another replica, retries the step.
//
// The kernel sends the parent-death signal (PR_SET_PDEATHSIG) when the
// thread that forked the child exits, not the process. The Go runtime
// ends threads now and then, so every step is started from one goroutine
// locked to its OS thread for good: that thread lives as long as mlopsd.
//
// The signal reaches the step's own process only; processes it started
// in its group and that outlive it are not signalled. A step whose
// command is a shell script should exec its last command.

var (
	starterOnce sync.Once
	starts      chan startRequest
)

type startRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// startStep starts cmd, whose SysProcAttr is set, so that it gets SIGKILL
// when mlopsd dies.
func startStep(cmd *exec.Cmd) error {
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	starterOnce.Do(func() {
		starts = make(chan startRequest)
		go startSteps(starts)
	})
	req := startRequest{cmd: cmd, done: make(chan error, 1)}
	starts <- req
	return <-req.done
}

// startSteps starts the commands it receives on the thread it locks. It
// never returns and never unlocks the thread, so the thread is never
// ended and never reused by another goroutine.
func startSteps(reqs <-chan startRequest) {
	goruntime.LockOSThread()
	for req := range reqs {
		req.done <- req.cmd.Start()
	}
}
