package api

import (
	"reflect"
	"strconv"
	"strings"
	"time"
)

// OpenAPI builds the OpenAPI 3.0 document of the API from Routes and the
// wire types, by reflection, so it always describes the types both sides
// compile against.
func OpenAPI(version string) map[string]any {
	g := &schemaGen{components: map[string]any{}}
	paths := map[string]map[string]any{}
	errRef := g.ref(reflect.TypeOf(Error{}))
	for _, rt := range Routes {
		op := map[string]any{
			"operationId": rt.OperationID,
			"summary":     rt.Summary,
		}
		var params []any
		for _, p := range []string{"env", "name"} {
			if strings.Contains(rt.Path, "{"+p+"}") {
				params = append(params, map[string]any{"name": p, "in": "path", "required": true, "schema": map[string]any{"type": "string", "pattern": NamePattern}})
			}
		}
		if rt.Op == OpList {
			params = append(params,
				map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": MaxPageSize}},
				map[string]any{"name": "page_token", "in": "query", "schema": map[string]any{"type": "string"}})
		}
		if rt.OperationID == "listAudit" {
			params = append(params,
				map[string]any{"name": "after_seq", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 0}},
				map[string]any{"name": "limit", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1, "maximum": MaxPageSize}})
		}
		if rt.OperationID == OpIDGetPipelineRunLogs {
			params = append(params,
				map[string]any{"name": "step", "in": "query", "schema": map[string]any{"type": "string"}},
				map[string]any{"name": "attempt", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 1}},
				map[string]any{"name": "tail", "in": "query", "schema": map[string]any{"type": "integer", "minimum": 0}},
				map[string]any{"name": "offset", "in": "query", "description": "With step: the log from this byte on (the Mlops-Log-Size of the previous answer), at most 8 MiB of it.", "schema": map[string]any{"type": "integer", "minimum": 0}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description, "schema": map[string]any{"type": q.Type}})
		}
		if rt.Method != "GET" && (rt.Kind != "" || rt.OperationID == OpIDStartPipelineRun || rt.OperationID == OpIDCancelPipelineRun || rt.OperationID == OpIDPushMetrics) {
			params = append(params, map[string]any{"name": HeaderIdempotencyKey, "in": "header", "schema": map[string]any{"type": "string", "maxLength": 200}})
		}
		if rt.Op == OpUpdate || rt.Op == OpDelete {
			params = append(params, map[string]any{"name": HeaderIfMatch, "in": "header", "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if t := typeOf(rt.Request); t != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": g.ref(t)}}}
		}
		responses := map[string]any{
			"default": map[string]any{"description": "Error", "content": map[string]any{"application/json": map[string]any{"schema": errRef}}},
		}
		ok := map[string]any{"description": "Success"}
		if t := typeOf(rt.Response); t != nil && rt.Op != OpDelete {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": g.ref(t)}}
		}
		if rt.OperationID == OpIDGetPipelineRunLogs {
			ok["content"] = map[string]any{"text/plain": map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		responses[strconv.Itoa(rt.Status)] = ok
		if rt.Op == OpDelete {
			responses["202"] = map[string]any{"description": "Teardown in progress", "content": map[string]any{"application/json": map[string]any{"schema": g.ref(typeOf(rt.Response))}}}
		}
		op["responses"] = responses
		if paths[rt.Path] == nil {
			paths[rt.Path] = map[string]any{}
		}
		paths[rt.Path][strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": "mlopsd API", "version": version},
		"paths":      paths,
		"components": map[string]any{"schemas": g.components},
	}
}

type schemaGen struct {
	components map[string]any
}

var timeType = reflect.TypeOf(time.Time{})

// ref returns a $ref to a named struct's schema, generating it once.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType {
		return g.schema(t)
	}
	if _, ok := g.components[t.Name()]; !ok {
		g.components[t.Name()] = map[string]any{} // break cycles
		g.components[t.Name()] = g.structSchema(t)
	}
	return map[string]any{"$ref": "#/components/schemas/" + t.Name()}
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())}
	case reflect.Struct:
		return g.ref(t)
	}
	return map[string]any{}
}

func (g *schemaGen) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	g.addFields(t, props)
	return map[string]any{"type": "object", "properties": props}
}

// addFields adds t's JSON fields to props, flattening embedded structs the
// way encoding/json does.
func (g *schemaGen) addFields(t reflect.Type, props map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			g.addFields(f.Type, props)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.ref(f.Type)
	}
}
