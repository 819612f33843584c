package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

func TestListAudit_Filters(t *testing.T) {
	c := MustStart(t)
	createEnv(c, "dev", api.EnvironmentSpec{})
	createEnv(c, "prod", api.EnvironmentSpec{})
	c.must(http.StatusOK, http.MethodPut, envPath("dev"), api.UpdateEnvironmentRequest{Spec: api.EnvironmentSpec{Description: "x"}})
	createPool(c, "dev", "gpu", gpuPool("nvidia-a100", 1, 0, 1))

	list := func(q string) api.AuditRecordList {
		t.Helper()
		return decode[api.AuditRecordList](t, c.must(http.StatusOK, http.MethodGet, "/v1/audit?"+q, nil))
	}
	all := list("")
	if len(all.Items) != 4 {
		t.Fatalf("audit log = %d records, want 4", len(all.Items))
	}
	for i, rec := range all.Items {
		if len(rec.Hash) != 64 || (i > 0 && rec.PrevHash != all.Items[i-1].Hash) {
			t.Fatalf("record %d is not chained: %+v", rec.Seq, rec)
		}
	}
	seqs := func(l api.AuditRecordList) []int64 {
		out := []int64{}
		for _, r := range l.Items {
			out = append(out, r.Seq)
		}
		return out
	}
	for q, want := range map[string][]int64{
		"environment=dev":                   {1, 3, 4},
		"environment=dev&kind=environments": {1, 3},
		"kind=compute-pools&name=gpu":       {4},
		"actor=anonymous&environment=prod":  {2},
		"actor=nobody":                      {},
		"since=" + url.QueryEscape(all.Items[2].Time.Format(time.RFC3339Nano)): {3, 4},
		"until=" + url.QueryEscape(all.Items[2].Time.Format(time.RFC3339Nano)): {1, 2},
	} {
		if got := seqs(list(q)); !equalInts(got, want) {
			t.Errorf("%s: seqs %v, want %v", q, got, want)
		}
	}

	page := list("environment=dev&limit=2")
	if !equalInts(seqs(page), []int64{1, 3}) || page.NextPageToken != "3" {
		t.Fatalf("first page = %v, token %q", seqs(page), page.NextPageToken)
	}
	if page = list("environment=dev&limit=2&page_token=3"); !equalInts(seqs(page), []int64{4}) || page.NextPageToken != "" {
		t.Fatalf("second page = %v, token %q", seqs(page), page.NextPageToken)
	}

	// Newest first: the newest page, then on with page_token or before_seq.
	for q, want := range map[string][]int64{
		"order=desc":                          {4, 3, 2, 1},
		"order=desc&environment=dev":          {4, 3, 1},
		"order=desc&before_seq=4":             {3, 2, 1},
		"order=desc&before_seq=4&after_seq=1": {3, 2},
		"order=asc&after_seq=2":               {3, 4},
	} {
		if got := seqs(list(q)); !equalInts(got, want) {
			t.Errorf("%s: seqs %v, want %v", q, got, want)
		}
	}
	page = list("order=desc&environment=dev&limit=2")
	if !equalInts(seqs(page), []int64{4, 3}) || page.NextPageToken != "3" {
		t.Fatalf("newest page = %v, token %q", seqs(page), page.NextPageToken)
	}
	if page = list("order=desc&environment=dev&limit=2&page_token=3"); !equalInts(seqs(page), []int64{1}) || page.NextPageToken != "" {
		t.Fatalf("older page = %v, token %q", seqs(page), page.NextPageToken)
	}
	// A full newest-first page ending at seq 1 has nothing older.
	if page = list("order=desc&limit=2&before_seq=3"); !equalInts(seqs(page), []int64{2, 1}) || page.NextPageToken != "" {
		t.Fatalf("oldest page = %v, token %q", seqs(page), page.NextPageToken)
	}

	for q, field := range map[string]string{
		"order=newest":                         "order",
		"order=desc&page_token=3&before_seq=2": "page_token",
		"before_seq=x":                         "before_seq",
		"since=yesterday":                      "since",
		"until=2030-01-02":                     "until",
		"since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z": "until",
		"page_token=x": "page_token",
		"after_seq=-1": "after_seq",
		"limit=0":      "limit",
	} {
		wantError(t, c.do(http.MethodGet, "/v1/audit?"+q, nil), http.StatusBadRequest, api.EINVALID, field)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
