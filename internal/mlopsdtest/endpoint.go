package mlopsdtest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// AppendPredictions records perSecond predictions of an endpoint's variant
// (served by version) in each of the last seconds before now, in the
// metrics store, as the prediction gateway records them; autoscaling reads
// them.
func (s *Server) AppendPredictions(tb testing.TB, env, endpoint, variant, version string, perSecond int64, seconds int) {
	tb.Helper()
	end := time.Now().UTC().Truncate(time.Second)
	points := make([]store.MetricPoint, 0, seconds)
	for i := 1; i <= seconds; i++ {
		points = append(points, store.MetricPoint{
			Environment: env, Series: api.SeriesPredictions, Endpoint: endpoint, Variant: variant, ModelVersion: version,
			Time: end.Add(-time.Duration(i) * time.Second), Count: perSecond, Sum: float64(perSecond), Min: 1, Max: 1,
		})
	}
	if err := s.Daemon.Store.AppendMetrics(tb.Context(), points); err != nil {
		tb.Fatalf("appending predictions: %v", err)
	}
}

// PutAlarm writes alarm name in env straight into the store with the given
// spec (on create) and status, as the alarm evaluator would set it. It may
// be called from any goroutine.
//
// Unless status says otherwise, the status is marked evaluated on the
// object's generation up to the end of the current period, as the
// evaluator marks what it wrote: the running evaluator then leaves it
// alone until the next period ends, instead of overwriting it at once
// with what the (absent) metrics say.
func (s *Server) PutAlarm(ctx context.Context, env, name string, spec api.AlarmSpec, status api.AlarmStatus) error {
	ref := api.Ref{Kind: api.KindAlarm, Environment: env, Name: name}
	obj, err := s.Daemon.Store.Get(ctx, ref)
	var apiErr *api.Error
	if errors.As(err, &apiErr) && apiErr.Code == api.ENOTFOUND {
		sp, err := json.Marshal(spec)
		if err != nil {
			return err
		}
		st, err := json.Marshal(evaluated(status, spec, 1))
		if err != nil {
			return err
		}
		_, err = s.Daemon.Store.Create(ctx, &store.Object{Kind: api.KindAlarm, Meta: api.Metadata{Name: name, Environment: env}, Spec: sp, Status: st},
			store.WriteOptions{Actor: "test"})
		return err
	}
	if err != nil {
		return err
	}
	var cur api.AlarmSpec
	if err := json.Unmarshal(obj.Spec, &cur); err != nil {
		return err
	}
	st, err := json.Marshal(evaluated(status, cur, obj.Meta.Generation))
	if err != nil {
		return err
	}
	_, err = s.Daemon.Store.UpdateStatus(ctx, ref, obj.Meta.UID, st)
	return err
}

// evaluated fills in what the evaluator records with every evaluation of
// generation: the generation and the end of the newest whole period.
func evaluated(st api.AlarmStatus, spec api.AlarmSpec, generation int64) api.AlarmStatus {
	if st.ObservedGeneration == 0 {
		st.ObservedGeneration = generation
	}
	if st.LastEvaluatedAt == nil {
		period := time.Duration(max(spec.PeriodSeconds, 1)) * time.Second
		end := time.Now().UTC().Truncate(period)
		st.LastEvaluatedAt = &end
	}
	return st
}

// DeleteAlarm removes an alarm PutAlarm wrote, e.g. so that its
// environment can be deleted.
func (s *Server) DeleteAlarm(ctx context.Context, env, name string) error {
	_, err := s.Daemon.Store.Delete(ctx, api.Ref{Kind: api.KindAlarm, Environment: env, Name: name}, false, store.WriteOptions{Actor: "test"})
	return err
}
