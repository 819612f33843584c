// Command cpbench measures the control plane against a floor built here: a
// plain net/http handler that does one INSERT into SQLite with mlopsd's
// durability pragmas (WAL, synchronous=FULL, busy_timeout). Both serve the
// same loopback workload at 1, 16 and 64 concurrent clients: durable creates
// per second, then reads (p50, p99). A scale section then creates many
// objects in one environment of mlopsd, updates them all, and reports the
// reconciler's throughput on the updates, mlopsd's memory, the time to list
// the first page and to list them all, page by page. Last, the wait section
// times the provider's wait (client.Wait*Settled, a long poll) for an object
// the reconciler settles within milliseconds.
//
//	go run ./bench/cmd/cpbench          # 2000 requests or 10 s per cell, 1000 objects
//	go run ./bench/cmd/cpbench -full    # 10000 objects
//	go run ./bench/cmd/cpbench -smoke   # what CI runs: it works, no numbers kept
//
// It is not a test and asserts no timing.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/bench/internal/harness"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"

	// Registers the "sqlite" database/sql driver, the one mlopsd uses.
	_ "modernc.org/sqlite"
)

const benchEnv = "bench"

// cpuProfileDir, when set, is where mlopsd's CPU profiles go.
var cpuProfileDir string

// profileArgs are the extra mlopsd arguments of a section: a CPU profile
// file when profiling.
func profileArgs(section string) []string {
	if cpuProfileDir == "" {
		return nil
	}
	return []string{"-cpuprofile", filepath.Join(cpuProfileDir, "mlopsd-"+section+".pprof")}
}

// target is a server under test: how to create object i and read it back.
type target struct {
	name   string
	create func(ctx context.Context, hc *http.Client, id string) error
	read   func(ctx context.Context, hc *http.Client, id string) error
}

// cell is one measurement: one target, one operation, one concurrency.
type cell struct {
	target, op  string
	conc, count int
	wall        time.Duration
	p50, p99    time.Duration
	errs        int64
}

func (c cell) perSec() float64 { return float64(c.count) / c.wall.Seconds() }

func main() {
	full := flag.Bool("full", false, "scale section at 10000 objects instead of 1000")
	smoke := flag.Bool("smoke", false, "CI smoke run: tiny counts; the numbers mean nothing")
	maxReq := flag.Int("requests", 2000, "most requests per cell")
	maxDur := flag.Duration("duration", 10*time.Second, "longest time per cell")
	scaleN := flag.Int("scale-n", 0, "objects in the scale section; 0 means 1000 (10000 with -full)")
	serveDB := flag.String("serve-baseline", "", "internal: serve the baseline server on this SQLite file (cpbench runs itself so, in a process of its own)")
	serveAddr := flag.String("baseline-addr", "127.0.0.1:0", "internal: listen address of -serve-baseline")
	flag.StringVar(&cpuProfileDir, "cpuprofile", "", "directory to write CPU profiles of mlopsd to (mlopsd-load.pprof, mlopsd-scale.pprof); runs bench/cmd/mlopsdprof in place of mlopsd")
	flag.Parse()
	if *serveDB != "" {
		if err := serveBaseline(*serveDB, *serveAddr); err != nil {
			fmt.Fprintln(os.Stderr, "cpbench baseline:", err)
			os.Exit(1)
		}
		return
	}
	if *scaleN == 0 {
		*scaleN = 1000
		if *full {
			*scaleN = 10000
		}
	}
	if *smoke {
		*maxReq, *maxDur, *scaleN = 50, 2*time.Second, 50
	}
	if err := run(*maxReq, *maxDur, *scaleN, *smoke); err != nil {
		fmt.Fprintln(os.Stderr, "cpbench:", err)
		os.Exit(1)
	}
}

