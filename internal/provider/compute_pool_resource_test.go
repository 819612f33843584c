package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	fwresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/mlopsdtest"
)

const poolAddr = "mlops_compute_pool.test"

// testAccComputePoolConfig is environment dev (16 GPUs, T4 and A100
// allowed) with GPU pool gpu-a in it.
func testAccComputePoolConfig(a *testAcc, acceleratorType string, minNodes, maxNodes int) string {
	return testAccComputePoolEnvConfig(a, `{
    max_gpus                  = 16
    allowed_accelerator_types = ["nvidia-t4", "nvidia-a100"]
  }`, fmt.Sprintf(`
  name              = "gpu-a"
  accelerator_type  = %[1]q
  accelerator_count = 2
  min_nodes         = %[2]d
  max_nodes         = %[3]d
`, acceleratorType, minNodes, maxNodes))
}

// testAccComputePoolEnvConfig is environment dev with the given policy and
// pool mlops_compute_pool.test in it, with the given attributes.
func testAccComputePoolEnvConfig(a *testAcc, policy, pool string) string {
	return a.providerConfig() + fmt.Sprintf(`
resource "mlops_environment" "dev" {
  name   = "dev"
  policy = %s
}

resource "mlops_compute_pool" "test" {
  environment = mlops_environment.dev.name
%s}
`, policy, pool)
}

func testAccCheckComputePoolDestroyed(a *testAcc) resource.TestCheckFunc {
	return a.checkDestroyed("mlops_compute_pool", func(ctx context.Context, c *client.Client, attrs map[string]string) error {
		_, err := c.GetComputePool(ctx, attrs["environment"], attrs["name"])
		return err
	})
}

// checkPoolsAndEnvironmentsDestroyed checks both kinds a pool test creates.
func checkPoolsAndEnvironmentsDestroyed(a *testAcc) resource.TestCheckFunc {
	return resource.ComposeTestCheckFunc(testAccCheckComputePoolDestroyed(a), testAccCheckEnvironmentDestroyed(a))
}

func TestAccComputePool_basic(t *testing.T) {
	a := startAcc(t)
	ctx := context.Background()
	uidSame := statecheck.CompareValue(compare.ValuesSame())
	uidReplaced := statecheck.CompareValue(compare.ValuesDiffer())
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsAndEnvironmentsDestroyed(a),
		Steps: []resource.TestStep{
			{ // create; the framework then checks that a plan is empty
				Config: testAccComputePoolConfig(a, "nvidia-a100", 1, 4),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("id"), knownvalue.StringExact("dev/gpu-a")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("environment"), knownvalue.StringExact("dev")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("driver"), knownvalue.StringExact("local")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("accelerator_type"), knownvalue.StringExact("nvidia-a100")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("accelerator_count"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("cpu_per_node"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("memory_gib_per_node"), knownvalue.Int64Exact(16)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("min_nodes"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("max_nodes"), knownvalue.Int64Exact(4)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("spot"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("idle_scale_down_minutes"), knownvalue.Int64Exact(0)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("current_nodes"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("uid"), knownvalue.NotNull()),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("created_at"), knownvalue.NotNull()),
					uidSame.AddStateValue(poolAddr, tfjsonpath.New("uid")),
				},
			},
			{ // import reads the same state, phase and current_nodes included
				ResourceName:      poolAddr,
				ImportState:       true,
				ImportStateId:     "dev/gpu-a",
				ImportStateVerify: true,
			},
			{ // an import ID without the environment says what to write
				ResourceName:  poolAddr,
				ImportState:   true,
				ImportStateId: "gpu-a",
				ExpectError:   regexp.MustCompile(`(?s)Invalid import ID.*` + words("<environment>/<name>")),
			},
			{ // scaling changes in place and keeps the uid
				Config: testAccComputePoolConfig(a, "nvidia-a100", 2, 6),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(poolAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("min_nodes"), knownvalue.Int64Exact(2)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("max_nodes"), knownvalue.Int64Exact(6)),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("current_nodes"), knownvalue.Int64Exact(2)),
					uidSame.AddStateValue(poolAddr, tfjsonpath.New("uid")),
					uidReplaced.AddStateValue(poolAddr, tfjsonpath.New("uid")),
				},
			},
			{ // another accelerator type replaces the pool
				Config: testAccComputePoolConfig(a, "nvidia-t4", 2, 6),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(poolAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("accelerator_type"), knownvalue.StringExact("nvidia-t4")),
					uidReplaced.AddStateValue(poolAddr, tfjsonpath.New("uid")),
				},
			},
			{ // changed behind Terraform's back: the plan shows the drift
				PreConfig: func() {
					pool, err := a.client.GetComputePool(ctx, "dev", "gpu-a")
					if err != nil {
						t.Fatal(err)
					}
					pool.Spec.MaxNodes = 5
					if _, err := a.client.UpdateComputePool(ctx, "dev", "gpu-a", pool.Spec, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config:             testAccComputePoolConfig(a, "nvidia-t4", 2, 6),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{ // and applying puts it back
				Config: testAccComputePoolConfig(a, "nvidia-t4", 2, 6),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(poolAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("max_nodes"), knownvalue.Int64Exact(6)),
				},
			},
			{ // deleted behind Terraform's back: the plan recreates it, even
				// while the old pool is still releasing its nodes
				PreConfig: func() {
					if _, err := a.client.DeleteComputePool(ctx, "dev", "gpu-a"); err != nil {
						t.Fatal(err)
					}
				},
				Config: testAccComputePoolConfig(a, "nvidia-t4", 2, 6),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(poolAddr, plancheck.ResourceActionCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("current_nodes"), knownvalue.Int64Exact(2)),
				},
			},
		},
	})
}

