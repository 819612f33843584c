package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

var (
	_ datasource.DataSource              = (*auditRecordsDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*auditRecordsDataSource)(nil)
)

// NewAuditRecordsDataSource returns the mlops_audit_records data source.
func NewAuditRecordsDataSource() datasource.DataSource {
	return &auditRecordsDataSource{}
}

type auditRecordsDataSource struct {
	client *client.Client
}

// auditRecordsDefaultLimit is how many records are read when limit is unset.
const auditRecordsDefaultLimit = 100

// auditRecordsMaxLimit bounds limit, so one read cannot pull a whole
// log into state.
const auditRecordsMaxLimit = 10000

type auditRecordsDataSourceModel struct {
	ID          types.String       `tfsdk:"id"`
	Environment types.String       `tfsdk:"environment"`
	Kind        types.String       `tfsdk:"kind"`
	Name        types.String       `tfsdk:"name"`
	Actor       types.String       `tfsdk:"actor"`
	Since       types.String       `tfsdk:"since"`
	Limit       types.Int64        `tfsdk:"limit"`
	NewestFirst types.Bool         `tfsdk:"newest_first"`
	Records     []auditRecordModel `tfsdk:"records"`
}

type auditRecordModel struct {
	Seq          types.Int64  `tfsdk:"seq"`
	Time         types.String `tfsdk:"time"`
	Actor        types.String `tfsdk:"actor"`
	Action       types.String `tfsdk:"action"`
	Kind         types.String `tfsdk:"kind"`
	Name         types.String `tfsdk:"name"`
	UID          types.String `tfsdk:"uid"`
	Generation   types.Int64  `tfsdk:"generation"`
	BeforeDigest types.String `tfsdk:"before_digest"`
	AfterDigest  types.String `tfsdk:"after_digest"`
	PrevHash     types.String `tfsdk:"prev_hash"`
	Hash         types.String `tfsdk:"hash"`
}

func (d *auditRecordsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_audit_records"
}

func (d *auditRecordsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Computed: true}
	}
	filter := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{MarkdownDescription: desc, Optional: true}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the control plane's hash-chained audit log of one environment: who wrote which object when, " +
			"with digests of the spec before and after. Records come oldest first, or newest first with `newest_first` (the latest history of a long log). Needs role `viewer` in the environment when mlopsd runs with `-auth on`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				MarkdownDescription: "The environment's name.",
				Computed:            true,
			},
			"environment": dataSourceEnvironmentAttribute("audited objects"),
			"kind":        filter("Only records of objects of this kind, as the API names it, e.g. `environments`, `compute-pools`, `model-versions`."),
			"name":        filter("Only records of objects with this name."),
			"actor":       filter("Only records of writes by this actor, e.g. `service-account:ci`."),
			"since": schema.StringAttribute{
				MarkdownDescription: "Only records written at or after this time (RFC 3339, e.g. `2030-01-02T15:04:05Z`).",
				Optional:            true,
				Validators:          []validator.String{rfc3339Validator{}},
			},
			"limit": schema.Int64Attribute{
				MarkdownDescription: fmt.Sprintf("Most records to read, the oldest (or with `newest_first` the newest) that match; default %d, at most %d.", auditRecordsDefaultLimit, auditRecordsMaxLimit),
				Optional:            true,
				Validators:          []validator.Int64{int64validator.Between(1, auditRecordsMaxLimit)},
			},
			"newest_first": schema.BoolAttribute{
				MarkdownDescription: "Read the log backwards from its end: `records` holds the newest `limit` records that match, newest first. Default `false`: the oldest, oldest first.",
				Optional:            true,
			},
			"records": schema.ListNestedAttribute{
				MarkdownDescription: "The records, oldest first (newest first with `newest_first`).",
				Computed:            true,
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"seq":           schema.Int64Attribute{MarkdownDescription: "Position in the whole log; gapless across environments.", Computed: true},
						"time":          str("When the write committed (RFC 3339, UTC)."),
						"actor":         str("Who made the write."),
						"action":        str("`create`, `update`, `delete_requested` or `delete`."),
						"kind":          str("Kind of the object written."),
						"name":          str("Name of the object written."),
						"uid":           str("The object's uid."),
						"generation":    schema.Int64Attribute{MarkdownDescription: "The object's spec generation after the write.", Computed: true},
						"before_digest": str("SHA-256 of the spec before the write; empty on create."),
						"after_digest":  str("SHA-256 of the spec after the write; empty on delete."),
						"prev_hash":     str("Hash of the record before this one in the whole log."),
						"hash":          str("SHA-256 over this record and `prev_hash`; `mlopsd audit verify` checks the chain."),
					},
				},
			},
		},
	}
}

func (d *auditRecordsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.client = clientFromProviderData(req.ProviderData, &resp.Diagnostics)
}

func (d *auditRecordsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg auditRecordsDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	env := cfg.Environment.ValueString()
	q := api.AuditQuery{
		Environment: env,
		Kind:        cfg.Kind.ValueString(),
		Name:        cfg.Name.ValueString(),
		Actor:       cfg.Actor.ValueString(),
	}
	if s := cfg.Since.ValueString(); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("since"), "Invalid since", err.Error())
			return
		}
		q.Since = t
	}
	limit := int64(auditRecordsDefaultLimit)
	if !cfg.Limit.IsNull() {
		limit = cfg.Limit.ValueInt64()
	}
	q.Newest = cfg.NewestFirst.ValueBool()
	recs, err := d.client.QueryAuditRecords(ctx, q, int(limit))
	if err != nil {
		addAPIError(&resp.Diagnostics, "Error reading audit records", fmt.Sprintf("audit records of environment %q", env), err)
		return
	}
	records := make([]auditRecordModel, 0, len(recs))
	for _, r := range recs {
		records = append(records, auditRecordFromAPI(r))
	}
	cfg.ID = types.StringValue(env)
	cfg.Records = records
	resp.Diagnostics.Append(resp.State.Set(ctx, cfg)...)
}

func auditRecordFromAPI(r api.AuditRecord) auditRecordModel {
	return auditRecordModel{
		Seq:          types.Int64Value(r.Seq),
		Time:         types.StringValue(r.Time.UTC().Format(time.RFC3339Nano)),
		Actor:        types.StringValue(r.Actor),
		Action:       types.StringValue(r.Action),
		Kind:         types.StringValue(r.Kind),
		Name:         types.StringValue(r.Name),
		UID:          types.StringValue(r.UID),
		Generation:   types.Int64Value(r.Generation),
		BeforeDigest: types.StringValue(r.BeforeDigest),
		AfterDigest:  types.StringValue(r.AfterDigest),
		PrevHash:     types.StringValue(r.PrevHash),
		Hash:         types.StringValue(r.Hash),
	}
}

// rfc3339Validator checks that a string is an RFC 3339 time.
type rfc3339Validator struct{}

func (rfc3339Validator) Description(context.Context) string {
	return "must be an RFC 3339 time, e.g. 2030-01-02T15:04:05Z"
}

func (v rfc3339Validator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v rfc3339Validator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := time.Parse(time.RFC3339Nano, req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid time",
			fmt.Sprintf("since = %q is not an RFC 3339 time; use e.g. 2030-01-02T15:04:05Z.", req.ConfigValue.ValueString()))
	}
}
