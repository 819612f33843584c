// Command provprof serves the provider in Terraform's debug (reattach) mode
// and writes a CPU profile of it, for profiling terraform runs of the
// provider (the issue asks for a profile of where the time goes):
//
//	go run ./bench/cmd/provprof -cpuprofile /tmp/prov.pprof > /tmp/reattach &
//	export TF_REATTACH_PROVIDERS="$(head -1 /tmp/reattach)"   # once it is printed
//	terraform plan ...                                         # any number of runs
//	kill -INT %1                                               # writes the profile
//	go tool pprof -top -cum /tmp/prov.pprof
//
// It serves the same provider as the plugin binary, with the same logging:
// the SDK's and the provider's loggers are off unless a TF_LOG* variable is
// set in provprof's own environment (in reattach mode Terraform's
// environment does not reach the provider). -sdk-logs keeps the SDK's
// default TRACE logging, to measure what it costs.
//
// It is a profiling tool, not a test; bench/README.md shows its use.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/mlops-as-code/terraform-provider-mlops/bench/internal/harness"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/provider"
)

func main() {
	out := flag.String("cpuprofile", "provider.cpu.pprof", "file the CPU profile is written to when provprof stops (SIGINT or SIGTERM)")
	sdkLogs := flag.Bool("sdk-logs", false, "keep terraform-plugin-log's default TRACE logging of the SDK, as the provider had it before it turned it off")
	memOut := flag.String("memprofile", "", "file a heap profile is written to when provprof stops (live objects after a GC, and the peak heap on stderr)")
	flag.Parse()
	if err := run(*out, *memOut, *sdkLogs); err != nil {
		fmt.Fprintln(os.Stderr, "provprof:", err)
		os.Exit(1)
	}
}

func run(out, memOut string, sdkLogs bool) error {
	if !sdkLogs {
		provider.QuietUnrequestedLogs(os.Getenv, os.Setenv)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	reattach := make(chan *plugin.ReattachConfig, 1)
	go func() {
		c, ok := <-reattach
		if !ok || c == nil {
			return
		}
		line, err := json.Marshal(map[string]any{harness.ProviderAddr: map[string]any{
			"Protocol": "grpc", "ProtocolVersion": 6, "Pid": c.Pid, "Test": true,
			"Addr": map[string]string{"Network": c.Addr.Network(), "String": c.Addr.String()},
		}})
		if err != nil {
			fmt.Fprintln(os.Stderr, "provprof:", err)
			return
		}
		// The one line on stdout: the value of TF_REATTACH_PROVIDERS.
		fmt.Println(string(line))
	}()
	err = tf6server.Serve(harness.ProviderAddr, providerserver.NewProtocol6(provider.New("prof")()),
		tf6server.WithDebug(ctx, reattach, nil), tf6server.WithoutLogStderrOverride())
	if memOut != "" {
		if merr := writeHeapProfile(memOut); merr != nil && err == nil {
			err = merr
		}
	}
	return err
}

// writeHeapProfile writes the live heap after a GC to path, and reports the
// heap's size now and the process's peak resident set on stderr.
func writeHeapProfile(path string) error {
	// Twice: the heap profile lags a collection behind.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if mem, err := harness.ReadMemory(os.Getpid()); err == nil {
		fmt.Fprintf(os.Stderr, "provprof: live heap %s MiB after GC, peak RSS %s MiB, %d goroutines\n", harness.MiB(int64(ms.HeapAlloc/1024)), harness.MiB(mem.HWM), runtime.NumGoroutine())
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.WriteHeapProfile(f)
}