// TestAccComputePool_runtimeOwnedNoDiff proves that the node count changing
// at run time, without any spec change, never shows in a plan, while the
// data source reports the live value.
func TestAccComputePool_runtimeOwnedNoDiff(t *testing.T) {
	a := startAcc(t)
	config := testAccComputePoolEnvConfig(a, "{}", `
  name      = "cpu"
  min_nodes = 1
  max_nodes = 3
`) + `
data "mlops_compute_pool" "live" {
  environment = mlops_compute_pool.test.environment
  name        = mlops_compute_pool.test.name
}
`
	const dsAddr = "data.mlops_compute_pool.live"
	// scaleUp writes the pool's status the way a reconciler does, for a
	// node count no reconciler reaches on its own in a test (nothing
	// schedules work yet). The status stays ready for the current
	// generation, so reconcilers leave it alone.
	scaleUp := func() {
		ctx := context.Background()
		ref := api.Ref{Kind: api.KindComputePool, Environment: "dev", Name: "cpu"}
		obj, err := a.srv.Daemon.Store.Get(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		var st api.ComputePoolStatus
		if err := json.Unmarshal(obj.Status, &st); err != nil {
			t.Fatal(err)
		}
		st.Phase, st.Reason, st.Message = api.PhaseReady, "", "3 nodes up"
		st.CurrentNodes, st.DesiredNodes = 3, 3
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.srv.Daemon.Store.UpdateStatus(ctx, ref, obj.Meta.UID, b); err != nil {
			t.Fatal(err)
		}
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsAndEnvironmentsDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("current_nodes"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.CompareValuePairs(dsAddr, tfjsonpath.New("current_nodes"), poolAddr, tfjsonpath.New("min_nodes"), compare.ValuesSame()),
				},
			},
			{ // reconcilers keep running; nothing they do is a diff
				PreConfig: func() { time.Sleep(time.Second) },
				Config:    config,
				PlanOnly:  true,
			},
			{ // the runtime moves the node count (as a workload would)
				PreConfig: scaleUp,
				Config:    config,
				PlanOnly:  true,
			},
			{ // the resource keeps what apply saw; the data source is live
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("current_nodes"), knownvalue.Int64Exact(1)),
					statecheck.ExpectKnownValue(dsAddr, tfjsonpath.New("current_nodes"), knownvalue.Int64Exact(3)),
				},
			},
		},
	})
}

