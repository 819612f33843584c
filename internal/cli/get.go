package cli

import (
	"encoding/json"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// kindsHelp lists the kinds in --help.
var kindsHelp = "Kinds: " + strings.Join(api.Kinds, ", ") + "\n(singular forms and short names such as env, pool, mv, alias, run, endpoint, sa, rb also work)."

func (a *app) getCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get KIND NAME",
		Short: "Show one object",
		Long: `get shows one object: a table row by default, or with -o json the object
exactly as the API returns it. Environments and service accounts live in no
environment; every other kind needs -e.

` + kindsHelp,
		Example: `  mlopsctl get model-versions churn-7 -e prod
  mlopsctl get environment prod -o json`,
		Args:              argsN("KIND", "NAME"),
		ValidArgsFunction: a.completeKindAndName,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, asJSON, env, err := a.kindArgs(args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			raw, err := c.GetJSON(cmd.Context(), k.kind, env, args[1])
			if err != nil {
				return err
			}
			if asJSON {
				return printRawJSON(a.io.Stdout, raw)
			}
			headers, rows, err := objectRows(k, []json.RawMessage{raw})
			if err != nil {
				return err
			}
			return printTable(a.io.Stdout, headers, rows)
		},
	}
}

func (a *app) listCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list KIND",
		Short: "List the objects of a kind",
		Long: `list shows every object of a kind in the environment (-e), reading all
pages: a table by default, or with -o json {"items": [...]} holding the
objects exactly as the API returns them.

` + kindsHelp,
		Example: `  mlopsctl list model-versions -e prod
  mlopsctl list alarms -e prod -o json | jq '.items[] | select(.status.state == "ALARM")'`,
		Args:              argsN("KIND"),
		ValidArgsFunction: a.completeKindAndName,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, asJSON, env, err := a.kindArgs(args[0])
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			items, err := c.ListAllJSON(cmd.Context(), k.kind, env)
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []json.RawMessage{}
				}
				b, err := json.Marshal(struct {
					Items []json.RawMessage `json:"items"`
				}{items})
				if err != nil {
					return err
				}
				return printRawJSON(a.io.Stdout, b)
			}
			headers, rows, err := objectRows(k, items)
			if err != nil {
				return err
			}
			return printTable(a.io.Stdout, headers, rows)
		},
	}
}

// kindArgs resolves the kind, the output format and, unless the kind lives
// in no environment, the environment.
func (a *app) kindArgs(kind string) (kindInfo, bool, string, error) {
	k, err := findKind(kind)
	if err != nil {
		return k, false, "", err
	}
	asJSON, err := a.jsonOutput()
	if err != nil {
		return k, false, "", err
	}
	if api.ClusterScoped(k.kind) {
		return k, asJSON, "", nil
	}
	env, err := a.env()
	return k, asJSON, env, err
}

// completeKindAndName completes the kind, then names of that kind as far
// as mlopsd answers with the current settings.
func (a *app) completeKindAndName(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return kindNames(), cobra.ShellCompDirectiveNoFileComp
	}
	if len(args) > 1 || cmd.Name() != "get" {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return a.completeNames(cmd, args[0]), cobra.ShellCompDirectiveNoFileComp
}

// completeOneName completes the one argument of a command that names an
// object of kind.
func (a *app) completeOneName(kind string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.completeNames(cmd, kind), cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNames lists the names of kind for completion; nothing on error.
func (a *app) completeNames(cmd *cobra.Command, kind string) []string {
	k, _, env, err := a.kindArgs(kind)
	if err != nil {
		return nil
	}
	c, err := a.client()
	if err != nil {
		return nil
	}
	items, err := c.ListAllJSON(cmd.Context(), k.kind, env)
	if err != nil {
		return nil
	}
	var names []string
	for _, raw := range items {
		var o struct {
			Metadata api.Metadata `json:"metadata"`
		}
		if json.Unmarshal(raw, &o) == nil {
			names = append(names, o.Metadata.Name)
		}
	}
	return names
}
