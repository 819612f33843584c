package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func (a *app) alarmsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "alarms",
		Aliases: []string{"alarm"},
		Short:   "Alarms: history",
		Long:    "alarms reads alarm state history; list alarms with 'mlopsctl list alarms -e ENV'.",
		Args:    argsN(),
	}
	history := &cobra.Command{
		Use:   "history ALARM",
		Short: "Show an alarm's state transitions",
		Long: `history shows an alarm's latest state transitions (mlopsd keeps the last
50), oldest first, with the value and reason of each; -o json prints them
as the API returns them (status.history).`,
		Example:           "  mlopsctl alarms history latency-p99 -e prod",
		Args:              argsN("ALARM"),
		ValidArgsFunction: a.completeOneName(api.KindAlarm),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := a.env()
			if err != nil {
				return err
			}
			asJSON, err := a.jsonOutput()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			al, err := c.GetAlarm(cmd.Context(), env, args[0])
			if err != nil {
				return err
			}
			h := al.Status.History
			if asJSON {
				if h == nil {
					h = []api.AlarmTransition{}
				}
				return printJSON(a.io.Stdout, h)
			}
			rows := make([][]string, 0, len(h))
			for _, t := range h {
				v := "-"
				if t.Value != nil {
					v = strconv.FormatFloat(*t.Value, 'g', 6, 64)
				}
				rows = append(rows, []string{strconv.FormatInt(t.Seq, 10), t.At.UTC().Format(time.RFC3339), t.From, t.To, v, t.Reason})
			}
			if err := printTable(a.io.Stdout, []string{"SEQ", "AT", "FROM", "TO", "VALUE", "REASON"}, rows); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Stdout, "state now: %s\n", al.Status.State)
			return nil
		},
	}
	cmd.AddCommand(history)
	return cmd
}
