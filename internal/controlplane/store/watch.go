package store

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Watched is a Store that tells in-process watchers when an object was
// written: its spec or status, its creation, deletion or finalization. The
// API server's long polls wait on it instead of re-reading in a loop. It
// sees only the writes made through it; writes of other processes on the
// same database (mlopsd replicas on one PostgreSQL) are not seen, so
// watchers re-read now and then as well.
type Watched struct {
	Store
	mu     sync.Mutex
	topics map[api.Ref]*topic
}

// topic is the broadcast of one object's writes: ch is closed on a write
// and replaced by a new one; n counts the subscriptions, so that an object
// nobody watches costs nothing.
type topic struct {
	ch chan struct{}
	n  int
}

// Watch wraps st. Wrapping a Watched returns it as it is, so every writer
// shares one set of watchers.
func Watch(st Store) *Watched {
	if w, ok := st.(*Watched); ok {
		return w
	}
	return &Watched{Store: st, topics: map[api.Ref]*topic{}}
}

// Subscription receives the writes of one object; Close it when done.
type Subscription struct {
	w     *Watched
	ref   api.Ref
	t     *topic
	close sync.Once
}

// Subscribe starts watching the object ref names (of that kind,
// environment and name, whatever its uid).
func (w *Watched) Subscribe(ref api.Ref) *Subscription {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := w.topics[ref]
	if t == nil {
		t = &topic{ch: make(chan struct{})}
		w.topics[ref] = t
	}
	t.n++
	return &Subscription{w: w, ref: ref, t: t}
}

// Changed returns a channel that is closed by the next write of the object
// after this call. Take it before reading the object, then wait on it: a
// write that lands between the read and the wait still closes it, so none
// is missed.
func (s *Subscription) Changed() <-chan struct{} {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	return s.t.ch
}

// Close ends the subscription; it may be called more than once.
func (s *Subscription) Close() {
	s.close.Do(func() {
		s.w.mu.Lock()
		defer s.w.mu.Unlock()
		s.t.n--
		if s.t.n == 0 && s.w.topics[s.ref] == s.t {
			delete(s.w.topics, s.ref)
		}
	})
}

// publish wakes the watchers of ref.
func (w *Watched) publish(ref api.Ref) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t := w.topics[ref]; t != nil {
		close(t.ch)
		t.ch = make(chan struct{})
	}
}

// Create implements Store.
func (w *Watched) Create(ctx context.Context, obj *Object, opts WriteOptions) (*Result, error) {
	res, err := w.Store.Create(ctx, obj, opts)
	if err == nil {
		w.publish(obj.Ref())
	}
	return res, err
}

// UpdateSpec implements Store.
func (w *Watched) UpdateSpec(ctx context.Context, ref api.Ref, spec json.RawMessage, opts WriteOptions) (*Result, error) {
	res, err := w.Store.UpdateSpec(ctx, ref, spec, opts)
	if err == nil {
		w.publish(ref)
	}
	return res, err
}

// Delete implements Store.
func (w *Watched) Delete(ctx context.Context, ref api.Ref, graceful bool, opts WriteOptions) (*Result, error) {
	res, err := w.Store.Delete(ctx, ref, graceful, opts)
	if err == nil {
		w.publish(ref)
	}
	return res, err
}

// UpdateStatus implements Store.
func (w *Watched) UpdateStatus(ctx context.Context, ref api.Ref, uid string, status json.RawMessage) (*Object, error) {
	obj, err := w.Store.UpdateStatus(ctx, ref, uid, status)
	if err == nil {
		w.publish(ref)
	}
	return obj, err
}

// Finalize implements Store.
func (w *Watched) Finalize(ctx context.Context, ref api.Ref, uid string, actor string) error {
	err := w.Store.Finalize(ctx, ref, uid, actor)
	if err == nil {
		w.publish(ref)
	}
	return err
}