func TestAccComputePool_badInput(t *testing.T) {
	a := startAcc(t)
	gpuPolicy := func(maxGPUs int) string {
		return fmt.Sprintf(`{
    max_gpus                  = %d
    allowed_accelerator_types = ["nvidia-t4"]
  }`, maxGPUs)
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsAndEnvironmentsDestroyed(a),
		Steps: []resource.TestStep{
			{ // plan time: the name rule
				Config: a.providerConfig() + `
resource "mlops_compute_pool" "test" {
  environment = "dev"
  name        = "GPU_Pool"
  max_nodes   = 2
}`,
				ExpectError: regexp.MustCompile(`(?s)Attribute name.*` + words("lowercase letters")),
			},
			{ // plan time: max_nodes range
				Config:      testAccComputePoolEnvConfig(a, "{}", "  name      = \"cpu\"\n  max_nodes = 0\n"),
				ExpectError: regexp.MustCompile(`(?s)Attribute max_nodes.*` + words("between 1 and 1000")),
			},
			{ // plan time: min_nodes above max_nodes names both
				Config:      testAccComputePoolEnvConfig(a, "{}", "  name      = \"cpu\"\n  min_nodes = 5\n  max_nodes = 3\n"),
				ExpectError: regexp.MustCompile(`(?s)min_nodes.*` + words("min_nodes (5) is more than max_nodes (3)")),
			},
			{ // plan time: a GPU type needs a count
				Config:      testAccComputePoolEnvConfig(a, "{}", "  name             = \"gpu\"\n  accelerator_type = \"nvidia-t4\"\n  max_nodes        = 1\n"),
				ExpectError: regexp.MustCompile(`(?s)accelerator_count.*` + words("set accelerator_count")),
			},
			{ // plan time: a count needs a GPU type
				Config:      testAccComputePoolEnvConfig(a, "{}", "  name              = \"cpu\"\n  accelerator_count = 2\n  max_nodes         = 1\n"),
				ExpectError: regexp.MustCompile(`(?s)accelerator_count.*` + words(`accelerator_type is "none"`)),
			},
			{ // server: the environment must exist
				Config: a.providerConfig() + `
resource "mlops_compute_pool" "test" {
  environment = "nope"
  name        = "cpu"
  max_nodes   = 2
}`,
				ExpectError: regexp.MustCompile(`(?s)environment.*` + words("does not exist")),
			},
			{ // server: 2 nodes × 4 GPUs is more than the environment's 4
				Config: testAccComputePoolEnvConfig(a, gpuPolicy(4), `
  name              = "gpu"
  accelerator_type  = "nvidia-t4"
  accelerator_count = 4
  max_nodes         = 2
`),
				ExpectError: regexp.MustCompile(`(?s)max_nodes.*max_gpus`),
			},
			{ // server: the environment's accelerator allow-list
				Config: testAccComputePoolEnvConfig(a, gpuPolicy(64), `
  name              = "gpu"
  accelerator_type  = "nvidia-a100"
  accelerator_count = 1
  max_nodes         = 2
`),
				ExpectError: regexp.MustCompile(`(?s)accelerator_type.*` + words("is not allowed")),
			},
		},
	})
}

// TestAccComputePool_capacityFailure proves that a pool the runtime cannot
// provision fails the apply with the reason, and that fixing the config
// replaces the failed pool.
func TestAccComputePool_capacityFailure(t *testing.T) {
	a := startAccWith(t, mlopsdtest.WithLocalMaxNodes(2))
	config := func(minNodes int) string {
		return testAccComputePoolEnvConfig(a, "{}", fmt.Sprintf("  name      = \"cpu\"\n  min_nodes = %d\n  max_nodes = 4\n", minNodes))
	}
	resource.ParallelTest(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkPoolsAndEnvironmentsDestroyed(a),
		Steps: []resource.TestStep{
			{
				Config:      config(3),
				ExpectError: regexp.MustCompile(`(?s)failed.*InsufficientCapacity.*` + words("lower min_nodes")),
			},
			{ // the failed pool was tainted, so the fix replaces it
				Config: config(2),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(poolAddr, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("phase"), knownvalue.StringExact("ready")),
					statecheck.ExpectKnownValue(poolAddr, tfjsonpath.New("current_nodes"), knownvalue.Int64Exact(2)),
				},
			},
		},
	})
}

func TestAcceleratorCountProblem(t *testing.T) {
	for _, tc := range []struct {
		typ     string
		count   int64
		wantFix string
	}{
		{"none", 0, ""},
		{"nvidia-a100", 1, ""},
		{"nvidia-a100", 16, ""},
		{"none", 2, "set accelerator_count to 0"},
		{"nvidia-t4", 0, "set accelerator_count to the accelerators per node"},
	} {
		got := acceleratorCountProblem(tc.typ, tc.count)
		if tc.wantFix == "" && got != "" || !strings.Contains(got, tc.wantFix) {
			t.Errorf("acceleratorCountProblem(%q, %d) = %q, want it to contain %q", tc.typ, tc.count, got, tc.wantFix)
		}
	}
}

