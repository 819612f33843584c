// Command echomodel is a user model server for tests of command replicas:
// it serves on 127.0.0.1:$PORT the API mlopsd expects of a model command.
// Its model is the JSON artifact at $MLOPS_ARTIFACT_PATH, {"scale": s};
// a prediction is s × the sum of the inputs, answered with the model URI it
// was given. GET /healthz reports MLOPS_CPU_MILLICORES and MLOPS_MEMORY_MIB
// when they are set. On SIGTERM it stops listening and finishes its
// requests.
//
// Flags make it misbehave the ways a real model server can:
//
//	-inputs n          GET /healthz says {"inputs": n}
//	-exit-with msg     print msg to stderr and exit 3 at once
//	-min-memory-mib n  exit 3 unless MLOPS_MEMORY_MIB is at least n, as a
//	                   model that does not fit in less memory would
//	-never-healthy     GET /healthz answers 503
//	-ignore-sigterm    ignore SIGTERM (only SIGKILL stops it)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	inputs := flag.Int("inputs", 0, "input count GET /healthz reports; 0 reports none")
	exitWith := flag.String("exit-with", "", "exit at once with this message")
	neverHealthy := flag.Bool("never-healthy", false, "answer GET /healthz with 503")
	ignoreTerm := flag.Bool("ignore-sigterm", false, "ignore SIGTERM")
	minMemory := flag.Int("min-memory-mib", 0, "exit unless MLOPS_MEMORY_MIB is at least this")
	flag.Parse()
	if *exitWith != "" {
		fmt.Fprintln(os.Stderr, *exitWith)
		os.Exit(3)
	}
	if mem, _ := strconv.Atoi(os.Getenv("MLOPS_MEMORY_MIB")); mem < *minMemory {
		fmt.Fprintf(os.Stderr, "echomodel: the model needs at least %d MiB, MLOPS_MEMORY_MIB is %q\n", *minMemory, os.Getenv("MLOPS_MEMORY_MIB"))
		os.Exit(3)
	}
	scale, err := loadScale(os.Getenv("MLOPS_ARTIFACT_PATH"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "echomodel:", err)
		os.Exit(1)
	}
	uri := os.Getenv("MLOPS_MODEL_URI")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if *neverHealthy {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		out := map[string]any{"status": "ok"}
		if *inputs > 0 {
			out["inputs"] = *inputs
		}
		// The replica's requests, as mlopsd passed them, for tests to see.
		for key, name := range map[string]string{"cpu_millicores": "MLOPS_CPU_MILLICORES", "memory_mib": "MLOPS_MEMORY_MIB"} {
			if v, ok := os.LookupEnv(name); ok {
				out[key] = v
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("POST /predict", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Inputs []float64 `json:"inputs"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Inputs) == 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"inputs\": [numbers]}"})
			return
		}
		sum := 0.0
		for _, x := range req.Inputs {
			sum += x
		}
		writeJSON(w, http.StatusOK, map[string]any{"prediction": scale * sum, "model_uri": uri})
	})
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	drained := make(chan struct{})
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		go func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			close(drained)
		}()
	}
	fmt.Printf("echomodel: serving %s on %s\n", uri, srv.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "echomodel:", err)
		os.Exit(1)
	}
	// ListenAndServe returns as soon as Shutdown starts; the requests in
	// flight finish before Shutdown returns.
	<-drained
}

func loadScale(path string) (float64, error) {
	if path == "" {
		return 1, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var m struct {
		Scale *float64 `json:"scale"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Scale == nil {
		return 0, fmt.Errorf("%s is not an echomodel artifact {\"scale\": number}", path)
	}
	return *m.Scale, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
