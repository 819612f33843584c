package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

func (a *app) runsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "Pipeline runs: logs",
		Long:  "runs works with pipeline runs; list and get them with 'mlopsctl list runs' and 'mlopsctl get run NAME'.",
		Args:  argsN(),
	}
	cmd.AddCommand(a.runsLogsCommand())
	return cmd
}

func (a *app) runsLogsCommand() *cobra.Command {
	var (
		step     string
		attempt  int64
		tail     int
		follow   bool
		interval time.Duration
	)
	cmd := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print a pipeline run's step logs",
		Long: `logs prints a pipeline run's step logs: every started step's latest attempt,
each after a header line, or one step's with --step (and --attempt).

With -f it follows the logs as the steps write them, each step's attempts
in turn, until the run finishes; it then exits 0 when the run succeeded and
1 when it failed or was cancelled.`,
		Example: `  mlopsctl runs logs retrain-12 -e prod
  mlopsctl runs logs retrain-12 -e prod --step train -f`,
		Args:              argsN("RUN"),
		ValidArgsFunction: a.completeOneName(api.KindPipelineRun),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := a.env()
			if err != nil {
				return err
			}
			if follow && (tail > 0 || attempt > 0) {
				return usageErrorf("-f follows every attempt from the start; drop --tail and --attempt")
			}
			if attempt > 0 && step == "" {
				return usageErrorf("--attempt needs --step: name the step whose attempt to show")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if !follow {
				text, err := c.GetPipelineRunLogs(cmd.Context(), env, args[0], client.LogOptions{Step: step, Attempt: attempt, Tail: tail})
				if err != nil {
					return err
				}
				_, err = io.WriteString(a.io.Stdout, text)
				return err
			}
			f := &follower{c: c, w: a.io.Stdout, env: env, run: args[0], step: step, interval: interval,
				offsets: map[string]int64{}, next: map[string]int64{}}
			return f.follow(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&step, "step", "", "only this step's log")
	fl.Int64Var(&attempt, "attempt", 0, "the step's attempt, from 1 (default the latest); needs --step")
	fl.IntVar(&tail, "tail", 0, "only the last N lines")
	fl.BoolVarP(&follow, "follow", "f", false, "follow the logs until the run finishes")
	fl.DurationVar(&interval, "interval", time.Second, "how often -f asks for more")
	return cmd
}

// follower prints a run's logs as they grow. It keeps the offset up to
// which it printed each step attempt's log and asks mlopsd for what came
// after it on each poll.
type follower struct {
	c                  *client.Client
	w                  io.Writer
	env, run, step     string
	interval           time.Duration
	offsets            map[string]int64 // "step/attempt" → bytes printed
	next               map[string]int64 // step → first attempt not yet complete
	last               string           // the log printed last, for headers
	headersForAllSteps bool
}

func (f *follower) follow(ctx context.Context) error {
	f.headersForAllSteps = f.step == ""
	for {
		// Status first, logs after: a step that the status shows finished
		// has written its whole log by then.
		run, err := f.c.GetPipelineRun(ctx, f.env, f.run)
		if err != nil {
			return err
		}
		if f.step != "" && !hasStep(run, f.step) {
			return usageErrorf("run %q has no step %q", f.run, f.step)
		}
		for _, st := range run.Status.Steps {
			if (f.step != "" && st.Name != f.step) || st.Attempts == 0 {
				continue
			}
			if err := f.printStep(ctx, st); err != nil {
				return err
			}
		}
		if api.RunFinished(run.Status.Phase) {
			if run.Status.Phase == api.PhaseSucceeded {
				return nil
			}
			msg := fmt.Sprintf("run %s %s", f.run, run.Status.Phase)
			if run.Status.Message != "" {
				msg += ": " + run.Status.Message
			}
			return &noError{msg: msg}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(f.interval):
		}
	}
}

// printStep prints what is new in the step's attempts since the last poll,
// oldest attempt first.
func (f *follower) printStep(ctx context.Context, st api.StepStatus) error {
	first := max(f.next[st.Name], 1)
	for n := first; n <= st.Attempts; n++ {
		key := fmt.Sprintf("%s/%d", st.Name, n)
		off := f.offsets[key]
		chunk, err := f.c.ReadPipelineRunLog(ctx, f.env, f.run, st.Name, n, off)
		if err != nil {
			return err
		}
		text, next := chunk.Text, chunk.Next
		if next < 0 {
			// An mlopsd without offsets sent the whole log: skip what
			// was printed.
			text, next = text[min(int(off), len(text)):], max(off, int64(len(text)))
		}
		if text != "" {
			if key != f.last && (f.headersForAllSteps || n > 1) {
				fmt.Fprintf(f.w, "==> step %s attempt %d <==\n", st.Name, n)
			}
			f.last = key
			if _, err := io.WriteString(f.w, text); err != nil {
				return err
			}
		}
		f.offsets[key] = next
		if n < st.Attempts {
			// A later attempt exists, so this one is over.
			f.next[st.Name] = n + 1
		}
	}
	return nil
}

func hasStep(run *api.PipelineRun, step string) bool {
	for _, s := range run.Spec.PipelineSpec.Steps {
		if s.Name == step {
			return true
		}
	}
	return false
}
