package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

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

// QueryAudit returns one page of the audit records q selects, oldest first
// (newest first with q.Newest); pass the page's NextPageToken back as
// q.AfterSeq (or q.BeforeSeq when newest first) to read on.
func (c *Client) QueryAudit(ctx context.Context, q api.AuditQuery) (*api.AuditRecordList, error) {
	v := url.Values{}
	for name, val := range map[string]string{
		api.AuditParamEnvironment: q.Environment,
		api.AuditParamKind:        q.Kind,
		api.AuditParamName:        q.Name,
		api.AuditParamActor:       q.Actor,
	} {
		if val != "" {
			v.Set(name, val)
		}
	}
	if !q.Since.IsZero() {
		v.Set(api.AuditParamSince, q.Since.Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set(api.AuditParamUntil, q.Until.Format(time.RFC3339Nano))
	}
	if q.AfterSeq > 0 {
		v.Set(api.AuditParamAfterSeq, strconv.FormatInt(q.AfterSeq, 10))
	}
	if q.Newest {
		v.Set(api.AuditParamOrder, "desc")
	}
	if q.BeforeSeq > 0 {
		v.Set(api.AuditParamBeforeSeq, strconv.FormatInt(q.BeforeSeq, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return doJSON[api.AuditRecordList](ctx, c, request{method: http.MethodGet, path: "/v1/audit", query: v})
}

// QueryAuditRecords returns up to n of the records q selects, reading page
// after page: the oldest first, or the newest first with q.Newest.
func (c *Client) QueryAuditRecords(ctx context.Context, q api.AuditQuery, n int) ([]api.AuditRecord, error) {
	recs := []api.AuditRecord{}
	for len(recs) < n {
		q.Limit = min(n-len(recs), api.MaxPageSize)
		page, err := c.QueryAudit(ctx, q)
		if err != nil {
			return nil, err
		}
		recs = append(recs, page.Items...)
		if page.NextPageToken == "" || len(page.Items) == 0 {
			break
		}
		last := page.Items[len(page.Items)-1].Seq
		if q.Newest {
			q.BeforeSeq = last
		} else {
			q.AfterSeq = last
		}
	}
	return recs, nil
}

// VerifyAudit asks mlopsd to verify the whole audit log's hash chain (admin
// only), the same check as mlopsd audit verify.
func (c *Client) VerifyAudit(ctx context.Context) (*api.AuditVerification, error) {
	return doJSON[api.AuditVerification](ctx, c, request{method: http.MethodGet, path: "/v1/audit/verify"})
}

// WhoAmI returns who the client's token acts as and its roles by
// environment.
func (c *Client) WhoAmI(ctx context.Context) (*api.WhoAmI, error) {
	return doJSON[api.WhoAmI](ctx, c, request{method: http.MethodGet, path: "/v1/whoami"})
}
