package server

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sheepdog-anomaly/sheepdog/internal/rollingrate"
	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

type serverMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
}

func newServerMetrics(reg prometheus.Registerer, stats *rollingrate.Window) *serverMetrics {
	m := &serverMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sheepdog_api", Name: "requests_total",
			Help: "Requests answered, by HTTP status and endpoint (route, not raw path).",
		}, []string{"status", "endpoint"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sheepdog_api", Name: "request_duration_seconds",
			Help:    "Time to answer a request, including injected latency.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"endpoint"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "sheepdog_api", Name: "in_flight_requests",
			Help: "Requests being served now.",
		}),
	}
	errorRate := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "sheepdog_api", Name: "error_rate",
		Help: "Share of requests answered 5xx (or dropped) over the last 5 minutes.",
	}, func() float64 { r, _ := stats.Rate(time.Now()); return r })
	reg.MustRegister(m.requests, m.duration, m.inFlight, errorRate)
	return m
}

// statusWriter remembers the status for metrics and logs. Unwrap lets
// http.ResponseController reach the real writer (hijack for dropped connections).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.status == 0 {
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	n, err := sw.ResponseWriter.Write(b)
	sw.bytes += n
	return n, err
}

func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// statusDropped marks a connection closed on purpose by fault injection.
const statusDropped = 0

// instrument records metrics and one structured log line per request, and
// turns a panic into a 500 instead of a dropped connection.
func (s *Server) instrument(endpoint string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inFlight.Inc()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				s.log.Error("handler panic", "endpoint", endpoint, "panic", p)
				if sw.status == 0 {
					writeError(sw, http.StatusInternalServerError, apicontract.CodeInternalError, "internal error")
				}
			}
			s.metrics.inFlight.Dec()
			elapsed := time.Since(start)
			status := sw.status
			label := strconv.Itoa(status)
			if status == statusDropped {
				label = "dropped"
			}
			s.metrics.requests.WithLabelValues(label, endpoint).Inc()
			s.metrics.duration.WithLabelValues(endpoint).Observe(elapsed.Seconds())
			if endpoint != apicontract.PathHealth {
				s.stats.Add(time.Now(), status >= 500 || status == statusDropped)
			}
			level := slog.LevelInfo
			switch {
			case status >= 500 || status == statusDropped:
				level = slog.LevelWarn
			case status == http.StatusUnauthorized || status == http.StatusTooManyRequests:
				// A key-guessing or runaway client would flood the log line by
				// line; rejected keys are summarised by authLog instead.
				level = slog.LevelDebug
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method), slog.String("endpoint", endpoint),
				slog.String("path", truncate(r.URL.Path, 100)), slog.Int("status", status),
				slog.Int("bytes", sw.bytes), slog.Duration("elapsed", elapsed),
				slog.String("remote", r.RemoteAddr))
			if p == http.ErrAbortHandler {
				panic(p) // let net/http close the connection quietly
			}
		}()
		next.ServeHTTP(sw, r)
	})
}
