package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mlops-as-code/terraform-provider-mlops/internal/api"
	"github.com/mlops-as-code/terraform-provider-mlops/internal/controlplane/store"
)

// The routes the console reads and acts through: whoami, audit verify,
// alarm acknowledge and per-endpoint metrics.

func TestWhoAmI(t *testing.T) {
	t.Run("AuthOff", func(t *testing.T) {
		c := MustStart(t)
		got := decode[api.WhoAmI](t, c.must(http.StatusOK, http.MethodGet, "/v1/whoami", nil))
		if got.Actor != "anonymous" || !got.Admin || got.AuthEnabled || got.Subject != api.SubjectAdmin {
			t.Fatalf("whoami = %+v", got)
		}
	})
	t.Run("RBAC", func(t *testing.T) {
		admin, c := rbacFixture(t)
		got := decode[api.WhoAmI](t, admin.must(http.StatusOK, http.MethodGet, "/v1/whoami", nil))
		if !got.Admin || !got.AuthEnabled || got.Actor != "admin" {
			t.Fatalf("admin whoami = %+v", got)
		}
		got = decode[api.WhoAmI](t, c["viewer"].must(http.StatusOK, http.MethodGet, "/v1/whoami", nil))
		if got.Admin || got.Subject != "viewer" || got.Actor != "service-account:viewer" || got.Roles["dev"] != api.RoleViewer || len(got.Roles) != 1 {
			t.Fatalf("viewer whoami = %+v", got)
		}
		got = decode[api.WhoAmI](t, c["nobody"].must(http.StatusOK, http.MethodGet, "/v1/whoami", nil))
		if got.Admin || len(got.Roles) != 0 {
			t.Fatalf("nobody whoami = %+v", got)
		}
		wantError(t, admin.as("").do(http.MethodGet, "/v1/whoami", nil), http.StatusUnauthorized, api.EUNAUTHORIZED, "")
	})
}

func TestVerifyAudit(t *testing.T) {
	admin, c := rbacFixture(t)
	got := decode[api.AuditVerification](t, admin.must(http.StatusOK, http.MethodGet, "/v1/audit/verify", nil))
	if !got.Intact || got.BrokenAtSeq != 0 || got.CheckedAt.IsZero() {
		t.Fatalf("verify = %+v", got)
	}
	wantError(t, c["owner"].do(http.MethodGet, "/v1/audit/verify", nil), http.StatusForbidden, api.EFORBIDDEN, "")
}

// alarmInAlarm creates a custom-metric alarm over points that breach and
// waits until it is in ALARM.
func alarmInAlarm(t *testing.T, admin *apiClient, name string) api.Alarm {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	var points []store.MetricPoint
	for s := -10; s <= 60; s++ {
		points = append(points, store.MetricPoint{Environment: "dev", Series: api.CustomSeriesPrefix + "queue_depth",
			Time: now.Add(time.Duration(s) * time.Second), Count: 1, Sum: 10, Min: 10, Max: 10, Samples: []float64{10}})
	}
	if err := admin.srv.Daemon.Store.AppendMetrics(context.Background(), points); err != nil {
		t.Fatal(err)
	}
	spec := api.AlarmSpec{Metric: api.AlarmMetricCustom, MetricName: "queue_depth", Comparison: api.ComparisonGreaterThan,
		Threshold: "5", PeriodSeconds: 1, EvaluationPeriods: 2}
	admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindAlarm, ""), api.CreateAlarmRequest{Name: name, Spec: spec})
	r := admin.waitFor(objPath("dev", api.KindAlarm, name), 20*time.Second, func(r response) bool {
		a := decode[api.Alarm](t, r)
		return a.Status.Settled(a.Metadata.Generation) && a.Status.State == api.AlarmStateAlarm
	})
	return decode[api.Alarm](t, r)
}

