package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ resource.Resource                   = (*computePoolResource)(nil)
	_ resource.ResourceWithConfigure      = (*computePoolResource)(nil)
	_ resource.ResourceWithImportState    = (*computePoolResource)(nil)
	_ resource.ResourceWithValidateConfig = (*computePoolResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*computePoolResource)(nil)
)

// NewComputePoolResource returns the mlops_compute_pool resource.
func NewComputePoolResource() resource.Resource {
	return &computePoolResource{}
}

type computePoolResource struct {
	client *client.Client
}

type computePoolModel struct {
	ID                   types.String   `tfsdk:"id"`
	Environment          types.String   `tfsdk:"environment"`
	Name                 types.String   `tfsdk:"name"`
	Driver               types.String   `tfsdk:"driver"`
	AcceleratorType      types.String   `tfsdk:"accelerator_type"`
	AcceleratorCount     types.Int64    `tfsdk:"accelerator_count"`
	CPUPerNode           types.Int64    `tfsdk:"cpu_per_node"`
	MemoryGiBPerNode     types.Int64    `tfsdk:"memory_gib_per_node"`
	MinNodes             types.Int64    `tfsdk:"min_nodes"`
	MaxNodes             types.Int64    `tfsdk:"max_nodes"`
	Spot                 types.Bool     `tfsdk:"spot"`
	IdleScaleDownMinutes types.Int64    `tfsdk:"idle_scale_down_minutes"`
	SlurmPartition       types.String   `tfsdk:"slurm_partition"`
	UID                  types.String   `tfsdk:"uid"`
	CreatedAt            types.String   `tfsdk:"created_at"`
	Phase                types.String   `tfsdk:"phase"`
	CurrentNodes         types.Int64    `tfsdk:"current_nodes"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

// Defaults of a compute pool. They equal the values mlopsd fills in for a
// field left zero, so leaving an attribute out never shows a diff.
const (
	computePoolDefaultTimeout          = 20 * time.Minute
	computePoolDefaultAcceleratorType  = "none"
	computePoolDefaultCPUPerNode       = 4
	computePoolDefaultMemoryGiBPerNode = 16
)

func (r *computePoolResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_compute_pool"
}

func (r *computePoolResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A compute pool is a group of CPU or GPU nodes in one environment. The control plane keeps at least `min_nodes` " +
			"nodes up and never more than `max_nodes`, and enforces the environment's policy (allowed accelerator types and its GPU cap, " +
			"counted as `max_nodes × accelerator_count`). When the environment already exists, `terraform plan` checks the pool against " +
			"that policy too, so a pool over the GPU cap fails the plan rather than the apply. Create and update wait until the pool is `ready`; a pool that fails " +
			"(for example `InsufficientCapacity`) is an apply error.\n\n" +
			"The node count changes at run time without any change in Terraform, so this resource only records `phase` and " +
			"`current_nodes` as they were when Terraform last created or updated the pool. Read the live values from the " +
			"`mlops_compute_pool` data source.",
		Attributes: map[string]schema.Attribute{
			"id":          computedOnceAttribute("`<environment>/<name>`, Terraform's resource ID and the import ID. Set by the provider."),
			"environment": immutableNameAttribute("Name of the environment the pool lives in; it must exist (see `mlops_environment`). Changing it replaces the pool."),
			"name":        nameAttribute("pool"),
			"driver": schema.StringAttribute{
				MarkdownDescription: "Runtime that makes the pool real: `local` (nodes are slots on the machine `mlopsd` runs on, bounded by its `--local-max-nodes`) or `slurm` (the pool is a partition of the Slurm cluster `mlopsd` was started with via `-slurm-conf`; training steps run as Slurm batch jobs). Defaults to `local`; changing it replaces the pool.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(api.DriverLocal),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.OneOf(api.DriverLocal, api.DriverSlurm)},
			},
			"slurm_partition": schema.StringAttribute{
				MarkdownDescription: "Slurm partition of a pool with `driver = \"slurm\"`; defaults to the pool's `name`. Only for the slurm driver; changing it replaces the pool.",
				Optional:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{stringvalidator.LengthBetween(1, 64)},
			},
			"accelerator_type": schema.StringAttribute{
				MarkdownDescription: "Accelerator on each node, e.g. `nvidia-a100`, or `none` for a CPU-only pool. The environment's `policy.allowed_accelerator_types` must allow it. Defaults to `none`; changing it replaces the pool.",
				Optional:            true,
				Computed:            true,
				Default:             stringdefault.StaticString(computePoolDefaultAcceleratorType),
				PlanModifiers:       []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:          []validator.String{acceleratorTypeValidator()},
			},
			"accelerator_count": schema.Int64Attribute{
				MarkdownDescription: "Accelerators per node, 0-16. Must be `0` when `accelerator_type` is `none` and at least `1` otherwise. Defaults to `0`; changing it replaces the pool.",
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(0),
				PlanModifiers:       []planmodifier.Int64{int64planmodifier.RequiresReplace()},
				Validators:          []validator.Int64{int64validator.Between(0, 16)},
			},
			"cpu_per_node": schema.Int64Attribute{
				MarkdownDescription: "vCPUs per node, 1-1024. Defaults to `4`; changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(computePoolDefaultCPUPerNode),
				Validators:          []validator.Int64{int64validator.Between(1, 1024)},
			},
			"memory_gib_per_node": schema.Int64Attribute{
				MarkdownDescription: "Memory per node in GiB, 1-16384. Defaults to `16`; changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(computePoolDefaultMemoryGiBPerNode),
				Validators:          []validator.Int64{int64validator.Between(1, 16384)},
			},
			"min_nodes": schema.Int64Attribute{
				MarkdownDescription: "Nodes the pool never scales below, 0-1000 and at most `max_nodes`. Apply waits until this many nodes are up. Defaults to `0`; changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(0),
				Validators:          []validator.Int64{int64validator.Between(0, 1000)},
			},
			"max_nodes": schema.Int64Attribute{
				MarkdownDescription: "Nodes the pool never scales above, 1-1000. `max_nodes × accelerator_count` counts against the environment's `policy.max_gpus`. Changes in place.",
				Required:            true,
				Validators:          []validator.Int64{int64validator.Between(1, 1000)},
			},
			"spot": schema.BoolAttribute{
				MarkdownDescription: "Ask for preemptible (spot) capacity. Defaults to `false`; changing it replaces the pool.",
				Optional:            true,
				Computed:            true,
				Default:             booldefault.StaticBool(false),
				PlanModifiers:       []planmodifier.Bool{boolplanmodifier.RequiresReplace()},
			},
			"idle_scale_down_minutes": schema.Int64Attribute{
				MarkdownDescription: "Minutes a node above `min_nodes` may stay idle before it is released, 0-10080 (one week). `0` releases idle nodes at once. It applies to nodes added for workloads; the local driver schedules none yet, so today nodes above `min_nodes` are released as soon as `min_nodes` is lowered. Defaults to `0`; changes in place.",
				Optional:            true,
				Computed:            true,
				Default:             int64default.StaticInt64(0),
				Validators:          []validator.Int64{int64validator.Between(0, 10080)},
			},
			"uid":        computedOnceAttribute("Unique ID the control plane assigned on create; it never changes, and a replaced pool gets a new one. Set by the server."),
			"created_at": computedOnceAttribute("When the pool was created (RFC 3339). Set by the server."),
			"phase": schema.StringAttribute{
				MarkdownDescription: "Phase of the pool (`ready` or `failed`) when Terraform last created, updated or imported it. Owned by the runtime; " +
					"refreshes keep the recorded value so that run-time changes never show as a diff. Read the live phase from the `mlops_compute_pool` data source.",
				Computed: true,
			},
			"current_nodes": schema.Int64Attribute{
				MarkdownDescription: "Nodes that were up when Terraform last created, updated or imported the pool. Owned by the runtime; " +
					"refreshes keep the recorded value so that scaling never shows as a diff. Read the live count from the `mlops_compute_pool` data source.",
				Computed: true,
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *computePoolResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (r *computePoolResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan computePoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, computePoolDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	what := computePoolObject(env, name)
	spec := computePoolToAPI(plan)
	pool, err := r.client.CreateComputePool(ctx, env, name, spec)
	if client.IsAlreadyExists(err) && r.beingDeleted(ctx, env, name) {
		// A pool deleted outside Terraform keeps its name until its nodes
		// are released; wait for that instead of failing the apply.
		tflog.Info(ctx, "compute pool of the same name is being deleted, waiting", map[string]any{"environment": env, "name": name})
		if err = r.waitGone(ctx, env, name); err == nil {
			pool, err = r.client.CreateComputePool(ctx, env, name, spec)
		}
	}
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error creating compute pool", what, err)
		return
	}
	// Save what exists before waiting, so a timeout leaves a tracked object
	// rather than an orphan that the next apply would collide with.
	resp.Diagnostics.Append(resp.State.Set(ctx, computePoolFromAPI(pool, plan))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, pool.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settled, err := r.waitReady(ctx, env, name, pool)
	if settled != nil {
		// Even a failed pool exists; record it as the server has it, and
		// Terraform taints it so the next apply replaces it.
		resp.Diagnostics.Append(resp.State.Set(ctx, computePoolFromAPI(settled, plan))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error creating compute pool", err.Error())
		return
	}
	tflog.Info(ctx, "created compute pool", map[string]any{"environment": env, "name": name, "uid": settled.Metadata.UID})
}

// beingDeleted reports whether the pool exists and is tearing down.
func (r *computePoolResource) beingDeleted(ctx context.Context, env, name string) bool {
	pool, err := r.client.GetComputePool(ctx, env, name)
	return err == nil && pool.Metadata.DeletionRequestedAt != nil
}

// waitReady waits until the pool written settled on its current
// generation. It returns the last object read, also when it fails, so
// callers can record what exists.
func (r *computePoolResource) waitReady(ctx context.Context, env, name string, written *api.ComputePool) (*api.ComputePool, error) {
	return waitReady(ctx, computePoolObject(env, name), written,
		func(ctx context.Context, gen int64) (*api.ComputePool, error) {
			return r.client.WaitComputePoolSettled(ctx, env, name, gen)
		},
		func(pool *api.ComputePool) (api.Metadata, api.Status) { return pool.Metadata, pool.Status.Status })
}

func (r *computePoolResource) waitGone(ctx context.Context, env, name string) error {
	return waitGone(ctx, computePoolObject(env, name), r.gone(env, name))
}

// gone returns a wait that ends once the pool no longer exists.
func (r *computePoolResource) gone(env, name string) func(context.Context) error {
	return func(ctx context.Context) error { return r.client.WaitComputePoolGone(ctx, env, name) }
}

// Read refreshes the spec so that out-of-band edits show as drift. phase and
// current_nodes keep their recorded values: the runtime changes them all the
// time, and a refresh must not turn that into a diff.
func (r *computePoolResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state computePoolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := state.Environment.ValueString(), state.Name.ValueString()
	pool, err := r.client.GetComputePool(ctx, env, name)
	if readFailed(ctx, resp, err, "compute pool", computePoolObject(env, name), map[string]any{"environment": env, "name": name}) {
		return
	}
	if pool.Metadata.DeletionRequestedAt != nil {
		// Deleted outside Terraform and still releasing nodes: it is gone
		// for good, so plan to create it again.
		tflog.Info(ctx, "compute pool is being deleted, removing from state", map[string]any{"environment": env, "name": name})
		resp.State.RemoveResource(ctx)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, keepRuntimeValues(computePoolFromAPI(pool, state), state))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, pool.Metadata.ETag)...)
}

