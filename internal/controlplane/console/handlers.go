package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// pageData is what every page template gets.
type pageData struct {
	Title string
	// Who is the signed-in caller; nil on the login and error pages
	// before sign-in.
	Who  *api.WhoAmI
	CSRF string
	// Env is the environment the page is in, for the navigation.
	Env string
	// Envs are the environments the caller can see, for the navigation.
	Envs []string
	// Notice is a message about the last action (from ?done=).
	Notice string
	// Status and Message describe an error page.
	Status  int
	Message string
	// Data is the page's own data.
	Data any
}

// request is one console request of a signed-in (or anonymous) caller.
type request struct {
	c    *Console
	w    http.ResponseWriter
	r    *http.Request
	sess *session
	who  api.WhoAmI
	api  caller
}

func (q *request) ctx() context.Context { return q.r.Context() }

// role returns the caller's role in env: owner for admin (who may do
// everything), "" for none. It only decides which buttons to show; the
// API decides what is allowed.
func (q *request) role(env string) string {
	if q.who.Admin {
		return api.RoleOwner
	}
	return q.who.Roles[env]
}

// can reports whether the caller's role in env is at least need.
func (q *request) can(env, need string) bool {
	return api.RoleRank(q.role(env)) >= api.RoleRank(need)
}

// envNames lists the environments the caller can see: all for admin, the
// ones with a role binding otherwise.
func (q *request) envNames() ([]string, error) {
	if !q.who.Admin {
		var out []string
		for env := range q.who.Roles {
			out = append(out, env)
		}
		sortStrings(out)
		return out, nil
	}
	envs, err := listAll[api.Environment](q.ctx(), q.api, "/v1/environments")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(envs))
	for _, e := range envs {
		out = append(out, e.Metadata.Name)
	}
	return out, nil
}

// signIn resolves the request's session and caller. It returns nil after
// answering (a redirect to the login page) when the caller must sign in.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, sess *session) *request {
	q := &request{c: c, w: w, r: r, sess: sess, api: caller{api: c.api, token: sess.token}}
	if err := q.api.getJSON(r.Context(), "/v1/whoami", nil, &q.who); err != nil {
		if isStatus(err, http.StatusUnauthorized) {
			if sess.token != "" {
				// The token expired or was revoked: sign in again.
				c.sessions.end(w, r, sess)
			}
			next := r.URL.Path
			if r.Method != http.MethodGet {
				next = Prefix
			} else if r.URL.RawQuery != "" {
				next += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return nil
		}
		c.renderError(w, r, sess, statusOf(err), err.Error())
		return nil
	}
	return q
}

// pageFunc loads a page's data; it returns the template name, title and
// data, or an error to show.
type pageFunc func(q *request) (name, title string, data any, err error)

// page wraps a GET page: session, sign-in, then the page.
func (c *Console) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := c.sessions.ensure(w, r)
		q := c.signIn(w, r, sess)
		if q == nil {
			return
		}
		name, title, data, err := fn(q)
		if err != nil {
			if isStatus(err, http.StatusUnauthorized) {
				http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
				return
			}
			q.renderError(statusOf(err), err.Error())
			return
		}
		pd := q.pageData(title, data)
		pd.Notice = noticeText(r.URL.Query().Get("done"))
		c.render(w, r, http.StatusOK, name, pd)
	}
}

func (q *request) pageData(title string, data any) *pageData {
	pd := &pageData{Title: title, Who: &q.who, CSRF: q.sess.csrf, Env: q.r.PathValue("env"), Data: data}
	if envs, err := q.envNames(); err == nil {
		pd.Envs = envs
	}
	return pd
}

func (q *request) renderError(status int, msg string) {
	pd := q.pageData(http.StatusText(status), nil)
	pd.Status, pd.Message = status, msg
	q.c.render(q.w, q.r, status, "error", pd)
}

