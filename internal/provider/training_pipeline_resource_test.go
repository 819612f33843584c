package provider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const (
	pipelineAddr   = "mlops_training_pipeline.test"
	pipelineDSAddr = "data.mlops_training_pipeline.test"
)

// testAccPipelineBase declares environment dev with two CPU pools (cpu and
// cpu-b) and two models (churn and churn-v2).
func testAccPipelineBase(a *testAcc) string {
	return a.providerConfig() + `
resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_compute_pool" "cpu" {
  environment = mlops_environment.dev.name
  name        = "cpu"
  max_nodes   = 2
}

resource "mlops_compute_pool" "cpu_b" {
  environment = mlops_environment.dev.name
  name        = "cpu-b"
  max_nodes   = 1
}

resource "mlops_model" "churn" {
  environment = mlops_environment.dev.name
  name        = "churn"
  task_type   = "classification"
}

resource "mlops_model" "churn_v2" {
  environment = mlops_environment.dev.name
  name        = "churn-v2"
  task_type   = "classification"
}
`
}

// testAccPipelineConfig is pipeline churn-train on the given pool and model
// resources (by their Terraform names), with the given other attributes.
func testAccPipelineConfig(a *testAcc, pool, model, attrs string) string {
	return testAccPipelineBase(a) + fmt.Sprintf(`
resource "mlops_training_pipeline" "test" {
  environment  = mlops_environment.dev.name
  name         = "churn-train"
  compute_pool = mlops_compute_pool.%[1]s.name
  model        = mlops_model.%[2]s.name
%[3]s}
`, pool, model, attrs)
}

// testAccPipelineAttrs is the pipeline's first version: two steps and two
// parameters, no triggers.
const testAccPipelineAttrs = `
  description = "nightly churn model"
  labels = {
    team = "growth"
  }
  parameters = [
    { name = "lr", type = "float", default = "0.01" },
    { name = "epochs", type = "int", default = "3" },
  ]
  steps = [
    {
      name    = "prep"
      command = ["sh", "-c", "echo prep"]
      inputs  = ["file:///data/train.csv"]
      outputs = ["train.csv"]
    },
    {
      name       = "train"
      command    = ["sh", "-c", "echo train"]
      depends_on = ["prep"]
      retries    = 2
      env = {
        SEED = "1"
      }
    },
  ]
`

// testAccPipelineAttrsV2 adds a step and triggers that watch dataFile.
func testAccPipelineAttrsV2(dataFile string) string {
	return testAccPipelineAttrs[:strings.LastIndex(testAccPipelineAttrs, "  ]")] + fmt.Sprintf(`    {
      name            = "eval"
      command         = ["sh", "-c", "echo eval"]
      depends_on      = ["train", "prep"]
      timeout_seconds = 600
    },
  ]
  triggers = {
    schedule    = "0 3 1 1 *"
    on_new_data = [%q]
  }
`, "file://"+dataFile)
}

func testAccCheckTrainingPipelineDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_training_pipeline", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetTrainingPipeline(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

