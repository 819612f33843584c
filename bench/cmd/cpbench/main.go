// Command cpbench measures the control plane against a floor built here: a
// plain net/http handler that does one INSERT into SQLite with mlopsd's
// durability pragmas (WAL, synchronous=FULL, busy_timeout). Both serve the
// same loopback workload at 1, 16 and 64 concurrent clients: durable creates
// per second, then reads (p50, p99). A scale section then creates many
// objects in one environment of mlopsd and reports reconcile throughput,
// mlopsd's memory and the time to list them all, page by page.
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
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/bench/internal/harness"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"

	// Registers the "sqlite" database/sql driver, the one mlopsd uses.
	_ "modernc.org/sqlite"
)

const benchEnv = "bench"

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
	flag.Parse()
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
	srv, err := harness.StartMlopsd(bin, mdir)
	if err != nil {
		return err
	}
	defer srv.Stop()
	if err := post(context.Background(), hc, srv.URL+"/v1/environments", api.CreateEnvironmentRequest{Name: benchEnv}); err != nil {
		return fmt.Errorf("creating environment: %w", err)
	}
	cs, err = measure(mlopsdTarget(srv.URL, "feature-stores"), hc, concs, maxReq, maxDur)
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
	ssrv, err := harness.StartMlopsd(bin, sdir)
	if err != nil {
		return err
	}
	defer ssrv.Stop()
	if err := scale(ssrv, hc, scaleN); err != nil {
		return fmt.Errorf("scale: %w\n%s", err, ssrv.Output())
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

// startBaseline serves POST /items (one INSERT) and GET /items/{id} on a
// SQLite file opened as mlopsd opens its own: WAL, synchronous=FULL, a busy
// timeout, one writer connection with BEGIN IMMEDIATE, a read-only pool.
func startBaseline(path string) (target, func(), error) {
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
		return target{}, nil, err
	}
	wdb.SetMaxOpenConns(1)
	if _, err := wdb.Exec(`CREATE TABLE items (id TEXT PRIMARY KEY, body BLOB NOT NULL, created_at TEXT NOT NULL)`); err != nil {
		return target{}, nil, err
	}
	rdb, err := sql.Open("sqlite", pragmas(false))
	if err != nil {
		return target{}, nil, err
	}
	rdb.SetMaxOpenConns(max(4, runtime.NumCPU()))
	mux := http.NewServeMux()
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return target{}, nil, err
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	u := "http://" + ln.Addr().String()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		_ = rdb.Close()
		_ = wdb.Close()
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

func featureStoreSpec() api.FeatureStoreSpec {
	return api.FeatureStoreSpec{OfflineStoreURI: "file:///tmp/mlops-bench-features", OnlineStore: api.OnlineStoreNone}
}

// mlopsdTarget creates and reads feature stores in the bench environment.
func mlopsdTarget(base, kind string) target {
	coll := base + "/v1/environments/" + benchEnv + "/" + kind
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

// scale creates n feature stores in one environment from 16 clients, waits
// until the reconciler has settled all of them, and lists them page by page.
func scale(srv *harness.Mlopsd, hc *http.Client, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := post(ctx, hc, srv.URL+"/v1/environments", api.CreateEnvironmentRequest{Name: benchEnv}); err != nil {
		return err
	}
	t := mlopsdTarget(srv.URL, "feature-stores")
	start := time.Now()
	c, err := load("mlopsd", "create", 16, n, 10*time.Minute, func(ctx context.Context, i int) error {
		return t.create(ctx, hc, fmt.Sprintf("s%d", i))
	})
	if err != nil {
		return err
	}
	if c.count != n {
		return fmt.Errorf("created %d of %d objects", c.count, n)
	}
	createdIn := time.Since(start)
	// Settled: every object's status describes its generation and is terminal.
	var settledIn time.Duration
	for {
		items, _, err := listAll(ctx, hc, srv.URL, api.MaxPageSize)
		if err != nil {
			return err
		}
		settled := 0
		for _, o := range items {
			if o.Status.Settled(o.Metadata.Generation) {
				settled++
			}
		}
		if settled == n {
			settledIn = time.Since(start)
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d objects settled in %v", settled, n, time.Since(start))
		}
		time.Sleep(100 * time.Millisecond)
	}
	mem, _ := harness.ReadMemory(srv.Pid())

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Printf("\nscale: %d feature stores in one environment (16 clients create, then wait until every status is settled)\n", n)
	fmt.Fprintln(w, "measure\tvalue\t")
	fmt.Fprintf(w, "created in\t%.2f s (%.0f/s)\t\n", createdIn.Seconds(), float64(n)/createdIn.Seconds())
	fmt.Fprintf(w, "all settled (reconciled) in\t%.2f s\t\n", settledIn.Seconds())
	fmt.Fprintf(w, "reconcile throughput\t%.0f objects/s\t\n", float64(n)/settledIn.Seconds())
	fmt.Fprintf(w, "per-object cost (create→settled, amortised)\t%.2f ms\t\n", ms(settledIn)/float64(n))
	fmt.Fprintf(w, "mlopsd RSS now / peak\t%s / %s MiB\t\n", harness.MiB(mem.RSS), harness.MiB(mem.HWM))
	for _, page := range []int{api.DefaultPageSize, api.MaxPageSize} {
		var times []time.Duration
		pages := 0
		for range 5 {
			t0 := time.Now()
			items, p, err := listAll(ctx, hc, srv.URL, page)
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

// listAll walks every page of feature stores in the bench environment.
func listAll(ctx context.Context, hc *http.Client, base string, limit int) ([]api.FeatureStore, int, error) {
	var all []api.FeatureStore
	token := ""
	for pages := 1; pages <= 100000; pages++ {
		q := url.Values{"limit": {fmt.Sprint(limit)}}
		if token != "" {
			q.Set("page_token", token)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/environments/"+benchEnv+"/feature-stores?"+q.Encode(), nil)
		if err != nil {
			return nil, 0, err
		}
		var l api.FeatureStoreList
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
