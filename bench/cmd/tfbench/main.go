// Command tfbench measures Terraform itself (terraform_data, built in), a
// provider that does nothing (floor_resource of bench/cmd/floorprovider, on
// the same plugin framework, standing in for the HashiCorp null provider)
// and the mlops provider against a real mlopsd on SQLite, at the same N, in
// one run on one machine: apply (create), no-op plan (refresh), in-place
// update of every resource, destroy. Each mlops resource also has a
// same-schema floor: a no-op resource of the floor provider with the mlops
// resource's schema, which separates what Terraform and the framework cost
// for a resource of that shape from what the mlops provider's code, its
// API calls and mlopsd add. It prints wall times, CPU times and peak RSS
// of terraform, of the provider and of mlopsd, and each row's ratio to
// terraform_data, to floor_resource and to its same-schema floor.
//
//	go run ./bench/cmd/tfbench              # N = 100 and 1000
//	go run ./bench/cmd/tfbench -full        # N = 100, 1000 and 3000
//	go run ./bench/cmd/tfbench -n 100       # one N
//	go run ./bench/cmd/tfbench -repeat 3    # each step's fastest of three runs
//	go run ./bench/cmd/tfbench -n 5 -smoke  # what CI runs: it works, no numbers kept
//	go run ./bench/cmd/tfbench -n 300 -cases floor_feature_group,mlops_feature_group
//
// It is not a test and asserts no timing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/bench/internal/harness"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/client"
)

const (
	benchEnv   = "bench"
	benchStore = "bench"
	// floorCase is the no-op framework provider's case, the second floor.
	floorCase = "floor_resource"
)

// steps are measured in this order for every case.
var steps = []string{"create", "plan(no-op)", "update", "destroy"}

// tfCase is one kind of resource measured at N.
type tfCase struct {
	name string
	// config returns the configuration of n resources at revision rev; an
	// increase of rev changes every resource in place.
	config func(endpoint string) string
	// mlops cases need an mlopsd.
	mlops bool
	// twinOf names the mlops case whose schema this floor case declares.
	twinOf string
}

var cases = []tfCase{
	{name: "terraform_data", config: func(string) string {
		return `variable "n" { type = number }
variable "rev" { type = number }
resource "terraform_data" "r" {
  count = var.n
  input = "rev-${var.rev}-${count.index}"
}
`
	}},
	// The floor of an external plugin: bench/cmd/floorprovider, a provider
	// on the same framework that does nothing (the HashiCorp null provider
	// cannot be installed here).
	{name: floorCase, config: func(string) string {
		return floorBlock + `resource "floor_resource" "r" {
  count = var.n
  input = "rev-${var.rev}-${count.index}"
}
`
	}},
	// The same schemas as the two mlops resources on the no-op provider:
	// what the framework and Terraform cost for resources of that shape.
	{name: "floor_feature_group", twinOf: "mlops_feature_group", config: func(string) string {
		return floorBlock + featureGroups("floor_feature_group")
	}},
	{name: "floor_compute_pool", twinOf: "mlops_compute_pool", config: func(string) string {
		return floorBlock + computePools("floor_compute_pool")
	}},
	{name: "mlops_feature_group", mlops: true, config: func(endpoint string) string {
		return providerBlock(endpoint) + featureGroups("mlops_feature_group")
	}},
	{name: "mlops_compute_pool", mlops: true, config: func(endpoint string) string {
		return providerBlock(endpoint) + computePools("mlops_compute_pool")
	}},
}

// floorBlock opens the configuration of every floor provider case.
const floorBlock = `terraform {
  required_providers {
    floor = { source = "mlops-bench/floor" }
  }
}
variable "n" { type = number }
variable "rev" { type = number }
`

// featureGroups configures n feature groups of resource type typ.
func featureGroups(typ string) string {
	return `resource "` + typ + `" "r" {
  count         = var.n
  environment   = "` + benchEnv + `"
  feature_store = "` + benchStore + `"
  name          = "fg-${count.index}"
  description   = "rev ${var.rev}"
  entities = [
    { name = "customer_id", value_type = "string" },
  ]
  features = [
    { name = "orders_7d", value_type = "int64" },
  ]
}
`
}

// computePools configures n compute pools of resource type typ.
func computePools(typ string) string {
	return `resource "` + typ + `" "r" {
  count                   = var.n
  environment             = "` + benchEnv + `"
  name                    = "cp-${count.index}"
  min_nodes               = 0
  max_nodes               = 1
  idle_scale_down_minutes = var.rev
}
`
}

func providerBlock(endpoint string) string {
	return `terraform {
  required_providers {
    mlops = { source = "mlops-as-code/mlops" }
  }
}
variable "n" { type = number }
variable "rev" { type = number }
provider "mlops" {
  endpoint = "` + endpoint + `"
}
`
}