// keepRuntimeValues copies the runtime-owned attributes from prior into m,
// unless prior has none yet (after import), when the server's values stay.
func keepRuntimeValues(m, prior computePoolModel) computePoolModel {
	if !prior.Phase.IsNull() && !prior.Phase.IsUnknown() {
		m.Phase = prior.Phase
	}
	if !prior.CurrentNodes.IsNull() && !prior.CurrentNodes.IsUnknown() {
		m.CurrentNodes = prior.CurrentNodes
	}
	return m
}

func (r *computePoolResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan computePoolModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, computePoolDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	etag, diags := getETag(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := plan.Environment.ValueString(), plan.Name.ValueString()
	pool, err := r.client.UpdateComputePool(ctx, env, name, computePoolToAPI(plan), etag)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error updating compute pool", computePoolObject(env, name), err)
		return
	}
	// The new spec is stored whatever the wait brings; record it now.
	resp.Diagnostics.Append(resp.State.Set(ctx, computePoolFromAPI(pool, plan))...)
	resp.Diagnostics.Append(setETag(ctx, resp.Private, pool.Metadata.ETag)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settled, err := r.waitReady(ctx, env, name, pool)
	if settled != nil {
		resp.Diagnostics.Append(resp.State.Set(ctx, computePoolFromAPI(settled, plan))...)
	}
	if err != nil {
		resp.Diagnostics.AddError("Error updating compute pool", err.Error())
	}
}

func (r *computePoolResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state computePoolModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, computePoolDefaultTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, name := state.Environment.ValueString(), state.Name.ValueString()
	// Pools release their nodes before they disappear (phase deleting).
	deleteAndWaitGone(ctx, &resp.Diagnostics, "compute pool", computePoolObject(env, name),
		func(ctx context.Context) (*client.DeleteResult, error) {
			return r.client.DeleteComputePool(ctx, env, name)
		},
		r.gone(env, name))
}

func (r *computePoolResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	env, name := importEnvName(ctx, req, resp, "compute pool", "terraform import mlops_compute_pool.gpu dev/gpu-a100")
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), env+"/"+name)...)
}

