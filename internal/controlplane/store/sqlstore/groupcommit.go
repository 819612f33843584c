package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
)

// Group commit (Config.GroupCommit): the write transactions of concurrent
// callers run in one database transaction, each inside a SAVEPOINT, and all
// of them are answered after its one COMMIT. On SQLite with
// synchronous=FULL the COMMIT's fsync is most of a small write's cost, so a
// batch shares it; every write is still acknowledged only once it is
// durable.
//
// The writes of a batch run one after another, in the order they queued,
// in the same transaction, so each sees the writes before it exactly as it
// would have sequentially: the audit chain's last record, names taken,
// idempotency keys stored. A write whose function fails is rolled back to
// its savepoint and the rest of the batch goes on; if the COMMIT fails,
// every write of the batch that had succeeded gets that error.
//
// There is no timer: the first caller that finds no batch running leads
// one with whatever has queued (itself at least), and when it is done it
// hands the lead to the first write that queued meanwhile. A lone writer
// therefore runs at once, in a transaction of its own and without a
// savepoint, as without group commit.

// maxBatch bounds the writes of one batch, so that a long queue is
// committed in pieces and the first of them is answered early.
const maxBatch = 64

// savepoint is the name of each write's savepoint; it is released before
// the next write of the batch begins, so one name serves them all.
const savepoint = "group_write"

// errPanicked marks the result of a write whose function panicked: it is
// rolled back to its savepoint, the batch goes on, and its caller panics
// again with the same value in its own goroutine instead of returning.
var errPanicked = errors.New("write panicked")

// groupCommit queues the writes waiting for a batch.
type groupCommit struct {
	mu sync.Mutex
	// queue holds the writes not yet taken into a batch, in arrival order.
	queue []*groupWrite
	// leading is true while a batch runs or the lead is being handed to
	// queue[0]; while it is false the queue is empty.
	leading bool

	// The fields below are for tests (see export_test.go).

	// beforeCommit, when set, runs before the COMMIT of every batch with its
	// transaction and the number of writes it holds; an error fails the
	// batch as a failed COMMIT would.
	beforeCommit func(t *sql.Tx, writes int) error
	// largest is the largest number of writes a batch has held.
	largest int
}

// groupWrite is one caller's write waiting in the queue.
type groupWrite struct {
	ctx  context.Context
	run  func(tx *tx) error
	done chan groupResult
}

// groupResult is what a queued write is told: that it leads the next
// batch, or how its write ended.
type groupResult struct {
	lead     bool
	err      error
	panicked any
}

