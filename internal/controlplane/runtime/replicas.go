package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// Timeouts of model replicas.
const (
	// DefaultStartTimeout bounds how long a replica may take to serve.
	DefaultStartTimeout = 15 * time.Second
	// DefaultDrainTimeout bounds how long a stopped replica's requests in
	// flight may take before it is killed; the gateway gives up on a
	// replica after 30 seconds too.
	DefaultDrainTimeout = 30 * time.Second
)

// BackendKey names one replica of one model version of one endpoint variant.
type BackendKey struct {
	EndpointUID string
	Variant     string
	Version     string
	// CommandDigest is CommandDigest of the user command that serves the
	// replica, empty for the built-in runtime, so that replicas of one
	// version under another command are other replicas.
	CommandDigest string
	// Resources are the replica's CPU and memory requests, so that a
	// change of them starts other replicas (rolled out like a new
	// version).
	Resources api.ReplicaResources
	Replica   int
}

// BackendSpec is what one replica serves.
type BackendSpec struct {
	// ArtifactURI is the model version's artifact.
	ArtifactURI string
	// Command, when set, is the user program that serves the model
	// (api.EndpointVariant.Command) instead of the built-in runtime.
	Command []string
	// Resources are the replica's requests (api.ReplicaResources): a
	// built-in replica run as a process gets GOMAXPROCS and GOMEMLIMIT, a
	// user command MLOPS_CPU_MILLICORES and MLOPS_MEMORY_MIB. A built-in
	// replica inside mlopsd (LocalBackends) shares mlopsd's process, which
	// cannot apply them.
	Resources api.ReplicaResources
}

// resourceEnv is what a replica's environment says of its requests:
// MLOPS_CPU_MILLICORES and MLOPS_MEMORY_MIB for user commands, and with
// goRuntime (the built-in runtime, a Go program) GOMAXPROCS =
// ceil(millicores / 1000) and GOMEMLIMIT = memory_mib MiB instead. A request
// that is not set adds nothing.
func resourceEnv(r api.ReplicaResources, goRuntime bool) []string {
	var env []string
	if r.CPUMillicores > 0 {
		if goRuntime {
			env = append(env, "GOMAXPROCS="+strconv.FormatInt(r.GOMAXPROCS(), 10))
		} else {
			env = append(env, "MLOPS_CPU_MILLICORES="+strconv.FormatInt(r.CPUMillicores, 10))
		}
	}
	if r.MemoryMiB > 0 {
		if goRuntime {
			env = append(env, "GOMEMLIMIT="+strconv.FormatInt(r.MemoryMiB, 10)+"MiB")
		} else {
			env = append(env, "MLOPS_MEMORY_MIB="+strconv.FormatInt(r.MemoryMiB, 10))
		}
	}
	return env
}

