package remote

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics live in prometheus.DefaultRegisterer so the plugin's CollectMetrics
// hands them to Grafana. They are the package's only shared state.
type clientMetrics struct {
	requests  *prometheus.CounterVec   // status, endpoint
	duration  *prometheus.HistogramVec // endpoint
	retries   *prometheus.CounterVec   // endpoint, reason
	fallbacks *prometheus.CounterVec   // reason
	breaker   *prometheus.GaugeVec     // datasource, host
	errorRate *prometheus.GaugeVec     // datasource, host
	inFlight  *prometheus.GaugeVec     // datasource, host
}

var (
	metricsOnce sync.Once
	metrics     *clientMetrics
)

func getMetrics() *clientMetrics {
	metricsOnce.Do(func() {
		m := &clientMetrics{
			requests: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "sheepdog_remote", Name: "requests_total",
				Help: "HTTP attempts to the remote anomaly API by result (HTTP status, or timeout/connection/redirect_refused) and endpoint.",
			}, []string{"status", "endpoint"}),
			duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Namespace: "sheepdog_remote", Name: "request_duration_seconds",
				Help:    "Duration of one HTTP attempt to the remote anomaly API.",
				Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
			}, []string{"endpoint"}),
			retries: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "sheepdog_remote", Name: "retries_total",
				Help: "Retries after a failed attempt, by endpoint and failure class.",
			}, []string{"endpoint", "reason"}),
			fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: "sheepdog_remote", Name: "fallbacks_total",
				Help: "Series detected by the embedded engine because the remote failed, by failure class.",
			}, []string{"reason"}),
			breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Namespace: "sheepdog_remote", Name: "breaker_state",
				Help: "Circuit breaker state per data source (uid) and API host: 0 closed, 1 half-open, 2 open.",
			}, []string{"datasource", "host"}),
			errorRate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Namespace: "sheepdog_remote", Name: "error_rate",
				Help: "Share of failed attempts (including invalid 2xx answers) per data source (uid) and API host over the last 5 minutes.",
			}, []string{"datasource", "host"}),
			inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
				Namespace: "sheepdog_remote", Name: "in_flight_requests",
				Help: "HTTP attempts in progress per data source (uid) and API host.",
			}, []string{"datasource", "host"}),
		}
		m.requests = register(m.requests)
		m.duration = register(m.duration)
		m.retries = register(m.retries)
		m.fallbacks = register(m.fallbacks)
		m.breaker = register(m.breaker)
		m.errorRate = register(m.errorRate)
		m.inFlight = register(m.inFlight)
		metrics = m
	})
	return metrics
}

// register tolerates a collector registered before (tests, or a plugin that
// reloaded the package's metrics) by reusing the existing one.
func register[C prometheus.Collector](c C) C {
	if err := prometheus.DefaultRegisterer.Register(c); err != nil {
		var already prometheus.AlreadyRegisteredError
		if errors.As(err, &already) {
			if existing, ok := already.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
