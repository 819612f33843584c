package server

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Limits of a model endpoint.
const (
	maxEndpointVariants = 10
	maxEndpointReplicas = 100
	maxBakeTimeSeconds  = 86400
	maxRollbackAlarms   = 10
	// maxScaleInCooldownSeconds bounds autoscaling.scale_in_cooldown_seconds.
	maxScaleInCooldownSeconds = 3600
)

func modelEndpointKind() *kind[api.ModelEndpointSpec] {
	return &kind[api.ModelEndpointSpec]{
		name:     api.KindModelEndpoint,
		teardown: true,
		validate: validateModelEndpoint,
		crossCheck: func(ctx context.Context, v store.View, ref api.Ref, s *api.ModelEndpointSpec) error {
			if err := rolloutInProgressCheck(ctx, v, ref, s); err != nil {
				return err
			}
			if err := modelEndpointRefCheck(ctx, v, ref, s); err != nil {
				return err
			}
			return requiredAlarmsCheck(ctx, v, ref, s)
		},
		initialStatus: func(*api.ModelEndpointSpec) any {
			return api.ModelEndpointStatus{Status: api.Status{Phase: api.PhaseProvisioning, Reason: "Created", Message: "waiting for the reconciler"}}
		},
		settled: settledAs[api.ModelEndpointStatus],
	}
}

// validateModelEndpoint checks an endpoint's spec on its own.
func validateModelEndpoint(s *api.ModelEndpointSpec) error {
	if s.RolloutAttempt < 0 {
		return api.Errorf(api.EINVALID, "spec.rollout_attempt", "is %d; it counts retries of rolled-back rollouts from 0", s.RolloutAttempt)
	}
	if len(s.Variants) == 0 {
		return api.NewError(api.EINVALID, "spec.variants", "at least one variant is required")
	}
	if len(s.Variants) > maxEndpointVariants {
		return api.Errorf(api.EINVALID, "spec.variants", "has %d variants; use at most %d", len(s.Variants), maxEndpointVariants)
	}
	seen := map[string]bool{}
	var sum int64
	for i := range s.Variants {
		v := &s.Variants[i]
		field := fmt.Sprintf("spec.variants[%d]", i)
		if err := validateVariant(field, v); err != nil {
			return err
		}
		if seen[v.Name] {
			return api.Errorf(api.EINVALID, field+".name", "variant name %q is used twice; give each variant its own name", v.Name)
		}
		seen[v.Name] = true
		if err := validateRange(field+".traffic_percent", v.TrafficPercent, 0, 100); err != nil {
			return err
		}
		sum += v.TrafficPercent
	}
	if sum != 100 {
		return api.Errorf(api.EINVALID, "spec.variants", "traffic_percent of the variants sums to %d; it must sum to 100", sum)
	}
	if s.Shadow != nil {
		if err := validateVariant("spec.shadow", s.Shadow); err != nil {
			return err
		}
		if seen[s.Shadow.Name] {
			return api.Errorf(api.EINVALID, "spec.shadow.name", "%q is also the name of a variant; give the shadow variant its own name", s.Shadow.Name)
		}
		if s.Shadow.TrafficPercent != 0 {
			return api.NewError(api.EINVALID, "spec.shadow.traffic_percent", "a shadow variant receives a copy of every request, not a share; set traffic_percent to 0 or leave it out")
		}
	}
	if err := validateRange("spec.request_log_sample_rate_percent", s.RequestLogSampleRatePercent, 0, 100); err != nil {
		return err
	}
	if err := oneOf("spec.rollout.strategy", s.Rollout.Strategy, api.RolloutStrategies...); err != nil {
		return err
	}
	if err := validateRange("spec.rollout.step_percent", s.Rollout.StepPercent, 1, 100); err != nil {
		return err
	}
	if err := validateRange("spec.rollout.bake_time_seconds", s.Rollout.BakeTimeSeconds, 0, maxBakeTimeSeconds); err != nil {
		return err
	}
	if err := validateRollbackAlarms(s.Rollout.RollbackAlarms); err != nil {
		return err
	}
	if s.SmokeTest != nil {
		return validateSmokeTest(s.SmokeTest)
	}
	return nil
}