func run(maxReq int, maxDur time.Duration, scaleN int, smoke bool) error {
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mlops-cpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fmt.Println("building mlopsd ...")
	bin, err := harness.BuildMlopsd(root, filepath.Join(tmp, "bin"))
	if cpuProfileDir != "" {
		if cpuProfileDir, err = filepath.Abs(cpuProfileDir); err != nil {
			return err
		}
		fmt.Printf("profiling: mlopsd is bench/cmd/mlopsdprof, CPU profiles go to %s\n", cpuProfileDir)
		bin, err = harness.Build(root, filepath.Join(tmp, "bin"), "./bench/cmd/mlopsdprof", "mlopsd")
	}
	if err != nil {
		return err
	}
	hc := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128, IdleConnTimeout: time.Minute},
	}
	concs := []int{1, 16, 64}
	fmt.Printf("loopback, concurrency %v, at most %d requests or %v per cell\n", concs, maxReq, maxDur)

	var cells []cell
	// The floor.
	baseDir := filepath.Join(tmp, "baseline")
	if err := os.MkdirAll(baseDir, 0o755); err != nil {
		return err
	}
	base, stopBase, err := startBaseline(filepath.Join(baseDir, "base.db"))
	if err != nil {
		return err
	}
	cs, err := measure(base, hc, concs, maxReq, maxDur)
	stopBase()
	if err != nil {
		return err
	}
	cells = append(cells, cs...)

	// mlopsd, a fresh database.
	mdir := filepath.Join(tmp, "mlopsd")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		return err
	}
	srv, err := harness.StartMlopsd(bin, mdir, profileArgs("load")...)
	if err != nil {
		return err
	}
	defer srv.Stop()
	if err := post(context.Background(), hc, srv.URL+"/v1/environments", api.CreateEnvironmentRequest{Name: benchEnv}); err != nil {
		return fmt.Errorf("creating environment: %w", err)
	}
	cs, err = measure(mlopsdTarget(srv.URL), hc, concs, maxReq, maxDur)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, srv.Output())
	}
	cells = append(cells, cs...)
	printCells(cells)
	srv.Stop()

	// Scale: a fresh mlopsd with scaleN objects in one environment.
	sdir := filepath.Join(tmp, "scale")
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return err
	}
	ssrv, err := harness.StartMlopsd(bin, sdir, profileArgs("scale")...)
	if err != nil {
		return err
	}
	defer ssrv.Stop()
	if err := scale(ssrv, hc, scaleN); err != nil {
		return fmt.Errorf("scale: %w\n%s", err, ssrv.Output())
	}
	waits := 200
	if smoke {
		waits = 10
	}
	if err := waitLatency(ssrv.URL, waits); err != nil {
		return fmt.Errorf("wait latency: %w\n%s", err, ssrv.Output())
	}
	if smoke {
		fmt.Println("smoke run: every measurement worked; the numbers at this size mean nothing")
	}
	return nil
}