func TestNodeRangeProblem(t *testing.T) {
	if got := nodeRangeProblem(3, 3); got != "" {
		t.Errorf("nodeRangeProblem(3, 3) = %q, want none", got)
	}
	if got := nodeRangeProblem(0, 1); got != "" {
		t.Errorf("nodeRangeProblem(0, 1) = %q, want none", got)
	}
	got := nodeRangeProblem(5, 3)
	for _, want := range []string{"min_nodes (5)", "max_nodes (3)", "lower min_nodes or raise max_nodes"} {
		if !strings.Contains(got, want) {
			t.Errorf("nodeRangeProblem(5, 3) = %q, want it to contain %q", got, want)
		}
	}
}

func testComputePool() *api.ComputePool {
	return &api.ComputePool{
		Metadata: api.Metadata{
			Name: "gpu-a", Environment: "dev", UID: "u-1", Generation: 2, ETag: "e",
			CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		},
		Spec: api.ComputePoolSpec{
			Driver: "local", AcceleratorType: "nvidia-a100", AcceleratorCount: 2, CPUPerNode: 8, MemoryGiBPerNode: 64,
			MinNodes: 1, MaxNodes: 4, Spot: true, IdleScaleDownMinutes: 30,
		},
		Status: api.ComputePoolStatus{
			Status:       api.Status{Phase: api.PhaseReady, ObservedGeneration: 2, Message: "1 nodes up"},
			CurrentNodes: 1, DesiredNodes: 1,
		},
	}
}

func TestComputePoolFromAPI(t *testing.T) {
	pool := testComputePool()
	m := computePoolFromAPI(pool, computePoolModel{})
	if got := m.ID.ValueString(); got != "dev/gpu-a" {
		t.Errorf("id = %q, want dev/gpu-a", got)
	}
	if got := m.CreatedAt.ValueString(); got != "2025-01-02T03:04:05Z" {
		t.Errorf("created_at = %q", got)
	}
	if m.Phase.ValueString() != "ready" || m.CurrentNodes.ValueInt64() != 1 {
		t.Errorf("runtime values = %v, %v; want the server's", m.Phase, m.CurrentNodes)
	}
	// Whatever the provider writes must read back as the same spec, or the
	// plan after apply is not empty.
	if got := computePoolToAPI(m); got != pool.Spec {
		t.Errorf("computePoolToAPI(computePoolFromAPI(p)) = %+v, want %+v", got, pool.Spec)
	}
}

func TestKeepRuntimeValues(t *testing.T) {
	live := testComputePool()
	live.Status.Phase, live.Status.CurrentNodes = api.PhaseScaling, 3
	fresh := computePoolFromAPI(live, computePoolModel{})

	prior := computePoolFromAPI(testComputePool(), computePoolModel{})
	got := keepRuntimeValues(fresh, prior)
	if got.Phase.ValueString() != "ready" || got.CurrentNodes.ValueInt64() != 1 {
		t.Errorf("after refresh: phase %v, current_nodes %v; want the recorded ready, 1", got.Phase, got.CurrentNodes)
	}
	// After import there is nothing recorded yet: the server's values stay.
	imported := computePoolModel{Phase: types.StringNull(), CurrentNodes: types.Int64Null()}
	got = keepRuntimeValues(fresh, imported)
	if got.Phase.ValueString() != "scaling" || got.CurrentNodes.ValueInt64() != 3 {
		t.Errorf("after import: phase %v, current_nodes %v; want the server's scaling, 3", got.Phase, got.CurrentNodes)
	}
}

// computePoolSchema returns the resource's schema and its Terraform type.
func computePoolSchema(t *testing.T) (*computePoolResource, tfsdk.Config, tftypes.Object) {
	t.Helper()
	r := &computePoolResource{}
	var resp fwresource.SchemaResponse
	r.Schema(context.Background(), fwresource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatalf("schema: %v", resp.Diagnostics)
	}
	typ, ok := resp.Schema.Type().TerraformType(context.Background()).(tftypes.Object)
	if !ok {
		t.Fatal("schema type is not an object")
	}
	return r, tfsdk.Config{Schema: resp.Schema}, typ
}

