package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func (a *app) endpointsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "endpoints",
		Aliases: []string{"endpoint"},
		Short:   "Model endpoints: predict",
		Long:    "endpoints sends predictions; list endpoints with 'mlopsctl list endpoints -e ENV'.",
		Args:    argsN(),
	}
	var data string
	predict := &cobra.Command{
		Use:   "predict ENDPOINT [--data JSON | --data @FILE | --data -]",
		Short: "Send one prediction through an endpoint",
		Long: `predict sends one request through the endpoint's gateway, as a client of
the endpoint would, and prints which variant and model version answered and
the prediction. The request is {"inputs": [numbers...]} (a bare array of
numbers also works) from --data, from the file after @, or from standard
input (--data - or no --data). It needs role invoker.`,
		Example: `  mlopsctl endpoints predict prices -e prod --data '{"inputs": [120]}'
  echo '[120]' | mlopsctl endpoints predict prices -e prod -o json`,
		Args:              argsN("ENDPOINT"),
		ValidArgsFunction: a.completeOneName(api.KindModelEndpoint),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, err := a.env()
			if err != nil {
				return err
			}
			asJSON, err := a.jsonOutput()
			if err != nil {
				return err
			}
			inputs, err := a.predictInputs(data)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.Predict(cmd.Context(), env, args[0], inputs)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(a.io.Stdout, resp)
			}
			return printTable(a.io.Stdout, []string{"VARIANT", "MODEL_VERSION", "PREDICTION"},
				[][]string{{resp.Variant, resp.ModelVersion, strconv.FormatFloat(resp.Prediction, 'g', -1, 64)}})
		},
	}
	predict.Flags().StringVarP(&data, "data", "d", "", `request JSON, @FILE, or - for standard input (the default)`)
	cmd.AddCommand(predict)
	return cmd
}

// predictInputs reads the request from data and decodes its inputs.
func (a *app) predictInputs(data string) ([]float64, error) {
	var b []byte
	var err error
	switch {
	case data == "" || data == "-":
		b, err = io.ReadAll(a.io.Stdin)
	case strings.HasPrefix(data, "@"):
		b, err = os.ReadFile(data[1:])
	default:
		b = []byte(data)
	}
	if err != nil {
		return nil, usageErrorf("reading the request: %v", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var in []float64
		if err := json.Unmarshal(b, &in); err != nil {
			return nil, usageErrorf("the request %s is not an array of numbers: %v", abbreviate(b), err)
		}
		return in, nil
	}
	var req api.PredictRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, usageErrorf(`the request %s is not {"inputs": [numbers...]}: %v`, abbreviate(b), err)
	}
	if req.Inputs == nil {
		return nil, usageErrorf(`the request has no inputs; send {"inputs": [numbers...]}`)
	}
	return req.Inputs, nil
}

// abbreviate quotes b for a message, cut to a readable length.
func abbreviate(b []byte) string {
	const n = 80
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}
