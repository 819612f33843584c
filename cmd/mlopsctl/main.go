// Command mlopsctl is the command line of the people around Terraform:
// approvers, auditors and on-call. The commands live in internal/cli; run
// mlopsctl --help for them and their exit codes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/cli"
)

// version is set by goreleaser (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cli.Version = version
	code := cli.Main(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
