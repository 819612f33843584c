package server

import (
	"github.com/prometheus/client_golang/prometheus"
)

// serverMetrics are the HTTP-side Prometheus metrics.
type serverMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	// inFlight counts the requests being handled right now: what a
	// shutdown waits for while it drains.
	inFlight prometheus.Gauge
	// waiting counts the long polls (GET ...?wait_for_generation) waiting
	// right now.
	waiting prometheus.Gauge
}

func newServerMetrics(reg prometheus.Registerer) *serverMetrics {
	m := &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlopsd_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mlopsd_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mlopsd_api_errors_total",
			Help: "API error responses by error code.",
		}, []string{"code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mlopsd_http_requests_in_flight",
			Help: "HTTP requests being handled right now (long polls included).",
		}),
		waiting: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mlopsd_long_polls_waiting",
			Help: "Long polls (GET with wait_for_generation) waiting for their object to settle right now.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.errors, m.inFlight, m.waiting)
	return m
}