// CommandDigest names a command in a BackendKey: a short hex digest of its
// arguments, "" for none.
func CommandDigest(command []string) string {
	if len(command) == 0 {
		return ""
	}
	b, _ := json.Marshal(command)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// ModelBackends starts and stops model replicas.
type ModelBackends interface {
	// Ensure starts the replica if it is not running and returns its base
	// URL once it serves. An artifact that cannot be loaded, or a command
	// that exits or does not answer GET /healthz in time, is an error and
	// leaves nothing running.
	Ensure(ctx context.Context, key BackendKey, spec BackendSpec) (string, error)
	// Running reports the URL of a running replica, "" when none.
	Running(key BackendKey) string
	// Stop stops a replica gracefully: it takes no new requests, and those
	// in flight may finish within the drain timeout. It returns at once;
	// the replica drains in the background. Stopping an unknown replica
	// does nothing.
	Stop(key BackendKey)
	// Keys lists the running replicas of an endpoint.
	Keys(endpointUID string) []BackendKey
	// Check asks a replica whether it serves: its health route, and a
	// prediction of zeros when the replica says how many inputs it takes
	// (the built-in runtime always does).
	Check(ctx context.Context, baseURL string) error
	// Close stops every replica gracefully and waits until they stopped.
	Close()
}

// replica is one running replica of a replicaSet.
type replica interface {
	baseURL() string
	// exited reports whether the replica's process ended by itself.
	exited() bool
	// userCommand reports whether a user command serves it.
	userCommand() bool
	// drain stops the replica gracefully within timeout and returns once
	// it stopped.
	drain(timeout time.Duration)
}

// replicaSet is the bookkeeping LocalBackends and ProcessBackends share.
type replicaSet struct {
	mu       sync.Mutex
	replicas map[BackendKey]replica
	// draining counts the replicas that are stopping in the background.
	draining sync.WaitGroup
	client   *http.Client
}

func newReplicaSet() replicaSet {
	return replicaSet{replicas: map[BackendKey]replica{}, client: &http.Client{Timeout: 5 * time.Second}}
}

// ensure returns the running replica of key, or starts one: with
// startCommandReplica when spec has a command, else with builtin.
func (s *replicaSet) ensure(ctx context.Context, key BackendKey, spec BackendSpec, startTimeout time.Duration,
	builtin func(context.Context) (replica, error),
) (string, error) {
	if u := s.running(key); u != "" {
		return u, nil
	}
	var r replica
	var err error
	if len(spec.Command) > 0 {
		r, err = startCommandReplica(ctx, spec, orDefault(startTimeout, DefaultStartTimeout), s.client)
	} else {
		r, err = builtin(ctx)
	}
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if other := s.replicas[key]; other != nil && !other.exited() {
		// Another caller started the same replica meanwhile: keep one.
		s.mu.Unlock()
		s.drainInBackground(r, 0)
		return other.baseURL(), nil
	}
	s.replicas[key] = r
	s.mu.Unlock()
	return r.baseURL(), nil
}

// running returns the URL of key's replica; one whose process ended is
// forgotten, so the reconciler starts it again.
func (s *replicaSet) running(key BackendKey) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.replicas[key]
	if r == nil {
		return ""
	}
	if r.exited() {
		delete(s.replicas, key)
		return ""
	}
	return r.baseURL()
}

func (s *replicaSet) stop(key BackendKey, timeout time.Duration) {
	s.mu.Lock()
	r := s.replicas[key]
	delete(s.replicas, key)
	s.mu.Unlock()
	if r != nil {
		s.drainInBackground(r, timeout)
	}
}

func (s *replicaSet) drainInBackground(r replica, timeout time.Duration) {
	s.draining.Add(1)
	go func() {
		defer s.draining.Done()
		r.drain(orDefault(timeout, DefaultDrainTimeout))
	}()
}

func (s *replicaSet) keys(endpointUID string) []BackendKey {
	s.mu.Lock()
	var out []BackendKey
	for k := range s.replicas {
		if k.EndpointUID == endpointUID {
			out = append(out, k)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Variant != b.Variant {
			return a.Variant < b.Variant
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		if a.CommandDigest != b.CommandDigest {
			return a.CommandDigest < b.CommandDigest
		}
		if a.Resources != b.Resources {
			if a.Resources.CPUMillicores != b.Resources.CPUMillicores {
				return a.Resources.CPUMillicores < b.Resources.CPUMillicores
			}
			return a.Resources.MemoryMiB < b.Resources.MemoryMiB
		}
		return a.Replica < b.Replica
	})
	return out
}

// check checks the replica at baseURL; the zeros prediction is required of
// built-in replicas only.
func (s *replicaSet) check(ctx context.Context, baseURL string) error {
	requireInputs := true
	s.mu.Lock()
	for _, r := range s.replicas {
		if r.baseURL() == baseURL && r.userCommand() {
			requireInputs = false
		}
	}
	s.mu.Unlock()
	return checkReplica(ctx, s.client, baseURL, requireInputs)
}

// close stops every replica and waits for them and for the ones already
// draining.
func (s *replicaSet) close(timeout time.Duration) {
	s.mu.Lock()
	rs := s.replicas
	s.replicas = map[BackendKey]replica{}
	s.mu.Unlock()
	for _, r := range rs {
		s.drainInBackground(r, timeout)
	}
	s.draining.Wait()
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
