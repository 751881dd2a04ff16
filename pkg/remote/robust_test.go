package remote

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// gauge reads a remote gauge (or counter) for the given labels.
func metricValue(t *testing.T, family string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != family {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for k, v := range labels {
				if labelValue(m, k) != v {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// recordingLogger keeps every line, to check what was logged and that the key
// never was. It stands in for the SDK's backend.Logger (grafana-plugin-sdk-go
// backend/log.go: Logger = log.DefaultLogger, a log.Logger), whose lines the
// plugin process hands to Grafana's log.
type recordingLogger struct {
	log.Logger
	mu    sync.Mutex
	lines []string
}

func (l *recordingLogger) add(level, msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+" "+msg+" "+fmt.Sprint(args...))
}
func (l *recordingLogger) Debug(msg string, args ...any) { l.add("debug", msg, args...) }
func (l *recordingLogger) Info(msg string, args ...any)  { l.add("info", msg, args...) }
func (l *recordingLogger) Warn(msg string, args ...any)  { l.add("warn", msg, args...) }
func (l *recordingLogger) Error(msg string, args ...any) { l.add("error", msg, args...) }

// FromContext keeps recording (the SDK's adds the context's attributes).
func (l *recordingLogger) FromContext(context.Context) log.Logger { return l }
func (l *recordingLogger) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// TestInvalidAnswerCountsAsFailure: a 2xx with truncated JSON is a failed
// attempt for the breaker, the error rate and the status metric.
func TestInvalidAnswerCountsAsFailure(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"period":0,"expectedValues":[1,2`))
	}))
	defer ts.Close()
	cfg := matrixConfig(ts.URL)
	cfg.DataSource = "invalid-answers"
	cfg.BreakerThreshold = 2
	logger := &recordingLogger{}
	cfg.Logger = logger
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 { // one batch request each
		outs, _ := detectVia(c, context.Background(), []engine.Series{wave(60, -1), wave(60, -1)}, engine.Options{})
		for _, o := range outs {
			if classify(o.Err) != classInvalid || !o.FellBack {
				t.Fatalf("outcome %+v", o)
			}
		}
	}
	if c.BreakerState() != BreakerOpen {
		t.Errorf("breaker %s after 2 invalid answers with threshold 2, want open", c.BreakerState())
	}
	host := strings.TrimPrefix(ts.URL, "http://")
	if rate, _ := metricValue(t, "sheepdog_remote_error_rate", map[string]string{"datasource": "invalid-answers", "host": host}); rate != 1 {
		t.Errorf("error rate %v, want 1", rate)
	}
	if n, _ := metricValue(t, "sheepdog_remote_requests_total", map[string]string{"status": "invalid_response", "endpoint": "/v1/timeseries/entire/detect/batch"}); n < 2 {
		t.Errorf("requests_total{status=invalid_response} = %v, want ≥ 2", n)
	}
	logs := logger.text()
	for _, want := range []string{"circuit breaker opened", "remote detection failed", "invalid_response"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestGaugesPerDataSource: two data sources on one host keep their own
// breaker and error-rate series.
func TestGaugesPerDataSource(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer bad-key-0000" {
			apiError(w, 500, "InternalError", "broken for this key")
			return
		}
		answer(w, r, nil)
	}))
	defer ts.Close()
	good, bad := matrixConfig(ts.URL), matrixConfig(ts.URL)
	good.DataSource, bad.DataSource = "ds-good", "ds-bad"
	bad.APIKey, bad.BreakerThreshold, bad.MaxRetries = "bad-key-0000", 1, 0
	bad.Logger, good.Logger = &recordingLogger{}, &recordingLogger{}
	cg, _ := New(good)
	cb, _ := New(bad)
	defer cg.Close()
	defer cb.Close()
	detectVia(cb, context.Background(), []engine.Series{wave(60, -1)}, engine.Options{})
	detectVia(cg, context.Background(), []engine.Series{wave(60, -1)}, engine.Options{})
	host := strings.TrimPrefix(ts.URL, "http://")
	for _, tc := range []struct {
		family, ds string
		want       float64
	}{
		{"sheepdog_remote_breaker_state", "ds-bad", float64(BreakerOpen)},
		{"sheepdog_remote_breaker_state", "ds-good", float64(BreakerClosed)},
		{"sheepdog_remote_error_rate", "ds-bad", 1},
		{"sheepdog_remote_error_rate", "ds-good", 0},
	} {
		got, ok := metricValue(t, tc.family, map[string]string{"datasource": tc.ds, "host": host})
		if !ok || got != tc.want {
			t.Errorf("%s{datasource=%s} = %v (present %v), want %v", tc.family, tc.ds, got, ok, tc.want)
		}
	}
}

// TestLogsNeverHoldTheKey: the failure summary quotes the server's message,
// which here echoes the key.
func TestLogsNeverHoldTheKey(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, 400, "BadArgument", "you sent "+r.Header.Get("Authorization"))
	}))
	defer ts.Close()
	cfg := matrixConfig(ts.URL)
	logger := &recordingLogger{}
	cfg.Logger = logger
	c, _ := New(cfg)
	defer c.Close()
	detectVia(c, context.Background(), []engine.Series{wave(60, -1)}, engine.Options{})
	if logs := logger.text(); !strings.Contains(logs, "remote detection failed") || strings.Contains(logs, testKey) {
		t.Errorf("log:\n%s", logs)
	}
}
