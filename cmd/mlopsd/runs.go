package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const runsUsage = `usage: mlopsd runs list -env ENV [-pipeline NAME] [-endpoint URL]
       mlopsd runs logs -env ENV RUN [-step STEP] [-attempt N] [-tail N] [-endpoint URL]

The runs commands ask a running mlopsd (-endpoint, env MLOPS_ENDPOINT,
default http://127.0.0.1:8080) with the token in MLOPS_TOKEN, if any.`

// runsCommand is "mlopsd runs ...": the run history of training pipelines,
// read from a running mlopsd over its API.
func runsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, runsUsage)
		return errors.New("runs: name a command: list or logs")
	}
	switch args[0] {
	case "list":
		return runsList(ctx, args[1:], stdout, stderr)
	case "logs":
		return runsLogs(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, runsUsage)
		return nil
	}
	fmt.Fprintln(stderr, runsUsage)
	return fmt.Errorf("runs: unknown command %q; use list or logs", args[0])
}

// apiFlags are the flags every runs command takes.
type apiFlags struct {
	endpoint, env *string
}

func addAPIFlags(fs *flag.FlagSet) apiFlags {
	return apiFlags{
		endpoint: fs.String("endpoint", envOr("MLOPS_ENDPOINT", "http://127.0.0.1:8080"), "mlopsd URL (env MLOPS_ENDPOINT)"),
		env:      fs.String("env", "", "environment of the runs (required)"),
	}
}

func (f apiFlags) client() (*client.Client, error) {
	if *f.env == "" {
		return nil, errors.New("-env is required: name the environment, e.g. -env dev")
	}
	return client.New(client.Config{Endpoint: *f.endpoint, Token: os.Getenv("MLOPS_TOKEN"), UserAgent: "mlopsd-cli/" + version})
}

// parseInterleaved parses flags that may come before and after the
// positional arguments ("logs RUN -step train"), which flag alone stops at.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runsList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd runs list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAPIFlags(fs)
	pipeline := fs.String("pipeline", "", "only runs of this training pipeline")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return ignoreHelp(err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("runs list: unexpected argument %q", pos[0])
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	var runs []api.PipelineRun
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		page, err := c.ListPipelineRuns(ctx, *af.env, opts)
		if err != nil {
			return err
		}
		for _, r := range page.Items {
			if *pipeline == "" || r.Spec.Pipeline == *pipeline {
				runs = append(runs, r)
			}
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Metadata.CreatedAt.Before(runs[j].Metadata.CreatedAt) })
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPIPELINE\tTRIGGER\tPHASE\tSTARTED\tDURATION\tMODEL VERSION")
	now := time.Now()
	for _, r := range runs {
		st := r.Status
		started, duration := "-", "-"
		if st.StartedAt != nil {
			started = st.StartedAt.Local().Format(time.DateTime)
			end := now
			if st.FinishedAt != nil {
				end = *st.FinishedAt
			}
			duration = end.Sub(*st.StartedAt).Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Metadata.Name, r.Spec.Pipeline, r.Spec.Trigger, orDash(st.Phase), started, duration, orDash(st.ModelVersion))
	}
	return tw.Flush()
}

func runsLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd runs logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAPIFlags(fs)
	step := fs.String("step", "", "only this step's log (default: the latest attempt of every step)")
	attempt := fs.Int64("attempt", 0, "the step's attempt, from 1 (default: the latest)")
	tail := fs.Int("tail", 0, "only the last N lines (default: all)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return ignoreHelp(err)
	}
	if len(pos) != 1 {
		return errors.New("runs logs: name one run, e.g. mlopsd runs logs -env dev train-3")
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	text, err := c.GetPipelineRunLogs(ctx, *af.env, pos[0], client.LogOptions{Step: *step, Attempt: *attempt, Tail: *tail})
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, text)
	if err == nil && text != "" && !strings.HasSuffix(text, "\n") {
		_, err = io.WriteString(stdout, "\n")
	}
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ignoreHelp turns -h into success: flag has printed the usage already.
func ignoreHelp(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
