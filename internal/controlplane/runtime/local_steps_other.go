//go:build !linux

package runtime

import "os/exec"

// startStep starts cmd. Outside Linux there is no parent-death signal: a
// step outlives an mlopsd that dies without Close.
func startStep(cmd *exec.Cmd) error { return cmd.Start() }