// renderError renders an error page for a request without a resolved
// caller.
func (c *Console) renderError(w http.ResponseWriter, r *http.Request, sess *session, status int, msg string) {
	pd := &pageData{Title: http.StatusText(status), Status: status, Message: msg}
	if sess != nil {
		pd.CSRF = sess.csrf
	}
	c.render(w, r, status, "error", pd)
}

// actionFunc performs a form's action and returns where to go next.
type actionFunc func(q *request) (redirect string, err error)

// maxFormBytes bounds a form's body.
const maxFormBytes = 64 << 10

// action wraps a state-changing POST: it needs the session's cookie and
// its CSRF token in the form, and a same-origin Origin when the browser
// sends one. The action itself goes through the API, whose answer (403
// included) is what the browser gets.
func (c *Console) action(fn actionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, ok := c.postedForm(w, r)
		if !ok {
			return
		}
		q := c.signIn(w, r, sess)
		if q == nil {
			return
		}
		to, err := fn(q)
		if err != nil {
			q.renderError(statusOf(err), err.Error())
			return
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

// postedForm reads a POSTed form (at most maxFormBytes) and checks it the
// way every form of the console is checked: a same-origin Origin when the
// browser sends one, and the CSRF token of the request's session. It
// returns that session (nil when there is none); when the form is not to
// be acted on, it answered the request and returns false.
func (c *Console) postedForm(w http.ResponseWriter, r *http.Request) (*session, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.renderError(w, r, nil, http.StatusBadRequest, "The form could not be read.")
		return nil, false
	}
	sess := c.sessions.get(r)
	if !sameOrigin(r) || !validCSRF(sess, r.PostForm.Get("csrf")) {
		c.renderError(w, r, sess, http.StatusForbidden, "The form's security token is missing or stale; reload the page and try again.")
		return sess, false
	}
	return sess, true
}

// sameOrigin reports whether the request's Origin, when present, is the
// console's own.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// notices are the messages ?done= may show; anything else shows nothing,
// so the query string cannot put words on the page.
var notices = map[string]string{
	"approved":     "The model version is approved.",
	"rejected":     "The model version is rejected.",
	"pending":      "The model version is back to pending.",
	"started":      "The run is started.",
	"cancelled":    "The run is asked to stop.",
	"acknowledged": "The alarm is acknowledged.",
	"signedin":     "You are signed in.",
}

func noticeText(key string) string { return notices[key] }

func (c *Console) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	sess := c.sessions.ensure(w, r)
	pd := &pageData{Title: "Sign in", CSRF: sess.csrf, Data: loginData{Next: safeNext(r.URL.Query().Get("next"))}}
	// Without authentication there is nothing to sign in to.
	var who api.WhoAmI
	if err := (caller{api: c.api}).getJSON(r.Context(), "/v1/whoami", nil, &who); err == nil && !who.AuthEnabled {
		pd.Data = loginData{Next: Prefix, AuthOff: true}
	}
	c.render(w, r, http.StatusOK, "login", pd)
}

type loginData struct {
	Next    string
	AuthOff bool
	Error   string
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix
	}
	return next
}

func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	sess, ok := c.postedForm(w, r)
	if !ok {
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	var who api.WhoAmI
	err := (caller{api: c.api, token: token}).getJSON(r.Context(), "/v1/whoami", nil, &who)
	if err != nil || token == "" {
		msg := "That token is unknown or expired."
		if err != nil && !isStatus(err, http.StatusUnauthorized) {
			msg = err.Error()
		}
		c.render(w, r, http.StatusUnauthorized, "login", &pageData{Title: "Sign in", CSRF: sess.csrf, Data: loginData{Next: next, Error: msg}})
		return
	}
	// A new session ID on sign-in, so that an ID planted before cannot
	// ride along.
	c.sessions.end(w, r, sess)
	c.sessions.start(w, r, token)
	c.log.InfoContext(r.Context(), "console: signed in", "actor", who.Actor)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) handleLogout(q *request) (string, error) {
	q.c.sessions.end(q.w, q.r, q.sess)
	return "/ui/login", nil
}
