package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
)

// GetPipelineRun reads a pipeline run. Returns an error that IsNotFound when
// it does not exist.
func (c *Client) GetPipelineRun(ctx context.Context, env, name string) (*api.PipelineRun, error) {
	return getObject[api.PipelineRun](ctx, c, api.KindPipelineRun, env, name)
}

// ListPipelineRuns returns one page of the pipeline runs in environment env,
// of every pipeline, ordered by name.
func (c *Client) ListPipelineRuns(ctx context.Context, env string, opts api.ListOptions) (*api.PipelineRunList, error) {
	return listObjects[api.PipelineRunList](ctx, c, api.KindPipelineRun, env, opts)
}

// DeletePipelineRun deletes a run, its logs and outputs (registered
// artifacts stay); a missing one counts as deleted. Pending in the result
// means its steps are being stopped first.
func (c *Client) DeletePipelineRun(ctx context.Context, env, name string) (*DeleteResult, error) {
	return deleteObject(ctx, c, api.KindPipelineRun, env, name)
}

// CancelPipelineRun asks a run to stop and returns it; the run ends
// cancelled once its steps are gone. Cancelling a finished run changes
// nothing.
func (c *Client) CancelPipelineRun(ctx context.Context, env, name string) (*api.PipelineRun, error) {
	path, err := objectPath(api.KindPipelineRun, env, name)
	if err != nil {
		return nil, err
	}
	return doJSON[api.PipelineRun](ctx, c, request{method: http.MethodPost, path: path + "/cancel"})
}

// LogOptions select what GetPipelineRunLogs returns.
type LogOptions struct {
	// Step is the step whose log to read; empty means the latest attempt
	// of every step that started, each after a header line.
	Step string
	// Attempt is the step's attempt, from 1; 0 means the latest.
	Attempt int64
	// Tail keeps the last Tail lines; 0 means all.
	Tail int
}

// GetPipelineRunLogs returns a run's step logs as text. Returns an error
// that IsNotFound when the run does not exist and IsInvalid for an unknown
// step or attempt.
func (c *Client) GetPipelineRunLogs(ctx context.Context, env, name string, opts LogOptions) (string, error) {
	path, err := objectPath(api.KindPipelineRun, env, name)
	if err != nil {
		return "", err
	}
	q := url.Values{}
	if opts.Step != "" {
		q.Set("step", opts.Step)
	}
	if opts.Attempt > 0 {
		q.Set("attempt", strconv.FormatInt(opts.Attempt, 10))
	}
	if opts.Tail > 0 {
		q.Set("tail", strconv.Itoa(opts.Tail))
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path + "/logs", query: q})
	if err != nil {
		return "", err
	}
	return string(resp.body), nil
}

// LogChunk is a piece of one step attempt's log.
type LogChunk struct {
	// Text is the log from the requested offset on.
	Text string
	// Next is the offset where Text ends, to read on from; -1 when mlopsd
	// does not say (one that predates offsets, which sent the whole log).
	Next int64
}

// ReadPipelineRunLog returns step attempt's log (attempt 0: the latest)
// from byte offset on, at most 8 MiB of it, for a caller that follows a
// log as it grows.
func (c *Client) ReadPipelineRunLog(ctx context.Context, env, name, step string, attempt, offset int64) (*LogChunk, error) {
	path, err := objectPath(api.KindPipelineRun, env, name)
	if err != nil {
		return nil, err
	}
	q := url.Values{"step": {step}, "offset": {strconv.FormatInt(offset, 10)}}
	if attempt > 0 {
		q.Set("attempt", strconv.FormatInt(attempt, 10))
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path + "/logs", query: q})
	if err != nil {
		return nil, err
	}
	chunk := &LogChunk{Text: string(resp.body), Next: -1}
	if v := resp.header.Get(api.HeaderLogSize); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			chunk.Next = n
		}
	}
	return chunk, nil
}
