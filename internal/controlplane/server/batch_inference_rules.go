package server

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/batch"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Limits of batch inference job specs.
const (
	maxFeatureColumns      = 1000
	maxFeatureColumnLength = 256
)

func batchInferenceJobKind() *kind[api.BatchInferenceJobSpec] {
	return &kind[api.BatchInferenceJobSpec]{
		name: api.KindBatchInferenceJob,
		// Deleting a job cancels its active runs, then deletes all of its
		// runs before it goes (reconcile.BatchJobHandler); their output
		// folders stay.
		teardown:   true,
		validate:   validateBatchInferenceJob,
		crossCheck: batchInferenceJobRefsCheck,
		initialStatus: func(*api.BatchInferenceJobSpec) any {
			return api.BatchInferenceJobStatus{Status: api.Status{Phase: api.PhasePending, Reason: "Created", Message: "waiting for the reconciler"}}
		},
	}
}

// batchInferenceRunKind has no create or update route (api.Routes): runs
// are started through startBatchInferenceRun and stopped through
// cancelBatchInferenceRun. A delete is a teardown: the reconciler kills the
// run's step and removes its logs first; its output folder stays.
func batchInferenceRunKind() *kind[api.BatchInferenceRunSpec] {
	return &kind[api.BatchInferenceRunSpec]{name: api.KindBatchInferenceRun, teardown: true}
}

// validateBatchInferenceJob checks a job's spec on its own and fills the
// defaults: input format auto, a timeout of an hour.
func validateBatchInferenceJob(s *api.BatchInferenceJobSpec) error {
	if err := validateDescription("spec.description", s.Description); err != nil {
		return err
	}
	if err := validateBatchModel(s); err != nil {
		return err
	}
	if err := validateName("spec.compute_pool", s.ComputePool); err != nil {
		return err
	}
	in, err := pipeline.FilePath(s.InputURI)
	if err != nil {
		return api.Errorf(api.EINVALID, "spec.input_uri", "%v; input_uri is a local CSV or JSON-lines file, or a folder of them, e.g. file:///data/incoming", err)
	}
	out, err := pipeline.FilePath(s.OutputURI)
	if err != nil {
		return api.Errorf(api.EINVALID, "spec.output_uri", "%v; output_uri is a local folder that each run writes <folder>/<run name>/ into, e.g. file:///data/predictions", err)
	}
	if path.Clean(out) != out || out == "/" {
		return api.Errorf(api.EINVALID, "spec.output_uri", "%q is not a clean folder path; use an absolute folder other than / without a trailing slash, e.g. file:///data/predictions", s.OutputURI)
	}
	if path.Clean(in) == out {
		return api.NewError(api.EINVALID, "spec.output_uri", "is the same as input_uri; write the predictions to a folder of their own")
	}
	if s.InputFormat == "" {
		s.InputFormat = api.BatchFormatAuto
	}
	if err := oneOf("spec.input_format", s.InputFormat, api.BatchFormats...); err != nil {
		return err
	}
	if err := validateFeatureColumns(s.FeatureColumns); err != nil {
		return err
	}
	if err := validateRange("spec.max_failed_rows_percent", s.MaxFailedRowsPercent, 0, 100); err != nil {
		return err
	}
	if s.TimeoutSeconds == 0 {
		s.TimeoutSeconds = pipeline.DefaultTimeoutSeconds
	}
	if err := validateRange("spec.timeout_seconds", s.TimeoutSeconds, 1, pipeline.MaxTimeoutSeconds); err != nil {
		return err
	}
	if t := s.Triggers.Schedule; t != "" {
		if _, err := pipeline.ParseSchedule(t); err != nil {
			return api.Errorf(api.EINVALID, "spec.triggers.schedule", "%q is not a cron schedule (%v); use 5 fields in UTC: minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\" for 03:00 daily, or @hourly / @daily", t, err)
		}
	}
	return nil
}

// validateBatchModel requires exactly one of model_version and the pair
// model + alias.
func validateBatchModel(s *api.BatchInferenceJobSpec) error {
	const pair = "model and alias (an alias such as champion, resolved when each run starts)"
	switch {
	case s.ModelVersion != "" && (s.Model != "" || s.Alias != ""):
		field := "spec.alias"
		if s.Model != "" {
			field = "spec.model"
		}
		return api.NewError(api.EINVALID, field, "set either model_version or "+pair+", not both")
	case s.ModelVersion != "":
		return validateName("spec.model_version", s.ModelVersion)
	case s.Model == "" && s.Alias == "":
		return api.NewError(api.EINVALID, "spec.model_version", "set model_version (the model version to score with), or "+pair)
	case s.Model == "":
		return api.Errorf(api.EINVALID, "spec.model", "alias %q needs model: name the model whose alias it is", s.Alias)
	case s.Alias == "":
		return api.Errorf(api.EINVALID, "spec.alias", "model %q needs alias: name the alias to score with (e.g. champion), or set model_version instead of model", s.Model)
	}
	if err := validateName("spec.model", s.Model); err != nil {
		return err
	}
	return validateName("spec.alias", s.Alias)
}

// validateFeatureColumns checks the feature columns: they travel to the
// scorer as one comma-separated argument.
func validateFeatureColumns(cols []string) error {
	if len(cols) > maxFeatureColumns {
		return api.Errorf(api.EINVALID, "spec.feature_columns", "names %d columns; use at most %d", len(cols), maxFeatureColumns)
	}
	seen := map[string]int{}
	for i, c := range cols {
		field := fmt.Sprintf("spec.feature_columns[%d]", i)
		switch {
		case c == "":
			return api.NewError(api.EINVALID, field, "is empty; name a CSV column or JSON field")
		case len(c) > maxFeatureColumnLength:
			return api.Errorf(api.EINVALID, field, "is %d characters long; use at most %d", len(c), maxFeatureColumnLength)
		case strings.ContainsAny(c, ",\r\n\x00"):
			return api.Errorf(api.EINVALID, field, "%q contains a comma, line break or NUL character, which column names here cannot; rename the column", c)
		}
		if j, dup := seen[c]; dup {
			return api.Errorf(api.EINVALID, field, "%q is already listed at spec.feature_columns[%d]; name each column once", c, j)
		}
		seen[c] = i
	}
	return nil
}

// batchInferenceJobRefsCheck checks the job against the objects it names:
// its compute pool and the model version (or alias) it scores with.
func batchInferenceJobRefsCheck(ctx context.Context, v store.View, ref api.Ref, s *api.BatchInferenceJobSpec) error {
	if len(ref.Name) > pipeline.MaxNameLength {
		return api.Errorf(api.EINVALID, "name", "%q is %d characters long; a batch inference job's name may have at most %d, so that its run names (<name>-<number>) fit", ref.Name, len(ref.Name), pipeline.MaxNameLength)
	}
	pool, err := v.Get(ctx, api.Ref{Kind: api.KindComputePool, Environment: ref.Environment, Name: s.ComputePool})
	if notFound(err) {
		return api.Errorf(api.EINVALID, "spec.compute_pool", "compute pool %q does not exist in environment %q; create it first (mlops_compute_pool) or fix the name", s.ComputePool, ref.Environment)
	}
	if err != nil {
		return err
	}
	if pool.Meta.DeletionRequestedAt != nil {
		return api.Errorf(api.EINVALID, "spec.compute_pool", "compute pool %q is being deleted; use another one", s.ComputePool)
	}
	_, err = batch.ResolveModel(ctx, v, ref.Environment, *s)
	return err
}
