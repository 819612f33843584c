package api_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func TestReplicaResourcesValidateRequests(t *testing.T) {
	for _, tc := range []struct {
		name  string
		r     api.ReplicaResources
		field string // "" when valid
		hint  string
	}{
		{"None", api.ReplicaResources{}, "", ""},
		{"Both", api.ReplicaResources{CPUMillicores: 500, MemoryMiB: 256}, "", ""},
		{"CPUOnly", api.ReplicaResources{CPUMillicores: 1}, "", ""},
		{"MemoryOnly", api.ReplicaResources{MemoryMiB: api.MinMemoryMiB}, "", ""},
		{"Maxima", api.ReplicaResources{CPUMillicores: api.MaxCPUMillicores, MemoryMiB: api.MaxMemoryMiB}, "", ""},
		{"NegativeCPU", api.ReplicaResources{CPUMillicores: -1}, "spec.variants[1].cpu_millicores", "thousandths of a core"},
		{"HugeCPU", api.ReplicaResources{CPUMillicores: api.MaxCPUMillicores + 1}, "spec.variants[1].cpu_millicores", "between 1 and 1024000"},
		{"NegativeMemory", api.ReplicaResources{CPUMillicores: 100, MemoryMiB: -5}, "spec.variants[1].memory_mib", "leave it out"},
		{"TinyMemory", api.ReplicaResources{MemoryMiB: api.MinMemoryMiB - 1}, "spec.variants[1].memory_mib", "between 16 and"},
		{"HugeMemory", api.ReplicaResources{MemoryMiB: api.MaxMemoryMiB + 1}, "spec.variants[1].memory_mib", "1024 is 1 GiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.ValidateRequests("spec.variants[1]")
			if tc.field == "" {
				if err != nil {
					t.Fatalf("ValidateRequests(%+v) = %v, want nil", tc.r, err)
				}
				return
			}
			var apiErr *api.Error
			if !errors.As(err, &apiErr) || apiErr.Code != api.EINVALID || apiErr.Field != tc.field || !strings.Contains(apiErr.Message, tc.hint) {
				t.Fatalf("ValidateRequests(%+v) = %#v, want invalid %s mentioning %q", tc.r, err, tc.field, tc.hint)
			}
		})
	}
}

func TestReplicaResourcesFitProblem(t *testing.T) {
	pool := api.ComputePoolSpec{CPUPerNode: 2, MemoryGiBPerNode: 4}
	for _, tc := range []struct {
		r          api.ReplicaResources
		attr, hint string
	}{
		{api.ReplicaResources{}, "", ""},
		{api.ReplicaResources{CPUMillicores: 2000, MemoryMiB: 4096}, "", ""},
		{api.ReplicaResources{CPUMillicores: 2001}, "cpu_millicores", "lower cpu_millicores to at most 2000"},
		{api.ReplicaResources{CPUMillicores: 500, MemoryMiB: 4097}, "memory_mib", "lower memory_mib to at most 4096"},
	} {
		attr, msg := tc.r.FitProblem("small", pool)
		if attr != tc.attr || !strings.Contains(msg, tc.hint) || (tc.attr != "" && !strings.Contains(msg, `compute pool "small"`)) {
			t.Errorf("FitProblem(%+v) = %q, %q; want %q mentioning %q", tc.r, attr, msg, tc.attr, tc.hint)
		}
	}
}

func TestReplicaResourcesGOMAXPROCS(t *testing.T) {
	for in, want := range map[int64]int64{0: 0, 1: 1, 999: 1, 1000: 1, 1001: 2, 2500: 3} {
		if got := (api.ReplicaResources{CPUMillicores: in}).GOMAXPROCS(); got != want {
			t.Errorf("GOMAXPROCS(%d millicores) = %d, want %d", in, got, want)
		}
	}
}
