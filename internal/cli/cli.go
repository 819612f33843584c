// Package cli is mlopsctl, the command line of the people around Terraform:
// approvers, auditors and on-call. It reads objects, follows pipeline runs,
// decides model version approvals, sends predictions, checks the audit log
// and compares environments, all through internal/client, the client the
// provider uses. cmd/mlopsctl only calls Main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

// Exit codes of mlopsctl. diff alone differs, as diff(1) does: 0 equal, 1
// different, 2 for any error.
const (
	// ExitOK means the command did what was asked.
	ExitOK = 0
	// ExitNo means the answer is "no": the object was not found, the
	// environments differ, the audit chain is broken, or the followed run
	// did not succeed.
	ExitNo = 1
	// ExitUsage means the command line, an input file or the settings are
	// wrong; nothing was sent, or nothing that changed anything.
	ExitUsage = 2
	// ExitAPI means mlopsd refused or failed the request (400, 401, 403,
	// 409, 5xx), or another step of the command failed.
	ExitAPI = 3
	// ExitUnreachable means no answer came from mlopsd (connection or TLS).
	ExitUnreachable = 4
)

// exitCodesHelp is the exit code table of every --help.
const exitCodesHelp = `Exit codes:
  0  ok
  1  no: not found, environments differ, audit chain broken, followed run did not succeed
  2  usage error: bad arguments, flags, settings or input file
  3  mlopsd refused or failed the request (e.g. 403 forbidden), or another failure
  4  mlopsd unreachable
  diff uses diff(1)'s codes: 0 equal, 1 different, 2 any error.`

// Version is mlopsctl's version; cmd/mlopsctl may set it at build time.
var Version = "dev"

// IO is what Main reads and writes: the process's streams and environment
// in cmd/mlopsctl, buffers and a map in tests.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads an environment variable; nil reads none.
	Getenv func(string) string
}

// exitError carries the exit code an error ends mlopsctl with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is an error of the command line or the user's input.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// noError ends mlopsctl with ExitNo after the command printed its answer;
// msg, when set, goes to stderr.
type noError struct{ msg string }

func (e *noError) Error() string { return e.msg }

// Main runs mlopsctl with args (without the program name) and returns its
// exit code.
func Main(ctx context.Context, args []string, streams IO) int {
	if streams.Getenv == nil {
		streams.Getenv = func(string) string { return "" }
	}
	app := &app{io: streams}
	root := app.rootCommand()
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	usage := code == ExitUsage
	var no *noError
	if cmd != nil && cmd.Annotations[annotationDiffExit] == "true" && !errors.As(err, &no) {
		// As diff(1): 1 only for "they differ", 2 for any trouble.
		code = ExitUsage
	}
	if !errors.As(err, &no) || no.msg != "" {
		fmt.Fprintf(streams.Stderr, "mlopsctl: %v\n", err)
	}
	if usage && cmd != nil && !errors.As(err, new(*client.Error)) {
		fmt.Fprintf(streams.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return code
}

// annotationDiffExit marks commands that exit as diff(1) does.
const annotationDiffExit = "diff-exit"

// exitCode maps an error to its exit code.
func exitCode(err error) int {
	var ee *exitError
	var no *noError
	var apiErr *client.Error
	var unreachable *client.UnreachableError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &no):
		return ExitNo
	case errors.As(err, &unreachable):
		return ExitUnreachable
	case client.IsNotFound(err):
		return ExitNo
	case errors.As(err, &apiErr) && apiErr.StatusCode == 0:
		// The client refused to send it, e.g. an empty name.
		return ExitUsage
	case errors.As(err, &apiErr):
		return ExitAPI
	case isCobraUsage(err):
		return ExitUsage
	}
	return ExitAPI
}

// isCobraUsage recognises cobra's own errors for an unknown command or a
// wrong argument, which it returns as plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "accepts ", "requires at least", "flag needs an argument", "required flag"} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