// result is one step of one case at one N.
type result struct {
	n        int
	kase     string
	step     string
	wall     time.Duration
	tfRSS    int64 // KiB
	provRSS  int64 // KiB
	mlopsRSS int64 // KiB, VmHWM of mlopsd after the step
	// CPU time (user and system) of the step: terraform's own, its
	// provider processes' and mlopsd's.
	tfCPU, provCPU, mlopsCPU time.Duration
}

func main() {
	nFlag := flag.Int("n", 0, "number of resources per case; 0 means 100 and 1000 (and 3000 with -full)")
	full := flag.Bool("full", false, "also run N=3000 (Terraform alone takes about 45 s to create 3000 terraform_data)")
	repeat := flag.Int("repeat", 1, "run every case this many times (in alternating order) and keep each step's fastest run")
	smoke := flag.Bool("smoke", false, "CI smoke run: check that every step works at a tiny N; the numbers mean nothing")
	parallelism := flag.Int("parallelism", 10, "terraform -parallelism")
	only := flag.String("cases", "", "comma-separated cases to run (default: all); the ratio columns need terraform_data, floor_resource and the twins in the same run")
	flag.Parse()
	if *only != "" {
		var picked []tfCase
		for _, name := range strings.Split(*only, ",") {
			i := slices.IndexFunc(cases, func(c tfCase) bool { return c.name == name })
			if i < 0 {
				fmt.Fprintf(os.Stderr, "tfbench: no case %q\n", name)
				os.Exit(2)
			}
			picked = append(picked, cases[i])
		}
		cases = picked
	}

	ns := []int{100, 1000}
	if *full {
		ns = append(ns, 3000)
	}
	if *nFlag > 0 {
		ns = []int{*nFlag}
	}
	if *smoke && *nFlag == 0 {
		ns = []int{5}
	}
	if *repeat < 1 {
		fmt.Fprintln(os.Stderr, "tfbench: -repeat must be at least 1")
		os.Exit(2)
	}
	if err := run(ns, *parallelism, *repeat, *smoke); err != nil {
		fmt.Fprintln(os.Stderr, "tfbench:", err)
		os.Exit(1)
	}
}

func run(ns []int, parallelism, repeat int, smoke bool) error {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		return errors.New("terraform is not on PATH; install Terraform 1.11+")
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mlops-tfbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Println("building mlopsd and the provider into a filesystem mirror ...")
	mlopsdBin, err := harness.BuildMlopsd(root, tmp)
	if err != nil {
		return err
	}
	cliConfig, err := harness.BuildProviderMirror(root, filepath.Join(tmp, "mirror"))
	if err != nil {
		return err
	}
	ver, _ := exec.Command(tf, "version").Output()
	fmt.Printf("%s\nparallelism %d, N %v\n", strings.SplitN(string(ver), "\n", 2)[0], parallelism, ns)

	var results []result
	for _, n := range ns {
		// best holds, per case, the fastest of the repeats of each step.
		best := map[string][]result{}
		for rep := range repeat {
			order := slices.Clone(cases)
			if rep%2 == 1 {
				// Every other round in reverse, so that no case always
				// runs first (or last) when the machine's load drifts.
				slices.Reverse(order)
			}
			for _, c := range order {
				fmt.Printf("N=%d %s (%d of %d) ...\n", n, c.name, rep+1, repeat)
				dir := filepath.Join(tmp, fmt.Sprintf("%s-%d-%d", c.name, n, rep))
				rs, err := runCase(tf, cliConfig, mlopsdBin, dir, c, n, parallelism)
				if err != nil {
					return fmt.Errorf("n=%d %s: %w", n, c.name, err)
				}
				_ = os.RemoveAll(dir)
				if prev, ok := best[c.name]; ok {
					for i := range rs {
						if rs[i].wall < prev[i].wall {
							prev[i] = rs[i]
						}
					}
					continue
				}
				best[c.name] = rs
			}
		}
		for _, c := range cases {
			results = append(results, best[c.name]...)
		}
	}
	fmt.Println()
	fmt.Println(`null provider: not installable here (the Go module proxy has no buildable release of it); floor_resource (bench/cmd/floorprovider, a no-op provider on the same plugin framework) stands in for it`)
	printTable(results)
	if smoke {
		fmt.Println("smoke run: every step worked; the numbers at this N mean nothing")
	}
	return nil
}

