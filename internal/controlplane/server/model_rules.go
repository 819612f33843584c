package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/drift"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Limits of the model registry's specs.
const (
	maxSignatureFields = 1000
	maxMetrics         = 100
	maxParameters      = 200
	maxParameterValue  = 4096
	maxCodeRef         = 256
	maxURI             = 2048
)

var (
	sha256RE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	frameworkRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,62}$`)
	// decimalRE is a plain decimal number, optionally with an exponent: what
	// people write for a metric, and nothing a float parser alone would
	// also take (NaN, Inf, hex floats, underscores).
	decimalRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$`)
	// parameterKeyRE admits the names training code uses (learning_rate,
	// model.max_depth, C) but nothing that would not survive a shell or a
	// query string unquoted.
	parameterKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.\-/]{0,127}$`)
)

func modelKind() *kind[api.ModelSpec] {
	return &kind[api.ModelSpec]{
		name: api.KindModel,
		validate: func(s *api.ModelSpec) error {
			if err := validateDescription("spec.description", s.Description); err != nil {
				return err
			}
			if err := validateLabels(s.Labels); err != nil {
				return err
			}
			return oneOf("spec.task_type", s.TaskType, api.TaskTypes...)
		},
		initialStatus: func(*api.ModelSpec) any { return readyStatus("model is registered") },
		deleteCheck:   modelHasNoDependents,
		// DELETE ...?force=true deletes these first, aliases before the
		// versions they point at.
		forceDeletes: []string{api.KindModelAlias, api.KindModelVersion},
	}
}

// maxDependentsNamed is how many versions or aliases a refused model delete
// names before it only counts the rest.
const maxDependentsNamed = 5

// modelHasNoDependents refuses to delete a model that still has versions or
// aliases: they stand for registered artifacts, some of them registered by
// pipeline runs and in no Terraform state. The message names them and both
// ways out.
func modelHasNoDependents(ctx context.Context, v store.View, obj *store.Object) error {
	parent := api.KindModel + "/" + obj.Meta.Name
	var parts []string
	for _, d := range []struct{ kind, one, many string }{
		{api.KindModelVersion, "version", "versions"},
		{api.KindModelAlias, "alias", "aliases"},
	} {
		objs, err := v.ListAll(ctx, d.kind, obj.Meta.Environment)
		if err != nil {
			return err
		}
		var names []string
		for _, o := range objs {
			if o.Parent == parent {
				names = append(names, strconv.Quote(o.Meta.Name))
			}
		}
		if len(names) == 0 {
			continue
		}
		what := d.many
		if len(names) == 1 {
			what = d.one
		}
		list := strings.Join(names[:min(len(names), maxDependentsNamed)], ", ")
		if len(names) > maxDependentsNamed {
			list += fmt.Sprintf(" and %d more", len(names)-maxDependentsNamed)
		}
		parts = append(parts, fmt.Sprintf("%d %s (%s)", len(names), what, list))
	}
	if len(parts) == 0 {
		return nil
	}
	return api.Errorf(api.ECONFLICT, "",
		"model %q in environment %q still has %s; delete them first, or delete with force (DELETE with ?force=true; Terraform: force_destroy = true), which deletes the model's aliases and versions too (registered artifact files stay)",
		obj.Meta.Name, obj.Meta.Environment, strings.Join(parts, " and "))
}

func modelVersionKind() *kind[api.ModelVersionSpec] {
	return &kind[api.ModelVersionSpec]{
		name:       api.KindModelVersion,
		validate:   validateModelVersion,
		immutable:  modelVersionImmutable,
		crossCheck: modelVersionModelCheck,
		parentOf:   func(s *api.ModelVersionSpec) string { return api.KindModel + "/" + s.Model },
		admitCreate: func(ctx context.Context, s *api.ModelVersionSpec) error {
			if err := verifyLocalArtifact(ctx, s); err != nil {
				return err
			}
			return verifyBaseline(s)
		},
		mergeOwned: mergeApproval,
		deleteCheck: func(ctx context.Context, v store.View, obj *store.Object) error {
			if err := modelVersionNotAliased(ctx, v, obj); err != nil {
				return err
			}
			return modelVersionNotServed(ctx, v, obj)
		},
		initialStatus: func(*api.ModelVersionSpec) any {
			return readyStatus("model version is registered")
		},
	}
}

func modelAliasKind() *kind[api.ModelAliasSpec] {
	return &kind[api.ModelAliasSpec]{
		name: api.KindModelAlias,
		validate: func(s *api.ModelAliasSpec) error {
			if err := validateName("spec.model", s.Model); err != nil {
				return err
			}
			if err := validateName("spec.version", s.Version); err != nil {
				return err
			}
			// The history is the server's record; a client cannot rewrite it.
			s.History = nil
			return nil
		},
		immutable: func(old, s *api.ModelAliasSpec) error {
			if old.Model != s.Model {
				return api.Errorf(api.EINVALID, "spec.model",
					"cannot change from %q to %q in place: an alias belongs to one model; replace the alias instead (Terraform plans this as a replacement)", old.Model, s.Model)
			}
			return nil
		},
		crossCheck: modelAliasTargetCheck,
		parentOf:   func(s *api.ModelAliasSpec) string { return api.KindModel + "/" + s.Model },
		mergeOwned: func(before, after *api.ModelAliasSpec, actor string, now time.Time) error {
			if before != nil {
				after.History = append([]api.AliasMove(nil), before.History...)
				if before.Version == after.Version {
					return nil
				}
			}
			after.History = append(after.History, api.AliasMove{Version: after.Version, MovedBy: actor, MovedAt: now})
			return nil
		},
		initialStatus: func(*api.ModelAliasSpec) any { return readyStatus("alias is set") },
	}
}

// validateModelVersion checks a version's spec and fills the default
// approval. Client-sent approval history is dropped: only the server records
// decisions.
func validateModelVersion(s *api.ModelVersionSpec) error {
	if err := validateName("spec.model", s.Model); err != nil {
		return err
	}
	if err := validateDescription("spec.description", s.Description); err != nil {
		return err
	}
	if err := validateURI("spec.artifact_uri", s.ArtifactURI, true, "file:///models/churn/3/model.json or s3://bucket/churn/3/"); err != nil {
		return err
	}
	if s.ArtifactSHA256 == "" {
		return api.NewError(api.EINVALID, "spec.artifact_sha256", "artifact_sha256 is required: the artifact's SHA-256 as 64 lowercase hex digits (sha256sum prints it)")
	}
	if !sha256RE.MatchString(s.ArtifactSHA256) {
		return api.Errorf(api.EINVALID, "spec.artifact_sha256", "%q is not a SHA-256 digest; use 64 lowercase hex digits, as sha256sum prints them", s.ArtifactSHA256)
	}
	if s.Framework == "" {
		return api.NewError(api.EINVALID, "spec.framework", "framework is required, e.g. sklearn, xgboost, pytorch, onnx")
	}
	if !frameworkRE.MatchString(s.Framework) {
		return api.Errorf(api.EINVALID, "spec.framework", "%q is not a valid framework name; use 1-63 lowercase letters, digits, '.', '_' and '-', starting with a letter, e.g. sklearn or mlops-linear", s.Framework)
	}
	if err := validateSignature("spec.inputs", s.Inputs); err != nil {
		return err
	}
	if err := validateSignature("spec.outputs", s.Outputs); err != nil {
		return err
	}
	if err := validateMetrics("spec.metrics", s.Metrics); err != nil {
		return err
	}
	if err := validateLineage("spec.lineage", s.Lineage); err != nil {
		return err
	}
	if err := validateBaselineRef(s); err != nil {
		return err
	}
	if s.Approval.Status == "" {
		s.Approval.Status = api.ApprovalPending
	}
	if err := oneOf("spec.approval.status", s.Approval.Status, api.ApprovalPending, api.ApprovalApproved, api.ApprovalRejected); err != nil {
		return err
	}
	if err := validateDescription("spec.approval.reason", s.Approval.Reason); err != nil {
		return err
	}
	if s.Approval.Status == api.ApprovalRejected && strings.TrimSpace(s.Approval.Reason) == "" {
		return api.NewError(api.EINVALID, "spec.approval.reason", "a rejection needs a reason; say why the version is rejected, e.g. \"auc below the champion's\"")
	}
	s.ApprovalHistory = nil
	return nil
}

// validateURI checks a scheme://location URI.
func validateURI(field, uri string, required bool, example string) error {
	if uri == "" {
		if required {
			return api.Errorf(api.EINVALID, field, "%s is required; use scheme://location, e.g. %s", field, example)
		}
		return nil
	}
	if len(uri) > maxURI {
		return api.Errorf(api.EINVALID, field, "is %d characters long; use at most %d", len(uri), maxURI)
	}
	if !uriRE.MatchString(uri) {
		return api.Errorf(api.EINVALID, field, "%q is not a URI; use scheme://location, e.g. %s", uri, example)
	}
	return nil
}

func validateSignature(field string, fields []api.ModelSignatureField) error {
	if len(fields) > maxSignatureFields {
		return api.Errorf(api.EINVALID, field, "has %d fields; use at most %d", len(fields), maxSignatureFields)
	}
	seen := map[string]int{}
	for i, f := range fields {
		at := fmt.Sprintf("%s[%d]", field, i)
		if !identifierRE.MatchString(f.Name) {
			return api.Errorf(api.EINVALID, at+".name", "%q is not a valid field name; use lowercase letters, digits and '_', starting with a letter or '_'", f.Name)
		}
		if prev, dup := seen[f.Name]; dup {
			return api.Errorf(api.EINVALID, at+".name", "%q is already used by %s[%d]; names must be unique", f.Name, field, prev)
		}
		seen[f.Name] = i
		if err := oneOf(at+".value_type", f.ValueType, api.ValueTypes...); err != nil {
			return err
		}
	}
	return nil
}

// validateMetrics checks that every metric is a finite decimal number. The
// values stay strings so the spec holds no floats and keeps the digits the
// user wrote.
func validateMetrics(field string, metrics map[string]string) error {
	if len(metrics) > maxMetrics {
		return api.Errorf(api.EINVALID, field, "has %d metrics; use at most %d", len(metrics), maxMetrics)
	}
	for _, k := range slices.Sorted(maps.Keys(metrics)) {
		at := fmt.Sprintf("%s[%q]", field, k)
		if !identifierRE.MatchString(k) {
			return api.Errorf(api.EINVALID, at, "metric name %q is not valid; use lowercase letters, digits and '_', starting with a letter or '_', e.g. auc or f1_score", k)
		}
		v := metrics[k]
		f, err := strconv.ParseFloat(v, 64)
		if !decimalRE.MatchString(v) || err != nil || math.IsInf(f, 0) {
			return api.Errorf(api.EINVALID, at, "%q is not a decimal number; write the value as a string such as \"0.91\" or \"1e-3\"", v)
		}
	}
	return nil
}

func validateLineage(field string, l api.ModelLineage) error {
	if l.PipelineRun != "" {
		if err := validateName(field+".pipeline_run", l.PipelineRun); err != nil {
			return err
		}
	}
	if err := validateURI(field+".dataset_uri", l.DatasetURI, false, "file:///data/churn/2024-06.parquet"); err != nil {
		return err
	}
	if l.DatasetSHA256 != "" && !sha256RE.MatchString(l.DatasetSHA256) {
		return api.Errorf(api.EINVALID, field+".dataset_sha256", "%q is not a SHA-256 digest; use 64 lowercase hex digits, as sha256sum prints them", l.DatasetSHA256)
	}
	if len(l.CodeRef) > maxCodeRef {
		return api.Errorf(api.EINVALID, field+".code_ref", "is %d characters long; use at most %d", len(l.CodeRef), maxCodeRef)
	}
	if strings.ContainsFunc(l.CodeRef, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return api.Errorf(api.EINVALID, field+".code_ref", "%q contains spaces or control characters; use e.g. a git commit, git@host:repo@sha or an image digest", l.CodeRef)
	}
	if len(l.Parameters) > maxParameters {
		return api.Errorf(api.EINVALID, field+".parameters", "has %d parameters; use at most %d", len(l.Parameters), maxParameters)
	}
	for _, k := range slices.Sorted(maps.Keys(l.Parameters)) {
		at := fmt.Sprintf("%s.parameters[%q]", field, k)
		if !parameterKeyRE.MatchString(k) {
			return api.Errorf(api.EINVALID, at, "parameter name %q is not valid; use 1-128 letters, digits, '_', '.', '-' and '/', starting with a letter or '_'", k)
		}
		if len(l.Parameters[k]) > maxParameterValue {
			return api.Errorf(api.EINVALID, at, "value is %d characters long; use at most %d", len(l.Parameters[k]), maxParameterValue)
		}
	}
	return nil
}

// modelVersionImmutable refuses every change but the description and the
// approval: a registered version stands for one artifact, and a consumer
// (an endpoint, an auditor) must be able to rely on what a name meant.
func modelVersionImmutable(old, s *api.ModelVersionSpec) error {
	for _, f := range []struct {
		field    string
		old, new any
		show     bool
	}{
		{"spec.model", old.Model, s.Model, true},
		{"spec.artifact_uri", old.ArtifactURI, s.ArtifactURI, true},
		{"spec.artifact_sha256", old.ArtifactSHA256, s.ArtifactSHA256, true},
		{"spec.framework", old.Framework, s.Framework, true},
		{"spec.inputs", old.Inputs, s.Inputs, false},
		{"spec.outputs", old.Outputs, s.Outputs, false},
		{"spec.metrics", old.Metrics, s.Metrics, false},
		{"spec.lineage", old.Lineage, s.Lineage, false},
		{"spec.baseline_uri", old.BaselineURI, s.BaselineURI, true},
		{"spec.baseline_sha256", old.BaselineSHA256, s.BaselineSHA256, true},
	} {
		if sameJSON(f.old, f.new) {
			continue
		}
		if f.show {
			return api.Errorf(api.EINVALID, f.field,
				"cannot change from %q to %q: a registered model version is immutable apart from description and approval; replace the version instead (register a new one; Terraform plans this as a replacement)", f.old, f.new)
		}
		return api.Errorf(api.EINVALID, f.field,
			"cannot change: a registered model version is immutable apart from description and approval; replace the version instead (register a new one; Terraform plans this as a replacement)")
	}
	return nil
}

// sameJSON compares two values as their JSON, so a nil and an empty map or
// list are the same, as they are on the wire.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// mergeApproval keeps the approval history, which only the server writes,
// and records a decision when the requested approval changed. Decisions are
// attributed to the authenticated caller, never to a name the client sends.
func mergeApproval(before, after *api.ModelVersionSpec, actor string, now time.Time) error {
	if before == nil {
		if after.Approval.Status != api.ApprovalPending {
			after.ApprovalHistory = []api.ApprovalDecision{decision(after.Approval, actor, now)}
		}
		return nil
	}
	after.ApprovalHistory = append([]api.ApprovalDecision(nil), before.ApprovalHistory...)
	from, to := before.Approval, after.Approval
	if from == to {
		return nil
	}
	switch {
	case from.Status == to.Status && to.Status == api.ApprovalPending:
		// Editing the note on a pending version decides nothing.
		return nil
	case to.Status == api.ApprovalPending:
		return api.Errorf(api.EINVALID, "spec.approval.status",
			"cannot go from %s back to pending: a decision, once made, is only revised by another decision; set status to approved or rejected (with a reason), or register a new version", from.Status)
	case from.Status == api.ApprovalRejected && to.Status == api.ApprovalApproved && strings.TrimSpace(to.Reason) == "":
		return api.NewError(api.EINVALID, "spec.approval.reason",
			"approving a rejected version needs a reason; say why the rejection no longer holds")
	}
	after.ApprovalHistory = append(after.ApprovalHistory, decision(to, actor, now))
	return nil
}

func decision(a api.ApprovalRequest, actor string, now time.Time) api.ApprovalDecision {
	return api.ApprovalDecision{Status: a.Status, Reason: a.Reason, Approver: actor, DecidedAt: now}
}

// verifyLocalArtifact checks, when the artifact is a local file
// (file:///abs/path), that it exists and that its SHA-256 is the declared
// one. Other schemes are recorded as given: the control plane cannot reach
// every store, and the serving side verifies again when it loads the
// artifact.
func verifyLocalArtifact(ctx context.Context, s *api.ModelVersionSpec) error {
	u, err := url.Parse(s.ArtifactURI)
	if err != nil || u.Scheme != "file" {
		return nil
	}
	if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" {
		return api.Errorf(api.EINVALID, "spec.artifact_uri",
			"%q is not a local file URI; use file:///absolute/path (three slashes, no host, query or fragment)", s.ArtifactURI)
	}
	f, err := os.Open(u.Path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return api.Errorf(api.EINVALID, "spec.artifact_uri",
				"artifact %s does not exist on the control plane's host; upload it first or fix the path", u.Path)
		}
		return api.Errorf(api.EINVALID, "spec.artifact_uri",
			"artifact %s cannot be read by the control plane (%v); make it readable by mlopsd", u.Path, errors.Unwrap(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", u.Path, err)
	}
	// Devices and pipes could block for ever or never end.
	if !info.Mode().IsRegular() {
		return api.Errorf(api.EINVALID, "spec.artifact_uri",
			"artifact %s is not a regular file; point artifact_uri at the model file itself", u.Path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, &ctxReader{ctx: ctx, r: f}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return api.Errorf(api.EINVALID, "spec.artifact_uri",
			"artifact %s could not be read to the end (%v); check the file and retry", u.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != s.ArtifactSHA256 {
		return api.Errorf(api.EINVALID, "spec.artifact_sha256",
			"artifact %s has SHA-256 %s, but artifact_sha256 is %s; the file changed or the digest is wrong: set artifact_sha256 to the file's digest (sha256sum %s) or restore the file",
			u.Path, got, s.ArtifactSHA256, u.Path)
	}
	return nil
}

// validateBaselineRef checks the baseline fields on their own: both or
// neither, a file:// URI and a digest.
func validateBaselineRef(s *api.ModelVersionSpec) error {
	switch {
	case s.BaselineURI == "" && s.BaselineSHA256 == "":
		return nil
	case s.BaselineURI == "":
		return api.NewError(api.EINVALID, "spec.baseline_uri", "baseline_sha256 is set but baseline_uri is not; set both (the baseline file and its SHA-256) or neither")
	case s.BaselineSHA256 == "":
		return api.NewError(api.EINVALID, "spec.baseline_sha256", "baseline_uri needs baseline_sha256: the baseline file's SHA-256 as 64 lowercase hex digits (sha256sum prints it)")
	}
	if err := validateURI("spec.baseline_uri", s.BaselineURI, true, "file:///models/churn/3/baseline.json"); err != nil {
		return err
	}
	if _, err := pipeline.FilePath(s.BaselineURI); err != nil {
		return api.Errorf(api.EINVALID, "spec.baseline_uri", "%v; drift alarms read the baseline from the control plane's disk", err)
	}
	if !sha256RE.MatchString(s.BaselineSHA256) {
		return api.Errorf(api.EINVALID, "spec.baseline_sha256", "%q is not a SHA-256 digest; use 64 lowercase hex digits, as sha256sum prints them", s.BaselineSHA256)
	}
	return nil
}

// verifyBaseline checks, when a version is registered, that its baseline
// file exists on the control plane's host, has the declared SHA-256 and is
// a valid api.FeatureBaseline, with one feature per declared input.
func verifyBaseline(s *api.ModelVersionSpec) error {
	if s.BaselineURI == "" {
		return nil
	}
	path, err := pipeline.FilePath(s.BaselineURI)
	if err != nil {
		return api.Errorf(api.EINVALID, "spec.baseline_uri", "%v", err)
	}
	fb, got, err := drift.ReadFile(path, s.BaselineSHA256)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return api.Errorf(api.EINVALID, "spec.baseline_uri", "baseline %s does not exist on the control plane's host; upload it first or fix the path", path)
	case errors.Is(err, drift.ErrDigest):
		return api.Errorf(api.EINVALID, "spec.baseline_sha256",
			"baseline %s has SHA-256 %s, but baseline_sha256 is %s; the file changed or the digest is wrong: set baseline_sha256 to the file's digest (sha256sum %s) or restore the file",
			path, got, s.BaselineSHA256, path)
	case err != nil:
		return api.Errorf(api.EINVALID, "spec.baseline_uri", "baseline %s is not valid: %s; write one feature per model input, in input order, each with %d to %d training values", path, strings.TrimPrefix(err.Error(), path+": "), api.MinBaselineValues, api.MaxBaselineValues)
	}
	if len(s.Inputs) > 0 && len(fb.Features) != len(s.Inputs) {
		return api.Errorf(api.EINVALID, "spec.baseline_uri", "baseline %s has %d features, but the version declares %d inputs; write one feature per input, in input order", path, len(fb.Features), len(s.Inputs))
	}
	return nil
}

// ctxReader stops reading when ctx is done, so a client that gives up does
// not leave the server hashing a large artifact.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// modelVersionModelCheck requires the version's model to exist.
func modelVersionModelCheck(ctx context.Context, v store.View, ref api.Ref, s *api.ModelVersionSpec) error {
	return modelUsable(ctx, v, ref.Environment, s.Model)
}

// modelUsable checks that a model a spec refers to exists and is not being
// deleted, as an EINVALID on spec.model otherwise.
func modelUsable(ctx context.Context, v store.View, env, name string) error {
	m, err := v.Get(ctx, api.Ref{Kind: api.KindModel, Environment: env, Name: name})
	if isCode(err, api.ENOTFOUND) {
		return api.Errorf(api.EINVALID, "spec.model",
			"model %q does not exist in environment %q; create it first (mlops_model) or fix the name", name, env)
	}
	if err != nil {
		return err
	}
	if m.Meta.DeletionRequestedAt != nil {
		return api.Errorf(api.EINVALID, "spec.model", "model %q is being deleted; use another one", name)
	}
	return nil
}

// modelAliasTargetCheck requires the alias's version to exist, to belong to
// the alias's model and not to be on its way out.
func modelAliasTargetCheck(ctx context.Context, v store.View, ref api.Ref, s *api.ModelAliasSpec) error {
	if err := modelUsable(ctx, v, ref.Environment, s.Model); err != nil {
		return err
	}
	obj, err := v.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: ref.Environment, Name: s.Version})
	if isCode(err, api.ENOTFOUND) {
		return api.Errorf(api.EINVALID, "spec.version",
			"model version %q does not exist in environment %q; register it first (mlops_model_version) or fix the name", s.Version, ref.Environment)
	}
	if err != nil {
		return err
	}
	if obj.Meta.DeletionRequestedAt != nil {
		return api.Errorf(api.EINVALID, "spec.version", "model version %q is being deleted; point the alias at another version", s.Version)
	}
	var mv api.ModelVersionSpec
	if err := json.Unmarshal(obj.Spec, &mv); err != nil {
		return fmt.Errorf("decoding %s: %w", obj.Ref(), err)
	}
	if mv.Model != s.Model {
		return api.Errorf(api.EINVALID, "spec.version",
			"model version %q belongs to model %q, not %q; point the alias at a version of model %q", s.Version, mv.Model, s.Model, s.Model)
	}
	return nil
}

// modelVersionNotAliased refuses to delete a version that an alias points
// at: the alias would dangle, and whatever serves "champion" would lose its
// model.
func modelVersionNotAliased(ctx context.Context, v store.View, obj *store.Object) error {
	aliases, err := v.ListAll(ctx, api.KindModelAlias, obj.Meta.Environment)
	if err != nil {
		return err
	}
	var mv api.ModelVersionSpec
	if err := json.Unmarshal(obj.Spec, &mv); err != nil {
		return fmt.Errorf("decoding %s: %w", obj.Ref(), err)
	}
	var names []string
	for _, a := range aliases {
		var as api.ModelAliasSpec
		if err := json.Unmarshal(a.Spec, &as); err != nil {
			return fmt.Errorf("decoding %s: %w", a.Ref(), err)
		}
		if as.Model == mv.Model && as.Version == obj.Meta.Name {
			names = append(names, strconv.Quote(a.Meta.Name))
		}
	}
	if len(names) == 0 {
		return nil
	}
	return api.Errorf(api.ECONFLICT, "",
		"model version %q in environment %q is the target of alias %s; move the alias to another version or delete it first",
		obj.Meta.Name, obj.Meta.Environment, strings.Join(names, ", "))
}

// isCode reports whether err is an *api.Error with code.
func isCode(err error, code string) bool {
	var apiErr *api.Error
	return errors.As(err, &apiErr) && apiErr.Code == code
}
