package api

import (
	"fmt"
	"strings"
)

// ReplicaResources are the CPU and memory one replica of a model endpoint
// variant asks for. Both are optional: zero means no request. They are
// checked against the per-node capacity its compute pool declares
// (ComputePoolSpec.CPUPerNode, MemoryGiBPerNode), so that one replica fits
// on one node; the local driver does not probe the machine, as it records
// accelerators without probing them, so a local pool's capacity is what the
// pool declares.
//
// The model runtime passes them to each replica: a built-in replica run as
// its own process (mlopsd's default, -model-runtime process) gets GOMAXPROCS =
// ceil(CPUMillicores / 1000) and GOMEMLIMIT = MemoryMiB MiB, a soft limit of
// the Go runtime, not a hard cap; a replica served by a user command gets
// MLOPS_CPU_MILLICORES and MLOPS_MEMORY_MIB in its environment and is
// trusted to honour them. Built-in replicas served inside mlopsd's own
// process (-model-runtime inprocess) share its CPU and memory: there the
// requests are validated and recorded but not enforced.
type ReplicaResources struct {
	// CPUMillicores is the CPU of one replica in thousandths of a core,
	// MinCPUMillicores..MaxCPUMillicores; 0 means no request.
	CPUMillicores int64 `json:"cpu_millicores,omitempty"`
	// MemoryMiB is the memory of one replica in MiB (2^20 bytes),
	// MinMemoryMiB..MaxMemoryMiB; 0 means no request.
	MemoryMiB int64 `json:"memory_mib,omitempty"`
}

// Bounds of ReplicaResources. The maxima are the largest node a compute
// pool may declare (cpu_per_node 1024, memory_gib_per_node 16384).
const (
	MinCPUMillicores = 1
	MaxCPUMillicores = 1024 * 1000
	// MinMemoryMiB is the least memory a replica may ask for: below it
	// no model server, the built-in one included, starts.
	MinMemoryMiB = 16
	MaxMemoryMiB = 16384 * 1024
)

// IsZero reports whether no resources are requested.
func (r ReplicaResources) IsZero() bool { return r == ReplicaResources{} }

// String describes the requests, e.g. "cpu_millicores = 500, memory_mib =
// 256", or "no cpu or memory requests".
func (r ReplicaResources) String() string {
	var parts []string
	if r.CPUMillicores != 0 {
		parts = append(parts, fmt.Sprintf("cpu_millicores = %d", r.CPUMillicores))
	}
	if r.MemoryMiB != 0 {
		parts = append(parts, fmt.Sprintf("memory_mib = %d", r.MemoryMiB))
	}
	if len(parts) == 0 {
		return "no cpu or memory requests"
	}
	return strings.Join(parts, ", ")
}

// GOMAXPROCS is the GOMAXPROCS a Go replica with these requests runs with:
// ceil(CPUMillicores / 1000), 0 when no CPU is requested.
func (r ReplicaResources) GOMAXPROCS() int64 {
	if r.CPUMillicores <= 0 {
		return 0
	}
	return (r.CPUMillicores + 999) / 1000
}

// ValidateRequests checks the requests on their own. field is the path of the
// variant, e.g. spec.variants[0]; errors name field.cpu_millicores or
// field.memory_mib and say what to set.
func (r ReplicaResources) ValidateRequests(field string) error {
	if r.CPUMillicores < 0 || r.CPUMillicores > MaxCPUMillicores {
		return Errorf(EINVALID, field+".cpu_millicores",
			"is %d; it is the CPU of one replica in thousandths of a core (500 is half a core), between %d and %d, or leave it out for no request",
			r.CPUMillicores, MinCPUMillicores, MaxCPUMillicores)
	}
	if r.MemoryMiB < 0 || (r.MemoryMiB > 0 && r.MemoryMiB < MinMemoryMiB) || r.MemoryMiB > MaxMemoryMiB {
		return Errorf(EINVALID, field+".memory_mib",
			"is %d; it is the memory of one replica in MiB (1024 is 1 GiB), between %d and %d, or leave it out for no request",
			r.MemoryMiB, MinMemoryMiB, MaxMemoryMiB)
	}
	return nil
}

// FitProblem reports whether one replica with these requests fits on one
// node of pool, the compute pool named poolName. When it does not, attr is
// the attribute to blame (cpu_millicores or memory_mib) and msg says by how
// much and what to change; both are "" when it fits.
func (r ReplicaResources) FitProblem(poolName string, pool ComputePoolSpec) (attr, msg string) {
	if cpu := pool.CPUPerNode * 1000; r.CPUMillicores > cpu {
		return "cpu_millicores", fmt.Sprintf(
			"asks for %d millicores per replica, more than a node of compute pool %q has (cpu_per_node = %d, %d millicores); "+
				"lower cpu_millicores to at most %d, raise the pool's cpu_per_node, or use a pool with larger nodes",
			r.CPUMillicores, poolName, pool.CPUPerNode, cpu, cpu)
	}
	if mem := pool.MemoryGiBPerNode * 1024; r.MemoryMiB > mem {
		return "memory_mib", fmt.Sprintf(
			"asks for %d MiB per replica, more than a node of compute pool %q has (memory_gib_per_node = %d, %d MiB); "+
				"lower memory_mib to at most %d, raise the pool's memory_gib_per_node, or use a pool with larger nodes",
			r.MemoryMiB, poolName, pool.MemoryGiBPerNode, mem, mem)
	}
	return "", ""
}
