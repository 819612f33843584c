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
	"sort"
	"strings"
	"sync"
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

// Predict evaluates the model.
func (m *LinearModel) Predict(inputs []float64) (float64, error) {
	if len(inputs) != len(m.Weights) {
		return 0, fmt.Errorf("the model takes %d inputs, got %d", len(m.Weights), len(inputs))
	}
	y := m.Bias
	for i, x := range inputs {
		y += m.Weights[i] * x
	}
	if math.IsNaN(y) || math.IsInf(y, 0) {
		return 0, errors.New("the prediction is not a finite number")
	}
	return y, nil
}

// ModelHandler is the HTTP API of one model replica: GET /healthz and
// POST /predict {"inputs": [...]} → {"prediction": y}.
func ModelHandler(m *LinearModel) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "ok", "inputs": len(m.Weights)})
	})
	mux.HandleFunc("POST /predict", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Inputs []float64 `json:"inputs"`
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "body must be {\"inputs\": [numbers]}: " + err.Error()})
			return
		}
		y, err := m.Predict(req.Inputs)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]float64{"prediction": y})
	})
	return mux
}

// BackendKey names one replica of one model version of one endpoint variant.
type BackendKey struct {
	EndpointUID string
	Variant     string
	Version     string
	Replica     int
}

// ModelBackends starts and stops model replicas. The local implementation
// runs each replica as its own HTTP server on a loopback port inside the
// mlopsd process.
type ModelBackends interface {
	// Ensure starts the replica if it is not running and returns its base
	// URL. An artifact that cannot be loaded is an error and starts nothing.
	Ensure(ctx context.Context, key BackendKey, artifactURI string) (string, error)
	// Running reports the URL of a running replica, "" when none.
	Running(key BackendKey) string
	// Stop stops a replica; stopping an unknown one does nothing.
	Stop(key BackendKey)
	// Keys lists the running replicas of an endpoint.
	Keys(endpointUID string) []BackendKey
	// Check asks a replica whether it serves: its health route and a
	// prediction of zeros.
	Check(ctx context.Context, baseURL string) error
	// Close stops every replica.
	Close()
}

// LocalBackends runs model replicas in-process, each an http.Server on its
// own 127.0.0.1 port, so the gateway reaches them over real HTTP.
type LocalBackends struct {
	mu       sync.Mutex
	backends map[BackendKey]*localBackend
	client   *http.Client
}

type localBackend struct {
	url string
	srv *http.Server
}

// NewLocalBackends returns an empty set of replicas.
func NewLocalBackends() *LocalBackends {
	return &LocalBackends{backends: map[BackendKey]*localBackend{}, client: &http.Client{Timeout: 5 * time.Second}}
}

var _ ModelBackends = (*LocalBackends)(nil)

// Ensure implements ModelBackends.
func (l *LocalBackends) Ensure(_ context.Context, key BackendKey, artifactURI string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.backends[key]; b != nil {
		return b.url, nil
	}
	m, err := LoadLinearModel(artifactURI)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listening for a model replica: %w", err)
	}
	srv := &http.Server{Handler: ModelHandler(m), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b := &localBackend{url: "http://" + ln.Addr().String(), srv: srv}
	l.backends[key] = b
	return b.url, nil
}

// Running implements ModelBackends.
func (l *LocalBackends) Running(key BackendKey) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.backends[key]; b != nil {
		return b.url
	}
	return ""
}

// Stop implements ModelBackends.
func (l *LocalBackends) Stop(key BackendKey) {
	l.mu.Lock()
	b := l.backends[key]
	delete(l.backends, key)
	l.mu.Unlock()
	if b != nil {
		_ = b.srv.Close()
	}
}

// Keys implements ModelBackends.
func (l *LocalBackends) Keys(endpointUID string) []BackendKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []BackendKey
	for k := range l.backends {
		if k.EndpointUID == endpointUID {
			out = append(out, k)
		}
	}
	sortKeys(out)
	return out
}

func sortKeys(keys []BackendKey) {
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Variant != b.Variant {
			return a.Variant < b.Variant
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Replica < b.Replica
	})
}

// Check implements ModelBackends.
func (l *LocalBackends) Check(ctx context.Context, baseURL string) error {
	return checkReplica(ctx, l.client, baseURL)
}

// checkReplica asks a replica's health route how many inputs its model
// takes, then predicts from zeros.
func checkReplica(ctx context.Context, client *http.Client, baseURL string) error {
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
		return fmt.Errorf("health check answered no input count (%v)", herr)
	}
	body, _ := json.Marshal(map[string][]float64{"inputs": make([]float64, health.Inputs)})
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/predict", bytes.NewReader(body))
	if err != nil {
		return err
	}
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

// Close stops every replica.
func (l *LocalBackends) Close() {
	l.mu.Lock()
	bs := l.backends
	l.backends = map[BackendKey]*localBackend{}
	l.mu.Unlock()
	for _, b := range bs {
		_ = b.srv.Close()
	}
}
