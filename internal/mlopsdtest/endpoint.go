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
func (s *Server) PutAlarm(ctx context.Context, env, name string, spec api.AlarmSpec, status api.AlarmStatus) error {
	ref := api.Ref{Kind: api.KindAlarm, Environment: env, Name: name}
	st, err := json.Marshal(status)
	if err != nil {
		return err
	}
	obj, err := s.Daemon.Store.Get(ctx, ref)
	var apiErr *api.Error
	if errors.As(err, &apiErr) && apiErr.Code == api.ENOTFOUND {
		sp, err := json.Marshal(spec)
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
	_, err = s.Daemon.Store.UpdateStatus(ctx, ref, obj.Meta.UID, st)
	return err
}

// DeleteAlarm removes an alarm PutAlarm wrote, e.g. so that its
// environment can be deleted.
func (s *Server) DeleteAlarm(ctx context.Context, env, name string) error {
	_, err := s.Daemon.Store.Delete(ctx, api.Ref{Kind: api.KindAlarm, Environment: env, Name: name}, false, store.WriteOptions{Actor: "test"})
	return err
}