func TestAccTrainingPipeline_basic(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	dataFile := filepath.Join(t.TempDir(), "train.csv")
	if err := os.WriteFile(dataFile, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	uidChanged := statecheck.CompareValue(compare.ValuesDiffer())
	update := resource.ConfigPlanChecks{
		PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(pipelineAddr, plancheck.ResourceActionUpdate)},
	}
	v1 := testAccPipelineConfig(a, "cpu", "churn", testAccPipelineAttrs)
	v2 := testAccPipelineConfig(a, "cpu_b", "churn", testAccPipelineAttrsV2(dataFile))
	v3 := testAccPipelineConfig(a, "cpu_b", "churn_v2", testAccPipelineAttrsV2(dataFile))
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckTrainingPipelineDestroyed(a),
		Steps: []resource.TestStep{
			{ // create; the framework then checks that a plan is empty
				Config: v1,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/churn-train")),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("compute_pool"), knownvalue.StringExact("cpu")),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("model"), knownvalue.StringExact("churn")),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("parameters"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name": knownvalue.StringExact("lr"), "type": knownvalue.StringExact("float"), "default": knownvalue.StringExact("0.01"),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name": knownvalue.StringExact("epochs"), "type": knownvalue.StringExact("int"), "default": knownvalue.StringExact("3"),
						}),
					})),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("steps"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name":            knownvalue.StringExact("prep"),
							"command":         knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("sh"), knownvalue.StringExact("-c"), knownvalue.StringExact("echo prep")}),
							"image":           knownvalue.StringExact(""),
							"env":             knownvalue.Null(),
							"inputs":          knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("file:///data/train.csv")}),
							"outputs":         knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("train.csv")}),
							"depends_on":      knownvalue.Null(),
							"retries":         knownvalue.Int64Exact(0),
							"timeout_seconds": knownvalue.Int64Exact(3600),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name":            knownvalue.StringExact("train"),
							"command":         knownvalue.ListSizeExact(3),
							"image":           knownvalue.StringExact(""),
							"env":             knownvalue.MapExact(map[string]knownvalue.Check{"SEED": knownvalue.StringExact("1")}),
							"inputs":          knownvalue.Null(),
							"outputs":         knownvalue.Null(),
							"depends_on":      knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("prep")}),
							"retries":         knownvalue.Int64Exact(2),
							"timeout_seconds": knownvalue.Int64Exact(3600),
						}),
					})),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("triggers"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"schedule":    knownvalue.StringExact(""),
						"on_new_data": knownvalue.Null(),
						"on_alarm":    knownvalue.Null(),
					})),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("uid"), knownvalue.NotNull()),
					uidSame.AddStateValue(pipelineAddr, tfjsonpath.New("uid")),
				},
			},
			{ // import by env/name
				ResourceName:      pipelineAddr,
				ImportState:       true,
				ImportStateId:     "dev/churn-train",
				ImportStateVerify: true,
			},
			{ // a new step, triggers and another pool: a new generation in place
				Config:           v2,
				ConfigPlanChecks: update,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("compute_pool"), knownvalue.StringExact("cpu-b")),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("steps"), knownvalue.ListSizeExact(3)),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("steps").AtSliceIndex(2).AtMapKey("depends_on"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("train"), knownvalue.StringExact("prep")})),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("steps").AtSliceIndex(2).AtMapKey("timeout_seconds"), knownvalue.Int64Exact(600)),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("triggers").AtMapKey("schedule"), knownvalue.StringExact("0 3 1 1 *")),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("triggers").AtMapKey("on_new_data"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("file://" + dataFile)})),
					uidSame.AddStateValue(pipelineAddr, tfjsonpath.New("uid")),
					uidChanged.AddStateValue(pipelineAddr, tfjsonpath.New("uid")),
				},
			},
			{ // versions belong to one model: another model replaces the pipeline
				Config: v3,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(pipelineAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("model"), knownvalue.StringExact("churn-v2")),
					uidChanged.AddStateValue(pipelineAddr, tfjsonpath.New("uid")),
				},
			},
			{ // changed behind Terraform's back: the plan shows the drift and fixes it
				PreConfig: func() {
					p, err := a.client.GetTrainingPipeline(ctx, "dev", "churn-train")
					if err != nil {
						t.Fatal(err)
					}
					p.Spec.Description = "edited by hand"
					p.Spec.Steps[1].Retries = 5
					p.Spec.Triggers.Schedule = ""
					if _, err := a.client.UpdateTrainingPipeline(ctx, "dev", "churn-train", p.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: v3,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(pipelineAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("description"), knownvalue.StringExact("nightly churn model")),
						plancheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("steps").AtSliceIndex(1).AtMapKey("retries"), knownvalue.Int64Exact(2)),
						plancheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("triggers").AtMapKey("schedule"), knownvalue.StringExact("0 3 1 1 *")),
					},
				},
			},
			{ // deleted behind Terraform's back: the plan recreates it
				PreConfig: func() {
					if _, err := a.client.DeleteTrainingPipeline(ctx, "dev", "churn-train"); err != nil {
						t.Fatal(err)
					}
				},
				Config: v3,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(pipelineAddr, plancheck.ResourceActionCreate)},
				},
			},
		},
	})
}

