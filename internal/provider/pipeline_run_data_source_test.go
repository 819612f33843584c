package provider

import (
	"context"
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
	runDSAddr       = "data.mlops_pipeline_run.latest"
	runByNameDSAddr = "data.mlops_pipeline_run.by_name"
)

// testAccHelloPipelineConfig is pipeline hello with one trivial step and
// no triggers, on pool cpu and model churn.
func testAccHelloPipelineConfig(a *testAcc) string {
	return testAccPipelineBase(a) + `
resource "mlops_training_pipeline" "test" {
  environment  = mlops_environment.dev.name
  name         = "hello"
  compute_pool = mlops_compute_pool.cpu.name
  model        = mlops_model.churn.name
  parameters   = [{ name = "greeting", type = "string", default = "hi" }]
  steps        = [{ name = "say", command = ["sh", "-c", "echo hi"] }]
}
`
}

// testAccRunDataSources reads hello's newest run, that run by name, and
// the pipeline.
const testAccRunDataSources = `
data "mlops_pipeline_run" "latest" {
  environment = mlops_training_pipeline.test.environment
  pipeline    = mlops_training_pipeline.test.name
  latest      = true
}

data "mlops_pipeline_run" "by_name" {
  environment = mlops_training_pipeline.test.environment
  name        = "hello-1"
}

data "mlops_training_pipeline" "test" {
  environment = mlops_training_pipeline.test.environment
  name        = mlops_training_pipeline.test.name
}
`

func TestAccPipelineRun_dataSource(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	base := testAccHelloPipelineConfig(a)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		// Destroying the pipeline deletes its runs, so the environment goes too.
		CheckDestroy: resource.ComposeTestCheckFunc(testAccCheckTrainingPipelineDestroyed(a), testAccCheckNothingLeft(a)),
		Steps: []resource.TestStep{
			{
				Config: base,
			},
			{ // before the first run there is nothing to read
				Config: base + `
data "mlops_pipeline_run" "latest" {
  environment = "dev"
  pipeline    = "hello"
  latest      = true
}
`,
				ExpectError: expectErrorWords(`training pipeline "hello" in environment "dev" has no runs yet`),
			},
			{
				PreConfig: func() {
					run, err := a.client.StartPipelineRun(ctx, "dev", "hello", nil)
					if err != nil {
						t.Fatal(err)
					}
					if run.Metadata.Name != "hello-1" {
						t.Fatalf("first run is %q, want hello-1", run.Metadata.Name)
					}
					if run = waitRunFinished(t, a.client, "dev", run.Metadata.Name); run.Status.Phase != api.PhaseSucceeded {
						t.Fatalf("run %s ended %s: %s", run.Metadata.Name, run.Status.Phase, run.Status.Message)
					}
					waitRunCounted(t, a.client, "dev", "hello", 1)
				},
				Config: base + testAccRunDataSources,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/hello-1")),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("name"), knownvalue.StringExact("hello-1")),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("pipeline"), knownvalue.StringExact("hello")),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("trigger"), knownvalue.StringExact("manual")),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("parameters"), knownvalue.MapExact(map[string]knownvalue.Check{
						"greeting": knownvalue.StringExact("hi"),
					})),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("pipeline_generation"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("succeeded")),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("started_at"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("finished_at"), knownvalue.NotNull()),
					// echo writes no model.json, so no version is registered.
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("model_version"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("steps"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"name":      knownvalue.StringExact("say"),
							"phase":     knownvalue.StringExact("succeeded"),
							"attempts":  knownvalue.Int64Exact(1),
							"exit_code": knownvalue.Int64Exact(0),
						}),
					})),
					statecheck.CompareValuePairs(runDSAddr, tfjsonpath.New("uid"), runByNameDSAddr, tfjsonpath.New("uid"), compare.ValuesSame()),
					statecheck.CompareValuePairs(runDSAddr, tfjsonpath.New("steps"), runByNameDSAddr, tfjsonpath.New("steps"), compare.ValuesSame()),
					statecheck.ExpectKnownValue(runByNameDSAddr, tfjsonpath.New("pipeline"), knownvalue.StringExact("hello")),
					statecheck.ExpectKnownValue(runByNameDSAddr, tfjsonpath.New("latest"), knownvalue.Null()),

					statecheck.ExpectKnownValue(pipelineDSAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(pipelineDSAddr, tfjsonpath.New("run_count"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(pipelineDSAddr, tfjsonpath.New("last_run"), knownvalue.StringExact("hello-1")),
					statecheck.ExpectKnownValue(pipelineDSAddr, tfjsonpath.New("next_scheduled_at"), knownvalue.Null()),
					statecheck.ExpectKnownValue(pipelineDSAddr, tfjsonpath.New("model"), knownvalue.StringExact("churn")),
					statecheck.CompareValuePairs(pipelineAddr, tfjsonpath.New("steps"), pipelineDSAddr, tfjsonpath.New("steps"), compare.ValuesSame()),
					statecheck.CompareValuePairs(pipelineAddr, tfjsonpath.New("parameters"), pipelineDSAddr, tfjsonpath.New("parameters"), compare.ValuesSame()),
					statecheck.CompareValuePairs(pipelineAddr, tfjsonpath.New("triggers"), pipelineDSAddr, tfjsonpath.New("triggers"), compare.ValuesSame()),
				},
			},
			{ // a second run becomes the latest
				PreConfig: func() {
					run, err := a.client.StartPipelineRun(ctx, "dev", "hello", map[string]string{"greeting": "hello"})
					if err != nil {
						t.Fatal(err)
					}
					waitRunFinished(t, a.client, "dev", run.Metadata.Name)
				},
				Config: base + testAccRunDataSources,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("name"), knownvalue.StringExact("hello-2")),
					statecheck.ExpectKnownValue(runDSAddr, tfjsonpath.New("parameters").AtMapKey("greeting"), knownvalue.StringExact("hello")),
					statecheck.ExpectKnownValue(runByNameDSAddr, tfjsonpath.New("name"), knownvalue.StringExact("hello-1")),
				},
			},
			{
				Config: base + `
data "mlops_pipeline_run" "latest" {
  environment = "dev"
  pipeline    = "hello"
}
`,
				ExpectError: expectErrorWords("set latest = true"),
			},
			{
				Config: base + `
data "mlops_pipeline_run" "latest" {
  environment = "dev"
  name        = "hello-1"
  pipeline    = "hello"
  latest      = true
}
`,
				ExpectError: expectErrorWords("Invalid Attribute Combination", "name", "pipeline"),
			},
			{
				Config: base + `
data "mlops_pipeline_run" "latest" {
  environment = "dev"
  name        = "hello-1"
  latest      = true
}
`,
				ExpectError: expectErrorWords("latest = true reads the newest run of a pipeline"),
			},
			{
				Config: base + `
data "mlops_pipeline_run" "latest" {
  environment = "dev"
  name        = "hello-9"
}
`,
				ExpectError: expectErrorWords(`pipeline run "hello-9" in environment "dev"`),
			},
		},
	})
}

// waitRunCounted polls until the pipeline's status counts n runs, for at
// most a minute: the pipeline reconciler counts manual runs on its next pass.
func waitRunCounted(t *testing.T, c *client.Client, env, name string, n int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := client.Poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		p, err := c.GetTrainingPipeline(ctx, env, name)
		if err != nil {
			return false, err
		}
		return p.Status.RunCount >= n, nil
	})
	if err != nil {
		t.Fatalf("pipeline %s did not count %d runs: %v", name, n, err)
	}
}
