package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const batchJobAddr = "mlops_batch_inference_job.test"

// batchFiles are the local files a batch test uses: an mlops-linear model
// (y = 2x + 1) and an input folder holding one CSV file; out is where runs
// write.
type batchFiles struct {
	model, modelSHA256, in, out string
}

func newBatchFiles(t *testing.T) batchFiles {
	t.Helper()
	dir := t.TempDir()
	content := []byte(`{"slope": 2, "intercept": 1}`)
	f := batchFiles{model: filepath.Join(dir, "model.json"), in: filepath.Join(dir, "in"), out: filepath.Join(dir, "out")}
	sum := sha256.Sum256(content)
	f.modelSHA256 = hex.EncodeToString(sum[:])
	if err := os.WriteFile(f.model, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(f.in, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.in, "rows.csv"), []byte("id,x\na,1\nb,oops\nc,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// testAccBatchBase declares environment dev, pools cpu and cpu-b, model
// churn with versions churn-1 and churn-2 (the same local artifact), and
// alias champion → churn-2.
func testAccBatchBase(a *testAcc, f batchFiles) string {
	return a.providerConfig() + fmt.Sprintf(`
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
  task_type   = "regression"
}

resource "mlops_model_version" "v1" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.churn.name
  name            = "churn-1"
  artifact_uri    = "file://%[1]s"
  artifact_sha256 = %[2]q
  framework       = "mlops-linear"
}

resource "mlops_model_version" "v2" {
  environment     = mlops_environment.dev.name
  model           = mlops_model.churn.name
  name            = "churn-2"
  artifact_uri    = "file://%[1]s"
  artifact_sha256 = %[2]q
  framework       = "mlops-linear"
}

resource "mlops_model_alias" "champion" {
  environment = mlops_environment.dev.name
  name        = "champion"
  model       = mlops_model.churn.name
  version     = mlops_model_version.v2.name
}
`, f.model, f.modelSHA256)
}

// testAccBatchJobConfig is job nightly-scores over f's folders with attrs.
func testAccBatchJobConfig(a *testAcc, f batchFiles, attrs string) string {
	return testAccBatchBase(a, f) + fmt.Sprintf(`
resource "mlops_batch_inference_job" "test" {
  environment = mlops_environment.dev.name
  name        = "nightly-scores"
  input_uri   = "file://%[1]s"
  output_uri  = "file://%[2]s"
%[3]s}
`, f.in, f.out, attrs)
}

func testAccCheckBatchJobDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_batch_inference_job", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetBatchInferenceJob(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

func TestAccBatchInferenceJob_basic(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	f := newBatchFiles(t)
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	update := resource.ConfigPlanChecks{
		PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(batchJobAddr, plancheck.ResourceActionUpdate)},
	}
	v1 := testAccBatchJobConfig(a, f, `
  model_version   = mlops_model_version.v1.name
  compute_pool    = mlops_compute_pool.cpu.name
  feature_columns = ["x"]
`)
	v2 := testAccBatchJobConfig(a, f, `
  description             = "scores new accounts nightly"
  model                   = mlops_model.churn.name
  alias                   = mlops_model_alias.champion.name
  compute_pool            = mlops_compute_pool.cpu_b.name
  input_format            = "csv"
  max_failed_rows_percent = 40
  timeout_seconds         = 600
  triggers = {
    schedule    = "0 3 * * *"
    on_new_data = true
  }
`)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckBatchJobDestroyed(a),
		Steps: []resource.TestStep{
			{ // create; the framework then checks that a plan is empty
				Config: v1,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/nightly-scores")),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("model_version"), knownvalue.StringExact("churn-1")),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("model"), knownvalue.Null()),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("alias"), knownvalue.Null()),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("description"), knownvalue.StringExact("")),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("input_format"), knownvalue.StringExact("auto")),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("feature_columns"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("x")})),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("max_failed_rows_percent"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("timeout_seconds"), knownvalue.Int64Exact(3600)),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("triggers"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"schedule":    knownvalue.StringExact(""),
						"on_new_data": knownvalue.Bool(false),
					})),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("uid"), knownvalue.NotNull()),
					uidSame.AddStateValue(batchJobAddr, tfjsonpath.New("uid")),
				},
			},
			{ // import by env/name
				ResourceName:      batchJobAddr,
				ImportState:       true,
				ImportStateId:     "dev/nightly-scores",
				ImportStateVerify: true,
			},
			{ // another model selection, pool, format and triggers: in place
				Config:           v2,
				ConfigPlanChecks: update,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("model_version"), knownvalue.Null()),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("model"), knownvalue.StringExact("churn")),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("alias"), knownvalue.StringExact("champion")),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("compute_pool"), knownvalue.StringExact("cpu-b")),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("feature_columns"), knownvalue.Null()),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("input_format"), knownvalue.StringExact("csv")),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("max_failed_rows_percent"), knownvalue.Int64Exact(40)),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("timeout_seconds"), knownvalue.Int64Exact(600)),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("triggers"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"schedule":    knownvalue.StringExact("0 3 * * *"),
						"on_new_data": knownvalue.Bool(true),
					})),
					uidSame.AddStateValue(batchJobAddr, tfjsonpath.New("uid")),
				},
			},
			{ // changed behind Terraform's back: the plan shows the drift and fixes it
				PreConfig: func() {
					j, err := a.client.GetBatchInferenceJob(ctx, "dev", "nightly-scores")
					if err != nil {
						t.Fatal(err)
					}
					j.Spec.Description = "edited by hand"
					j.Spec.MaxFailedRowsPercent = 90
					j.Spec.Triggers.OnNewData = false
					if _, err := a.client.UpdateBatchInferenceJob(ctx, "dev", "nightly-scores", j.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: v2,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(batchJobAddr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("description"), knownvalue.StringExact("scores new accounts nightly")),
						plancheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("max_failed_rows_percent"), knownvalue.Int64Exact(40)),
						plancheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("triggers").AtMapKey("on_new_data"), knownvalue.Bool(true)),
					},
				},
			},
			{ // deleted behind Terraform's back: the plan recreates it
				PreConfig: func() {
					if _, err := a.client.DeleteBatchInferenceJob(ctx, "dev", "nightly-scores"); err != nil {
						t.Fatal(err)
					}
				},
				Config: v2,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(batchJobAddr, plancheck.ResourceActionCreate)},
				},
			},
			{ // back to the first config: dropped attributes take their defaults
				Config:           v1,
				ConfigPlanChecks: update,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("alias"), knownvalue.Null()),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("input_format"), knownvalue.StringExact("auto")),
					statecheck.ExpectKnownValue(batchJobAddr, tfjsonpath.New("triggers").AtMapKey("schedule"), knownvalue.StringExact("")),
				},
			},
		},
	})
}