// app holds the settings of one run of mlopsctl.
type app struct {
	io IO
	// Global flags.
	endpoint, token, caCertFile, configPath, environment, output string
	insecure                                                     bool
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "mlopsctl",
		Short: "Read and check what Terraform declared on mlopsd",
		Long: `mlopsctl reads and checks the objects that Terraform declares on mlopsd:
get and list every kind, follow pipeline runs, approve or reject model
versions, send predictions, read alarm history, verify and export the audit
log, and compare two environments.

Settings, strongest first: the flags --endpoint, --token, --ca-cert-file,
--insecure; the environment variables MLOPS_ENDPOINT, MLOPS_TOKEN,
MLOPS_CA_CERT_FILE, MLOPS_INSECURE (as the Terraform provider reads them);
the config file that 'mlopsctl login' writes (--config or MLOPS_CONFIG,
default <user config dir>/mlopsctl/config.json); then the endpoint
` + defaultEndpoint + `. -e / MLOPS_ENVIRONMENT names the environment.

` + exitCodesHelp,
		Version:       Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Before InitDefaultCompletionCmd, which takes the output stream once.
	root.SetIn(a.io.Stdin)
	root.SetOut(a.io.Stdout)
	root.SetErr(a.io.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: err}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.endpoint, "endpoint", "", "mlopsd base URL (env MLOPS_ENDPOINT)")
	pf.StringVar(&a.token, "token", "", "bearer token (env MLOPS_TOKEN); prefer the env var or login, flags land in shell history")
	pf.StringVar(&a.caCertFile, "ca-cert-file", "", "PEM file of the CA that signed mlopsd's certificate (env MLOPS_CA_CERT_FILE)")
	pf.BoolVar(&a.insecure, "insecure", false, "skip TLS certificate verification, for local testing only (env MLOPS_INSECURE)")
	pf.StringVar(&a.configPath, "config", "", "config file (env MLOPS_CONFIG; default <user config dir>/mlopsctl/config.json)")
	pf.StringVarP(&a.environment, "environment", "e", "", "environment (env MLOPS_ENVIRONMENT)")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))

	root.AddCommand(
		a.loginCommand(),
		a.getCommand(),
		a.listCommand(),
		a.runsCommand(),
		a.versionsCommand(),
		a.endpointsCommand(),
		a.alarmsCommand(),
		a.auditCommand(),
		a.diffCommand(),
	)
	// Cobra adds completion bash|zsh|fish|powershell itself; adding it
	// now lets its help carry the exit codes too.
	root.InitDefaultCompletionCmd()
	// Every command's help ends with the exit codes, and a command that
	// only groups others refuses to run without one.
	addExitCodes(root)
	requireSubcommand(root)
	return root
}

// requireSubcommand makes c and its descendants that only group
// subcommands fail with a usage error naming them when run alone or with
// an unknown subcommand, where cobra would print help and exit 0.
func requireSubcommand(c *cobra.Command) {
	if !c.Runnable() && c.HasSubCommands() && c.HasParent() {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(c *cobra.Command, args []string) error {
			var names []string
			for _, sub := range c.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q; use one of: %s", args[0], c.CommandPath(), strings.Join(names, ", "))
			}
			return usageErrorf("%s needs a command: %s", c.CommandPath(), strings.Join(names, ", "))
		}
	}
	for _, sub := range c.Commands() {
		requireSubcommand(sub)
	}
}

// addExitCodes appends the exit code table to the help of c and its
// subcommands.
func addExitCodes(c *cobra.Command) {
	if c.Long == "" {
		c.Long = c.Short + "."
	}
	if !strings.Contains(c.Long, "Exit codes:") {
		c.Long += "\n\n" + exitCodesHelp
	}
	for _, sub := range c.Commands() {
		addExitCodes(sub)
	}
}

// argsN wants exactly n arguments, named in the message.
func argsN(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usageErrorf("want %d argument(s): %s; got %d", len(names), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// getenv reads an environment variable through a.io.
func (a *app) getenv(name string) string { return a.io.Getenv(name) }

// env returns the environment the command works in, or a usage error when
// none is named.
func (a *app) env() (string, error) {
	if a.environment != "" {
		return a.environment, nil
	}
	if e := a.getenv("MLOPS_ENVIRONMENT"); e != "" {
		return e, nil
	}
	return "", usageErrorf("name the environment with -e ENV (or MLOPS_ENVIRONMENT)")
}

// jsonOutput reports whether -o json was asked for, and refuses formats
// other than table and json.
func (a *app) jsonOutput() (bool, error) {
	switch a.output {
	case "json":
		return true, nil
	case "table", "":
		return false, nil
	}
	return false, usageErrorf("-o %q: use table or json", a.output)
}
