// Command mlopsdprof is mlopsd for profiling: the same daemon (store, API
// server, reconcilers) as cmd/mlopsd, on SQLite or PostgreSQL, that writes
// a CPU profile of its whole life to -cpuprofile and stops it on SIGINT or
// SIGTERM. cpbench -cpuprofile runs it in place of mlopsd; read the result
// with go tool pprof -top -cum <file>.
//
// It takes the flags of cmd/mlopsd that the benchmarks use, and ignores
// -log-level beyond warn and error.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/daemon"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	data := flag.String("data", "./mlops.db", "SQLite database file")
	databaseURL := flag.String("database-url", "", "PostgreSQL database instead of the SQLite file")
	interval := flag.Duration("reconcile-interval", 500*time.Millisecond, "time between reconcile passes")
	cpuprofile := flag.String("cpuprofile", "mlopsd.cpu.pprof", "file the CPU profile is written to")
	flag.String("log-level", "warn", "ignored: logs at warn")
	flag.Parse()
	if err := run(*addr, *data, *databaseURL, *interval, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "mlopsdprof:", err)
		os.Exit(1)
	}
}

func run(addr, data, databaseURL string, interval time.Duration, cpuprofile string) error {
	f, err := os.Create(cpuprofile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if databaseURL != "" {
		data = ""
	}
	d, err := daemon.New(daemon.Config{
		Addr:              addr,
		DataPath:          data,
		DatabaseURL:       databaseURL,
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		ReconcileInterval: interval,
		ModelRuntime:      daemon.ModelRuntimeInProcess,
		Version:           "prof",
	})
	if err != nil {
		return err
	}
	ln, err := d.Listen()
	if err != nil {
		_ = d.Close()
		return err
	}
	d.RunReconcilers()
	served := make(chan error, 1)
	go func() { served <- d.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-served:
		_ = d.Close()
		return err
	}
	return d.Close()
}