func runCase(tf, cliConfig, mlopsdBin, dir string, c tfCase, n, parallelism int) ([]result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var srv *harness.Mlopsd
	endpoint := ""
	if c.mlops {
		var err error
		if srv, err = harness.StartMlopsd(mlopsdBin, dir); err != nil {
			return nil, err
		}
		defer srv.Stop()
		endpoint = srv.URL
		if err := seed(srv.URL); err != nil {
			return nil, fmt.Errorf("creating the environment and feature store: %w\n%s", err, srv.Output())
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(c.config(endpoint)), 0o600); err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
	)
	if _, err := terraform(tf, dir, env, nil, "init", "-no-color"); err != nil {
		return nil, err
	}
	vars := func(rev int) []string {
		return []string{"-var", fmt.Sprintf("n=%d", n), "-var", fmt.Sprintf("rev=%d", rev), "-no-color", fmt.Sprintf("-parallelism=%d", parallelism)}
	}
	args := map[string][]string{
		"create":      append([]string{"apply", "-auto-approve"}, vars(1)...),
		"plan(no-op)": append([]string{"plan", "-detailed-exitcode"}, vars(1)...),
		"update":      append([]string{"apply", "-auto-approve"}, vars(2)...),
		"destroy":     append([]string{"destroy", "-auto-approve"}, vars(2)...),
	}
	var out []result
	for _, step := range steps {
		r, err := terraform(tf, dir, env, srv, args[step]...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", step, err)
		}
		r.n, r.kase, r.step = n, c.name, step
		out = append(out, r)
	}
	return out, nil
}

// seed creates the environment and the feature store the resources live in.
func seed(url string) error {
	c, err := client.New(client.Config{Endpoint: url, RequestTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CreateEnvironment(ctx, benchEnv, api.EnvironmentSpec{}); err != nil {
		return err
	}
	_, err = c.CreateFeatureStore(ctx, benchEnv, benchStore, api.FeatureStoreSpec{
		OfflineStoreURI: "file:///tmp/mlops-bench-features",
		OnlineStore:     api.OnlineStoreNone,
	})
	return err
}

// terraform runs one terraform command, bounded to 30 minutes, and measures
// its wall time and the peak RSS of terraform and of its provider child.
func terraform(tf, dir string, env []string, srv *harness.Mlopsd, args ...string) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var mlopsCPU0 time.Duration
	if srv != nil {
		mlopsCPU0, _ = harness.ReadCPU(srv.Pid())
	}
	cmd := exec.CommandContext(ctx, tf, args...)
	cmd.Dir, cmd.Env = dir, env
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	sampler := harness.SamplePeaks(cmd.Process.Pid, "terraform-provi", 20*time.Millisecond)
	err := cmd.Wait()
	wall := time.Since(start)
	tfPeak, provPeak := sampler.Stop()
	if err != nil {
		// plan -detailed-exitcode: 2 means changes, which a no-op plan must not have.
		tail := buf.String()
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		return result{}, fmt.Errorf("terraform %s: %v\n%s", strings.Join(args, " "), err, tail)
	}
	r := result{wall: wall, tfRSS: tfPeak, provRSS: provPeak, provCPU: sampler.ChildCPU()}
	// rusage of terraform counts the providers it waited for too.
	r.tfCPU = max(0, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()-r.provCPU)
	// rusage covers terraform and its waited-for children (the provider),
	// so it is only a fallback for a process too short to sample.
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && r.tfRSS == 0 {
		r.tfRSS = ru.Maxrss
	}
	if srv != nil {
		if m, err := harness.ReadMemory(srv.Pid()); err == nil {
			r.mlopsRSS = m.HWM
		}
		if cpu, err := harness.ReadCPU(srv.Pid()); err == nil {
			r.mlopsCPU = cpu - mlopsCPU0
		}
	}
	return r, nil
}

func printTable(results []result) {
	base := map[string]time.Duration{}
	floor := map[string]time.Duration{}
	// twin holds each floor twin's times under the name of the mlops case
	// whose schema it declares.
	twin := map[string]time.Duration{}
	twinOf := map[string]string{}
	for _, c := range cases {
		if c.twinOf != "" {
			twinOf[c.name] = c.twinOf
		}
	}
	for _, r := range results {
		key := fmt.Sprintf("%d/%s", r.n, r.step)
		switch {
		case r.kase == "terraform_data":
			base[key] = r.wall
		case r.kase == floorCase:
			floor[key] = r.wall
		case twinOf[r.kase] != "":
			twin[fmt.Sprintf("%d/%s/%s", r.n, r.step, twinOf[r.kase])] = r.wall
		}
	}
	ratio := func(wall, b time.Duration) string {
		if b > 0 {
			return fmt.Sprintf("%.2f", float64(wall)/float64(b))
		}
		return "-"
	}
	cpu := func(d time.Duration) string {
		if d <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", d.Seconds())
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "N\tcase\tstep\twall s\t× terraform_data\t× floor\t× same-schema floor\tterraform CPU s\tprovider CPU s\tmlopsd CPU s\tterraform MiB\tprovider MiB\tmlopsd MiB\t")
	for _, r := range results {
		key := fmt.Sprintf("%d/%s", r.n, r.step)
		fmt.Fprintf(w, "%d\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.n, r.kase, r.step, r.wall.Seconds(),
			ratio(r.wall, base[key]), ratio(r.wall, floor[key]), ratio(r.wall, twin[key+"/"+r.kase]),
			cpu(r.tfCPU), cpu(r.provCPU), cpu(r.mlopsCPU),
			harness.MiB(r.tfRSS), harness.MiB(r.provRSS), harness.MiB(r.mlopsRSS))
	}
	_ = w.Flush()
}
