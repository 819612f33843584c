package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// LinearModel is a model of the mlops-linear format, the one the example
// pipelines fit (examples/quickstart/train/train.sh): either
// {"slope": a, "intercept": b} for one input or {"weights": [w1, ...],
// "bias": b}. The prediction is bias + Σ wᵢ·xᵢ.
type LinearModel struct {
	Weights []float64
	Bias    float64
}

// maxArtifactBytes bounds what the model runtime reads.
const maxArtifactBytes = 16 << 20

// ParseLinearModel decodes an mlops-linear artifact strictly.
func ParseLinearModel(b []byte) (*LinearModel, error) {
	var raw struct {
		Slope     *float64  `json:"slope"`
		Intercept *float64  `json:"intercept"`
		Weights   []float64 `json:"weights"`
		Bias      *float64  `json:"bias"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("not an mlops-linear model (a JSON object {\"slope\", \"intercept\"} or {\"weights\", \"bias\"}): %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not an mlops-linear model: there is more after the JSON object")
	}
	var m LinearModel
	switch {
	case raw.Slope != nil && raw.Intercept != nil && raw.Weights == nil && raw.Bias == nil:
		m = LinearModel{Weights: []float64{*raw.Slope}, Bias: *raw.Intercept}
	case raw.Weights != nil && raw.Bias != nil && raw.Slope == nil && raw.Intercept == nil:
		if len(raw.Weights) == 0 {
			return nil, errors.New("not an mlops-linear model: weights is empty")
		}
		m = LinearModel{Weights: raw.Weights, Bias: *raw.Bias}
	default:
		return nil, errors.New("not an mlops-linear model: it needs exactly slope and intercept, or weights and bias")
	}
	for _, w := range append([]float64{m.Bias}, m.Weights...) {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, errors.New("not an mlops-linear model: a coefficient is not finite")
		}
	}
	return &m, nil
}

// LoadLinearModel reads an mlops-linear artifact from a file:// URI.
func LoadLinearModel(artifactURI string) (*LinearModel, error) {
	u, err := url.Parse(artifactURI)
	if err != nil || u.Scheme != "file" || !strings.HasPrefix(u.Path, "/") {
		return nil, fmt.Errorf("artifact %s is not a local file:///path; the local model runtime serves only local artifacts", artifactURI)
	}
	f, err := os.Open(u.Path)
	if err != nil {
		return nil, fmt.Errorf("opening artifact: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxArtifactBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading artifact %s: %w", u.Path, err)
	}
	if len(b) > maxArtifactBytes {
		return nil, fmt.Errorf("artifact %s is larger than %d bytes", u.Path, maxArtifactBytes)
	}
	m, err := ParseLinearModel(b)
	if err != nil {
		return nil, fmt.Errorf("artifact %s: %w", u.Path, err)
	}
	return m, nil
}

// ErrNonFinitePrediction is the error of a prediction that overflowed to
// an infinity or is not a number: a fault of the model, not of its inputs.
var ErrNonFinitePrediction = errors.New("the prediction is not a finite number")

// Predict evaluates the model. A wrong number of inputs is the caller's
// error; a non-finite result (weights that overflow) is
// ErrNonFinitePrediction.
func (m *LinearModel) Predict(inputs []float64) (float64, error) {
	if len(inputs) != len(m.Weights) {
		return 0, fmt.Errorf("the model takes %d inputs, got %d", len(m.Weights), len(inputs))
	}
	y := m.Bias
	for i, x := range inputs {
		y += m.Weights[i] * x
	}
	if math.IsNaN(y) || math.IsInf(y, 0) {
		return 0, fmt.Errorf("%w (%v): the model's coefficients overflow for these inputs", ErrNonFinitePrediction, y)
	}
	return y, nil
}

// ModelHandler is the HTTP API of one model replica: GET /healthz and
// POST /predict {"inputs": [...]} → {"prediction": y}. It answers 400
// {"error": ...} for the caller's bad input (a body that is not
// {"inputs": [numbers]}, a wrong number of inputs) and 500 {"error": ...}
// when the model fails (a non-finite prediction).
func ModelHandler(m *LinearModel) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeModelJSON(w, http.StatusOK, map[string]any{"status": "ok", "inputs": len(m.Weights)})
	})
	mux.HandleFunc("POST /predict", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Inputs []float64 `json:"inputs"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			writeModelJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"inputs\": [numbers]}: " + err.Error()})
			return
		}
		y, err := m.Predict(req.Inputs)
		switch {
		case errors.Is(err, ErrNonFinitePrediction):
			writeModelJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		case err != nil:
			writeModelJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		default:
			writeModelJSON(w, http.StatusOK, map[string]float64{"prediction": y})
		}
	})
	return mux
}

func writeModelJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// LocalBackends runs model replicas inside mlopsd: a built-in replica is an
// http.Server on its own 127.0.0.1 port, so the gateway reaches it over
// real HTTP; a replica with a user command is a child process of mlopsd
// (see commandReplica). A built-in replica shares mlopsd's process, so its
// cpu_millicores and memory_mib cannot be applied (GOMAXPROCS and GOMEMLIMIT
// are per process): they are recorded, not enforced; ProcessBackends
// applies them.
type LocalBackends struct {
	// StartTimeout bounds how long a command replica may take to answer
	// GET /healthz with 200; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
	// DrainTimeout bounds how long a stopped replica's in-flight requests
	// may take; 0 means DefaultDrainTimeout.
	DrainTimeout time.Duration

	set replicaSet
}

// NewLocalBackends returns an empty set of replicas.
func NewLocalBackends() *LocalBackends {
	return &LocalBackends{set: newReplicaSet()}
}

var _ ModelBackends = (*LocalBackends)(nil)

// Ensure implements ModelBackends.
func (l *LocalBackends) Ensure(ctx context.Context, key BackendKey, spec BackendSpec) (string, error) {
	return l.set.ensure(ctx, key, spec, l.StartTimeout, func(context.Context) (replica, error) {
		m, err := LoadLinearModel(spec.ArtifactURI)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listening for a model replica: %w", err)
		}
		srv := &http.Server{Handler: ModelHandler(m), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		return &inProcessReplica{url: "http://" + ln.Addr().String(), srv: srv}, nil
	})
}

// Running implements ModelBackends.
func (l *LocalBackends) Running(key BackendKey) string { return l.set.running(key) }

// Stop implements ModelBackends.
func (l *LocalBackends) Stop(key BackendKey) { l.set.stop(key, l.DrainTimeout) }

// Keys implements ModelBackends.
func (l *LocalBackends) Keys(endpointUID string) []BackendKey { return l.set.keys(endpointUID) }

// Check implements ModelBackends.
func (l *LocalBackends) Check(ctx context.Context, baseURL string) error {
	return l.set.check(ctx, baseURL)
}

// Close implements ModelBackends.
func (l *LocalBackends) Close() { l.set.close(l.DrainTimeout) }

// inProcessReplica is a built-in replica served inside mlopsd.
type inProcessReplica struct {
	url string
	srv *http.Server
}

func (r *inProcessReplica) baseURL() string { return r.url }
func (r *inProcessReplica) exited() bool    { return false }
func (r *inProcessReplica) userCommand() bool {
	return false
}

// drain shuts the server down gracefully: it stops listening at once and
// lets the requests in flight finish, for at most timeout.
func (r *inProcessReplica) drain(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		_ = r.srv.Close()
	}
}

// checkReplica asks a replica's health route whether it serves and, when
// it says how many inputs its model takes ({"inputs": n}), predicts from
// zeros. requireInputs (the built-in runtime, which always says) makes a
// missing input count an error.
func checkReplica(ctx context.Context, client *http.Client, baseURL string, requireInputs bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	var health struct {
		Inputs int `json:"inputs"`
	}
	herr := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&health)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check answered %s", resp.Status)
	}
	if herr != nil || health.Inputs < 1 {
		if requireInputs {
			return fmt.Errorf("health check answered no input count (%v)", herr)
		}
		return nil
	}
	body, _ := json.Marshal(map[string][]float64{"inputs": make([]float64, health.Inputs)})
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/predict", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err = client.Do(req)
	if err != nil {
		return fmt.Errorf("predict check: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("predict check answered %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