// ValidateConfig checks the rules that span attributes, so a mistake shows
// at plan time next to the line to fix rather than as a server error.
func (r *computePoolResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var cfg computePoolModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !cfg.AcceleratorType.IsUnknown() && !cfg.AcceleratorCount.IsUnknown() {
		typ := cfg.AcceleratorType.ValueString()
		if cfg.AcceleratorType.IsNull() {
			typ = computePoolDefaultAcceleratorType
		}
		if msg := acceleratorCountProblem(typ, cfg.AcceleratorCount.ValueInt64()); msg != "" {
			resp.Diagnostics.AddAttributeError(path.Root("accelerator_count"), "Invalid accelerator_count", msg)
		}
	}
	if !cfg.MinNodes.IsNull() && !cfg.MinNodes.IsUnknown() && !cfg.MaxNodes.IsNull() && !cfg.MaxNodes.IsUnknown() {
		if msg := nodeRangeProblem(cfg.MinNodes.ValueInt64(), cfg.MaxNodes.ValueInt64()); msg != "" {
			resp.Diagnostics.AddAttributeError(path.Root("min_nodes"), "Invalid min_nodes", msg)
		}
	}
}

// acceleratorCountProblem returns why an accelerator type and count do not
// go together, with the fix, or "" when they do.
func acceleratorCountProblem(acceleratorType string, count int64) string {
	switch {
	case acceleratorType == computePoolDefaultAcceleratorType && count > 0:
		return fmt.Sprintf("accelerator_count is %d but accelerator_type is %q (CPU only); set accelerator_type (e.g. \"nvidia-a100\"), or set accelerator_count to 0", count, acceleratorType)
	case acceleratorType != computePoolDefaultAcceleratorType && count == 0:
		return fmt.Sprintf("accelerator_type is %q but accelerator_count is 0; set accelerator_count to the accelerators per node (1-16), or set accelerator_type to \"none\"", acceleratorType)
	}
	return ""
}

