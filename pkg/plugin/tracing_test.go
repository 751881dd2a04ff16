package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// failingFetcher fails every fetch as a source that is down does.
type failingFetcher struct{}

func (failingFetcher) Fetch(context.Context, FetchRequest) ([]source.Series, error) {
	return nil, downstream(errors.New("prometheus answered 503"))
}

// contextLogger records lines with the attributes FromContext adds, as the
// SDK's logger does (grafana-plugin-sdk-go backend/log/log.go,
// hclogWrapper.FromContext: With(ContextualAttributesFromContext(ctx)...)).
type contextLogger struct {
	log.Logger
	mu    *sync.Mutex
	lines *[]string
	attrs []any
}

func (l contextLogger) With(args ...any) log.Logger {
	l.attrs = append(append([]any{}, l.attrs...), args...)
	return l
}
func (l contextLogger) FromContext(ctx context.Context) log.Logger {
	return l.With(log.ContextualAttributesFromContext(ctx)...)
}
func (l contextLogger) Warn(msg string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	*l.lines = append(*l.lines, msg+" "+fmt.Sprintln(append(append([]any{}, l.attrs...), args...)...))
}

// TestQuerySpanAndContextLog: each query is a span of the SDK's default
// tracer (grafana-plugin-sdk-go backend/tracing/tracing.go, DefaultTracer:
// the global OpenTelemetry provider the SDK sets up from Grafana's tracing
// settings, backend/setup.go SetupTracer) named sheepdog.query, with its
// refId, source type and outcome; a downstream failure is logged with the
// query's refId and source type from the context.
func TestQuerySpanAndContextLog(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	series := genSeries(1, 600)
	to := time.UnixMilli(series[0].Times[599])
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"2h"}}`
	if resp, _ := benchDatasource(&memFetcher{series: series}).QueryData(context.Background(), &backend.QueryDataRequest{
		Queries: []backend.DataQuery{query("A", js, to.Add(-time.Hour), to)}}); resp.Responses["A"].Error != nil {
		t.Fatal(resp.Responses["A"].Error)
	}

	var lines []string
	d := benchDatasource(failingFetcher{})
	d.logger = contextLogger{mu: &sync.Mutex{}, lines: &lines, attrs: []any{"datasource", "bench"}}
	resp, _ := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{query("B", js, to.Add(-time.Hour), to)}})
	if resp.Responses["B"].Error == nil {
		t.Fatal("the failing source answered")
	}

	got := map[string]string{}
	for _, s := range exp.GetSpans() {
		if s.Name != "sheepdog.query" {
			continue
		}
		attrs := map[string]string{}
		for _, a := range s.Attributes {
			attrs[string(a.Key)] = a.Value.String()
		}
		got[attrs["refId"]] = attrs["sourceType"] + " " + attrs["outcome"] + " " + s.Status.Code.String()
	}
	if got["A"] != "prometheus ok Unset" || got["B"] != "prometheus error Error" {
		t.Errorf("query spans %v, want A ok and B an error, both prometheus", got)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "query failed downstream") || !strings.Contains(lines[0], "refId B") ||
		!strings.Contains(lines[0], "sourceType prometheus") || !strings.Contains(lines[0], "503") {
		t.Errorf("log lines %q, want one downstream failure with refId B and sourceType prometheus", lines)
	}
}
