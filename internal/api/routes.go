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
	Method      string
	Path        string
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
}

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
}

// Routes lists every route of the API.
var Routes = buildRoutes()

func buildRoutes() []Route {
	rs := []Route{
		{Method: http.MethodGet, Path: "/healthz", OperationID: "healthz", Summary: "Liveness: the process answers.", Status: http.StatusOK},
		{Method: http.MethodGet, Path: "/readyz", OperationID: "readyz", Summary: "Readiness: the database answers.", Status: http.StatusOK},
		{Method: http.MethodGet, Path: "/openapi.json", OperationID: "openapi", Summary: "This document.", Status: http.StatusOK},
		{Method: http.MethodGet, Path: "/v1/audit", OperationID: "listAudit", Summary: "Audit records after a sequence number (query after_seq, limit).", Response: AuditRecordList{}, Status: http.StatusOK},
	}
	for _, k := range kindTypeTable {
		coll := "/v1/environments/{env}/" + k.kind
		if k.kind == KindEnvironment {
			coll = "/v1/environments"
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
				Summary: "Read one object; the ETag header is its etag.", Response: k.object, Status: http.StatusOK},
		)
		if k.update != nil {
			rs = append(rs, Route{Method: http.MethodPut, Path: item, OperationID: "update" + k.singular, Kind: k.kind, Op: OpUpdate,
				Summary: "Replace the spec; send If-Match with the etag to avoid lost updates (409 on mismatch).", Request: k.update, Response: k.object, Status: http.StatusOK})
		}
		rs = append(rs, Route{Method: http.MethodDelete, Path: item, OperationID: "delete" + k.singular, Kind: k.kind, Op: OpDelete,
			Summary: "Delete; 204 when gone (or already missing), 202 while a teardown runs.", Response: k.object, Status: http.StatusNoContent})
	}
	rs = append(rs, pipelineRunRoutes...)
	return rs
}

// typeOf returns the reflect.Type of a route body, nil for none.
func typeOf(v any) reflect.Type {
	if v == nil {
		return nil
	}
	return reflect.TypeOf(v)
}