// validateRollbackAlarms checks the names in rollout.rollback_alarms. They
// need not exist yet: alarms name their endpoint, so requiring them first
// would be a cycle; a rollout that starts while one is missing rolls back.
func validateRollbackAlarms(names []string) error {
	if len(names) > maxRollbackAlarms {
		return api.Errorf(api.EINVALID, "spec.rollout.rollback_alarms", "names %d alarms; name at most %d", len(names), maxRollbackAlarms)
	}
	seen := map[string]bool{}
	for i, n := range names {
		field := fmt.Sprintf("spec.rollout.rollback_alarms[%d]", i)
		if err := validateName(field, n); err != nil {
			return err
		}
		if seen[n] {
			return api.Errorf(api.EINVALID, field, "alarm %q is named twice; name each alarm once", n)
		}
		seen[n] = true
	}
	return nil
}

var smokeJSONPathRE = regexp.MustCompile(api.SmokeJSONPathPattern)

// validateSmokeTest checks spec.smoke_test.
func validateSmokeTest(t *api.EndpointSmokeTest) error {
	const f = "spec.smoke_test"
	if len(t.RequestBody) > api.MaxSmokeRequestBodyBytes {
		return api.Errorf(api.EINVALID, f+".request_body", "is %d bytes; it may have at most %d", len(t.RequestBody), api.MaxSmokeRequestBodyBytes)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal([]byte(t.RequestBody), &body); err != nil || body == nil {
		return api.NewError(api.EINVALID, f+".request_body", `must be a JSON object, the body of POST /predict, e.g. {"inputs": [1200]} (in Terraform: jsonencode({ inputs = [1200] }))`)
	}
	if t.ExpectedStatus != 0 {
		if err := validateRange(f+".expected_status", t.ExpectedStatus, 100, 599); err != nil {
			return err
		}
	}
	if len(t.ExpectedResponseContains) > api.MaxSmokeExpectationBytes {
		return api.Errorf(api.EINVALID, f+".expected_response_contains", "is %d bytes; it may have at most %d", len(t.ExpectedResponseContains), api.MaxSmokeExpectationBytes)
	}
	if t.JSONPath != "" {
		if len(t.JSONPath) > api.MaxSmokeJSONPathBytes {
			return api.Errorf(api.EINVALID, f+".json_path", "is %d bytes; it may have at most %d", len(t.JSONPath), api.MaxSmokeJSONPathBytes)
		}
		if !smokeJSONPathRE.MatchString(t.JSONPath) {
			return api.Errorf(api.EINVALID, f+".json_path", "%q is not a path: %s", t.JSONPath, api.SmokeJSONPathHint)
		}
	}
	if t.ExpectedJSONValue != "" {
		if t.JSONPath == "" {
			return api.NewError(api.EINVALID, f+".expected_json_value", "is compared with the value at json_path; set json_path too, or remove expected_json_value")
		}
		if len(t.ExpectedJSONValue) > api.MaxSmokeExpectationBytes {
			return api.Errorf(api.EINVALID, f+".expected_json_value", "is %d bytes; it may have at most %d", len(t.ExpectedJSONValue), api.MaxSmokeExpectationBytes)
		}
	}
	return nil
}

// validateCommand checks a variant's command.
func validateCommand(field string, cmd []string) error {
	if cmd == nil {
		return nil
	}
	if len(cmd) == 0 || len(cmd) > api.MaxCommandArgs {
		return api.Errorf(api.EINVALID, field, "has %d arguments; give the program and its arguments, at most %d, or leave command out for the built-in runtime", len(cmd), api.MaxCommandArgs)
	}
	if strings.TrimSpace(cmd[0]) == "" {
		return api.NewError(api.EINVALID, field+"[0]", "is empty; it must name the program that serves the model, e.g. /opt/models/serve")
	}
	for i, a := range cmd {
		if len(a) > api.MaxCommandArgBytes {
			return api.Errorf(api.EINVALID, fmt.Sprintf("%s[%d]", field, i), "is %d bytes; an argument may have at most %d", len(a), api.MaxCommandArgBytes)
		}
		if strings.ContainsRune(a, 0) {
			return api.Errorf(api.EINVALID, fmt.Sprintf("%s[%d]", field, i), "holds a NUL byte, which no program argument can")
		}
	}
	return nil
}

func validateVariant(field string, v *api.EndpointVariant) error {
	if err := validateName(field+".name", v.Name); err != nil {
		return err
	}
	if err := validateName(field+".model_version", v.ModelVersion); err != nil {
		return err
	}
	if err := validateName(field+".compute_pool", v.ComputePool); err != nil {
		return err
	}
	if err := validateCommand(field+".command", v.Command); err != nil {
		return err
	}
	if err := v.ValidateRequests(field); err != nil {
		return err
	}
	switch {
	case v.Autoscaling == nil && v.Replicas == 0:
		return api.NewError(api.EINVALID, field+".replicas", "set replicas (1-100) or autoscaling")
	case v.Autoscaling != nil && v.Replicas != 0:
		return api.NewError(api.EINVALID, field+".replicas", "set replicas or autoscaling, not both: with autoscaling the runtime owns the replica count")
	case v.Autoscaling == nil:
		return validateRange(field+".replicas", v.Replicas, 1, maxEndpointReplicas)
	}
	a := v.Autoscaling
	if err := validateRange(field+".autoscaling.max_replicas", a.MaxReplicas, 1, maxEndpointReplicas); err != nil {
		return err
	}
	if a.MinReplicas < 1 || a.MinReplicas > a.MaxReplicas {
		return api.Errorf(api.EINVALID, field+".autoscaling.min_replicas", "is %d; it must be between 1 and max_replicas (%d)", a.MinReplicas, a.MaxReplicas)
	}
	if err := validateRange(field+".autoscaling.target_rps", a.TargetRPS, 0, 1000000); err != nil {
		return err
	}
	return validateRange(field+".autoscaling.scale_in_cooldown_seconds", a.ScaleInCooldownSeconds, 0, maxScaleInCooldownSeconds)
}

// modelEndpointRefCheck checks, inside the write transaction, that the
// variants' model versions and compute pools exist, that the versions are
// of a framework the model runtime serves, and the environment's policy.
func modelEndpointRefCheck(ctx context.Context, v store.View, ref api.Ref, s *api.ModelEndpointSpec) error {
	envObj, err := v.Get(ctx, api.Ref{Kind: api.KindEnvironment, Name: ref.Environment})
	if isCode(err, api.ENOTFOUND) {
		return api.Errorf(api.EINVALID, "environment", "environment %q does not exist; create it first (mlops_environment)", ref.Environment)
	}
	if err != nil {
		return err
	}
	var env api.EnvironmentSpec
	if err := json.Unmarshal(envObj.Spec, &env); err != nil {
		return fmt.Errorf("decoding %s: %w", envObj.Ref(), err)
	}
	check := func(field string, vr api.EndpointVariant) error {
		poolObj, err := v.Get(ctx, api.Ref{Kind: api.KindComputePool, Environment: ref.Environment, Name: vr.ComputePool})
		if isCode(err, api.ENOTFOUND) {
			return api.Errorf(api.EINVALID, field+".compute_pool", "compute pool %q does not exist in environment %q; create it first (mlops_compute_pool)", vr.ComputePool, ref.Environment)
		} else if err != nil {
			return err
		}
		var pool api.ComputePoolSpec
		if err := json.Unmarshal(poolObj.Spec, &pool); err != nil {
			return fmt.Errorf("decoding %s: %w", poolObj.Ref(), err)
		}
		// One replica runs on one node: it cannot ask for more than a
		// node of its pool declares.
		if attr, msg := vr.FitProblem(vr.ComputePool, pool); attr != "" {
			return api.NewError(api.EINVALID, field+"."+attr, msg)
		}
		mvObj, err := v.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: ref.Environment, Name: vr.ModelVersion})
		if isCode(err, api.ENOTFOUND) {
			return api.Errorf(api.EINVALID, field+".model_version", "model version %q does not exist in environment %q; register it first (mlops_model_version)", vr.ModelVersion, ref.Environment)
		}
		if err != nil {
			return err
		}
		var mv api.ModelVersionSpec
		if err := json.Unmarshal(mvObj.Spec, &mv); err != nil {
			return fmt.Errorf("decoding %s: %w", mvObj.Ref(), err)
		}
		// A user command serves any framework; the built-in runtime only
		// its own.
		if len(vr.Command) == 0 && mv.Framework != api.FrameworkMLOpsLinear {
			return api.Errorf(api.EINVALID, field+".model_version",
				"model version %q has framework %q; the built-in model runtime serves only %q models: set command to a program that serves it",
				vr.ModelVersion, mv.Framework, api.FrameworkMLOpsLinear)
		}
		if env.Policy.RequireApprovedModels && mv.Approval.Status != api.ApprovalApproved {
			return api.NewError(api.EINVALID, field+".model_version", api.UnapprovedVersionMessage(ref.Environment, vr.ModelVersion, mv.Approval.Status))
		}
		return nil
	}
	for i, vr := range s.Variants {
		if err := check(fmt.Sprintf("spec.variants[%d]", i), vr); err != nil {
			return err
		}
	}
	if s.Shadow != nil {
		return check("spec.shadow", *s.Shadow)
	}
	return nil
}