func TestComputePoolResourceValidateConfig(t *testing.T) {
	unknown := tftypes.UnknownValue
	for _, tc := range []struct {
		name     string
		attrs    map[string]any
		wantPath string // "" for no error
		wantText string
	}{
		{"MinimalCPU", map[string]any{"max_nodes": 2}, "", ""},
		{"GPU", map[string]any{"accelerator_type": "nvidia-t4", "accelerator_count": 1, "max_nodes": 2}, "", ""},
		{"GPUWithoutCount", map[string]any{"accelerator_type": "nvidia-t4", "max_nodes": 2}, "accelerator_count", "set accelerator_count"},
		{"CountWithoutType", map[string]any{"accelerator_count": 1, "max_nodes": 2}, "accelerator_count", `accelerator_type is "none"`},
		{"CountWithNone", map[string]any{"accelerator_type": "none", "accelerator_count": 1, "max_nodes": 2}, "accelerator_count", "set accelerator_count to 0"},
		{"MinAboveMax", map[string]any{"min_nodes": 5, "max_nodes": 3}, "min_nodes", "min_nodes (5) is more than max_nodes (3)"},
		{"MinEqualsMax", map[string]any{"min_nodes": 3, "max_nodes": 3}, "", ""},
		{"UnknownMaxNodes", map[string]any{"min_nodes": 5, "max_nodes": unknown}, "", ""},
		{"UnknownType", map[string]any{"accelerator_type": unknown, "max_nodes": 1}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, cfg, typ := computePoolSchema(t)
			vals := map[string]tftypes.Value{}
			for name, at := range typ.AttributeTypes {
				v, ok := tc.attrs[name]
				if !ok {
					v = nil
				}
				vals[name] = tftypes.NewValue(at, v)
			}
			vals["environment"] = tftypes.NewValue(tftypes.String, "dev")
			vals["name"] = tftypes.NewValue(tftypes.String, "pool")
			cfg.Raw = tftypes.NewValue(typ, vals)

			var resp fwresource.ValidateConfigResponse
			r.ValidateConfig(context.Background(), fwresource.ValidateConfigRequest{Config: cfg}, &resp)
			if tc.wantPath == "" {
				if resp.Diagnostics.HasError() {
					t.Fatalf("unexpected errors: %v", resp.Diagnostics)
				}
				return
			}
			errs := resp.Diagnostics.Errors()
			if len(errs) != 1 {
				t.Fatalf("got %d errors (%v), want 1", len(errs), resp.Diagnostics)
			}
			withPath, ok := errs[0].(interface{ Path() path.Path })
			if !ok || !withPath.Path().Equal(path.Root(tc.wantPath)) {
				t.Errorf("error %v is not on attribute %s", errs[0], tc.wantPath)
			}
			if !strings.Contains(errs[0].Detail(), tc.wantText) {
				t.Errorf("detail %q does not contain %q", errs[0].Detail(), tc.wantText)
			}
		})
	}
}

func TestComputePoolResourceImportState(t *testing.T) {
	for _, tc := range []struct {
		id       string
		wantErr  string
		wantEnv  string
		wantName string
	}{
		{id: "dev/gpu-a", wantEnv: "dev", wantName: "gpu-a"},
		{id: "gpu-a", wantErr: "<environment>/<name>"},
		{id: "dev/gpu-a/x", wantErr: "<environment>/<name>"},
		{id: "Dev/gpu-a", wantErr: `environment "Dev"`},
		{id: "dev/GPU", wantErr: `compute pool name "GPU"`},
	} {
		t.Run(tc.id, func(t *testing.T) {
			r, cfg, typ := computePoolSchema(t)
			resp := fwresource.ImportStateResponse{State: tfsdk.State{Schema: cfg.Schema, Raw: tftypes.NewValue(typ, nil)}}
			r.ImportState(context.Background(), fwresource.ImportStateRequest{ID: tc.id}, &resp)
			if tc.wantErr != "" {
				if !resp.Diagnostics.HasError() || !strings.Contains(resp.Diagnostics.Errors()[0].Detail(), tc.wantErr) {
					t.Fatalf("diagnostics %v, want an error containing %q", resp.Diagnostics, tc.wantErr)
				}
				return
			}
			if resp.Diagnostics.HasError() {
				t.Fatalf("unexpected errors: %v", resp.Diagnostics)
			}
			var env, name, id types.String
			resp.State.GetAttribute(context.Background(), path.Root("environment"), &env)
			resp.State.GetAttribute(context.Background(), path.Root("name"), &name)
			resp.State.GetAttribute(context.Background(), path.Root("id"), &id)
			if env.ValueString() != tc.wantEnv || name.ValueString() != tc.wantName || id.ValueString() != tc.id {
				t.Errorf("state environment=%v name=%v id=%v", env, name, id)
			}
		})
	}
}
