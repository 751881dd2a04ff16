package source

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TestGrafanaQueryCarriesTraceContext: the request to /api/ds/query carries
// the query's trace as a W3C traceparent header, so Grafana's trace of a
// panel continues through the nested data source. The propagator is the one
// the SDK installs at start-up (grafana-plugin-sdk-go backend/setup.go,
// SetupTracer: tracerprovider.NewTextMapPropagator, W3C when Grafana sends
// no other format); the header is written by the SDK's tracing middleware
// (backend/httpclient/tracing_middleware.go, TracingMiddleware) that Traced
// puts in front of every source's transport.
func TestGrafanaQueryCarriesTraceContext(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })

	fg, srv := newFakeGrafana(t)
	fg.answer(http.StatusOK, "prometheus_range.json")
	c := newTestGrafanaClient(t, srv)
	// The query's span, as the plugin's per-query span (or Grafana's, received
	// over gRPC) leaves it in the context.
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), parent)
	if _, err := c.Query(ctx, promRef, json.RawMessage(`{"expr":"up"}`), testRange, GrafanaQueryOptions{}); err != nil {
		t.Fatal(err)
	}
	got := fg.headers[0].Get("traceparent")
	if want := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"; got != want {
		t.Errorf("traceparent %q, want %q", got, want)
	}
}
