package api

import (
	"net/http"
	"reflect"
)

// Operations a route performs on objects of its kind.
const (
	OpCreate = "create"
	OpList   = "list"
	OpGet    = "get"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Route is one operation of the API. The server registers exactly these
// routes and /openapi.json is generated from them, so the document cannot
// drift from what is served.
type Route struct {
	Method string
	// Path is the path as documented in /openapi.json.
	Path string
	// MuxPattern, when set, is the http.ServeMux pattern the server
	// registers instead of Method + " " + Path, for a path ServeMux cannot
	// match as written (.../{name}:predict); the handler then checks the
	// rest itself.
	MuxPattern  string
	OperationID string
	Summary     string
	// Kind and Op are set for object routes.
	Kind string
	Op   string
	// Request and Response are zero values of the body types, nil for none.
	Request  any
	Response any
	// Status is the success status.
	Status int
	// Query lists the route's own query parameters, beyond those every
	// route of its operation takes (a list's limit and page_token).
	Query []QueryParam
}

// QueryParam is one documented query parameter of a route.
type QueryParam struct {
	Name        string
	Type        string // OpenAPI type: boolean, integer or string
	Description string
}

// QueryForce is the query parameter of DELETE .../models/{name}: force=true
// deletes the model's aliases and versions first.
const QueryForce = "force"

// kindTypes are the wire types of one kind, used to build its routes.
type kindTypes struct {
	kind, singular, plural       string
	create, update, object, list any
}

var kindTypeTable = []kindTypes{
	{KindEnvironment, "Environment", "Environments", CreateEnvironmentRequest{}, UpdateEnvironmentRequest{}, Environment{}, EnvironmentList{}},
	{KindComputePool, "ComputePool", "ComputePools", CreateComputePoolRequest{}, UpdateComputePoolRequest{}, ComputePool{}, ComputePoolList{}},
	{KindFeatureStore, "FeatureStore", "FeatureStores", CreateFeatureStoreRequest{}, UpdateFeatureStoreRequest{}, FeatureStore{}, FeatureStoreList{}},
	{KindFeatureGroup, "FeatureGroup", "FeatureGroups", CreateFeatureGroupRequest{}, UpdateFeatureGroupRequest{}, FeatureGroup{}, FeatureGroupList{}},
	{KindModel, "Model", "Models", CreateModelRequest{}, UpdateModelRequest{}, Model{}, ModelList{}},
	{KindModelVersion, "ModelVersion", "ModelVersions", CreateModelVersionRequest{}, UpdateModelVersionRequest{}, ModelVersion{}, ModelVersionList{}},
	{KindModelAlias, "ModelAlias", "ModelAliases", CreateModelAliasRequest{}, UpdateModelAliasRequest{}, ModelAlias{}, ModelAliasList{}},
	{KindTrainingPipeline, "TrainingPipeline", "TrainingPipelines", CreateTrainingPipelineRequest{}, UpdateTrainingPipelineRequest{}, TrainingPipeline{}, TrainingPipelineList{}},
	// Runs are started with POST .../training-pipelines/{name}/runs and change only
	// through cancel, so they have no create or update route.
	{KindPipelineRun, "PipelineRun", "PipelineRuns", nil, nil, PipelineRun{}, PipelineRunList{}},
	{KindServiceAccount, "ServiceAccount", "ServiceAccounts", CreateServiceAccountRequest{}, UpdateServiceAccountRequest{}, ServiceAccount{}, ServiceAccountList{}},
	{KindRoleBinding, "RoleBinding", "RoleBindings", CreateRoleBindingRequest{}, UpdateRoleBindingRequest{}, RoleBinding{}, RoleBindingList{}},
	{KindModelEndpoint, "ModelEndpoint", "ModelEndpoints", CreateModelEndpointRequest{}, UpdateModelEndpointRequest{}, ModelEndpoint{}, ModelEndpointList{}},
	{KindNotificationChannel, "NotificationChannel", "NotificationChannels", CreateNotificationChannelRequest{}, UpdateNotificationChannelRequest{}, NotificationChannel{}, NotificationChannelList{}},
	{KindAlarm, "Alarm", "Alarms", CreateAlarmRequest{}, UpdateAlarmRequest{}, Alarm{}, AlarmList{}},
	{KindBatchInferenceJob, "BatchInferenceJob", "BatchInferenceJobs", CreateBatchInferenceJobRequest{}, UpdateBatchInferenceJobRequest{}, BatchInferenceJob{}, BatchInferenceJobList{}},
	// Like pipeline runs, batch inference runs are started and cancelled by
	// routes of their own (batchInferenceRoutes).
	{KindBatchInferenceRun, "BatchInferenceRun", "BatchInferenceRuns", nil, nil, BatchInferenceRun{}, BatchInferenceRunList{}},
}

// auditQueryParams are the filters of GET /v1/audit.
var auditQueryParams = []QueryParam{
	{Name: AuditParamEnvironment, Type: "string", Description: "Only records of objects in this environment and of the environment itself."},
	{Name: AuditParamKind, Type: "string", Description: "Only records of this kind (URL segment, e.g. model-versions)."},
	{Name: AuditParamName, Type: "string", Description: "Only records of objects with this name."},
	{Name: AuditParamActor, Type: "string", Description: "Only records of writes by this actor."},
	{Name: AuditParamSince, Type: "string", Description: "Only records at or after this time (RFC 3339)."},
	{Name: AuditParamUntil, Type: "string", Description: "Only records before this time (RFC 3339)."},
	{Name: AuditParamOrder, Type: "string", Description: "asc (default): oldest first, the next page from after_seq; desc: newest first, the next page from before_seq."},
	{Name: AuditParamBeforeSeq, Type: "integer", Description: "Only records with a smaller seq (reading newest first)."},
	{Name: "page_token", Type: "string", Description: "The next_page_token of the previous page; the same as after_seq (order asc) or before_seq (order desc)."},
}

// Routes lists every route of the API.
var Routes = buildRoutes()

func buildRoutes() []Route {
	rs := []Route{
		{Method: http.MethodGet, Path: "/healthz", OperationID: "healthz", Summary: "Liveness: the process answers.", Status: http.StatusOK},
		{Method: http.MethodGet, Path: "/readyz", OperationID: "readyz", Summary: "Readiness: the database answers.", Status: http.StatusOK},
		{Method: http.MethodGet, Path: "/openapi.json", OperationID: "openapi", Summary: "This document.", Status: http.StatusOK},
		{Method: http.MethodGet, Path: "/v1/audit", OperationID: "listAudit",
			Summary:  "Audit records, oldest first (or newest first with order=desc), filtered and paginated (after_seq, before_seq or page_token, limit); each record carries the hash chain.",
			Response: AuditRecordList{}, Status: http.StatusOK, Query: auditQueryParams},
	}
	for _, k := range kindTypeTable {
		coll := "/v1/environments/{env}/" + k.kind
		if ClusterScoped(k.kind) {
			coll = "/v1/" + k.kind
		}
		item := coll + "/{name}"
		// A kind with no create or update body (pipeline runs) has no such
		// route: its objects are made and changed by other operations.
		if k.create != nil {
			rs = append(rs, Route{Method: http.MethodPost, Path: coll, OperationID: "create" + k.singular, Kind: k.kind, Op: OpCreate,
				Summary: "Create; send Idempotency-Key so a retry never duplicates.", Request: k.create, Response: k.object, Status: http.StatusCreated})
		}
		rs = append(rs,
			Route{Method: http.MethodGet, Path: coll, OperationID: "list" + k.plural, Kind: k.kind, Op: OpList,
				Summary: "List one page, ordered by name (query limit, page_token).", Response: k.list, Status: http.StatusOK},
			Route{Method: http.MethodGet, Path: item, OperationID: "get" + k.singular, Kind: k.kind, Op: OpGet,
				Summary: "Read one object; the ETag header is its etag. With wait_for_generation, a long poll until the status settles.", Response: k.object, Status: http.StatusOK,
				Query: waitQueryParams},
		)
		if k.update != nil {
			rs = append(rs, Route{Method: http.MethodPut, Path: item, OperationID: "update" + k.singular, Kind: k.kind, Op: OpUpdate,
				Summary: "Replace the spec; send If-Match with the etag to avoid lost updates (409 on mismatch).", Request: k.update, Response: k.object, Status: http.StatusOK})
		}
		del := Route{Method: http.MethodDelete, Path: item, OperationID: "delete" + k.singular, Kind: k.kind, Op: OpDelete,
			Summary: "Delete; 204 when gone (or already missing), 202 while a teardown runs.", Response: k.object, Status: http.StatusNoContent}
		if k.kind == KindModel {
			del.Summary = "Delete; 204 when gone (or already missing). 409 while the model has versions or aliases, naming them, unless force=true."
			del.Query = []QueryParam{{Name: QueryForce, Type: "boolean",
				Description: "Delete the model's aliases, then its versions, then the model, each an audited delete (registered artifact files stay). " +
					"If the call is interrupted, repeating it continues."}}
		}
		rs = append(rs, del)
	}
	rs = append(rs, pipelineRunRoutes...)
	rs = append(rs, batchInferenceRoutes...)
	rs = append(rs, Route{Method: http.MethodPost, Path: "/v1/service-accounts/{name}/tokens", OperationID: OpIDIssueServiceAccountToken,
		Summary: "Issue a bearer token for the service account (mlopsd -auth on); the token is in this response only.",
		Request: IssueTokenRequest{}, Response: IssuedToken{}, Status: http.StatusCreated})
	predict := "Predict through the endpoint's gateway: the request goes to a variant by traffic_percent (and a copy to the shadow variant); needs role invoker. " +
		"Answers, errors included, carry the variant and model version in " + HeaderVariant + " and " + HeaderModelVersion + "."
	rs = append(rs,
		Route{Method: http.MethodPost, Path: "/v1/environments/{env}/" + KindModelEndpoint + "/{name}:predict", OperationID: OpIDPredictAction,
			MuxPattern: http.MethodPost + " /v1/environments/{env}/" + KindModelEndpoint + "/{target}",
			Summary:    predict, Request: PredictRequest{}, Response: PredictResponse{}, Status: http.StatusOK},
		Route{Method: http.MethodPost, Path: "/v1/environments/{env}/" + KindModelEndpoint + "/{name}/predict", OperationID: OpIDPredict,
			Summary: predict + " The same as .../{name}:predict.", Request: PredictRequest{}, Response: PredictResponse{}, Status: http.StatusOK})
	rs = append(rs, metricsRoutes...)
	rs = append(rs, endpointMetricsRoutes...)
	rs = append(rs, alarmRoutes...)
	rs = append(rs, auditRoutes...)
	rs = append(rs, whoAmIRoutes...)
	return rs
}

// typeOf returns the reflect.Type of a route body, nil for none.
func typeOf(v any) reflect.Type {
	if v == nil {
		return nil
	}
	return reflect.TypeOf(v)
}
