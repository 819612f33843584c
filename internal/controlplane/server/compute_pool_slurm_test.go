package server

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func TestComputePoolRules_Slurm(t *testing.T) {
	cases := []struct {
		name   string
		slurm  bool
		raw    string
		field  string // "" means accepted
		inMsg  string
		wantOK string // a substring of the canonical spec
	}{
		{"RefusedWithoutCluster", false, `{"max_nodes":1,"driver":"slurm"}`, "spec.driver", "-slurm-conf", ""},
		{"Accepted", true, `{"max_nodes":1,"driver":"slurm","accelerator_type":"nvidia-tesla","accelerator_count":2}`, "", "", `"driver":"slurm"`},
		{"Partition", true, `{"max_nodes":1,"driver":"slurm","slurm_partition":"gpu.a100_x"}`, "", "", `"slurm_partition":"gpu.a100_x"`},
		{"PartitionOnLocal", true, `{"max_nodes":1,"slurm_partition":"gpu"}`, "spec.slurm_partition", "only for driver slurm", ""},
		{"BadPartition", true, `{"max_nodes":1,"driver":"slurm","slurm_partition":"gpu a"}`, "spec.slurm_partition", "not a valid Slurm partition name", ""},
		{"UnknownDriver", true, `{"max_nodes":1,"driver":"k8s"}`, "spec.driver", "", ""},
		{"LocalOmitsPartition", false, `{"max_nodes":1}`, "", "", `"driver":"local"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := computePoolKindWith(poolOptions{slurm: c.slurm}).decodeSpec(json.RawMessage(c.raw))
			if c.field == "" {
				if err != nil || !strings.Contains(string(out), c.wantOK) || (c.name == "LocalOmitsPartition" && strings.Contains(string(out), "slurm_partition")) {
					t.Fatalf("decodeSpec(%s) = %s, %v", c.raw, out, err)
				}
				return
			}
			var apiErr *api.Error
			if !errors.As(err, &apiErr) || apiErr.Code != api.EINVALID || apiErr.Field != c.field || !strings.Contains(apiErr.Message, c.inMsg) {
				t.Fatalf("decodeSpec(%s) = %v, want %s on %s mentioning %q", c.raw, err, api.EINVALID, c.field, c.inMsg)
			}
		})
	}
	k := computePoolKindWith(poolOptions{slurm: true})
	old := &api.ComputePoolSpec{Driver: api.DriverSlurm, SlurmPartition: "a"}
	if err := k.immutable(old, &api.ComputePoolSpec{Driver: api.DriverSlurm, SlurmPartition: "b"}); err == nil || !strings.Contains(err.Error(), "spec.slurm_partition") {
		t.Errorf("changing slurm_partition: %v, want an immutability error", err)
	}
}
