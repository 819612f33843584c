package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/pipeline"
)

// maxLogBytes bounds how much of one step log the logs route reads: the
// end, which is what people look for.
const maxLogBytes = 8 << 20

// pipelineRunHandlers are the handlers of the pipeline routes beyond the
// generic object routes, by operation ID.
func (s *Server) pipelineRunHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		api.OpIDStartPipelineRun:   s.authed(s.requireRole(api.RoleInvoker, s.handleStartPipelineRun)),
		api.OpIDCancelPipelineRun:  s.authed(s.requireRole(api.RoleInvoker, s.handleCancelPipelineRun)),
		api.OpIDGetPipelineRunLogs: s.authed(s.requireRole(api.RoleViewer, s.handleGetPipelineRunLogs)),
	}
}

// registerPipelineRunRefusals answers writes of runs through the generic
// routes, which do not exist for runs, with a pointer to the ones that do,
// instead of a bare "no route".
func (s *Server) registerPipelineRunRefusals() {
	refuse := s.authed(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, api.NewError(api.EINVALID, "",
			"runs are started with POST /v1/environments/{env}/training-pipelines/{name}/runs and stopped with POST /v1/environments/{env}/pipeline-runs/{name}/cancel; a run's spec cannot be written directly"))
	})
	for _, pattern := range []string{
		"POST /v1/environments/{env}/" + api.KindPipelineRun,
		"PUT /v1/environments/{env}/" + api.KindPipelineRun + "/{name}",
	} {
		s.mux.Handle(pattern, s.instrument(pattern, refuse))
	}
}

// pathRef reads the {env} and {name} of a pipeline route.
func pathRef(r *http.Request, kind string) (api.Ref, error) {
	ref := api.Ref{Kind: kind, Environment: r.PathValue("env"), Name: r.PathValue("name")}
	if err := validateName("environment", ref.Environment); err != nil {
		return api.Ref{}, err
	}
	if err := validateName("name", ref.Name); err != nil {
		return api.Ref{}, err
	}
	return ref, nil
}