// nodeRangeProblem returns why min_nodes and max_nodes do not go together,
// with the fix, or "" when they do.
func nodeRangeProblem(minNodes, maxNodes int64) string {
	if minNodes > maxNodes {
		return fmt.Sprintf("min_nodes (%d) is more than max_nodes (%d); lower min_nodes or raise max_nodes", minNodes, maxNodes)
	}
	return ""
}

// computePoolObject names a pool in diagnostics.
func computePoolObject(env, name string) string {
	return envObject("compute pool", env, name)
}

// computePoolToAPI builds the spec from a plan. Every attribute is known by
// then: the optional ones have defaults.
func computePoolToAPI(m computePoolModel) api.ComputePoolSpec {
	return api.ComputePoolSpec{
		Driver:               m.Driver.ValueString(),
		AcceleratorType:      m.AcceleratorType.ValueString(),
		AcceleratorCount:     m.AcceleratorCount.ValueInt64(),
		CPUPerNode:           m.CPUPerNode.ValueInt64(),
		MemoryGiBPerNode:     m.MemoryGiBPerNode.ValueInt64(),
		MinNodes:             m.MinNodes.ValueInt64(),
		MaxNodes:             m.MaxNodes.ValueInt64(),
		Spot:                 m.Spot.ValueBool(),
		IdleScaleDownMinutes: m.IdleScaleDownMinutes.ValueInt64(),
		SlurmPartition:       m.SlurmPartition.ValueString(),
	}
}

// computePoolFromAPI builds the model from the server's object, runtime
// values included. prior supplies what the server does not know (timeouts).
func computePoolFromAPI(p *api.ComputePool, prior computePoolModel) computePoolModel {
	return computePoolModel{
		ID:                   types.StringValue(p.Metadata.Environment + "/" + p.Metadata.Name),
		Environment:          types.StringValue(p.Metadata.Environment),
		Name:                 types.StringValue(p.Metadata.Name),
		Driver:               types.StringValue(p.Spec.Driver),
		AcceleratorType:      types.StringValue(p.Spec.AcceleratorType),
		AcceleratorCount:     types.Int64Value(p.Spec.AcceleratorCount),
		CPUPerNode:           types.Int64Value(p.Spec.CPUPerNode),
		MemoryGiBPerNode:     types.Int64Value(p.Spec.MemoryGiBPerNode),
		MinNodes:             types.Int64Value(p.Spec.MinNodes),
		MaxNodes:             types.Int64Value(p.Spec.MaxNodes),
		Spot:                 types.BoolValue(p.Spec.Spot),
		IdleScaleDownMinutes: types.Int64Value(p.Spec.IdleScaleDownMinutes),
		SlurmPartition:       stringOrNull(p.Spec.SlurmPartition),
		UID:                  types.StringValue(p.Metadata.UID),
		CreatedAt:            types.StringValue(p.Metadata.CreatedAt.Format(time.RFC3339)),
		Phase:                types.StringValue(p.Status.Phase),
		CurrentNodes:         types.Int64Value(p.Status.CurrentNodes),
		Timeouts:             prior.Timeouts,
	}
}