// measure runs creates, then reads of what was created, at each concurrency.
func measure(t target, hc *http.Client, concs []int, maxReq int, maxDur time.Duration) ([]cell, error) {
	var out []cell
	for _, conc := range concs {
		prefix := fmt.Sprintf("c%d-", conc)
		var created atomic.Int64
		c, err := load(t.name, "create", conc, maxReq, maxDur, func(ctx context.Context, i int) error {
			err := t.create(ctx, hc, fmt.Sprintf("%s%d", prefix, i))
			if err == nil {
				created.Add(1)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		n := int(created.Load())
		if n == 0 {
			return nil, fmt.Errorf("%s: no create succeeded", t.name)
		}
		c, err = load(t.name, "read", conc, maxReq, maxDur, func(ctx context.Context, i int) error {
			return t.read(ctx, hc, fmt.Sprintf("%s%d", prefix, i%n))
		})
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// load calls fn with 0, 1, 2, ... from conc goroutines until maxReq calls
// were made or maxDur passed, and returns the cell with latency percentiles.
func load(name, op string, conc, maxReq int, maxDur time.Duration, fn func(ctx context.Context, i int) error) (cell, error) {
	ctx, cancel := context.WithTimeout(context.Background(), maxDur)
	defer cancel()
	var next atomic.Int64
	var errs atomic.Int64
	var firstErr error
	var errOnce sync.Once
	lat := make([][]time.Duration, conc)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= maxReq {
					return
				}
				t0 := time.Now()
				err := fn(ctx, i)
				if err != nil {
					if ctx.Err() != nil {
						return // the cell's time ran out mid-request
					}
					errs.Add(1)
					errOnce.Do(func() { firstErr = err })
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	c := cell{target: name, op: op, conc: conc, count: len(all), wall: wall, errs: errs.Load()}
	if len(all) > 0 {
		c.p50 = all[len(all)*50/100]
		c.p99 = all[min(len(all)-1, len(all)*99/100)]
	}
	if c.errs > 0 && c.errs*10 > int64(len(all)) {
		return c, fmt.Errorf("%s %s at %d clients: %d of %d requests failed, first: %v", name, op, conc, c.errs, int64(len(all))+c.errs, firstErr)
	}
	return c, nil
}

func printCells(cells []cell) {
	base := map[string]cell{}
	for _, c := range cells {
		if c.target == "baseline" {
			base[fmt.Sprintf("%s/%d", c.op, c.conc)] = c
		}
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "server\top\tclients\trequests\terrors\tper s\tp50 ms\tp99 ms\tthroughput ÷ baseline\tp99 × baseline\t")
	for _, c := range cells {
		tr, lr := "1.00", "1.00"
		if b, ok := base[fmt.Sprintf("%s/%d", c.op, c.conc)]; ok && c.target != "baseline" {
			tr = fmt.Sprintf("%.2f", c.perSec()/b.perSec())
			lr = fmt.Sprintf("%.2f", float64(c.p99)/float64(max(b.p99, 1)))
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%s\t%s\t\n", c.target, c.op, c.conc, c.count, c.errs, c.perSec(), ms(c.p50), ms(c.p99), tr, lr)
	}
	_ = w.Flush()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// startBaseline runs the floor server in a process of its own (this
// program again, with -serve-baseline), as mlopsd runs in its own: a server
// inside the load generator's process would be spared the hand-off between
// processes that every request to mlopsd pays, and be measured faster than
// any server can be. It returns the target and a function that stops it.
func startBaseline(path string) (target, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return target{}, nil, err
	}
	port, err := harness.FreePort()
	if err != nil {
		return target{}, nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(exe, "-serve-baseline", path, "-baseline-addr", addr)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return target{}, nil, err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	u := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(u + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			return target{}, nil, errors.New("the baseline server exited at start")
		default:
		}
		if time.Now().After(deadline) {
			stop()
			return target{}, nil, fmt.Errorf("the baseline server does not answer on %s", u)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return target{
		name: "baseline",
		create: func(ctx context.Context, hc *http.Client, id string) error {
			return post(ctx, hc, u+"/items", api.CreateFeatureStoreRequest{Name: id, Spec: featureStoreSpec()})
		},
		read: func(ctx context.Context, hc *http.Client, id string) error {
			return get(ctx, hc, u+"/items/"+id)
		},
	}, stop, nil
}

// serveBaseline is the floor server: POST /items (one INSERT) and GET
// /items/{id} on a SQLite file opened as mlopsd opens its own: WAL,
// synchronous=FULL, a busy timeout, one writer connection with BEGIN
// IMMEDIATE, a read-only pool. It serves addr until SIGTERM or SIGINT.
func serveBaseline(path, addr string) error {
	pragmas := func(writer bool) string {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(5000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		if writer {
			q.Set("_txlock", "immediate")
		} else {
			q.Set("_query_only", "1")
		}
		return path + "?" + q.Encode()
	}
	wdb, err := sql.Open("sqlite", pragmas(true))
	if err != nil {
		return err
	}
	wdb.SetMaxOpenConns(1)
	if _, err := wdb.Exec(`CREATE TABLE items (id TEXT PRIMARY KEY, body BLOB NOT NULL, created_at TEXT NOT NULL)`); err != nil {
		return err
	}
	rdb, err := sql.Open("sqlite", pragmas(false))
	if err != nil {
		return err
	}
	rdb.SetMaxOpenConns(max(4, runtime.NumCPU()))
	defer wdb.Close()
	defer rdb.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Name string          `json:"name"`
			Spec json.RawMessage `json:"spec"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.Name == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if _, err := wdb.ExecContext(r.Context(), `INSERT INTO items (id, body, created_at) VALUES (?, ?, ?)`,
			req.Name, []byte(req.Spec), time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(req)
	})
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		err := rdb.QueryRowContext(r.Context(), `SELECT body FROM items WHERE id = ?`, r.PathValue("id")).Scan(&body)
		if errors.Is(err, sql.ErrNoRows) {
			http.NotFound(w, r)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdown)
	}()
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func featureStoreSpec() api.FeatureStoreSpec {
	return api.FeatureStoreSpec{OfflineStoreURI: "file:///tmp/mlops-bench-features", OnlineStore: api.OnlineStoreNone}
}

// mlopsdTarget creates and reads feature stores in the bench environment.
func mlopsdTarget(base string) target {
	coll := base + "/v1/environments/" + benchEnv + "/feature-stores"
	return target{
		name: "mlopsd",
		create: func(ctx context.Context, hc *http.Client, id string) error {
			return post(ctx, hc, coll, api.CreateFeatureStoreRequest{Name: id, Spec: featureStoreSpec()})
		},
		read: func(ctx context.Context, hc *http.Client, id string) error {
			return get(ctx, hc, coll+"/"+id)
		},
	}
}

func post(ctx context.Context, hc *http.Client, u string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return do(hc, req, nil)
}

func get(ctx context.Context, hc *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return do(hc, req, nil)
}

// do sends req and fails on a status other than 2xx; into, when not nil,
// receives the decoded JSON body.
func do(hc *http.Client, req *http.Request, into any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, bytes.TrimSpace(b))
	}
	if into != nil {
		return json.NewDecoder(resp.Body).Decode(into)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// scalePool is the compute pool the scale and wait sections create: a
// kind a reconciler must look at on every write (a pool is provisioning
// until the pool reconciler has sized it), unlike feature stores, whose
// writes settle in their own transaction. With no nodes to start it
// measures the reconciler and the store, not the runtime driver.
func scalePool(idleMinutes int64) api.ComputePoolSpec {
	return api.ComputePoolSpec{MinNodes: 0, MaxNodes: 1, IdleScaleDownMinutes: idleMinutes}
}

// scale creates n compute pools in one environment from 16 clients, waits
// until the reconciler has settled all of them, updates every one (which
// the reconciler must settle again), waits again, and lists them page by
// page.
func scale(srv *harness.Mlopsd, hc *http.Client, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := post(ctx, hc, srv.URL+"/v1/environments", api.CreateEnvironmentRequest{Name: benchEnv}); err != nil {
		return err
	}
	coll := srv.URL + "/v1/environments/" + benchEnv + "/compute-pools"
	start := time.Now()
	c, err := load("mlopsd", "create", 16, n, 10*time.Minute, func(ctx context.Context, i int) error {
		return post(ctx, hc, coll, api.CreateComputePoolRequest{Name: fmt.Sprintf("p%d", i), Spec: scalePool(10)})
	})
	if err != nil {
		return err
	}
	if c.count != n {
		return fmt.Errorf("created %d of %d objects", c.count, n)
	}
	createdIn := time.Since(start)
	createSettled, err := waitAllSettled(ctx, hc, coll, n, 1, start)
	if err != nil {
		return err
	}
	updateStart := time.Now()
	u, err := load("mlopsd", "update", 16, n, 10*time.Minute, func(ctx context.Context, i int) error {
		return put(ctx, hc, coll+"/"+fmt.Sprintf("p%d", i), api.UpdateComputePoolRequest{Spec: scalePool(20)})
	})
	if err != nil {
		return err
	}
	if u.count != n {
		return fmt.Errorf("updated %d of %d objects", u.count, n)
	}
	updatedIn := time.Since(updateStart)
	reconciledIn, err := waitAllSettled(ctx, hc, coll, n, 2, updateStart)
	if err != nil {
		return err
	}
	mem, _ := harness.ReadMemory(srv.Pid())

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("\nscale: %d compute pools in one environment (16 clients create, then update every one; the pool reconciler settles each write)\n", n)
	fmt.Fprintln(w, "measure\tvalue\t")
	fmt.Fprintf(w, "created in\t%.2f s (%.0f/s)\t\n", createdIn.Seconds(), float64(n)/createdIn.Seconds())
	fmt.Fprintf(w, "all settled after create in\t%.2f s\t\n", createSettled.Seconds())
	fmt.Fprintf(w, "updated in\t%.2f s (%.0f/s)\t\n", updatedIn.Seconds(), float64(n)/updatedIn.Seconds())
	fmt.Fprintf(w, "all updates reconciled in\t%.2f s\t\n", reconciledIn.Seconds())
	fmt.Fprintf(w, "reconcile throughput\t%.0f objects/s\t\n", float64(n)/reconciledIn.Seconds())
	fmt.Fprintf(w, "per-object cost (update→settled, amortised)\t%.2f ms\t\n", ms(reconciledIn)/float64(n))
	fmt.Fprintf(w, "mlopsd RSS now / peak\t%s / %s MiB\t\n", harness.MiB(mem.RSS), harness.MiB(mem.HWM))
	var first []time.Duration
	for range 5 {
		t0 := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, coll, nil)
		if err != nil {
			return err
		}
		var l api.ComputePoolList
		if err := do(hc, req, &l); err != nil {
			return err
		}
		first = append(first, time.Since(t0))
	}
	slices.Sort(first)
	fmt.Fprintf(w, "first page (default size %d), median of 5\t%.1f ms\t\n", api.DefaultPageSize, ms(first[2]))
	for _, page := range []int{api.DefaultPageSize, api.MaxPageSize} {
		var times []time.Duration
		pages := 0
		for range 5 {
			t0 := time.Now()
			items, p, err := listAll(ctx, hc, coll, page)
			if err != nil {
				return err
			}
			if len(items) != n {
				return fmt.Errorf("listed %d of %d objects", len(items), n)
			}
			times = append(times, time.Since(t0))
			pages = p
		}
		slices.Sort(times)
		fmt.Fprintf(w, "list all, page size %d (%d pages), median of 5\t%.1f ms (%.2f ms/page)\t\n", page, pages, ms(times[2]), ms(times[2])/float64(pages))
	}
	return w.Flush()
}

// listAll walks every page of the compute pools at coll, the bench
// environment's collection URL.
func listAll(ctx context.Context, hc *http.Client, coll string, limit int) ([]api.ComputePool, int, error) {
	var all []api.ComputePool
	token := ""
	for pages := 1; pages <= 100000; pages++ {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if token != "" {
			q.Set("page_token", token)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, coll+"?"+q.Encode(), nil)
		if err != nil {
			return nil, 0, err
		}
		var l api.ComputePoolList
		if err := do(hc, req, &l); err != nil {
			return nil, 0, err
		}
		all = append(all, l.Items...)
		if token = l.NextPageToken; token == "" {
			return all, pages, nil
		}
	}
	return nil, 0, errors.New("more than 100000 pages")
}

// waitAllSettled lists the n compute pools at coll until every status is settled
// on generation gen or later and returns the time since start.
func waitAllSettled(ctx context.Context, hc *http.Client, coll string, n int, gen int64, start time.Time) (time.Duration, error) {
	for {
		items, _, err := listAll(ctx, hc, coll, api.MaxPageSize)
		if err != nil {
			return 0, err
		}
		settled := 0
		for _, o := range items {
			if o.Metadata.Generation >= gen && o.Status.Settled(o.Metadata.Generation) {
				settled++
			}
		}
		if settled == n {
			return time.Since(start), nil
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("%d of %d objects settled at generation %d in %v", settled, n, gen, time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func put(ctx context.Context, hc *http.Client, u string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return do(hc, req, nil)
}

// waitLatency measures what the provider's waits cost: n times, one client
// updates a compute pool (the pool reconciler settles it within
// milliseconds) and waits with client.WaitComputePoolSettled, the long poll
// the provider uses, until mlopsd reports it settled. The time from the
// update's answer to the wait's answer is the wait's overhead on top of
// the write.
func waitLatency(base string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := client.New(client.Config{Endpoint: base})
	if err != nil {
		return err
	}
	pool, err := c.CreateComputePool(ctx, benchEnv, "wait-probe", scalePool(1))
	if err != nil {
		return err
	}
	if _, err := c.WaitComputePoolSettled(ctx, benchEnv, "wait-probe", pool.Metadata.Generation); err != nil {
		return err
	}
	var lat []time.Duration
	for i := range n {
		p, err := c.UpdateComputePool(ctx, benchEnv, "wait-probe", scalePool(int64(i%2+2)), "")
		if err != nil {
			return err
		}
		t0 := time.Now()
		got, err := c.WaitComputePoolSettled(ctx, benchEnv, "wait-probe", p.Metadata.Generation)
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
		if got.Status.ObservedGeneration < p.Metadata.Generation {
			return fmt.Errorf("wait answered at observed generation %d, before %d", got.Status.ObservedGeneration, p.Metadata.Generation)
		}
	}
	slices.Sort(lat)
	fmt.Printf("\nwait: update a compute pool, then client.WaitComputePoolSettled (long poll) until the pool reconciler settled it; %d times, one client\n", n)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "measure\tvalue\t")
	fmt.Fprintf(w, "reported settled after the update, p50\t%.1f ms\t\n", ms(lat[len(lat)/2]))
	fmt.Fprintf(w, "reported settled after the update, p99\t%.1f ms\t\n", ms(lat[min(len(lat)-1, len(lat)*99/100)]))
	fmt.Fprintf(w, "reported settled after the update, max\t%.1f ms\t\n", ms(lat[len(lat)-1]))
	return w.Flush()
}
