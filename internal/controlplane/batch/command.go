package batch

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
)

// Args are the arguments of the scoring command for o, after ScoreCommand:
// what the run reconciler runs and Command reads.
func Args(o Options) []string {
	if o.Format == "" {
		o.Format = api.BatchFormatAuto
	}
	args := []string{
		"-artifact", o.ArtifactURI,
		"-input", o.Input,
		"-format", o.Format,
		"-output", o.Output,
		"-model-version", o.ModelVersion,
		"-max-failed-percent", strconv.FormatInt(o.MaxFailedPercent, 10),
	}
	if o.ArtifactSHA256 != "" {
		args = append(args, "-artifact-sha256", o.ArtifactSHA256)
	}
	if len(o.Columns) > 0 {
		args = append(args, "-columns", strings.Join(o.Columns, ","))
	}
	return args
}

// Command is mlopsd batch-score: it parses args, scores (Score) and prints
// a line per file and one for the result to stdout, which the run's step
// log keeps. It returns an error, so mlopsd exits non-zero, when the run
// failed: too many failed rows, an input or artifact that cannot be read,
// an artifact whose digest changed. summary.json is written either way.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mlopsd "+ScoreCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.ArtifactURI, "artifact", "", "file:// URI of the mlops-linear model.json to score with (required)")
	fs.StringVar(&o.ArtifactSHA256, "artifact-sha256", "", "hex SHA-256 the artifact must have: the model version's registered digest")
	input := fs.String("input", "", "input file or folder, as a path or a file:// URI (required)")
	fs.StringVar(&o.Format, "format", api.BatchFormatAuto, "input format: auto (by extension), csv or jsonl")
	columns := fs.String("columns", "", "comma-separated feature columns (CSV) or fields (JSON lines), in the model's input order; default: every CSV column, or each line's inputs array")
	output := fs.String("output", "", "output folder of the run, as a path or a file:// URI (required)")
	fs.StringVar(&o.ModelVersion, "model-version", "", "name of the model version, for the summary")
	fs.Int64Var(&o.MaxFailedPercent, "max-failed-percent", 0, "share of rows, 0-100, that may fail to score before the run fails")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", ScoreCommand, fs.Arg(0))
	}
	var err error
	switch {
	case o.ArtifactURI == "":
		return fmt.Errorf("%s: -artifact is required", ScoreCommand)
	case *input == "":
		return fmt.Errorf("%s: -input is required", ScoreCommand)
	case *output == "":
		return fmt.Errorf("%s: -output is required", ScoreCommand)
	case !slices.Contains(api.BatchFormats, o.Format):
		return fmt.Errorf("%s: -format %q: use one of %q", ScoreCommand, o.Format, api.BatchFormats)
	case o.MaxFailedPercent < 0 || o.MaxFailedPercent > 100:
		return fmt.Errorf("%s: -max-failed-percent %d: use 0 to 100", ScoreCommand, o.MaxFailedPercent)
	}
	if o.Input, err = localPath(*input); err != nil {
		return fmt.Errorf("%s: -input: %w", ScoreCommand, err)
	}
	if o.Output, err = localPath(*output); err != nil {
		return fmt.Errorf("%s: -output: %w", ScoreCommand, err)
	}
	if *columns != "" {
		o.Columns = strings.Split(*columns, ",")
	}
	o.Log = stdout
	sum, err := Score(ctx, o)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "scored %d of %d row(s) (%d failed) from %d file(s) with model version %q into %s\n",
		sum.RowsScored, sum.RowsTotal, sum.RowsFailed, len(sum.Files), o.ModelVersion, o.Output)
	return err
}

// localPath accepts a path or a file:// URI.
func localPath(s string) (string, error) {
	if strings.HasPrefix(s, "file:") {
		return pipeline.FilePath(s)
	}
	return s, nil
}
