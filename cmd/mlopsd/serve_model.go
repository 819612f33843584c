package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
)

// serveModelCommand is the hidden subcommand "mlopsd serve-model -artifact
// <file:// URI> -addr 127.0.0.1:0": one model endpoint replica, started by
// mlopsd itself (-model-runtime process). It prints "listening on <url>" once
// it serves, and serves until ctx ends (SIGTERM or SIGINT); then it stops
// listening and lets the requests in flight finish, for at most
// -drain-timeout.
func serveModelCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd serve-model", flag.ContinueOnError)
	fs.SetOutput(stderr)
	artifact := fs.String("artifact", "", "file:// URI of an mlops-linear model.json")
	addr := fs.String("addr", "127.0.0.1:0", "listen address; port 0 picks a free one")
	drain := fs.Duration("drain-timeout", runtime.DefaultDrainTimeout, "how long requests in flight may take after SIGTERM")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *artifact == "" {
		return errors.New("serve-model: -artifact is required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve-model: unexpected argument %q", fs.Arg(0))
	}
	if *drain <= 0 {
		return fmt.Errorf("serve-model: -drain-timeout %v: use a positive duration, e.g. 30s", *drain)
	}
	return runtime.ServeModel(ctx, *artifact, *addr, *drain, stdout)
}