// writeTx runs fn in a write transaction and commits it unless fn fails:
// with Config.GroupCommit in a batch of concurrent writes, otherwise in a
// transaction of its own (inTx). fn may run on another goroutine than the
// caller's, and its queries run with a context that ctx's cancellation
// does not reach: once a write has started, it completes or fails with its
// batch. It must not keep tx after it returns.
func writeTx[T any](ctx context.Context, s *Store, fn func(tx *tx) (T, error)) (T, error) {
	if !s.cfg.GroupCommit {
		return inTx(ctx, s.beginWrite, fn)
	}
	var v T
	err := s.group.do(ctx, s, func(tx *tx) error {
		var err error
		v, err = fn(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// leaseTx runs fn in a lease transaction (see Config.BeginLease): a write
// transaction, grouped as writeTx groups them, where the backend begins
// leases as writes.
func leaseTx[T any](ctx context.Context, s *Store, fn func(tx *tx) (T, error)) (T, error) {
	if s.cfg.BeginLease == nil {
		return writeTx(ctx, s, fn)
	}
	return inTx(ctx, s.beginLease, fn)
}

// do queues run and returns once the batch that ran it has committed or
// failed. A write whose ctx ends before its batch starts it is not run and
// gets ctx.Err().
func (g *groupCommit) do(ctx context.Context, s *Store, run func(tx *tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &groupWrite{ctx: ctx, run: run, done: make(chan groupResult, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, w)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()

	r := groupResult{lead: lead}
	if !lead {
		// Either the result, or the lead of the batch this write heads.
		select {
		case r = <-w.done:
		case <-ctx.Done():
			var left bool
			if r, left = g.leave(w); left {
				return ctx.Err()
			}
		}
	}
	if r.lead {
		g.lead(s)
		r = <-w.done
	}
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.err
}

// leave takes w, whose caller's context ended, out of the queue and
// reports true, unless a batch took it already or it was given the lead:
// then it waits for what w is told and returns that.
func (g *groupCommit) leave(w *groupWrite) (groupResult, bool) {
	g.mu.Lock()
	select {
	case r := <-w.done:
		// The lead, which is only handed on under mu, or the result.
		g.mu.Unlock()
		return r, false
	default:
	}
	if i := slices.Index(g.queue, w); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
		if len(g.queue) == 0 {
			g.queue = nil
		}
		g.mu.Unlock()
		return groupResult{}, true
	}
	g.mu.Unlock()
	return <-w.done, false
}

// lead runs one batch of the queue, whose head is the caller's own write,
// then hands the lead on to the next write in the queue, if any.
func (g *groupCommit) lead(s *Store) {
	g.mu.Lock()
	n := min(len(g.queue), maxBatch)
	batch := make([]*groupWrite, n)
	copy(batch, g.queue)
	clear(g.queue[:n])
	g.queue = g.queue[n:]
	if len(g.queue) == 0 {
		g.queue = nil
	}
	g.largest = max(g.largest, n)
	hook := g.beforeCommit
	g.mu.Unlock()

	var results []groupResult
	defer func() {
		if results == nil {
			// runBatch panicked outside the writes' functions: answer the
			// batch and hand the lead on all the same, or every later write
			// would wait forever.
			results = make([]groupResult, len(batch))
			for i := range results {
				results[i].err = errorf(s, "group commit: the batch failed")
			}
			g.handOn()
			for i, w := range batch {
				w.done <- results[i]
			}
		}
	}()
	results = s.runBatch(batch, hook)

	// Hand the lead on before answering, so the next batch's BEGIN is not
	// held up by the wake-ups of this one's callers.
	g.handOn()
	for i, w := range batch {
		w.done <- results[i]
	}
}

// handOn gives the lead to the first write in the queue, or ends it when
// the queue is empty.
func (g *groupCommit) handOn() {
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].done <- groupResult{lead: true}
	} else {
		g.leading = false
	}
	g.mu.Unlock()
}

// runBatch runs the writes of batch in one transaction and returns how
// each ended. beforeCommit, if set, runs before the COMMIT.
func (s *Store) runBatch(batch []*groupWrite, beforeCommit func(t *sql.Tx, writes int) error) []groupResult {
	results := make([]groupResult, len(batch))
	// live are the writes to run: those whose context has not ended yet.
	// Each is looked at again right before it runs.
	var live []int
	for i, w := range batch {
		if err := w.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		live = append(live, i)
	}
	if len(live) == 0 {
		return results
	}
	// The transaction is the batch's, not any one caller's: database/sql
	// rolls a transaction back when the context it began with ends.
	bg := context.Background()
	t, err := s.cfg.BeginWrite(bg)
	if err != nil {
		err = errorf(s, "begin write: %w", err)
		for _, i := range live {
			results[i].err = err
		}
		return results
	}
	defer func() { _ = t.Rollback() }()

	// fail gives err to every write of the batch that has not failed on its
	// own: the transaction cannot commit.
	fail := func(err error) []groupResult {
		for _, i := range live {
			if results[i].err == nil {
				results[i] = groupResult{err: err}
			}
		}
		return results
	}
	single := len(live) == 1
	for _, i := range live {
		w := batch[i]
		if err := w.ctx.Err(); err != nil {
			results[i].err = err
			continue
		}
		tx := &tx{sqlTx: t, q: t, now: s.now(), store: s, ctx: context.WithoutCancel(w.ctx)}
		if single {
			results[i] = runWrite(w, tx)
			if results[i].err != nil {
				return results
			}
			break
		}
		if _, err := t.ExecContext(bg, "SAVEPOINT "+savepoint); err != nil {
			return fail(errorf(s, "savepoint: %w", err))
		}
		results[i] = runWrite(w, tx)
		if results[i].err != nil {
			// A statement error leaves the transaction open, and this undoes
			// the write's statements. An error that made SQLite roll back the
			// whole transaction (a full disk, say) took the savepoint with
			// it, and then nothing of the batch can commit.
			if _, err := t.ExecContext(bg, "ROLLBACK TO "+savepoint); err != nil {
				return fail(errorf(s, "rollback to savepoint: %w", err))
			}
		}
		if _, err := t.ExecContext(bg, "RELEASE "+savepoint); err != nil {
			return fail(errorf(s, "release savepoint: %w", err))
		}
	}
	if beforeCommit != nil {
		if err := beforeCommit(t, len(live)); err != nil {
			return fail(errorf(s, "commit: %w", err))
		}
	}
	if err := t.Commit(); err != nil {
		return fail(errorf(s, "commit: %w", err))
	}
	return results
}

// runWrite runs w's function in tx. A panic is caught, so that the batch
// can go on, and handed to w's caller.
func runWrite(w *groupWrite, tx *tx) (r groupResult) {
	defer func() {
		if p := recover(); p != nil {
			r = groupResult{err: errPanicked, panicked: p}
		}
	}()
	return groupResult{err: w.run(tx)}
}

// errorf returns an error of the database, prefixed with the backend's name.
func errorf(s *Store, format string, args ...any) error {
	return (&tx{store: s}).errorf(format, args...)
}
