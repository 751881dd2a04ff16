package plugin

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are package-level by design: Grafana collects them from the SDK's
// default Prometheus registry through CollectMetrics.
var (
	metricQueries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "sheepdog_queries_total",
		Help: "Sheepdog queries answered, by source type and outcome (ok or error).",
	}, []string{"source", "outcome"})
	metricSeries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "sheepdog_series_total",
		Help: "Series analysed, by engine (embedded, remote, fallback or none).",
	}, []string{"engine"})
	metricPoints = promauto.NewCounter(prometheus.CounterOpts{
		Name: "sheepdog_points_total",
		Help: "Points analysed (history included).",
	})
	metricSeriesDropped = promauto.NewCounter(prometheus.CounterOpts{
		Name: "sheepdog_series_dropped_total",
		Help: "Series dropped because they had too few points to analyse.",
	})
	metricFetchSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sheepdog_fetch_duration_seconds",
		Help:    "Time to fetch the source series of one query, by source type.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
	}, []string{"source"})
	metricEngineSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sheepdog_engine_duration_seconds",
		Help:    "Time to run detection for all series of one query, by engine.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	}, []string{"engine"})
	metricQuerySeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "sheepdog_query_duration_seconds",
		Help:    "Time to answer one query end to end.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9),
	})
	metricCache = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "sheepdog_stream_cache_total",
		Help: "Alert stream-state cache lookups, by result (hit, miss, stale).",
	}, []string{"result"})
	metricCacheEntries = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "sheepdog_stream_cache_entries",
		Help: "Per-series stream states held for alert re-evaluation.",
	})
	metricFallbacks = promauto.NewCounter(prometheus.CounterOpts{
		Name: "sheepdog_engine_fallbacks_total",
		Help: "Series the remote engine could not answer that the embedded engine analysed instead.",
	})
)