// rolloutInProgressCheck refuses, with 409, to change the model version of
// the variant a rollout is moving, or to remove that variant, while the
// rollout runs: a second change while one is in progress is never a silent
// overwrite. The same holds for its command and replica requests, which
// are rolled out the same way. Other changes (replicas, traffic) go
// through.
func rolloutInProgressCheck(ctx context.Context, v store.View, ref api.Ref, s *api.ModelEndpointSpec) error {
	cur, err := v.Get(ctx, ref)
	if isCode(err, api.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return err
	}
	var st api.ModelEndpointStatus
	if err := json.Unmarshal(cur.Status, &st); err != nil {
		return fmt.Errorf("decoding status of %s: %w", cur.Ref(), err)
	}
	ro := st.Rollout
	if ro == nil {
		return nil
	}
	for i, vr := range s.Variants {
		if vr.Name == ro.Variant {
			field := fmt.Sprintf("spec.variants[%d].model_version", i)
			switch {
			case vr.ModelVersion != ro.ToVersion:
			case !slices.Equal(vr.Command, ro.Command):
				field = fmt.Sprintf("spec.variants[%d].command", i)
			case vr.ReplicaResources != ro.ReplicaResources:
				field = fmt.Sprintf("spec.variants[%d].%s", i, changedResource(vr.ReplicaResources, ro.ReplicaResources))
			default:
				return nil
			}
			return api.Errorf(api.ECONFLICT, field,
				"a rollout of variant %q from %q to %q (%s) is in progress; wait until it finishes (phase ready or rolled_back) and apply again",
				ro.Variant, ro.FromVersion, ro.ToVersion, ro.Strategy)
		}
	}
	return api.Errorf(api.ECONFLICT, "spec.variants",
		"a rollout of variant %q from %q to %q is in progress; wait until it finishes before removing the variant", ro.Variant, ro.FromVersion, ro.ToVersion)
}

