package main

import (
	"context"
	"io"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
)

// batchScoreCommand is the hidden subcommand "mlopsd batch-score -artifact
// <file:// URI> -input <path> -output <folder> ...": the scoring step of a
// batch inference run, started by mlopsd itself through the compute pool's
// step driver. It writes the predictions files and summary.json into the
// output folder and exits non-zero when the run failed (batch.Command).
func batchScoreCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return batch.Command(ctx, args, stdout, stderr)
}