func TestAcknowledgeAlarm(t *testing.T) {
	admin, c := rbacFixture(t)
	ackPath := objPath("dev", api.KindAlarm, "backlog") + "/acknowledge"
	t.Run("ErrNotInAlarm", func(t *testing.T) {
		spec := api.AlarmSpec{Metric: api.AlarmMetricCustom, MetricName: "nothing_here", Comparison: api.ComparisonGreaterThan,
			Threshold: "5", PeriodSeconds: 60, EvaluationPeriods: 1}
		admin.must(http.StatusCreated, http.MethodPost, objPath("dev", api.KindAlarm, ""), api.CreateAlarmRequest{Name: "quiet", Spec: spec})
		wantError(t, c["invoker"].do(http.MethodPost, objPath("dev", api.KindAlarm, "quiet")+"/acknowledge", api.AcknowledgeAlarmRequest{}),
			http.StatusConflict, api.ECONFLICT, "")
	})
	a := alarmInAlarm(t, admin, "backlog")
	t.Run("ErrViewer", func(t *testing.T) {
		wantError(t, c["viewer"].do(http.MethodPost, ackPath, api.AcknowledgeAlarmRequest{Reason: "x"}), http.StatusForbidden, api.EFORBIDDEN, "")
	})
	t.Run("ErrReasonTooLong", func(t *testing.T) {
		wantError(t, c["invoker"].do(http.MethodPost, ackPath, api.AcknowledgeAlarmRequest{Reason: strings.Repeat("x", api.MaxAcknowledgeReasonBytes+1)}),
			http.StatusBadRequest, api.EINVALID, "reason")
	})
	t.Run("OK", func(t *testing.T) {
		got := decode[api.Alarm](t, c["invoker"].must(http.StatusOK, http.MethodPost, ackPath, api.AcknowledgeAlarmRequest{Reason: "scaling the queue"}))
		acks := got.Spec.Acknowledgements
		if len(acks) != 1 || acks[0].By != "service-account:invoker" || acks[0].Reason != "scaling the queue" ||
			acks[0].Transition != a.Status.TransitionCount || acks[0].At.IsZero() {
			t.Fatalf("acknowledgements = %+v", acks)
		}
		// Again: the same transition is acknowledged once.
		again := decode[api.Alarm](t, c["owner"].must(http.StatusOK, http.MethodPost, ackPath, api.AcknowledgeAlarmRequest{Reason: "me too"}))
		if len(again.Spec.Acknowledgements) != 1 || again.Metadata.Generation != got.Metadata.Generation {
			t.Fatalf("second acknowledgement changed the alarm: %+v", again.Spec.Acknowledgements)
		}
		recs := decode[api.AuditRecordList](t, admin.must(http.StatusOK, http.MethodGet, "/v1/audit?environment=dev&kind=alarms&name=backlog", nil))
		last := recs.Items[len(recs.Items)-1]
		if last.Action != api.AuditUpdate || last.Actor != "service-account:invoker" {
			t.Fatalf("last audit record = %+v", last)
		}
	})
	t.Run("UpdateKeepsAcknowledgements", func(t *testing.T) {
		cur := decode[api.Alarm](t, admin.must(http.StatusOK, http.MethodGet, objPath("dev", api.KindAlarm, "backlog"), nil))
		spec := cur.Spec
		spec.Description = "queue backlog"
		spec.Acknowledgements = []api.AlarmAcknowledgement{{Transition: 99, By: "forged"}}
		got := decode[api.Alarm](t, admin.must(http.StatusOK, http.MethodPut, objPath("dev", api.KindAlarm, "backlog"), api.UpdateAlarmRequest{Spec: spec}))
		if len(got.Spec.Acknowledgements) != 1 || got.Spec.Acknowledgements[0].By != "service-account:invoker" || got.Spec.Description != "queue backlog" {
			t.Fatalf("acknowledgements after update = %+v", got.Spec.Acknowledgements)
		}
	})
}

