package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

const batchUsage = `usage: mlopsd batch start -env ENV JOB [-endpoint URL]
       mlopsd batch list -env ENV [-job NAME] [-endpoint URL]
       mlopsd batch get -env ENV RUN [-json] [-endpoint URL]

start starts a manual run of a batch inference job and prints its name;
get shows a run: the model version it scored with, its counts, the files
it wrote and its first failed rows (-json: the run as the API returns it).

The batch commands ask a running mlopsd (-endpoint, env MLOPS_ENDPOINT,
default http://127.0.0.1:8080) with the token in MLOPS_TOKEN, if any.`

// batchCommand is "mlopsd batch ...": the runs of batch inference jobs,
// read from a running mlopsd over its API.
func batchCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, batchUsage)
		return errors.New("batch: name a command: start, list or get")
	}
	switch args[0] {
	case "start":
		return batchStart(ctx, args[1:], stdout, stderr)
	case "list":
		return batchList(ctx, args[1:], stdout, stderr)
	case "get":
		return batchGet(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, batchUsage)
		return nil
	}
	fmt.Fprintln(stderr, batchUsage)
	return fmt.Errorf("batch: unknown command %q; use start, list or get", args[0])
}

// batchStart starts a manual run and prints its name, so scripts can
// follow it: run=$(mlopsd batch start -env dev nightly-scores).
func batchStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd batch start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAPIFlags(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return ignoreHelp(err)
	}
	if len(pos) != 1 {
		return errors.New("batch start: name one batch inference job, e.g. mlopsd batch start -env dev nightly-scores")
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	run, err := c.StartBatchInferenceRun(ctx, *af.env, pos[0])
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, run.Metadata.Name)
	return err
}

// batchGet shows one run.
func batchGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd batch get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAPIFlags(fs)
	asJSON := fs.Bool("json", false, "print the run as the API returns it, as JSON")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return ignoreHelp(err)
	}
	if len(pos) != 1 {
		return errors.New("batch get: name one run, e.g. mlopsd batch get -env dev nightly-scores-3")
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	run, err := c.GetBatchInferenceRun(ctx, *af.env, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(run)
	}
	return printBatchRun(stdout, run)
}

// printBatchRun writes a run as "key: value" lines that people read and
// scripts grep.
func printBatchRun(w io.Writer, run *api.BatchInferenceRun) error {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	st := run.Status
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("name", run.Metadata.Name)
	row("job", fmt.Sprintf("%s (generation %d)", run.Spec.Job, run.Spec.JobGeneration))
	row("trigger", run.Spec.Trigger)
	row("phase", orDash(st.Phase))
	row("message", orDash(oneLine(st.Message)))
	row("started", formatTime(st.StartedAt))
	row("finished", formatTime(st.FinishedAt))
	model := run.Spec.ModelVersion
	if js := run.Spec.JobSpec; js.Alias != "" {
		model += fmt.Sprintf(" (alias %s of model %s at start)", js.Alias, js.Model)
	}
	row("model version", model)
	row("  artifact", run.Spec.ArtifactURI)
	row("  sha256", run.Spec.ArtifactSHA256)
	row("input", run.Spec.JobSpec.InputURI)
	row("  sha256", orDash(st.InputSHA256))
	row("output", orDash(st.OutputURI))
	if s := st.Step; s != nil {
		exit := "-"
		if s.ExitCode != nil {
			exit = fmt.Sprint(*s.ExitCode)
		}
		row("step "+s.Name, fmt.Sprintf("%s, %d attempt(s), exit code %s", s.Phase, s.Attempts, exit))
	}
	if sum := st.Summary; sum != nil {
		row("rows", fmt.Sprintf("%d total, %d scored, %d failed", sum.RowsTotal, sum.RowsScored, sum.RowsFailed))
		for _, f := range sum.Files {
			out := f.Output
			if out == "" {
				out = "(no predictions: the run failed)"
			}
			row("file", fmt.Sprintf("%s -> %s (%d row(s), %d failed)", f.Input, out, f.Rows, f.Failed))
		}
		for _, e := range sum.Errors {
			row("failed row", fmt.Sprintf("%s row %d: %s", e.File, e.Row, e.Message))
		}
		if sum.RowsFailed > int64(len(sum.Errors)) {
			row("failed row", fmt.Sprintf("... %d more (summary.json lists the first %d)", sum.RowsFailed-int64(len(sum.Errors)), api.MaxBatchRowErrors))
		}
	}
	return tw.Flush()
}

func batchList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd batch list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAPIFlags(fs)
	job := fs.String("job", "", "only runs of this batch inference job")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return ignoreHelp(err)
	}
	if len(pos) > 0 {
		return fmt.Errorf("batch list: unexpected argument %q", pos[0])
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	var runs []api.BatchInferenceRun
	opts := api.ListOptions{Limit: api.MaxPageSize}
	for {
		page, err := c.ListBatchInferenceRuns(ctx, *af.env, opts)
		if err != nil {
			return err
		}
		for _, r := range page.Items {
			if *job == "" || r.Spec.Job == *job {
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
	fmt.Fprintln(tw, "NAME\tJOB\tTRIGGER\tPHASE\tSTARTED\tDURATION\tMODEL VERSION\tROWS\tFAILED")
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
		rows, failed := "-", "-"
		if st.Summary != nil {
			rows, failed = fmt.Sprint(st.Summary.RowsTotal), fmt.Sprint(st.Summary.RowsFailed)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Metadata.Name, r.Spec.Job, r.Spec.Trigger, orDash(st.Phase), started, duration, orDash(r.Spec.ModelVersion), rows, failed)
	}
	return tw.Flush()
}
