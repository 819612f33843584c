package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func (a *app) versionsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "versions",
		Aliases: []string{"version"},
		Short:   "Model versions: approve, reject",
		Long:    "versions decides model version approvals; list them with 'mlopsctl list versions -e ENV'.",
		Args:    argsN(),
	}
	cmd.AddCommand(a.decideCommand(api.ApprovalApproved, "approve"), a.decideCommand(api.ApprovalRejected, "reject"))
	return cmd
}

// decideCommand is versions approve or versions reject.
func (a *app) decideCommand(status, verb string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   verb + " VERSION --reason TEXT",
		Short: strings.ToUpper(verb[:1]) + verb[1:] + " a model version",
		Long: verb + ` records the decision on a model version, with the reason, in its
approval history; mlopsd records who decided (the token's subject) and
when. It needs role owner in the environment; a weaker role gets mlopsd's
403 and exit code 3. The write carries the etag read just before, so a
concurrent change is refused (409) rather than overwritten.`,
		Example:           "  mlopsctl versions " + verb + " churn-7 -e prod --reason 'offline eval ok, see TICKET-123'",
		Args:              argsN("VERSION"),
		ValidArgsFunction: a.completeOneName(api.KindModelVersion),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := a.env()
			if err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return usageErrorf("--reason is required: say why, it is kept in the approval history")
			}
			asJSON, err := a.jsonOutput()
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			mv, err := c.GetModelVersion(cmd.Context(), env, args[0])
			if err != nil {
				return err
			}
			spec := mv.Spec
			spec.Approval = api.ApprovalRequest{Status: status, Reason: reason}
			out, err := c.UpdateModelVersion(cmd.Context(), env, args[0], spec, mv.Metadata.ETag)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a.io.Stdout, out)
			}
			by := "?"
			if h := out.Spec.ApprovalHistory; len(h) > 0 {
				by = h[len(h)-1].Approver
			}
			fmt.Fprintf(a.io.Stdout, "model version %s in %s: %s by %s (%s)\n", args[0], env, out.Spec.Approval.Status, by, out.Spec.Approval.Reason)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; kept in the approval history)")
	return cmd
}
