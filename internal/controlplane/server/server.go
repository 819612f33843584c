// Package server is mlopsd's HTTP/JSON API: routing, authentication, the
// generic object handlers and each kind's rules. It depends on the store
// interface only, so the database behind it can change without touching it.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/runtime"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/telemetry"
)

// Config configures a Server.
type Config struct {
	// Store keeps the objects.
	Store store.Store
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registry receives the server's metrics and serves /metrics; nil makes a
	// private one.
	Registry *prometheus.Registry
	// TokenSHA256 lists hex SHA-256 digests of accepted bearer tokens. Empty
	// means authentication is off (the loopback development default) and
	// every caller acts as "anonymous".
	TokenSHA256 []string
	// RBAC turns on the token table and role-based authorization (mlopsd
	// -auth on): every request needs a token, TokenSHA256 tokens act as
	// admin, and other tokens are looked up in the store.
	RBAC bool
	// Notify is called after a write of kind, so reconcilers start at once
	// instead of at their next tick. Optional.
	Notify func(kind string)
	// Version is reported by /healthz.
	Version string
	// RunsDir is where pipeline runs keep their files (runtime.RunLayout);
	// the logs route reads step logs from it.
	RunsDir string
	// Slurm is true when mlopsd is configured with a Slurm cluster
	// (-slurm-conf), so compute pools may use driver slurm.
	Slurm bool
	// Metrics receives the prediction gateway's observations; nil records
	// none (Prometheus' series are kept either way).
	Metrics *telemetry.Recorder
}

// Server is the HTTP API of mlopsd.
type Server struct {
	store   store.Store
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *serverMetrics
	auth    *authenticator
	rbac    bool
	notifyF func(kind string)
	version string
	kinds   map[string]kindHandler
	mux     *http.ServeMux
	runs    runtime.RunLayout
	gw      *gateway
	// watch tells long polls about writes (wait.go); waitsEnded is closed
	// by EndWaits.
	watch      *store.Watched
	waitReread time.Duration
	waitsEnded chan struct{}
	endWaits   sync.Once
}

// New builds a Server and registers its routes.
func New(cfg Config) *Server {
	s := &Server{
		store:   cfg.Store,
		log:     cfg.Logger,
		reg:     cfg.Registry,
		auth:    newAuthenticator(cfg.TokenSHA256),
		rbac:    cfg.RBAC,
		notifyF: cfg.Notify,
		version: cfg.Version,
		mux:     http.NewServeMux(),
		runs:    runtime.RunLayout{Root: cfg.RunsDir},
	}
	// The daemon passes a store.Watched that its reconcilers write
	// through too; any other store is wrapped here, so that at least this
	// server's own writes wake long polls.
	s.watch = store.Watch(cfg.Store)
	s.store = s.watch
	s.waitReread = defaultWaitReread
	s.waitsEnded = make(chan struct{})
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	s.metrics = newServerMetrics(s.reg)
	s.gw = newGateway(s.reg, cfg.Store, cfg.Metrics)
	s.kinds = map[string]kindHandler{
		api.KindEnvironment:      environmentKind(),
		api.KindComputePool:      computePoolKindWith(poolOptions{slurm: cfg.Slurm}),
		api.KindFeatureStore:     featureStoreKind(),
		api.KindFeatureGroup:     featureGroupKind(),
		api.KindModel:            modelKind(),
		api.KindModelVersion:     modelVersionKind(),
		api.KindModelAlias:       modelAliasKind(),
		api.KindTrainingPipeline: trainingPipelineKind(),
		api.KindPipelineRun:      pipelineRunKind(),
		api.KindServiceAccount:   serviceAccountKind(),
		api.KindRoleBinding:      roleBindingKind(),
		api.KindModelEndpoint:    modelEndpointKind(),
	}
	s.kinds[api.KindNotificationChannel] = notificationChannelKind()
	s.kinds[api.KindAlarm] = alarmKind()
	s.kinds[api.KindBatchInferenceJob] = batchInferenceJobKind()
	s.kinds[api.KindBatchInferenceRun] = batchInferenceRunKind()
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Handle serves h at pattern (an http.ServeMux pattern) beside the API,
// counted and recovered like the API's routes. The daemon mounts the web
// console this way; h gets no authentication from the server and must call
// the API (s itself) for anything it reads or writes.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.instrument(pattern, h))
}