// TestAccBatchInferenceJob_invalid refuses bad input at plan time, naming
// the attribute and the fix; nothing reaches the control plane.
func TestAccBatchInferenceJob_invalid(t *testing.T) {
	a := startAcc(t)
	f := newBatchFiles(t)
	plan := func(attrs string, want ...string) resource.TestStep {
		return resource.TestStep{Config: testAccBatchJobConfig(a, f, attrs), PlanOnly: true, ExpectError: expectErrorWords(want...)}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			plan(`
  compute_pool  = "cpu"
  model_version = "churn-1"
  model         = "churn"
  alias         = "champion"
`, "Conflicting model selection", "set either model_version, or model and alias", "not both"),
			plan(`
  compute_pool = "cpu"
`, "Missing model selection", "set model_version"),
			plan(`
  compute_pool = "cpu"
  model        = "churn"
`, "Missing alias", "name the alias of the model to score with"),
			plan(`
  compute_pool  = "cpu"
  model_version = "churn-1"
  triggers      = { schedule = "every day" }
`, "Invalid schedule", `"every day" has 2 fields`, "use 5 fields in UTC"),
			plan(`
  compute_pool  = "cpu"
  model_version = "churn-1"
  triggers      = { schedule = "TZ=Europe/Paris 0 3 * * *" }
`, "Invalid schedule", "schedules are in UTC"),
			plan(`
  compute_pool    = "cpu"
  model_version   = "churn-1"
  feature_columns = ["a,b"]
`, "Invalid feature column", "contains a comma"),
			plan(`
  compute_pool            = "cpu"
  model_version           = "churn-1"
  max_failed_rows_percent = 101
`, "max_failed_rows_percent", "between 0 and 100"),
			plan(`
  compute_pool  = "cpu"
  model_version = "churn-1"
  input_format  = "parquet"
`, "input_format", "auto", "csv", "jsonl"),
			{
				Config: a.providerConfig() + `
resource "mlops_batch_inference_job" "test" {
  environment   = "dev"
  name          = "nightly-scores"
  compute_pool  = "cpu"
  model_version = "churn-1"
  input_uri     = "s3://bucket/incoming"
  output_uri    = "file:///data/predictions/"
}
`,
				PlanOnly:    true,
				ExpectError: expectErrorWords("Invalid input_uri", `input_uri "s3://bucket/incoming" is not a file:// URI`),
			},
			{
				Config: a.providerConfig() + `
resource "mlops_batch_inference_job" "test" {
  environment   = "dev"
  name          = "nightly-scores"
  compute_pool  = "cpu"
  model_version = "churn-1"
  input_uri     = "file:///data/incoming"
  output_uri    = "file:///data/predictions/"
}
`,
				PlanOnly:    true,
				ExpectError: expectErrorWords("Invalid output_uri", "is not a clean folder path", "without a trailing slash"),
			},
		},
	})
}

