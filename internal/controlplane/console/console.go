// Package console is mlopsd's web console, served at /ui/ from the binary
// itself: server-rendered html/template pages with server-side SVG charts
// and no JavaScript framework.
//
// The console holds no privileges of its own. Every read and every action
// is a request to the API handler it is given (the same handler that
// serves /v1), carrying the signed-in user's bearer token, so
// authentication, authorization (RBAC) and the audit log are exactly those
// of any other API client. It never touches the store.
package console

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"
)

// Prefix is the path the console is served under.
const Prefix = "/ui/"

//go:embed templates/*.html static/*
var assets embed.FS

// Config configures a Console.
type Config struct {
	// API serves the control plane's HTTP API (/v1/...); the console
	// calls it in-process for every read and write.
	API http.Handler
	// Logger receives the console's logs; nil discards them.
	Logger *slog.Logger
	// SessionTTL is how long a sign-in lasts; 0 means DefaultSessionTTL.
	SessionTTL time.Duration
}

// DefaultSessionTTL is how long a sign-in lasts by default.
const DefaultSessionTTL = 8 * time.Hour

// Console serves the web console.
type Console struct {
	api      http.Handler
	log      *slog.Logger
	sessions *sessions
	pages    map[string]*template.Template
	mux      *http.ServeMux
}

// New builds a Console.
func New(cfg Config) *Console {
	c := &Console{api: cfg.API, log: cfg.Logger, mux: http.NewServeMux()}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	ttl := cfg.SessionTTL
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	c.sessions = newSessions(ttl)
	c.pages = parsePages()
	c.routes()
	return c
}

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The pages need no script from anywhere but the console, no frames
	// and no plug-ins; inline styles are used by the SVG charts.
	h.Set("Content-Security-Policy", "default-src 'none'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

func (c *Console) routes() {
	static, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err)
	}
	c.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	c.mux.HandleFunc("GET /ui/login", c.handleLoginForm)
	c.mux.HandleFunc("POST /ui/login", c.handleLogin)
	c.mux.HandleFunc("POST /ui/logout", c.action(c.handleLogout))

	c.mux.HandleFunc("GET /ui/{$}", c.page(c.handleHome))
	c.mux.HandleFunc("GET /ui/audit", c.page(c.handleAudit))
	c.mux.HandleFunc("GET /ui/env/{env}", c.page(c.handleEnvironment))
	c.mux.HandleFunc("GET /ui/env/{env}/compute-pools/{name}", c.page(c.handleComputePool))
	c.mux.HandleFunc("GET /ui/env/{env}/feature-groups/{name}", c.page(c.handleFeatureGroup))
	c.mux.HandleFunc("GET /ui/env/{env}/training-pipelines/{name}", c.page(c.handlePipeline))
	c.mux.HandleFunc("GET /ui/env/{env}/pipeline-runs/{name}", c.page(c.handleRun))
	c.mux.HandleFunc("GET /ui/env/{env}/models/{name}", c.page(c.handleModel))
	c.mux.HandleFunc("GET /ui/env/{env}/model-versions/{name}", c.page(c.handleModelVersion))
	c.mux.HandleFunc("GET /ui/env/{env}/model-endpoints/{name}", c.page(c.handleEndpoint))
	c.mux.HandleFunc("GET /ui/env/{env}/alarms/{name}", c.page(c.handleAlarm))

	c.mux.HandleFunc("POST /ui/env/{env}/training-pipelines/{name}/runs", c.action(c.handleStartRun))
	c.mux.HandleFunc("POST /ui/env/{env}/pipeline-runs/{name}/cancel", c.action(c.handleCancelRun))
	c.mux.HandleFunc("POST /ui/env/{env}/model-versions/{name}/approval", c.action(c.handleApproval))
	c.mux.HandleFunc("POST /ui/env/{env}/alarms/{name}/acknowledge", c.action(c.handleAcknowledge))

	c.mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		c.renderError(w, r, nil, http.StatusNotFound, "There is no console page at "+r.URL.Path+".")
	})
}

// pageNames are the page templates; each is parsed with the layout.
var pageNames = []string{
	"home", "login", "error", "audit", "environment", "compute_pool", "feature_group",
	"pipeline", "run", "model", "model_version", "endpoint", "alarm",
}

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		t := template.New("layout.html").Funcs(funcs)
		out[name] = template.Must(t.ParseFS(assets, "templates/layout.html", "templates/partials.html", "templates/"+name+".html"))
	}
	return out
}

// render writes page name with data, or an error page when the template
// fails (the page is rendered to a buffer first, so a failure never leaves
// half a page).
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, data *pageData) {
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, data); err != nil {
		c.log.ErrorContext(r.Context(), "console: rendering page", "page", name, "error", err)
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