func (s *Server) notify(kind string) {
	if s.notifyF != nil {
		s.notifyF(kind)
	}
}

// routes registers every route of api.Routes; TestRoutesMatchOpenAPI keeps
// the two in step.
func (s *Server) routes() {
	handlers := map[string]http.HandlerFunc{
		"healthz":                        s.handleHealthz,
		"readyz":                         s.handleReadyz,
		"openapi":                        s.handleOpenAPI,
		"listAudit":                      s.authed(s.handleListAudit),
		api.OpIDIssueServiceAccountToken: s.authed(s.handleIssueToken),
		api.OpIDPredict:                  s.authed(s.requireRole(api.RoleInvoker, s.handlePredict)),
		api.OpIDPredictAction:            s.predictAction(s.authed(s.requireRole(api.RoleInvoker, s.handlePredict))),
		api.OpIDPushMetrics:              s.authed(s.requireRole(api.RoleInvoker, s.handlePushMetrics)),
		api.OpIDGetEndpointMetrics:       s.authed(s.requireRole(api.RoleViewer, s.handleGetEndpointMetrics)),
		api.OpIDAcknowledgeAlarm:         s.authed(s.requireRole(api.RoleInvoker, s.handleAcknowledgeAlarm)),
		api.OpIDVerifyAudit:              s.authed(s.handleVerifyAudit),
		api.OpIDWhoAmI:                   s.authed(s.handleWhoAmI),
	}
	for id, h := range s.pipelineRunHandlers() {
		handlers[id] = h
	}
	for id, h := range s.batchInferenceHandlers() {
		handlers[id] = h
	}
	for _, rt := range api.Routes {
		h, ok := handlers[rt.OperationID]
		if rt.Kind != "" {
			k := s.kinds[rt.Kind]
			if k == nil {
				panic("server: no rules for kind " + rt.Kind)
			}
			h, ok = s.objectHandler(k, rt.Op), true
		}
		if !ok {
			panic("server: no handler for route " + rt.OperationID)
		}
		pattern := rt.Method + " " + rt.Path
		if rt.MuxPattern != "" {
			pattern = rt.MuxPattern
		}
		s.mux.Handle(pattern, s.instrument(pattern, h))
	}
	s.registerPipelineRunRefusals()
	s.registerBatchInferenceRunRefusals()
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, api.Errorf(api.ENOTFOUND, "", "no route for %s %s; see /openapi.json", r.Method, r.URL.Path))
	})
}

// statusRecorder remembers the status code for metrics, and whether the
// response has begun.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status = code
		r.wrote = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts requests and recovers panics, so one bad request cannot
// take the control plane down.
func (s *Server) instrument(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		s.metrics.inFlight.Inc()
		defer func() {
			s.metrics.inFlight.Dec()
			p := recover()
			// http.ErrAbortHandler is a handler's way to cut the connection
			// on purpose; it is passed on to net/http as it is.
			if p != nil && p != http.ErrAbortHandler {
				s.log.ErrorContext(r.Context(), "panic in handler", "route", route, "panic", p, "stack", string(debug.Stack()))
				if !rec.wrote {
					s.writeError(rec, r, api.NewError(api.EINTERNAL, "", "Internal error."))
					p = nil
				} else {
					// Part of the response is out: an error body appended
					// to it would corrupt it, so cut the connection instead.
					rec.status = http.StatusInternalServerError
					p = http.ErrAbortHandler
				}
			}
			s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(rec.status)).Inc()
			s.metrics.duration.WithLabelValues(r.Method, route).Observe(time.Since(start).Seconds())
			s.log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
}

// handleReadyz reports whether the database answers, so a load balancer can
// take a replica whose database is gone out of rotation.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		// The detail (paths, driver messages) goes to the log only.
		s.log.WarnContext(r.Context(), "readiness check failed", "err", err)
		s.writeError(w, r, api.NewError(api.EUNAVAILABLE, "", "The database is not answering; see the server log."))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.OpenAPI(s.version))
}