// changedResource names the request that differs between a and b:
// cpu_millicores, or else memory_mib.
func changedResource(a, b api.ReplicaResources) string {
	if a.CPUMillicores != b.CPUMillicores {
		return "cpu_millicores"
	}
	return "memory_mib"
}

// modelVersionNotServed refuses to delete a model version that a model
// endpoint declares or serves (also as a rollout's old or new version): its
// replicas could not start again.
func modelVersionNotServed(ctx context.Context, v store.View, obj *store.Object) error {
	endpoints, err := v.ListAll(ctx, api.KindModelEndpoint, obj.Meta.Environment)
	if err != nil {
		return err
	}
	version := obj.Meta.Name
	var names []string
	for _, ep := range endpoints {
		var spec api.ModelEndpointSpec
		var st api.ModelEndpointStatus
		if err := json.Unmarshal(ep.Spec, &spec); err != nil {
			return fmt.Errorf("decoding %s: %w", ep.Ref(), err)
		}
		if err := json.Unmarshal(ep.Status, &st); err != nil {
			return fmt.Errorf("decoding status of %s: %w", ep.Ref(), err)
		}
		uses := false
		for _, vr := range spec.Variants {
			uses = uses || vr.ModelVersion == version
		}
		uses = uses || (spec.Shadow != nil && spec.Shadow.ModelVersion == version)
		for _, vs := range st.Variants {
			uses = uses || vs.ModelVersion == version || vs.CanaryVersion == version
		}
		if uses {
			names = append(names, strconv.Quote(ep.Meta.Name))
		}
	}
	if len(names) == 0 {
		return nil
	}
	return api.Errorf(api.ECONFLICT, "",
		"model version %q in environment %q is served by model endpoint %s; point the endpoint's variants at another version or delete the endpoint first",
		version, obj.Meta.Environment, strings.Join(names, ", "))
}