func TestAccTrainingPipeline_minimal(t *testing.T) {
	a := startAcc(t)
	config := testAccPipelineConfig(a, "cpu", "churn", `
  steps = [{ name = "train", command = ["true"] }]
`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckTrainingPipelineDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("labels"), knownvalue.Null()),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("parameters"), knownvalue.Null()),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("steps").AtSliceIndex(0).AtMapKey("timeout_seconds"), knownvalue.Int64Exact(3600)),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("triggers").AtMapKey("schedule"), knownvalue.StringExact("")),
				},
			},
			{ // omitted attributes never show a diff
				Config:   config,
				PlanOnly: true,
			},
			{ // a required parameter is fine without triggers
				Config: testAccPipelineConfig(a, "cpu", "churn", `
  parameters = [{ name = "lr", type = "float" }]
  steps      = [{ name = "train", command = ["true"] }]
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(pipelineAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("parameters").AtSliceIndex(0).AtMapKey("default"), knownvalue.StringExact("")),
				},
			},
			{ // triggers given in part take the defaults for the rest
				Config: testAccPipelineConfig(a, "cpu", "churn", `
  steps    = [{ name = "train", command = ["true"] }]
  triggers = { on_alarm = ["drift-high"] }
`),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(pipelineAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("parameters"), knownvalue.Null()),
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("triggers"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"schedule":    knownvalue.StringExact(""),
						"on_new_data": knownvalue.Null(),
						"on_alarm":    knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("drift-high")}),
					})),
				},
			},
			{ // dropping the triggers block goes back to no triggers
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(pipelineAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(pipelineAddr, tfjsonpath.New("triggers").AtMapKey("on_alarm"), knownvalue.Null()),
				},
			},
		},
	})
}

func TestAccTrainingPipeline_badInput(t *testing.T) {
	a := startAcc(t)
	// pipeline renders the pipeline on pool cpu and model churn with the
	// given steps and other attributes.
	pipeline := func(steps, extra string) string {
		return testAccPipelineConfig(a, "cpu", "churn", fmt.Sprintf("  steps = %s\n%s\n", steps, extra))
	}
	ok := `[{ name = "train", command = ["true"] }]`
	raw := func(attrs string) string {
		return testAccPipelineBase(a) + `
resource "mlops_training_pipeline" "test" {
  environment = mlops_environment.dev.name
` + attrs + `
}
`
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckTrainingPipelineDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: pipeline(`[
    { name = "a", command = ["true"], depends_on = ["b"] },
    { name = "b", command = ["true"], depends_on = ["a"] },
  ]`, ""),
				ExpectError: expectErrorWords("Dependency cycle in steps", "cycle: a -> b -> a", "Remove one of these dependencies"),
			},
			{
				Config: pipeline(`[
    { name = "a", command = ["true"] },
    { name = "b", command = ["true"], depends_on = ["c"] },
  ]`, ""),
				ExpectError: expectErrorWords(`steps[1].depends_on[0] is "c"`, "no step of that name", `its steps are "a" and "b"`),
			},
			{
				Config: pipeline(`[
    { name = "a", command = ["true"] },
    { name = "a", command = ["false"] },
  ]`, ""),
				ExpectError: expectErrorWords(`steps[1].name is "a"`, "step names must be unique"),
			},
			{
				Config:      pipeline(`[{ name = "a", command = ["true"], image = "train:1" }]`, ""),
				ExpectError: expectErrorWords("sets both command and image", "Remove one of them"),
			},
			{
				Config:      pipeline(`[{ name = "a" }]`, ""),
				ExpectError: expectErrorWords("sets neither command nor image"),
			},
			{
				Config:      pipeline(`[{ name = "Train", command = ["true"] }]`, ""),
				ExpectError: expectErrorWords("Attribute steps[0].name", "lowercase letters"),
			},
			{
				Config:      pipeline(ok, `  parameters = [{ name = "lr", type = "float", default = "fast" }]`),
				ExpectError: expectErrorWords(`parameters[0].default: "fast" is not a finite decimal number`, `of type float`),
			},
			{
				Config:      pipeline(ok, `  parameters = [{ name = "lr", type = "double" }]`),
				ExpectError: expectErrorWords("Attribute parameters[0].type", "value must be one of"),
			},
			{
				Config:      pipeline(ok, `  triggers = { schedule = "0 3 * *" }`),
				ExpectError: expectErrorWords(`"0 3 * *" has 4 fields`, "use 5 fields in UTC"),
			},
			{
				Config:      pipeline(ok, `  triggers = { on_new_data = ["data/train.csv"] }`),
				ExpectError: expectErrorWords(`"data/train.csv" is not a file:// URI`, "file:///absolute/path"),
			},
			{
				Config: pipeline(ok, `  parameters = [{ name = "lr", type = "float" }]
  triggers   = { schedule = "@daily" }`),
				ExpectError: expectErrorWords(`parameter "lr" has no default`, "runs started by triggers"),
			},
			{
				Config:      pipeline(`[{ name = "a", command = ["true"], retries = 11 }]`, ""),
				ExpectError: expectErrorWords("Attribute steps[0].retries", "between 0 and 10"),
			},
			{
				Config: raw(`  name         = "` + strings.Repeat("p", 53) + `"
  compute_pool = mlops_compute_pool.cpu.name
  model        = mlops_model.churn.name
  steps        = [{ name = "a", command = ["true"] }]`),
				ExpectError: expectErrorWords("Attribute name", "at most 52"),
			},
			{ // only the server knows which compute pools exist
				Config: raw(`  name         = "churn-train"
  compute_pool = "nope"
  model        = mlops_model.churn.name
  steps        = [{ name = "a", command = ["true"] }]`),
				ExpectError: expectErrorWords("compute_pool", `compute pool "nope" does not exist in environment "dev"`),
			},
			{
				Config: raw(`  name         = "churn-train"
  compute_pool = mlops_compute_pool.cpu.name
  model        = "nope"
  steps        = [{ name = "a", command = ["true"] }]`),
				ExpectError: expectErrorWords("model", `model "nope" does not exist in environment "dev"`),
			},
			{ // the local driver runs processes, not containers
				Config:      pipeline(`[{ name = "a", image = "registry.example.com/train:1" }]`, ""),
				ExpectError: expectErrorWords("steps[0].image", "cannot run container images"),
			},
		},
	})
}

