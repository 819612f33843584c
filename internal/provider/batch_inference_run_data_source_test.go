package provider

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const (
	batchRunDSAddr       = "data.mlops_batch_inference_run.latest"
	batchRunByNameDSAddr = "data.mlops_batch_inference_run.by_name"
)

const testAccBatchRunDataSources = `
data "mlops_batch_inference_run" "latest" {
  environment = mlops_batch_inference_job.test.environment
  job         = mlops_batch_inference_job.test.name
  latest      = true
}

data "mlops_batch_inference_run" "by_name" {
  environment = mlops_batch_inference_job.test.environment
  name        = "nightly-scores-1"
}
`

// waitBatchRunFinished polls a batch run until it finished, for at most a
// minute.
func waitBatchRunFinished(t *testing.T, c *client.Client, env, name string) *api.BatchInferenceRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var run *api.BatchInferenceRun
	err := client.Poll(ctx, 50*time.Millisecond, func(ctx context.Context) (bool, error) {
		var err error
		run, err = c.GetBatchInferenceRun(ctx, env, name)
		return err == nil && api.RunFinished(run.Status.Phase), err
	})
	if err != nil {
		t.Fatalf("batch run %s did not finish: %v", name, err)
	}
	return run
}

func TestAccBatchInferenceRun_dataSource(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	f := newBatchFiles(t)
	base := testAccBatchJobConfig(a, f, `
  compute_pool            = mlops_compute_pool.cpu.name
  model                   = mlops_model.churn.name
  alias                   = mlops_model_alias.champion.name
  feature_columns         = ["x"]
  max_failed_rows_percent = 50
`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckBatchJobDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: base,
			},
			{ // before the first run there is nothing to read
				Config: base + `
data "mlops_batch_inference_run" "latest" {
  environment = "dev"
  job         = "nightly-scores"
  latest      = true
}
`,
				ExpectError: expectErrorWords(`batch inference job "nightly-scores" in environment "dev" has no runs yet`),
			},
			{
				PreConfig: func() {
					run, err := a.client.StartBatchInferenceRun(ctx, "dev", "nightly-scores")
					if err != nil {
						t.Fatal(err)
					}
					if run = waitBatchRunFinished(t, a.client, "dev", run.Metadata.Name); run.Status.Phase != api.PhaseSucceeded {
						t.Fatalf("run %s ended %s: %s", run.Metadata.Name, run.Status.Phase, run.Status.Message)
					}
				},
				Config: base + testAccBatchRunDataSources,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/nightly-scores-1")),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("job"), knownvalue.StringExact("nightly-scores")),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("trigger"), knownvalue.StringExact("manual")),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("job_generation"), knownvalue.Int64Exact(1)),
					// The alias points at churn-2: the run records the version it used.
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("model_version"), knownvalue.StringExact("churn-2")),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("artifact_sha256"), knownvalue.StringExact(f.modelSHA256)),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("succeeded")),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("attempts"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("started_at"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("finished_at"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("input_uri"), knownvalue.StringExact("file://"+f.in)),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("output_uri"), knownvalue.StringExact("file://"+filepath.Join(f.out, "nightly-scores-1"))),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("input_sha256"), knownvalue.StringRegexp(sha256HexRE)),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("rows_total"), knownvalue.Int64Exact(3)),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("rows_scored"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("rows_failed"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("files"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"input":        knownvalue.StringExact("file://" + filepath.Join(f.in, "rows.csv")),
							"input_sha256": knownvalue.StringRegexp(sha256HexRE),
							"output":       knownvalue.StringExact("file://" + filepath.Join(f.out, "nightly-scores-1", "rows.csv")),
							"rows":         knownvalue.Int64Exact(3),
							"failed":       knownvalue.Int64Exact(1),
						}),
					})),
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("errors"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"file":    knownvalue.StringExact("rows.csv"),
							"row":     knownvalue.Int64Exact(2),
							"message": knownvalue.StringExact(`column "x": "oops" is not a number`),
						}),
					})),
					statecheck.CompareValuePairs(batchRunDSAddr, tfjsonpath.New("uid"), batchRunByNameDSAddr, tfjsonpath.New("uid"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(batchRunByNameDSAddr, tfjsonpath.New("latest"), knownvalue.Null()),
				},
			},
			{ // a second run becomes the latest
				PreConfig: func() {
					run, err := a.client.StartBatchInferenceRun(ctx, "dev", "nightly-scores")
					if err != nil {
						t.Fatal(err)
					}
					waitBatchRunFinished(t, a.client, "dev", run.Metadata.Name)
				},
				Config: base + testAccBatchRunDataSources,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(batchRunDSAddr, tfjsonpath.New("name"), knownvalue.StringExact("nightly-scores-2")),
					statecheck.ExpectKnownValue(batchRunByNameDSAddr, tfjsonpath.New("name"), knownvalue.StringExact("nightly-scores-1")),
				},
			},
			{
				Config: base + `
data "mlops_batch_inference_run" "latest" {
  environment = "dev"
  job         = "nightly-scores"
}
`,
				ExpectError: expectErrorWords("set latest = true"),
			},
			{
				Config: base + `
data "mlops_batch_inference_run" "latest" {
  environment = "dev"
  name        = "nightly-scores-1"
  latest      = true
}
`,
				ExpectError: expectErrorWords("latest = true reads the newest run of a job"),
			},
			{
				Config: base + `
data "mlops_batch_inference_run" "latest" {
  environment = "dev"
  name        = "nightly-scores-9"
}
`,
				ExpectError: expectErrorWords(`batch inference run "nightly-scores-9" in environment "dev"`),
			},
		},
	})
}