func TestEndpointMetrics(t *testing.T) {
	admin, c := endpointFixture(t)
	until := time.Now().UTC().Truncate(time.Minute)
	since := until.Add(-10 * time.Minute)
	points := []store.MetricPoint{
		{Environment: "dev", Series: api.SeriesPredictions, Endpoint: "api", Variant: "primary", ModelVersion: "v1",
			Time: since.Add(5 * time.Second), Count: 4, Errors: 1, Sum: 40, Min: 5, Max: 20, Samples: []float64{5, 5, 10, 20}},
		{Environment: "dev", Series: api.SeriesPredictions, Endpoint: "api", Variant: "primary", ModelVersion: "v1",
			Time: since.Add(65 * time.Second), Count: 2, Sum: 6, Min: 3, Max: 3, Samples: []float64{3, 3}},
		{Environment: "dev", Series: api.SeriesPredictions, Endpoint: "other", Variant: "primary", ModelVersion: "v1",
			Time: since.Add(5 * time.Second), Count: 100, Errors: 100, Sum: 1, Min: 1, Max: 1},
	}
	if err := admin.srv.Daemon.Store.AppendMetrics(context.Background(), points); err != nil {
		t.Fatal(err)
	}
	path := objPath("dev", api.KindModelEndpoint, "api") + "/metrics?since=" + since.Format(time.RFC3339) + "&until=" + until.Format(time.RFC3339) + "&step_seconds=60"
	got := decode[api.EndpointMetrics](t, c["viewer"].must(http.StatusOK, http.MethodGet, path, nil))
	if got.StepSeconds != 60 || len(got.Points) != 10 || !got.Points[0].Start.Equal(since) {
		t.Fatalf("metrics = %+v", got)
	}
	p0, p1, p2 := got.Points[0], got.Points[1], got.Points[2]
	if p0.Count != 4 || p0.Errors != 1 || *p0.ErrorRatePercent != 25 || *p0.LatencyAvgMs != 10 || *p0.LatencyP50Ms != 5 || *p0.LatencyP99Ms != 20 || *p0.LatencyMaxMs != 20 {
		t.Fatalf("first point = %+v", p0)
	}
	if p1.Count != 2 || *p1.ErrorRatePercent != 0 || *p1.LatencyAvgMs != 3 {
		t.Fatalf("second point = %+v", p1)
	}
	if p2.Count != 0 || p2.LatencyAvgMs != nil || p2.ErrorRatePercent != nil {
		t.Fatalf("empty point = %+v", p2)
	}
	t.Run("Defaults", func(t *testing.T) {
		got := decode[api.EndpointMetrics](t, c["viewer"].must(http.StatusOK, http.MethodGet, objPath("dev", api.KindModelEndpoint, "api")+"/metrics", nil))
		if got.Until.Sub(got.Since) != api.DefaultEndpointMetricsWindow || got.StepSeconds != 60 || len(got.Points) != 60 {
			t.Fatalf("default window = %s..%s step %d, %d points", got.Since, got.Until, got.StepSeconds, len(got.Points))
		}
	})
	t.Run("Errors", func(t *testing.T) {
		base := objPath("dev", api.KindModelEndpoint, "api") + "/metrics"
		wantError(t, c["viewer"].do(http.MethodGet, base+"?since=yesterday", nil), http.StatusBadRequest, api.EINVALID, api.MetricsParamSince)
		wantError(t, c["viewer"].do(http.MethodGet, base+"?step_seconds=0", nil), http.StatusBadRequest, api.EINVALID, api.MetricsParamStep)
		wantError(t, c["viewer"].do(http.MethodGet, base+"?step_seconds=1", nil), http.StatusBadRequest, api.EINVALID, api.MetricsParamStep)
		wantError(t, c["viewer"].do(http.MethodGet, base+"?since=2030-01-01T00:00:00Z&until=2030-01-05T00:00:00Z", nil), http.StatusBadRequest, api.EINVALID, api.MetricsParamSince)
		wantError(t, c["viewer"].do(http.MethodGet, objPath("dev", api.KindModelEndpoint, "missing")+"/metrics", nil), http.StatusNotFound, api.ENOTFOUND, "")
		wantError(t, c["nobody"].do(http.MethodGet, base, nil), http.StatusForbidden, api.EFORBIDDEN, "")
	})
}
