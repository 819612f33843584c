package main

import (
	"context"
	"encoding/json"
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

const runsUsage = `usage: mlopsd runs start -env ENV PIPELINE [-param NAME=VALUE]... [-endpoint URL]
       mlopsd runs list -env ENV [-pipeline NAME] [-endpoint URL]
       mlopsd runs get -env ENV RUN [-json] [-endpoint URL]
       mlopsd runs logs -env ENV RUN [-step STEP] [-attempt N] [-tail N] [-endpoint URL]

start starts a manual run of a training pipeline and prints its name; get
shows a run, its steps and the model version it registered with its
lineage (-json: the run as the API returns it).

The runs commands ask a running mlopsd (-endpoint, env MLOPS_ENDPOINT,
default http://127.0.0.1:8080) with the token in MLOPS_TOKEN, if any.`

// runsCommand is "mlopsd runs ...": the run history of training pipelines,
// read from a running mlopsd over its API.
func runsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, runsUsage)
		return errors.New("runs: name a command: start, list, get or logs")
	}
	switch args[0] {
	case "start":
		return runsStart(ctx, args[1:], stdout, stderr)
	case "list":
		return runsList(ctx, args[1:], stdout, stderr)
	case "get":
		return runsGet(ctx, args[1:], stdout, stderr)
	case "logs":
		return runsLogs(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, runsUsage)
		return nil
	}
	fmt.Fprintln(stderr, runsUsage)
	return fmt.Errorf("runs: unknown command %q; use start, list, get or logs", args[0])
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

// paramsFlag collects repeated -param NAME=VALUE flags.
type paramsFlag map[string]string

func (p paramsFlag) String() string { return "" }

func (p paramsFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=VALUE, e.g. -param lr=0.01", v)
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("parameter %q is given twice", name)
	}
	p[name] = value
	return nil
}

// runsStart starts a manual run and prints its name, so scripts can follow
// it: run=$(mlopsd runs start -env dev churn-train).
func runsStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd runs start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAPIFlags(fs)
	params := paramsFlag{}
	fs.Var(params, "param", "a parameter of the run as NAME=VALUE; repeat for more (default: the pipeline's defaults)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return ignoreHelp(err)
	}
	if len(pos) != 1 {
		return errors.New("runs start: name one training pipeline, e.g. mlopsd runs start -env dev churn-train")
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	run, err := c.StartPipelineRun(ctx, *af.env, pos[0], params)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, run.Metadata.Name)
	return err
}

// runsGet shows one run: its phase, steps and the model version it
// registered, with that version's lineage.
func runsGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd runs get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	af := addAPIFlags(fs)
	asJSON := fs.Bool("json", false, "print the run as the API returns it, as JSON")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return ignoreHelp(err)
	}
	if len(pos) != 1 {
		return errors.New("runs get: name one run, e.g. mlopsd runs get -env dev train-3")
	}
	c, err := af.client()
	if err != nil {
		return err
	}
	run, err := c.GetPipelineRun(ctx, *af.env, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(run)
	}
	var mv *api.ModelVersion
	if run.Status.ModelVersion != "" {
		mv, err = c.GetModelVersion(ctx, *af.env, run.Status.ModelVersion)
		if client.IsNotFound(err) {
			mv, err = nil, nil
		}
		if err != nil {
			return err
		}
	}
	return printRun(stdout, run, mv)
}

// printRun writes a run, and the model version it registered when mv is
// not nil, as "key: value" lines that people read and scripts grep.
func printRun(w io.Writer, run *api.PipelineRun, mv *api.ModelVersion) error {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	st := run.Status
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("name", run.Metadata.Name)
	row("pipeline", fmt.Sprintf("%s (generation %d)", run.Spec.Pipeline, run.Spec.PipelineGeneration))
	row("trigger", run.Spec.Trigger)
	row("phase", orDash(st.Phase))
	row("message", orDash(oneLine(st.Message)))
	row("started", formatTime(st.StartedAt))
	row("finished", formatTime(st.FinishedAt))
	if len(run.Spec.Parameters) > 0 {
		row("parameters", formatMap(run.Spec.Parameters))
	}
	for _, s := range st.Steps {
		exit := "-"
		if s.ExitCode != nil {
			exit = fmt.Sprint(*s.ExitCode)
		}
		row("step "+s.Name, fmt.Sprintf("%s, %d attempt(s), exit code %s", s.Phase, s.Attempts, exit))
	}
	switch {
	case st.ModelVersion == "":
		row("model version", "-")
	case mv == nil:
		row("model version", st.ModelVersion+" (deleted since)")
	default:
		s := mv.Spec
		row("model version", fmt.Sprintf("%s of model %s (approval %s)", mv.Metadata.Name, s.Model, s.Approval.Status))
		row("  artifact", s.ArtifactURI)
		row("  sha256", s.ArtifactSHA256)
		row("  framework", s.Framework)
		if len(s.Metrics) > 0 {
			row("  metrics", formatMap(s.Metrics))
		}
		l := s.Lineage
		row("  lineage run", orDash(l.PipelineRun))
		row("  lineage dataset", orDash(l.DatasetURI))
		row("  lineage dataset sha256", orDash(l.DatasetSHA256))
		row("  lineage code", orDash(l.CodeRef))
		if len(l.Parameters) > 0 {
			row("  lineage parameters", formatMap(l.Parameters))
		}
	}
	return tw.Flush()
}

func formatTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}

// formatMap renders a map as "a=1, b=2", sorted by key.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ", ")
}

// oneLine keeps the first line of a message, which may quote a log.
func oneLine(s string) string {
	first, _, more := strings.Cut(s, "\n")
	if more {
		return first + " ..."
	}
	return first
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