// TestAccBatchInferenceJob_missingComputePool is refused by the control
// plane at apply, next to the attribute to fix; nothing is created.
func TestAccBatchInferenceJob_missingComputePool(t *testing.T) {
	a := startAcc(t)
	f := newBatchFiles(t)
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             testAccCheckBatchJobDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: testAccBatchJobConfig(a, f, `
  compute_pool  = "gpu"
  model_version = mlops_model_version.v1.name
`),
				ExpectError: expectErrorWords("Error creating batch inference job", `compute_pool = "gpu"`, `compute pool "gpu" does not exist in environment "dev"`, "create it first (mlops_compute_pool)"),
			},
			{
				Config: testAccBatchJobConfig(a, f, `
  compute_pool  = "cpu"
  model         = mlops_model.churn.name
  alias         = "challenger"
`),
				ExpectError: expectErrorWords(`model alias "challenger" does not exist`),
			},
		},
	})
}

func TestBatchModelProblems(t *testing.T) {
	all := func(v, m, a bool) batchModelCheck {
		return batchModelCheck{VersionSet: v, VersionKnown: true, ModelSet: m, ModelKnown: true, AliasSet: a, AliasKnown: true}
	}
	for _, tc := range []struct {
		name string
		c    batchModelCheck
		attr string // "" for no problem
	}{
		{"Version", all(true, false, false), ""},
		{"Alias", all(false, true, true), ""},
		{"Both", all(true, true, true), "alias"},
		{"VersionAndModel", all(true, true, false), "model"},
		{"Neither", all(false, false, false), "model_version"},
		{"ModelOnly", all(false, true, false), "alias"},
		{"AliasOnly", all(false, false, true), "model"},
		{"Unknown", batchModelCheck{VersionSet: true, ModelSet: true, ModelKnown: true, AliasSet: true, AliasKnown: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := batchModelProblems(tc.c)
			switch {
			case tc.attr == "" && len(p) > 0:
				t.Errorf("problems %+v, want none", p)
			case tc.attr != "" && (len(p) != 1 || p[0].Path.String() != tc.attr):
				t.Errorf("problems %+v, want one at %s", p, tc.attr)
			}
		})
	}
}

func TestBatchURIProblem(t *testing.T) {
	for _, tc := range []struct {
		attr, uri string
		ok        bool
	}{
		{"input_uri", "file:///data/in", true},
		{"input_uri", "file:///data/in/", true},
		{"input_uri", "file://localhost/data/in.csv", true},
		{"input_uri", "s3://bucket/in", false},
		{"input_uri", "file://data/in", false},
		{"input_uri", "/data/in", false},
		{"output_uri", "file:///data/out", true},
		{"output_uri", "file:///data/out/", false},
		{"output_uri", "file:///data/../out", false},
		{"output_uri", "file:///", false},
		{"output_uri", "file:///data/out?x=1", false},
	} {
		if got := batchURIProblem(tc.attr, tc.uri); (got == "") != tc.ok {
			t.Errorf("%s %q: problem %q, want ok=%v", tc.attr, tc.uri, got, tc.ok)
		}
	}
}
