// Command floorprovider is a Terraform provider that does nothing, built
// on the same terraform-plugin-framework as the mlops provider: the
// stand-in for the HashiCorp null provider (itself a framework provider),
// which cannot be installed here. tfbench measures it as the floor of "an
// external plugin", so that each mlops row's ratio to it is what the mlops
// provider and mlopsd add on top of any framework provider.
//
// Its resource floor_resource has a computed id and an input string that
// changes in place (as terraform_data's input does). Its twins
// floor_feature_group and floor_compute_pool declare the very schemas of
// mlops_feature_group and mlops_compute_pool, with their defaults, plan
// modifiers and validators, and do nothing else: what the framework and
// Terraform cost for a resource of that shape, so that tfbench can tell
// that apart from what the mlops provider's own code, its API calls and
// mlopsd add. No state is kept anywhere but in Terraform's.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log"
	"os"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/bench/internal/harness"
	mlops "github.com/mlops-as-code/terraform-provider-mlops/internal/provider"
)

func main() {
	// The same logging as the mlops provider's binary, so the floor pays
	// for what the mlops provider pays for.
	mlops.QuietUnrequestedLogs(os.Getenv, os.Setenv)
	err := providerserver.Serve(context.Background(), func() provider.Provider { return floorProvider{} },
		providerserver.ServeOpts{Address: harness.FloorProviderAddr})
	if err != nil {
		log.Fatal(err)
	}
}

type floorProvider struct{}

func (floorProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "floor"
}

func (floorProvider) Schema(context.Context, provider.SchemaRequest, *provider.SchemaResponse) {}

func (floorProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (floorProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		func() resource.Resource { return floorResource{} },
		func() resource.Resource {
			return schemaTwin{name: "feature_group", of: mlops.NewFeatureGroupResource()}
		},
		func() resource.Resource { return schemaTwin{name: "compute_pool", of: mlops.NewComputePoolResource()} },
	}
}

func (floorProvider) DataSources(context.Context) []func() datasource.DataSource { return nil }

type floorResource struct{}

type floorModel struct {
	ID    types.String `tfsdk:"id"`
	Input types.String `tfsdk:"input"`
}

func (floorResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_resource"
}

func (floorResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Does nothing; its state is all there is.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "Random identifier chosen on create.",
				Computed:            true,
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"input": schema.StringAttribute{
				MarkdownDescription: "Any string; changes in place.",
				Optional:            true,
			},
		},
	}
}

func (floorResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m floorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	m.ID = types.StringValue(hex.EncodeToString(b[:]))
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (floorResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m floorModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (floorResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m floorModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

func (floorResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}
