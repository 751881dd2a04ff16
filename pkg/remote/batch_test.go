package remote

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// countingProxy forwards to target and counts requests per path.
type countingProxy struct {
	*httptest.Server
	mu    sync.Mutex
	paths map[string]int
}

func newCountingProxy(t *testing.T, target string) *countingProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{paths: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths[r.URL.Path]++
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *countingProxy) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paths[path]
}

func manySeries(n, points int) []engine.Series {
	out := make([]engine.Series, n)
	for i := range out {
		out[i] = wave(points, i%points)
	}
	return out
}

// TestBatchRouteCutsCalls: 500 series against the reference server take 10
// batch requests (50 series each) instead of 500, with the same answers as
// one request per series (the Azure-compatible URL, which has no batch route).
func TestBatchRouteCutsCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs cmd/sheepdog-api")
	}
	p := startServer(t)
	proxy := newCountingProxy(t, p.URL)
	series := manySeries(500, 60)

	cfg := matrixConfig(proxy.URL)
	cfg.Fallback = false
	cfg.MaxCallsPerQuery = 1000
	cfg.Timeout = 20 * time.Second // a batch is 50 detections; this machine is loaded
	batched, _ := New(cfg)
	defer batched.Close()
	outs, err := detectVia(batched, ctxTimeout(t, matrixDeadline*4), series, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := proxy.count(apicontract.PathEntireBatch); n != 10 {
		t.Errorf("%d batch requests for 500 series, want 10", n)
	}
	if n := proxy.count(apicontract.PathEntire); n != 0 {
		t.Errorf("%d single requests next to the batch route", n)
	}

	single := cfg
	single.URL = proxy.URL + apicontract.AzurePrefix
	perSeries, _ := New(single)
	defer perSeries.Close()
	want, err := detectVia(perSeries, ctxTimeout(t, matrixDeadline*4), series[:20], engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := proxy.count(apicontract.AzurePath(apicontract.PathEntire)); n != 20 {
		t.Errorf("%d Azure-route requests for 20 series, want 20", n)
	}
	for i := range want {
		if outs[i].Err != nil || want[i].Err != nil {
			t.Fatalf("series %d: batch %v, single %v", i, outs[i].Err, want[i].Err)
		}
		for j := range want[i].Result.Expected {
			if outs[i].Result.Expected[j] != want[i].Result.Expected[j] || outs[i].Result.Anomaly[j] != want[i].Result.Anomaly[j] {
				t.Fatalf("series %d point %d: batch and single answers differ", i, j)
			}
		}
	}
}

// TestBatchFallsBackOn404: a server without the batch route is asked once;
// the client remembers and sends one request per series from then on.
func TestBatchFallsBackOn404(t *testing.T) {
	var batchCalls, singleCalls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == apicontract.PathEntireBatch {
			batchCalls.Add(1)
			apiError(w, 404, apicontract.CodeNotFound, "no route")
			return
		}
		singleCalls.Add(1)
		answer(w, r, nil)
	}))
	defer ts.Close()
	c, _ := New(matrixConfig(ts.URL))
	defer c.Close()
	for range 2 {
		outs, err := detectVia(c, context.Background(), manySeries(5, 60), engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range outs {
			if o.Err != nil || o.FellBack {
				t.Fatalf("series %d: %+v", i, o)
			}
		}
	}
	if batchCalls.Load() != 1 || singleCalls.Load() != 10 {
		t.Errorf("batch calls %d (want 1), single calls %d (want 10)", batchCalls.Load(), singleCalls.Load())
	}
}

// TestBatchItemErrors: one item's error falls back for that series only.
func TestBatchItemErrors(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req apicontract.BatchEntireRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		out := apicontract.BatchEntireResponse{}
		for k, item := range req.Items {
			if k == 1 {
				out.Results = append(out.Results, apicontract.BatchEntireResult{Status: 400, Error: &apicontract.Error{Code: "InvalidSeries", Message: "bad item"}})
				continue
			}
			n := len(item.Series)
			res := apicontract.EntireResponse{ExpectedValues: make([]float64, n), UpperMargins: make([]float64, n), LowerMargins: make([]float64, n),
				IsAnomaly: make([]bool, n), IsNegativeAnomaly: make([]bool, n), IsPositiveAnomaly: make([]bool, n), Severity: make([]float64, n)}
			out.Results = append(out.Results, apicontract.BatchEntireResult{Status: 200, Result: &res})
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer ts.Close()
	c, _ := New(matrixConfig(ts.URL))
	defer c.Close()
	outs, err := detectVia(c, context.Background(), manySeries(3, 60), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if outs[0].Err != nil || outs[2].Err != nil || outs[0].FellBack {
		t.Errorf("good items: %+v / %+v", outs[0], outs[2])
	}
	if !outs[1].FellBack || classify(outs[1].Err) != classClient || !strings.Contains(outs[1].Err.Error(), "bad item") {
		t.Errorf("bad item: %+v", outs[1])
	}
}

// TestCallLimit: a query needing more remote calls than MaxCallsPerQuery is
// refused up front with an error naming the setting; batching keeps a large
// query within it.
func TestCallLimit(t *testing.T) {
	var calls atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Path == apicontract.AzurePath(apicontract.PathEntire) {
			answer(w, r, nil)
			return
		}
		apiError(w, 404, apicontract.CodeNotFound, "no route")
	}))
	defer ts.Close()
	cfg := matrixConfig(ts.URL + apicontract.AzurePrefix) // one call per series
	cfg.MaxCallsPerQuery = 5
	c, _ := New(cfg)
	defer c.Close()
	_, err := detectVia(c, context.Background(), manySeries(6, 60), engine.Options{})
	var limit *CallLimitError
	if !errors.As(err, &limit) || !strings.Contains(err.Error(), "remoteMaxCallsPerQuery") || limit.Calls != 6 {
		t.Fatalf("6 calls over a limit of 5: %v", err)
	}
	if calls.Load() != 0 {
		t.Errorf("%d calls made before refusing", calls.Load())
	}
	// A chunked series counts each chunk.
	long := wave(3*DefaultMaxPoints, -1)
	if _, err := detectVia(c, context.Background(), []engine.Series{long, long}, engine.Options{}); !errors.As(err, &limit) {
		t.Fatalf("two series of 4 chunks each over a limit of 5: %v", err)
	}

	// The plan fitted (one batch), but the server had no batch route: the
	// budget still holds, and the series past it fall back with a clear reason.
	cfg = matrixConfig(ts.URL)
	cfg.MaxCallsPerQuery = 3
	cb, _ := New(cfg)
	defer cb.Close()
	calls.Store(0)
	outs, err := detectVia(cb, context.Background(), manySeries(6, 60), engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	budgetHit := 0
	for _, o := range outs {
		if o.Err != nil && strings.Contains(o.Err.Error(), "remoteMaxCallsPerQuery") && o.FellBack && strings.HasPrefix(o.FallbackReason, "call_budget") {
			budgetHit++
		}
	}
	if calls.Load() > 3 || budgetHit == 0 {
		t.Errorf("%d calls with a budget of 3, %d series told about the budget", calls.Load(), budgetHit)
	}
}