// waitRunFinished polls until the run finished, for at most a minute.
func waitRunFinished(t *testing.T, c *client.Client, env, name string) *api.PipelineRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var run *api.PipelineRun
	err := client.Poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		r, err := c.GetPipelineRun(ctx, env, name)
		if err != nil {
			return false, err
		}
		run = r
		return api.RunFinished(r.Status.Phase), nil
	})
	if err != nil {
		t.Fatalf("run %s did not finish (last %+v): %v", name, run, err)
	}
	return run
}

// testAccCheckNothingLeft checks that the control plane lists no
// environment: a destroy left nothing behind, not even objects that are in
// no Terraform state (pipeline runs, versions that runs registered).
func testAccCheckNothingLeft(a *testAcc) resource.TestCheckFunc {
	return func(*terraform.State) error {
		envs, err := a.client.ListEnvironments(context.Background(), api.ListOptions{})
		if err != nil {
			return err
		}
		if len(envs.Items) > 0 {
			return fmt.Errorf("environment %q is left after destroy", envs.Items[0].Metadata.Name)
		}
		return nil
	}
}

// testAccTrainedModelConfig is environment dev with pool cpu, model churn
// (with the given force_destroy) and pipeline churn-train, whose one step
// runs trainScript, which writes model.json: each run registers a version.
func testAccTrainedModelConfig(a *testAcc, trainScript string, forceDestroy bool) string {
	return a.providerConfig() + fmt.Sprintf(`
resource "mlops_environment" "dev" {
  name = "dev"
}

resource "mlops_compute_pool" "cpu" {
  environment = mlops_environment.dev.name
  name        = "cpu"
  max_nodes   = 1
}

resource "mlops_model" "churn" {
  environment   = mlops_environment.dev.name
  name          = "churn"
  task_type     = "regression"
  force_destroy = %[2]t
}

resource "mlops_training_pipeline" "test" {
  environment  = mlops_environment.dev.name
  name         = "churn-train"
  compute_pool = mlops_compute_pool.cpu.name
  model        = mlops_model.churn.name
  steps        = [{ name = "train", command = ["sh", %[1]q] }]
}
`, trainScript, forceDestroy)
}

