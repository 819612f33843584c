package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

func (a *app) loginCommand() *cobra.Command {
	var tokenStdin, noVerify bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Save the endpoint and token in the config file",
		Long: `login checks that mlopsd answers and accepts the token, then saves the
endpoint, token and TLS settings in the config file (mode 0600), where every
later command finds them. The token comes from --token, MLOPS_TOKEN, or,
with --token-stdin, the first line of standard input (keeps it out of shell
history). An empty token saves an endpoint that needs none.`,
		Example: `  mlopsctl login --endpoint https://mlops.example.com:8443 --token-stdin < token.txt
  MLOPS_TOKEN=... mlopsctl login --endpoint http://127.0.0.1:8080`,
		Args: argsN(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.settings()
			if err != nil {
				return err
			}
			if tokenStdin {
				line, err := bufio.NewReader(a.io.Stdin).ReadString('\n')
				if err != nil && line == "" {
					return usageErrorf("--token-stdin: reading the token from standard input: %v", err)
				}
				cfg.Token = strings.TrimSpace(line)
			}
			c, err := client.New(cfg)
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			if !noVerify {
				if err := c.Health(cmd.Context()); err != nil {
					return err
				}
				// Listing environments needs admin; 403 still proves that the
				// token is known, 401 that it is not.
				_, err := c.ListEnvironments(cmd.Context(), api.ListOptions{Limit: 1})
				var apiErr *client.Error
				forbidden := errors.As(err, &apiErr) && apiErr.Code == api.EFORBIDDEN
				if err != nil && !forbidden {
					return fmt.Errorf("mlopsd does not accept the token: %w", err)
				}
			}
			path, err := a.configFile()
			if err != nil {
				return err
			}
			if err := writeConfig(path, fileConfig{Endpoint: c.Endpoint(), Token: cfg.Token, CACertFile: cfg.CACertFile, Insecure: cfg.Insecure}); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Stdout, "logged in to %s; settings saved in %s\n", c.Endpoint(), path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&tokenStdin, "token-stdin", false, "read the token from the first line of standard input")
	cmd.Flags().BoolVar(&noVerify, "no-verify", false, "save without asking mlopsd")
	return cmd
}
