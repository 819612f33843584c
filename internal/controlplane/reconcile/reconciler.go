// Package reconcile runs the control loops that move objects' status towards
// their spec. Loops are level-based: each pass reads the latest spec and
// status and takes one step, so a restart or a skipped edit never leaves an
// object half-done, and intermediate edits are never replayed.
package reconcile

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// Handler reconciles objects of one kind.
type Handler interface {
	// Reconcile takes one step for obj and writes its status through the
	// store. Returning an error logs it and retries on the next pass.
	Reconcile(ctx context.Context, obj *store.Object) error
}

// Reconciler drives the handlers of every kind.
type Reconciler struct {
	store    store.Store
	log      *slog.Logger
	interval time.Duration
	handlers map[string]Handler
	order    []string
	wake     chan struct{}
	passes   *prometheus.CounterVec
	errors   *prometheus.CounterVec
	holder   string
	leaseTTL time.Duration
}

// DefaultLeaseTTL is how long a lease lasts when Config.LeaseTTL is not set:
// the time after which another replica takes over the objects of one that
// died.
const DefaultLeaseTTL = 15 * time.Second

// Config configures a Reconciler.
type Config struct {
	Store store.Store
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Interval is the time between passes when nothing wakes the loop.
	Interval time.Duration
	// Registry receives metrics; nil skips them.
	Registry prometheus.Registerer
	// PoolHandler reconciles compute pools.
	PoolHandler Handler
	// PipelineHandler watches training pipelines (triggers, teardown);
	// RunHandler runs pipeline runs. Either may be nil.
	PipelineHandler Handler
	RunHandler      Handler
	// EndpointHandler runs model endpoints (replicas, rollouts); may be nil.
	EndpointHandler Handler
	// AlarmHandler evaluates alarms and sends their notifications; may be
	// nil.
	AlarmHandler Handler
	// BatchJobHandler watches batch inference jobs (triggers, teardown);
	// BatchRunHandler runs batch inference runs. Either may be nil.
	BatchJobHandler Handler
	BatchRunHandler Handler
	// Holder, when set, names this replica in the leases it claims: every
	// object is leased (store.Store.ClaimLeases) before a step on it, so
	// replicas sharing one database never reconcile one object at once.
	// Empty turns leases off, for a store that only one process uses.
	Holder string
	// LeaseTTL is how long a claimed lease lasts; a pass renews the leases
	// of the objects it looks at. Zero means DefaultLeaseTTL.
	LeaseTTL time.Duration
}

// New builds a Reconciler with the handlers of every kind.
func New(cfg Config) *Reconciler {
	r := &Reconciler{
		store:    cfg.Store,
		log:      cfg.Logger,
		interval: cfg.Interval,
		wake:     make(chan struct{}, 1),
		holder:   cfg.Holder,
		leaseTTL: cfg.LeaseTTL,
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlopsd_reconcile_total", Help: "Reconcile steps by kind.",
		}, []string{"kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlopsd_reconcile_errors_total", Help: "Failed reconcile steps by kind.",
		}, []string{"kind"}),
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.interval <= 0 {
		r.interval = 500 * time.Millisecond
	}
	if r.leaseTTL <= 0 {
		r.leaseTTL = DefaultLeaseTTL
	}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(r.passes, r.errors)
	}
	ready := &readyHandler{store: cfg.Store}
	r.handlers = map[string]Handler{api.KindComputePool: cfg.PoolHandler}
	for _, kind := range storedKinds {
		r.handlers[kind] = ready
	}
	if cfg.PipelineHandler != nil {
		r.handlers[api.KindTrainingPipeline] = cfg.PipelineHandler
	}
	if cfg.RunHandler != nil {
		r.handlers[api.KindPipelineRun] = cfg.RunHandler
	}
	if cfg.EndpointHandler != nil {
		r.handlers[api.KindModelEndpoint] = cfg.EndpointHandler
	}
	if cfg.AlarmHandler != nil {
		r.handlers[api.KindAlarm] = cfg.AlarmHandler
	}
	if cfg.BatchJobHandler != nil {
		r.handlers[api.KindBatchInferenceJob] = cfg.BatchJobHandler
	}
	if cfg.BatchRunHandler != nil {
		r.handlers[api.KindBatchInferenceRun] = cfg.BatchRunHandler
	}
	r.order = api.Kinds
	return r
}

// Notify wakes the loop soon after a write, without blocking the writer.
func (r *Reconciler) Notify(string) {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// minWakeGap is the least time between the start of one pass and the start
// of a pass that a Notify asked for. A burst of writes (a terraform apply of
// a thousand objects) then costs a pass every few milliseconds rather than
// one per write, each reading every kind's pending objects; a lone write is
// still reconciled at once.
const minWakeGap = 5 * time.Millisecond

// Run loops until ctx is done.
func (r *Reconciler) Run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		start := time.Now()
		r.Pass(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
			if gap := minWakeGap - time.Since(start); gap > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(gap):
				}
			}
		}
	}
}

