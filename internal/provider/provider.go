// Package provider is the Terraform provider for mlopsd. It stays thin: each
// CRUD call maps onto one API call through internal/client, and every rule
// lives in the control plane.
package provider

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ provider.Provider                       = (*mlopsProvider)(nil)
	_ provider.ProviderWithEphemeralResources = (*mlopsProvider)(nil)
	_ provider.ProviderWithFunctions          = (*mlopsProvider)(nil)
)

// New returns a constructor for the provider at the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider {
		return &mlopsProvider{version: version}
	}
}

type mlopsProvider struct {
	version string
}

type mlopsProviderModel struct {
	Endpoint              types.String `tfsdk:"endpoint"`
	Token                 types.String `tfsdk:"token"`
	CACertFile            types.String `tfsdk:"ca_cert_file"`
	Insecure              types.Bool   `tfsdk:"insecure"`
	RequestTimeoutSeconds types.Int64  `tfsdk:"request_timeout_seconds"`
}

// Defaults of the provider configuration.
const (
	defaultEndpoint              = "http://127.0.0.1:8080"
	defaultRequestTimeoutSeconds = 30
)

func (p *mlopsProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "mlops"
	resp.Version = p.version
}

func (p *mlopsProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages an MLOps environment on an `mlopsd` control plane: environments, compute pools, feature stores and feature groups. " +
			"Every setting can also come from an environment variable, so one configuration serves every workspace.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				MarkdownDescription: "Base URL of the `mlopsd` API, e.g. `http://127.0.0.1:8080`. Falls back to `MLOPS_ENDPOINT`, then to `" + defaultEndpoint + "` (what `mlopsd` serves with no flags).",
				Optional:            true,
			},
			"token": schema.StringAttribute{
				MarkdownDescription: "Bearer token for `mlopsd`. Falls back to `MLOPS_TOKEN`. Leave unset when `mlopsd` runs without authentication. Never logged.",
				Optional:            true,
				Sensitive:           true,
			},
			"ca_cert_file": schema.StringAttribute{
				MarkdownDescription: "Path to a PEM file of CA certificates to trust for an `https` endpoint. Falls back to `MLOPS_CA_CERT_FILE`.",
				Optional:            true,
			},
			"insecure": schema.BoolAttribute{
				MarkdownDescription: "Skip TLS certificate verification. For local testing only. Falls back to `MLOPS_INSECURE`; defaults to `false`.",
				Optional:            true,
			},
			"request_timeout_seconds": schema.Int64Attribute{
				MarkdownDescription: "Timeout of one HTTP request in seconds (retries get their own). Falls back to `MLOPS_REQUEST_TIMEOUT_SECONDS`; defaults to `30`. Waiting for an object to become ready is bounded by each resource's `timeouts` instead.",
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, 3600)},
			},
		},
	}
}

func (p *mlopsProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg mlopsProviderModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Unknown values (from resources not yet created) cannot configure a
	// client; say which attribute and how to fix it.
	for attr, unknown := range map[string]bool{
		"endpoint":                cfg.Endpoint.IsUnknown(),
		"token":                   cfg.Token.IsUnknown(),
		"ca_cert_file":            cfg.CACertFile.IsUnknown(),
		"insecure":                cfg.Insecure.IsUnknown(),
		"request_timeout_seconds": cfg.RequestTimeoutSeconds.IsUnknown(),
	} {
		if unknown {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Unknown provider setting",
				fmt.Sprintf("The provider's %s depends on a value only known after apply. Set it to a literal or a variable, or use the MLOPS_* environment variable.", attr))
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}

	ccfg := client.Config{
		Endpoint:       stringSetting(cfg.Endpoint, "MLOPS_ENDPOINT", defaultEndpoint),
		Token:          stringSetting(cfg.Token, "MLOPS_TOKEN", ""),
		CACertFile:     stringSetting(cfg.CACertFile, "MLOPS_CA_CERT_FILE", ""),
		UserAgent:      "terraform-provider-mlops/" + p.version,
		RequestTimeout: defaultRequestTimeoutSeconds * time.Second,
	}
	if !cfg.Insecure.IsNull() {
		ccfg.Insecure = cfg.Insecure.ValueBool()
	} else if v := os.Getenv("MLOPS_INSECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("insecure"), "Invalid MLOPS_INSECURE", fmt.Sprintf("MLOPS_INSECURE is %q; use true or false.", v))
			return
		}
		ccfg.Insecure = b
	}
	if !cfg.RequestTimeoutSeconds.IsNull() {
		ccfg.RequestTimeout = time.Duration(cfg.RequestTimeoutSeconds.ValueInt64()) * time.Second
	} else if v := os.Getenv("MLOPS_REQUEST_TIMEOUT_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3600 {
			resp.Diagnostics.AddAttributeError(path.Root("request_timeout_seconds"), "Invalid MLOPS_REQUEST_TIMEOUT_SECONDS", fmt.Sprintf("MLOPS_REQUEST_TIMEOUT_SECONDS is %q; use a whole number of seconds from 1 to 3600.", v))
			return
		}
		ccfg.RequestTimeout = time.Duration(n) * time.Second
	}

	ctx = tflog.SetField(ctx, "mlops_endpoint", ccfg.Endpoint)
	ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, "token")
	c, err := client.New(ccfg)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid mlops provider configuration", err.Error())
		return
	}
	tflog.Debug(ctx, "configured mlops client")
	resp.DataSourceData = c
	resp.ResourceData = c
	resp.EphemeralResourceData = c
}

// stringSetting picks the configured value, else the environment variable,
// else the default.
func stringSetting(v types.String, env, def string) string {
	if !v.IsNull() {
		return v.ValueString()
	}
	if e := os.Getenv(env); e != "" {
		return e
	}
	return def
}

func (p *mlopsProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewEnvironmentResource,
		NewComputePoolResource,
		NewFeatureStoreResource,
		NewFeatureGroupResource,
		NewModelResource,
		NewModelVersionResource,
		NewModelAliasResource,
		NewTrainingPipelineResource,
		NewServiceAccountResource,
		NewRoleBindingResource,
		NewModelEndpointResource,
		NewBatchInferenceJobResource,
		NewNotificationChannelResource,
		NewAlarmResource,
	}
}

func (p *mlopsProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		NewServiceAccountTokenEphemeralResource,
	}
}

func (p *mlopsProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewEnvironmentDataSource,
		NewComputePoolDataSource,
		NewFeatureGroupDataSource,
		NewModelDataSource,
		NewModelVersionDataSource,
		NewTrainingPipelineDataSource,
		NewPipelineRunDataSource,
		NewAuditRecordsDataSource,
		NewModelEndpointDataSource,
		NewBatchInferenceRunDataSource,
		NewAlarmDataSource,
	}
}

func (p *mlopsProvider) Functions(_ context.Context) []func() function.Function {
	return []func() function.Function{
		NewArtifactURIFunction,
	}
}
