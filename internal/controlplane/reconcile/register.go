package reconcile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/drift"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Files a run's last step leaves in the output directory for registration.
const (
	// ArtifactFile is the model artifact; its presence asks for a model
	// version.
	ArtifactFile = "model.json"
	// MetricsFile is a flat JSON object of numbers, e.g. {"rmse": 0.12}.
	MetricsFile = "metrics.json"
	// FrameworkFile optionally names the framework (one word); without it
	// the version's framework is DefaultFramework.
	FrameworkFile = "framework"
	// BaselineFile optionally holds the training data's feature values
	// (api.FeatureBaseline), which drift alarms compare the served inputs
	// with; it becomes the version's baseline_uri.
	BaselineFile = "baseline.json"
	// DefaultFramework is the framework of the linear models the example
	// pipelines fit.
	DefaultFramework = "mlops-linear"
	maxMetrics       = 100
)

var (
	metricNameRE    = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	frameworkNameRE = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,62}$`)
)

// registrationError is a registration that no retry can make succeed: bad
// outputs, or a model that is gone. It fails the run.
type registrationError struct{ err error }

func (e *registrationError) Error() string { return e.err.Error() }

func failRegistration(format string, args ...any) error {
	return &registrationError{err: fmt.Errorf(format, args...)}
}

// register turns a successful run's output into a model version named
// after the run, with approval pending. The artifact (and the baseline file,
// when the run wrote one) is copied to RunLayout.ArtifactDir first, so the
// version points at files no later run overwrites. It returns "" when the
// output holds no artifact.
//
// The create carries an idempotency key derived from the run's uid, so a
// pass that crashed after registering and before recording it finds the
// same version again instead of a second one.
func (p *runPass) register(ctx context.Context) (string, error) {
	env, run := p.obj.Meta.Environment, p.obj.Meta.Name
	out := p.h.Layout.OutputDir(env, run)
	src := filepath.Join(out, ArtifactFile)
	info, err := os.Stat(src)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", failRegistration("reading %s: %v", src, err)
	}
	if !info.Mode().IsRegular() {
		return "", failRegistration("%s is not a regular file", src)
	}
	metrics, err := readMetrics(filepath.Join(out, MetricsFile))
	if err != nil {
		return "", &registrationError{err: err}
	}
	framework, err := readFramework(filepath.Join(out, FrameworkFile))
	if err != nil {
		return "", &registrationError{err: err}
	}
	model := p.spec.PipelineSpec.Model
	if _, err := p.h.Store.Get(ctx, api.Ref{Kind: api.KindModel, Environment: env, Name: model}); hasCode(err, api.ENOTFOUND) {
		return "", failRegistration("model %q no longer exists in environment %q; create it again and start a new run", model, env)
	} else if err != nil {
		return "", err
	}

	dir := p.h.Layout.ArtifactDir(env, run, p.obj.Meta.UID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating %s: %w", dir, err)
	}
	dst, err := filepath.Abs(filepath.Join(dir, ArtifactFile))
	if err != nil {
		return "", err
	}
	sum, err := copyImmutable(src, dst)
	if err != nil {
		return "", err
	}
	baselineURI, baselineSum, err := registerBaseline(out, dir, framework, dst)
	if err != nil {
		return "", err
	}

	spec := api.ModelVersionSpec{
		Model:          model,
		Description:    fmt.Sprintf("registered by pipeline run %s", run),
		ArtifactURI:    (&url.URL{Scheme: "file", Path: dst}).String(),
		ArtifactSHA256: sum,
		Framework:      framework,
		Metrics:        metrics,
		BaselineURI:    baselineURI,
		BaselineSHA256: baselineSum,
		Lineage: api.ModelLineage{
			PipelineRun:   run,
			DatasetURI:    p.st.DatasetURI,
			DatasetSHA256: p.st.DatasetSHA256,
			CodeRef:       fmt.Sprintf("pipeline:%s@generation:%d", p.spec.Pipeline, p.spec.PipelineGeneration),
			Parameters:    p.spec.Parameters,
		},
		Approval: api.ApprovalRequest{Status: api.ApprovalPending},
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	// The same initial status the API gives a version it registers.
	statusJSON, err := json.Marshal(api.Status{Phase: api.PhaseReady, ObservedGeneration: 1, Message: "model version is registered"})
	if err != nil {
		return "", err
	}
	_, err = p.h.Store.Create(ctx, &store.Object{
		Kind:   api.KindModelVersion,
		Meta:   api.Metadata{Name: run, Environment: env},
		Parent: api.KindModel + "/" + model,
		Spec:   specJSON,
		Status: statusJSON,
	}, pipeline.SystemWrite("reconciler", "register/"+p.obj.Meta.UID))
	switch {
	case hasCode(err, api.EALREADYEXISTS):
		return p.adopt(ctx, sum)
	case hasCode(err, api.EINVALID):
		return "", &registrationError{err: err}
	case err != nil:
		return "", err
	}
	return run, nil
}

// adopt accepts an existing version of the run's name when this run
// registered it (its idempotency record expired, say), and fails otherwise.
func (p *runPass) adopt(ctx context.Context, sum string) (string, error) {
	env, run := p.obj.Meta.Environment, p.obj.Meta.Name
	obj, err := p.h.Store.Get(ctx, api.Ref{Kind: api.KindModelVersion, Environment: env, Name: run})
	if err != nil {
		return "", err
	}
	var mv api.ModelVersionSpec
	if err := json.Unmarshal(obj.Spec, &mv); err != nil {
		return "", fmt.Errorf("decoding spec of %s: %w", obj.Ref(), err)
	}
	if mv.Lineage.PipelineRun == run && mv.ArtifactSHA256 == sum && mv.Model == p.spec.PipelineSpec.Model {
		return run, nil
	}
	return "", failRegistration("model version %q already exists in environment %q and was not registered by this run; delete or rename it, then start a new run", run, env)
}

// registerBaseline copies the run's optional baseline file next to the
// artifact, immutably, checks the copy (a valid api.FeatureBaseline, and for
// mlops-linear artifacts one feature per model input) and returns its
// file:// URI and SHA-256; "" when the run wrote none. The copy is what is
// checked, so a file changed after the check cannot slip in.
func registerBaseline(out, dir, framework, artifact string) (string, string, error) {
	src := filepath.Join(out, BaselineFile)
	info, err := os.Stat(src)
	if errors.Is(err, os.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", failRegistration("reading %s: %v", BaselineFile, err)
	}
	if !info.Mode().IsRegular() {
		return "", "", failRegistration("%s is not a regular file", BaselineFile)
	}
	if info.Size() > drift.MaxBaselineFileBytes {
		return "", "", failRegistration("%s is %d bytes; write at most %d (a sample of the training values is enough)", BaselineFile, info.Size(), drift.MaxBaselineFileBytes)
	}
	dst, err := filepath.Abs(filepath.Join(dir, BaselineFile))
	if err != nil {
		return "", "", err
	}
	sum, err := copyImmutable(src, dst)
	if err != nil {
		return "", "", err
	}
	fb, _, err := drift.ReadFile(dst, sum)
	if err != nil {
		return "", "", failRegistration("%s is not valid: %s; fix what the training step writes (one feature per model input, in input order) or leave %s out", BaselineFile, strings.TrimPrefix(err.Error(), dst+": "), BaselineFile)
	}
	if framework == DefaultFramework {
		b, err := os.ReadFile(artifact)
		if err != nil {
			return "", "", err
		}
		m, err := runtime.ParseLinearModel(b)
		if err != nil {
			return "", "", failRegistration("%s: %v", ArtifactFile, err)
		}
		if len(fb.Features) != len(m.Weights) {
			return "", "", failRegistration("%s has %d features, but the %s model in %s has %d inputs; write one feature per model input, in input order",
				BaselineFile, len(fb.Features), framework, ArtifactFile, len(m.Weights))
		}
	}
	return (&url.URL{Scheme: "file", Path: dst}).String(), sum, nil
}

// readMetrics reads a flat JSON object of numbers into decimal strings,
// keeping the digits as written. A missing file is no metrics.
func readMetrics(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", MetricsFile, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, fmt.Errorf("%s is not a JSON object of numbers such as {\"rmse\": 0.12}: %v", MetricsFile, err)
	}
	if len(raw) > maxMetrics {
		return nil, fmt.Errorf("%s has %d metrics; write at most %d", MetricsFile, len(raw), maxMetrics)
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := map[string]string{}
	for _, k := range keys {
		if !metricNameRE.MatchString(k) {
			return nil, fmt.Errorf("%s: metric name %q is not valid; use lowercase letters, digits and '_', starting with a letter or '_'", MetricsFile, k)
		}
		n, ok := raw[k].(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s: metric %q is %v, not a number", MetricsFile, k, raw[k])
		}
		out[k] = n.String()
	}
	return out, nil
}

// readFramework reads the optional framework file.
func readFramework(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return DefaultFramework, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", FrameworkFile, err)
	}
	f := strings.TrimSpace(string(b))
	if !frameworkNameRE.MatchString(f) {
		return "", fmt.Errorf("%s holds %q, which is not a framework name; write one word such as sklearn or mlops-linear", FrameworkFile, f)
	}
	return f, nil
}

// copyImmutable copies src to dst through a synced temporary file and a
// rename, makes dst read-only and returns its hex SHA-256.
func copyImmutable(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".artifact-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		tmp.Close()
		return "", fmt.Errorf("copying %s: %w", src, err)
	}
	if err := tmp.Chmod(0o444); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