// handleStartPipelineRun starts a manual run. The run's name is chosen by
// the server; an Idempotency-Key makes a retry return the first run.
func (s *Server) handleStartPipelineRun(w http.ResponseWriter, r *http.Request) {
	ref, err := pathRef(r, api.KindTrainingPipeline)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var body api.StartRunRequest
	if err := readOptionalBody(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	canonical, _ := json.Marshal(body)
	opts, err := s.writeOptions(r, canonical)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := s.store.Get(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if obj.Meta.DeletionRequestedAt != nil {
		s.writeError(w, r, api.Errorf(api.ECONFLICT, "", "training pipeline %q in environment %q is being deleted; it starts no new runs", ref.Name, ref.Environment))
		return
	}
	var spec api.TrainingPipelineSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding %s: %w", obj.Ref(), err))
		return
	}
	params, err := pipeline.ResolveParameters(spec.Parameters, body.Parameters)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := pipeline.StartRun(r.Context(), s.store, obj, api.TriggerManual, params, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.notify(api.KindPipelineRun)
	s.sendObject(w, r, s.kinds[api.KindPipelineRun], res.Object, http.StatusCreated, res.Replayed)
}

// readOptionalBody decodes a JSON body into v; an empty body leaves v as it is.
func readOptionalBody(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return api.Errorf(api.EINVALID, "", "cannot read request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return api.Errorf(api.EINVALID, "", "request body is larger than %d bytes", maxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError("", body, v, true, err)
	}
	return nil
}

// handleCancelPipelineRun asks a run to stop by setting spec.cancel; the
// run reconciler kills its steps. A finished run is returned unchanged.
func (s *Server) handleCancelPipelineRun(w http.ResponseWriter, r *http.Request) {
	ref, err := pathRef(r, api.KindPipelineRun)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	opts, err := s.writeOptions(r, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	k := s.kinds[api.KindPipelineRun]
	obj, err := s.store.Get(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var spec api.PipelineRunSpec
	if err := json.Unmarshal(obj.Spec, &spec); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding %s: %w", obj.Ref(), err))
		return
	}
	var status api.PipelineRunStatus
	if err := json.Unmarshal(obj.Status, &status); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding %s: %w", obj.Ref(), err))
		return
	}
	if spec.Cancel || api.RunFinished(status.Phase) || obj.Meta.DeletionRequestedAt != nil {
		s.sendObject(w, r, k, obj, http.StatusOK, false)
		return
	}
	spec.Cancel = true
	raw, err := json.Marshal(spec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.store.UpdateSpec(r.Context(), ref, raw, opts)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.notify(api.KindPipelineRun)
	s.sendObject(w, r, k, res.Object, http.StatusOK, res.Replayed)
}

// handleGetPipelineRunLogs answers a run's step logs as text/plain: one
// step's attempt (query step, attempt; the latest by default), or the
// latest attempt of every started step, each after a header line. tail=N
// keeps the last N lines.
func (s *Server) handleGetPipelineRunLogs(w http.ResponseWriter, r *http.Request) {
	ref, err := pathRef(r, api.KindPipelineRun)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	tail := 0
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.writeError(w, r, api.NewError(api.EINVALID, "tail", "tail must be a whole number >= 0 (0 means the whole log)"))
			return
		}
		tail = n
	}
	offset := int64(-1)
	if v := q.Get("offset"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil || n < 0:
			s.writeError(w, r, api.NewError(api.EINVALID, "offset", "offset must be a whole number >= 0 (the "+api.HeaderLogSize+" of the previous answer)"))
			return
		case q.Get("step") == "":
			s.writeError(w, r, api.NewError(api.EINVALID, "offset", "offset needs step: name the step whose log to read on"))
			return
		case tail > 0:
			s.writeError(w, r, api.NewError(api.EINVALID, "offset", "offset and tail exclude each other: read on from an offset, or read the last lines"))
			return
		}
		offset = n
	}
	var attempt int64
	if v := q.Get("attempt"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.writeError(w, r, api.NewError(api.EINVALID, "attempt", "attempt must be a whole number >= 1"))
			return
		}
		if q.Get("step") == "" {
			s.writeError(w, r, api.NewError(api.EINVALID, "attempt", "attempt needs step: name the step whose attempt to show"))
			return
		}
		attempt = n
	}
	obj, err := s.store.Get(r.Context(), ref)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var status api.PipelineRunStatus
	if err := json.Unmarshal(obj.Status, &status); err != nil {
		s.writeError(w, r, fmt.Errorf("decoding %s: %w", obj.Ref(), err))
		return
	}
	var out strings.Builder
	if step := q.Get("step"); step != "" {
		var found *api.StepStatus
		var names []string
		for i := range status.Steps {
			names = append(names, status.Steps[i].Name)
			if status.Steps[i].Name == step {
				found = &status.Steps[i]
			}
		}
		if found == nil {
			s.writeError(w, r, api.Errorf(api.EINVALID, "step", "run %q has no step %q; its steps are %q", ref.Name, step, names))
			return
		}
		if attempt == 0 {
			attempt = found.Attempts
		}
		if attempt > found.Attempts {
			s.writeError(w, r, api.Errorf(api.EINVALID, "attempt", "step %q has made %d attempts so far; ask for attempt 1 to %d", step, found.Attempts, found.Attempts))
			return
		}
		if attempt > 0 {
			logPath := s.runs.LogPath(ref.Environment, ref.Name, step, attempt)
			var size int64
			if offset >= 0 {
				var text string
				text, size = readLogFrom(logPath, offset)
				out.WriteString(text)
			} else {
				var text string
				text, size = readLogTail(logPath)
				out.WriteString(text)
			}
			w.Header().Set(api.HeaderLogSize, strconv.FormatInt(size, 10))
		} else {
			w.Header().Set(api.HeaderLogSize, "0")
		}
	} else {
		for _, st := range status.Steps {
			if st.Attempts == 0 {
				continue
			}
			fmt.Fprintf(&out, "==> step %s attempt %d (%s) <==\n", st.Name, st.Attempts, st.Phase)
			text, _ := readLogTail(s.runs.LogPath(ref.Environment, ref.Name, st.Name, st.Attempts))
			out.WriteString(text)
			if text != "" && !strings.HasSuffix(text, "\n") {
				out.WriteString("\n")
			}
		}
	}
	text := out.String()
	if tail > 0 {
		text = lastLines(text, tail)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, text)
}

// readLogFrom returns at most maxLogBytes of a log from byte offset on, and
// the offset after what it returns, which the next read goes on from. A
// missing log, or an offset at or past its end, gives no text.
func readLogFrom(path string, offset int64) (string, int64) {
	f, err := os.Open(path)
	if err != nil {
		return "", offset
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "", offset
	}
	b, err := io.ReadAll(io.LimitReader(f, maxLogBytes))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", offset
	}
	return string(b), offset + int64(len(b))
}

// readLogTail returns the last maxLogBytes of a log and the offset where
// the text ends (the log's size when it was read); a missing log (the step
// has not written one yet, or the run's directory is gone) is empty.
func readLogTail(path string) (string, int64) {
	info, err := os.Stat(path)
	if err != nil {
		return "", 0
	}
	return readLogFrom(path, max(info.Size()-maxLogBytes, 0))
}

// lastLines returns the last n lines of text.
func lastLines(text string, n int) string {
	trimmed := strings.TrimSuffix(text, "\n")
	lines := strings.Split(trimmed, "\n")
	if len(lines) <= n {
		return text
	}
	return strings.Join(lines[len(lines)-n:], "\n") + "\n"
}