// requiredAlarmsCheck refuses a change of what an existing endpoint serves
// (a variant's model version, command or replica requests, or a new
// variant) while the
// endpoint lacks an alarm its environment's policy.required_alarms asks
// for. A new endpoint is let through: its alarms name it, so they can only
// come after it; the reconciler reports what it lacks.
func requiredAlarmsCheck(ctx context.Context, v store.View, ref api.Ref, s *api.ModelEndpointSpec) error {
	cur, err := v.Get(ctx, ref)
	if isCode(err, api.ENOTFOUND) {
		return nil
	}
	if err != nil {
		return err
	}
	var old api.ModelEndpointSpec
	if err := json.Unmarshal(cur.Spec, &old); err != nil {
		return fmt.Errorf("decoding spec of %s: %w", cur.Ref(), err)
	}
	field := ""
	for i, vr := range s.Variants {
		j := slices.IndexFunc(old.Variants, func(o api.EndpointVariant) bool { return o.Name == vr.Name })
		switch {
		case j < 0:
			field = fmt.Sprintf("spec.variants[%d].name", i)
		case old.Variants[j].ModelVersion != vr.ModelVersion:
			field = fmt.Sprintf("spec.variants[%d].model_version", i)
		case !slices.Equal(old.Variants[j].Command, vr.Command):
			field = fmt.Sprintf("spec.variants[%d].command", i)
		case old.Variants[j].ReplicaResources != vr.ReplicaResources:
			field = fmt.Sprintf("spec.variants[%d].%s", i, changedResource(vr.ReplicaResources, old.Variants[j].ReplicaResources))
		}
		if field != "" {
			break
		}
	}
	if field == "" {
		return nil
	}
	envObj, err := v.Get(ctx, api.Ref{Kind: api.KindEnvironment, Name: ref.Environment})
	if err != nil {
		return err
	}
	var env api.EnvironmentSpec
	if err := json.Unmarshal(envObj.Spec, &env); err != nil {
		return fmt.Errorf("decoding %s: %w", envObj.Ref(), err)
	}
	if len(env.Policy.RequiredAlarms) == 0 {
		return nil
	}
	alarms, err := alarmSpecs(ctx, v, ref.Environment)
	if err != nil {
		return err
	}
	missing := api.MissingRequiredAlarms(env.Policy.RequiredAlarms, ref.Name, alarms)
	if len(missing) == 0 {
		return nil
	}
	return api.NewError(api.EINVALID, field, api.RequiredAlarmsMessage(ref.Environment, ref.Name, env.Policy.RequiredAlarms, missing))
}

// alarmSpecs returns the specs of the alarms of env that are not being
// deleted.
func alarmSpecs(ctx context.Context, v store.View, env string) ([]api.AlarmSpec, error) {
	objs, err := v.ListAll(ctx, api.KindAlarm, env)
	if err != nil {
		return nil, err
	}
	out := make([]api.AlarmSpec, 0, len(objs))
	for _, o := range objs {
		if o.Meta.DeletionRequestedAt != nil {
			continue
		}
		var spec api.AlarmSpec
		if err := json.Unmarshal(o.Spec, &spec); err != nil {
			return nil, fmt.Errorf("decoding spec of %s: %w", o.Ref(), err)
		}
		out = append(out, spec)
	}
	return out, nil
}
