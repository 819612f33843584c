package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// ListAudit returns up to limit audit records with a sequence number greater
// than afterSeq, oldest first; afterSeq 0 starts at the beginning, and limit
// 0 lets mlopsd pick the page size. Pass the last Seq seen to read on.
func (c *Client) ListAudit(ctx context.Context, afterSeq int64, limit int) (*api.AuditRecordList, error) {
	q := url.Values{"after_seq": {strconv.FormatInt(afterSeq, 10)}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	return doJSON[api.AuditRecordList](ctx, c, request{method: http.MethodGet, path: "/v1/audit", query: q})
}
