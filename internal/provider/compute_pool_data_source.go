package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ datasource.DataSource              = (*computePoolDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*computePoolDataSource)(nil)
)

// NewComputePoolDataSource returns the mlops_compute_pool data source.
func NewComputePoolDataSource() datasource.DataSource {
	return &computePoolDataSource{}
}

type computePoolDataSource struct {
	client *client.Client
}

type computePoolDataSourceModel struct {
	ID                   types.String `tfsdk:"id"`
	Environment          types.String `tfsdk:"environment"`
	Name                 types.String `tfsdk:"name"`
	Driver               types.String `tfsdk:"driver"`
	AcceleratorType      types.String `tfsdk:"accelerator_type"`
	AcceleratorCount     types.Int64  `tfsdk:"accelerator_count"`
	CPUPerNode           types.Int64  `tfsdk:"cpu_per_node"`
	MemoryGiBPerNode     types.Int64  `tfsdk:"memory_gib_per_node"`
	MinNodes             types.Int64  `tfsdk:"min_nodes"`
	MaxNodes             types.Int64  `tfsdk:"max_nodes"`
	Spot                 types.Bool   `tfsdk:"spot"`
	IdleScaleDownMinutes types.Int64  `tfsdk:"idle_scale_down_minutes"`
	SlurmPartition       types.String `tfsdk:"slurm_partition"`
	GPUsTotal            types.Int64  `tfsdk:"gpus_total"`
	GPUsFree             types.Int64  `tfsdk:"gpus_free"`
	UID                  types.String `tfsdk:"uid"`
	CreatedAt            types.String `tfsdk:"created_at"`
	Phase                types.String `tfsdk:"phase"`
	Reason               types.String `tfsdk:"reason"`
	Message              types.String `tfsdk:"message"`
	CurrentNodes         types.Int64  `tfsdk:"current_nodes"`
	DesiredNodes         types.Int64  `tfsdk:"desired_nodes"`
	ObservedGeneration   types.Int64  `tfsdk:"observed_generation"`
}

func (d *computePoolDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_compute_pool"
}

func (d *computePoolDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a compute pool as the control plane has it now, including the runtime-owned status " +
			"(`phase`, `current_nodes`, ...) that the `mlops_compute_pool` resource deliberately does not refresh. " +
			"Every read is live, so use this data source to watch scaling or to feed the node count into other configuration.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "`<environment>/<name>`.",
				Computed:            true,
			},
			"environment": dataSourceEnvironmentAttribute("pool"),
			"name":        dataSourceNameAttribute("pool"),
			"driver": schema.StringAttribute{
				MarkdownDescription: "Runtime that makes the pool real: `local` or `slurm`.",
				Computed:            true,
			},
			"slurm_partition": schema.StringAttribute{
				MarkdownDescription: "Slurm partition of a slurm pool when it differs from the pool's name; null otherwise.",
				Computed:            true,
			},
			"gpus_total": schema.Int64Attribute{
				MarkdownDescription: "GPUs of the nodes up, for pools whose driver observes a cluster (`slurm`, read from the partition's GRES); `0` otherwise. Owned by the runtime.",
				Computed:            true,
			},
			"gpus_free": schema.Int64Attribute{
				MarkdownDescription: "GPUs of the nodes up that no job holds right now (`slurm` pools); `0` otherwise. Owned by the runtime.",
				Computed:            true,
			},
			"accelerator_type": schema.StringAttribute{
				MarkdownDescription: "Accelerator on each node, or `none` for a CPU-only pool.",
				Computed:            true,
			},
			"accelerator_count": schema.Int64Attribute{
				MarkdownDescription: "Accelerators per node.",
				Computed:            true,
			},
			"cpu_per_node": schema.Int64Attribute{
				MarkdownDescription: "vCPUs per node.",
				Computed:            true,
			},
			"memory_gib_per_node": schema.Int64Attribute{
				MarkdownDescription: "Memory per node in GiB.",
				Computed:            true,
			},
			"min_nodes": schema.Int64Attribute{
				MarkdownDescription: "Nodes the pool never scales below.",
				Computed:            true,
			},
			"max_nodes": schema.Int64Attribute{
				MarkdownDescription: "Nodes the pool never scales above.",
				Computed:            true,
			},
			"spot": schema.BoolAttribute{
				MarkdownDescription: "Whether the pool uses preemptible (spot) capacity.",
				Computed:            true,
			},
			"idle_scale_down_minutes": schema.Int64Attribute{
				MarkdownDescription: "Minutes a node above `min_nodes` may stay idle before it is released.",
				Computed:            true,
			},
			"uid":        dataSourceUIDAttribute(),
			"created_at": dataSourceCreatedAtAttribute("pool"),
			"phase": schema.StringAttribute{
				MarkdownDescription: "Live phase: `provisioning`, `ready`, `scaling`, `failed` or `deleting`. Owned by the runtime.",
				Computed:            true,
			},
			"reason": schema.StringAttribute{
				MarkdownDescription: "CamelCase reason for a phase other than `ready`, e.g. `InsufficientCapacity`; empty when ready. Owned by the runtime.",
				Computed:            true,
			},
			"message": schema.StringAttribute{
				MarkdownDescription: "Explanation of the phase for people. Owned by the runtime.",
				Computed:            true,
			},
			"current_nodes": schema.Int64Attribute{
				MarkdownDescription: "Nodes up right now. Owned by the runtime.",
				Computed:            true,
			},
			"desired_nodes": schema.Int64Attribute{
				MarkdownDescription: "Node count the control plane is converging to. Owned by the runtime.",
				Computed:            true,
			},
			"observed_generation": schema.Int64Attribute{
				MarkdownDescription: "Spec generation the status describes; lower than the latest generation while a change is still being applied.",
				Computed:            true,
			},
		},
	}
}

func (d *computePoolDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *computePoolDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg computePoolDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env, name := cfg.Environment.ValueString(), cfg.Name.ValueString()
	pool, err := d.client.GetComputePool(ctx, env, name)
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading compute pool", computePoolObject(env, name), err)
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, computePoolDataSourceFromAPI(pool))...)
}

// computePoolDataSourceFromAPI builds the data source model, live status
// included.
func computePoolDataSourceFromAPI(p *api.ComputePool) computePoolDataSourceModel {
	return computePoolDataSourceModel{
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
		GPUsTotal:            types.Int64Value(p.Status.GPUsTotal),
		GPUsFree:             types.Int64Value(p.Status.GPUsFree),
		UID:                  types.StringValue(p.Metadata.UID),
		CreatedAt:            types.StringValue(p.Metadata.CreatedAt.Format(time.RFC3339)),
		Phase:                types.StringValue(p.Status.Phase),
		Reason:               types.StringValue(p.Status.Reason),
		Message:              types.StringValue(p.Status.Message),
		CurrentNodes:         types.Int64Value(p.Status.CurrentNodes),
		DesiredNodes:         types.Int64Value(p.Status.DesiredNodes),
		ObservedGeneration:   types.Int64Value(p.Status.ObservedGeneration),
	}
}