// TestAccTrainingPipeline_destroyAfterRun: once a pipeline ran, its runs
// and the version it registered are in no Terraform state. Destroy deletes
// the runs with the pipeline; the model's version keeps the model unless
// force_destroy is true, and then everything goes.
func TestAccTrainingPipeline_destroyAfterRun(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	script := filepath.Join(t.TempDir(), "train.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho '{\"slope\": 2}' > \"$MLOPS_OUTPUT_DIR/model.json\"\necho '{\"rmse\": 0.1}' > \"$MLOPS_OUTPUT_DIR/metrics.json\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keep, force := testAccTrainedModelConfig(a, script, false), testAccTrainedModelConfig(a, script, true)
	versionGone := func(*terraform.State) error {
		_, err := a.client.GetModelVersion(ctx, "dev", "churn-train-1")
		if err == nil {
			return errors.New("model version churn-train-1, registered by a run, is left after destroy")
		}
		if !client.IsNotFound(err) {
			return err
		}
		return nil
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeTestCheckFunc(
			testAccCheckTrainingPipelineDestroyed(a), testAccCheckModelDestroyed(a), versionGone, testAccCheckNothingLeft(a)),
		Steps: []resource.TestStep{
			{
				Config: keep,
			},
			{ // a run registers a version outside Terraform: the plan stays empty
				PreConfig: func() {
					run, err := a.client.StartPipelineRun(ctx, "dev", "churn-train", nil)
					if err != nil {
						t.Fatal(err)
					}
					if run = waitRunFinished(t, a.client, "dev", run.Metadata.Name); run.Status.Phase != api.PhaseSucceeded || run.Status.ModelVersion != "churn-train-1" {
						t.Fatalf("run %s ended %s, version %q: %s", run.Metadata.Name, run.Status.Phase, run.Status.ModelVersion, run.Status.Message)
					}
					v, err := a.client.GetModelVersion(ctx, "dev", "churn-train-1")
					if err != nil {
						t.Fatal(err)
					}
					if v.Spec.Model != "churn" || v.Spec.Lineage.PipelineRun != "churn-train-1" {
						t.Fatalf("registered version %+v", v.Spec)
					}
				},
				Config:   keep,
				PlanOnly: true,
			},
			{ // without force_destroy the model's version stops the destroy, which says how to proceed
				Config:      keep,
				Destroy:     true,
				ExpectError: expectErrorWords("Error deleting model", `model "churn" in environment "dev" still has 1 version ("churn-train-1")`, "force_destroy = true"),
			},
			{ // the pipeline went with its runs; the version stays, with its lineage
				PreConfig: func() {
					if _, err := a.client.GetPipelineRun(ctx, "dev", "churn-train-1"); !client.IsNotFound(err) {
						t.Fatalf("run churn-train-1 outlived its pipeline: %v", err)
					}
					if _, err := a.client.GetModelVersion(ctx, "dev", "churn-train-1"); err != nil {
						t.Fatal(err)
					}
				},
				Config: force,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(pipelineAddr, plancheck.ResourceActionCreate),
					plancheck.ExpectResourceAction("mlops_model.churn", plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mlops_model.churn", tfjsonpath.New("force_destroy"), knownvalue.Bool(true)),
				},
			},
			// The test's destroy then deletes the model with its version,
			// and CheckDestroy finds nothing left.
		},
	})
}
