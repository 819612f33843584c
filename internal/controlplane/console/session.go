package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// cookieName is the console's session cookie. It holds a random session ID;
// the bearer token stays on the server, in memory.
const cookieName = "mlops_console"

// maxSessions bounds the sessions kept in memory; the oldest go first.
const maxSessions = 10000

// session is one browser's sign-in. token is "" before sign-in, and for
// every session when mlopsd runs without authentication.
type session struct {
	id      string
	token   string
	csrf    string
	expires time.Time
}

// sessions keeps the sessions of this mlopsd process. They do not survive
// a restart and are not shared between replicas: signing in again is the
// remedy, and a bearer token never has to be written anywhere.
type sessions struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, m: map[string]*session{}}
}

func randomID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// get returns the session of the request's cookie, nil for none.
func (s *sessions) get(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil || ck.Value == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.m[ck.Value]
	if sess == nil {
		return nil
	}
	if time.Now().After(sess.expires) {
		delete(s.m, sess.id)
		return nil
	}
	return sess
}

// start makes a new session with token and sets its cookie.
func (s *sessions) start(w http.ResponseWriter, r *http.Request, token string) *session {
	sess := &session{id: randomID(), token: token, csrf: randomID(), expires: time.Now().Add(s.ttl)}
	s.mu.Lock()
	now := time.Now()
	for id, old := range s.m {
		if now.After(old.expires) {
			delete(s.m, id)
		}
	}
	for len(s.m) >= maxSessions {
		// Sessions without a token go first, so that a flood of visitors
		// without cookies cannot sign out the people who signed in.
		var victim *session
		for _, old := range s.m {
			if victim == nil || evictsBefore(old, victim) {
				victim = old
			}
		}
		delete(s.m, victim.id)
	}
	s.m[sess.id] = sess
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sess.id, Path: Prefix, Expires: sess.expires, MaxAge: int(s.ttl / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
	return sess
}

// evictsBefore reports whether a goes before b when sessions must make
// room: one without a token before one with, then the one expiring first.
func evictsBefore(a, b *session) bool {
	if (a.token == "") != (b.token == "") {
		return a.token == ""
	}
	return a.expires.Before(b.expires)
}

// ensure returns the request's session, starting one without a token when
// there is none (so that even the login form carries a CSRF token).
func (s *sessions) ensure(w http.ResponseWriter, r *http.Request) *session {
	if sess := s.get(r); sess != nil {
		return sess
	}
	return s.start(w, r, "")
}

// end removes the session and clears its cookie.
func (s *sessions) end(w http.ResponseWriter, r *http.Request, sess *session) {
	s.mu.Lock()
	delete(s.m, sess.id)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: Prefix, MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// validCSRF reports whether the form's token is the session's.
func validCSRF(sess *session, got string) bool {
	return sess != nil && got != "" && subtle.ConstantTimeCompare([]byte(sess.csrf), []byte(got)) == 1
}