// Pass takes one step for every object that needs one. Tests call it
// directly to step the state machines deterministically.
func (r *Reconciler) Pass(ctx context.Context) {
	for _, kind := range r.order {
		h := r.handlers[kind]
		if h == nil {
			continue
		}
		objs, err := r.work(ctx, kind, h)
		if err != nil {
			if ctx.Err() == nil {
				r.log.ErrorContext(ctx, "listing pending objects", "kind", kind, "err", err)
			}
			continue
		}
		leases := r.newLeaseSet(objs)
		for i, obj := range objs {
			if ctx.Err() != nil {
				return
			}
			held, err := leases.held(ctx, i)
			if err != nil {
				if ctx.Err() == nil {
					r.log.ErrorContext(ctx, "claiming leases", "kind", kind, "err", err)
				}
				break
			}
			if !held {
				continue
			}
			r.passes.WithLabelValues(kind).Inc()
			if err := h.Reconcile(ctx, obj); err != nil {
				var apiErr *api.Error
				// The object was deleted or recreated under us: the next
				// pass sees the new state, so this is not a failure.
				if errors.As(err, &apiErr) && apiErr.Code == api.ENOTFOUND {
					continue
				}
				r.errors.WithLabelValues(kind).Inc()
				r.log.ErrorContext(ctx, "reconcile failed", "object", obj.Ref().String(), "err", err)
			}
		}
		if o, ok := h.(PassObserver); ok {
			o.Observed(objs)
		}
	}
}

// Holder returns the name this reconciler claims leases under; "" when
// leases are off.
func (r *Reconciler) Holder() string { return r.holder }

// ReleaseLeases gives up every lease this reconciler holds, so that another
// replica takes its objects over at once rather than after the lease TTL.
// Call it after Run returned.
func (r *Reconciler) ReleaseLeases(ctx context.Context) error {
	if r.holder == "" {
		return nil
	}
	return r.store.ReleaseLeases(ctx, r.holder, nil)
}

// leaseSet tracks the leases of the objects of one kind in a pass. It claims
// them all at once, and claims the rest again when a third of the TTL went
// by, so that a long pass never works on an object whose lease ran out.
type leaseSet struct {
	r       *Reconciler
	objs    []*store.Object
	mine    map[string]bool
	claimed time.Time
}

func (r *Reconciler) newLeaseSet(objs []*store.Object) *leaseSet {
	return &leaseSet{r: r, objs: objs}
}

// held reports whether this replica holds the lease of objs[i], claiming the
// leases of objs[i:] first when it has none or they grow old.
func (l *leaseSet) held(ctx context.Context, i int) (bool, error) {
	if l.r.holder == "" {
		return true, nil
	}
	if l.mine == nil || time.Since(l.claimed) > l.r.leaseTTL/3 {
		start := time.Now()
		uids := make([]string, 0, len(l.objs)-i)
		for _, obj := range l.objs[i:] {
			uids = append(uids, obj.Meta.UID)
		}
		got, err := l.r.store.ClaimLeases(ctx, l.r.holder, uids, l.r.leaseTTL)
		if err != nil {
			return false, err
		}
		l.mine = make(map[string]bool, len(got))
		for _, uid := range got {
			l.mine[uid] = true
		}
		l.claimed = start
	}
	return l.mine[l.objs[i].Meta.UID], nil
}

// Watcher is a Handler that sees every object of its kind on every pass,
// not only the pending ones, because the world outside the store changes
// under objects at rest: a schedule comes due, a watched file changes.
type Watcher interface {
	Handler
	// WatchAll reports whether the handler wants every object.
	WatchAll() bool
}

// PassObserver is a Handler told, after each pass over its kind, which
// objects the pass listed, so that it can forget what it keeps in memory
// about the others (the metrics of a deleted alarm, say).
type PassObserver interface {
	Handler
	// Observed receives the objects the pass listed, held or not.
	Observed(objs []*store.Object)
}

// work returns the objects of kind that h is to look at in this pass.
func (r *Reconciler) work(ctx context.Context, kind string, h Handler) ([]*store.Object, error) {
	if w, ok := h.(Watcher); ok && w.WatchAll() {
		return listAll(ctx, r.store, kind)
	}
	return r.store.Pending(ctx, kind)
}

// listAll returns every object of kind, in every environment.
func listAll(ctx context.Context, st store.Store, kind string) ([]*store.Object, error) {
	envs, err := listEnv(ctx, st, api.KindEnvironment, "")
	if err != nil {
		return nil, err
	}
	var out []*store.Object
	for _, env := range envs {
		objs, err := listEnv(ctx, st, kind, env.Meta.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// listEnv returns every object of kind in env, page by page.
func listEnv(ctx context.Context, st store.Store, kind, env string) ([]*store.Object, error) {
	var out []*store.Object
	token := ""
	for {
		objs, next, err := st.List(ctx, kind, env, api.ListOptions{Limit: api.MaxPageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
		if next == "" {
			return out, nil
		}
		token = next
	}
}
