package remote

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{}, "absolute http(s) URL"},
		{"ftp", Config{URL: "ftp://x"}, "absolute http(s) URL"},
		{"credentials in url", Config{URL: "https://u:p@x"}, "credentials"},
		{"query", Config{URL: "https://x/?key=1"}, "query"},
		{"newline in key", Config{URL: "https://x", APIKey: testKey + "\n"}, "control characters"},
		{"negative retries", Config{URL: "https://x", MaxRetries: -1}, "retries"},
		{"bad CA", Config{URL: "https://x", CACertPEM: "not a cert"}, "no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("error shows the key: %v", err)
			}
		})
	}
}

func TestDecodeEntire(t *testing.T) {
	s := engine.Series{Times: []int64{0, 60_000, 120_000}, Values: []float64{10, 50, math.NaN()}}
	valid := `{"period":0,"expectedValues":[10,10,10],"upperMargins":[5,5,5],"lowerMargins":[5,5,5],"isAnomaly":[false,true,true],"isPositiveAnomaly":[false,true,false],"isNegativeAnomaly":[false,false,false],"severity":[0,0.8,0.4],"scores":[0.1,0.8,0.4],"method":"robust"}`
	cases := []struct {
		name, body, wantErr string
	}{
		{"valid", valid, ""},
		{"severity only", `{"expectedValues":[10,10,10],"upperMargins":[5,5,5],"lowerMargins":[5,5,5],"isAnomaly":[false,true,false],"severity":[0,0.8,0]}`, ""},
		{"empty", ``, "truncated"},
		{"not an object", `[1,2]`, "expected"},
		{"missing expectedValues", `{"upperMargins":[5,5,5],"lowerMargins":[5,5,5],"isAnomaly":[false,false,false]}`, "expectedValues is missing"},
		{"short array", strings.Replace(valid, `"lowerMargins":[5,5,5]`, `"lowerMargins":[5,5]`, 1), "lowerMargins has 2 entries for 3 points"},
		{"null value", strings.Replace(valid, `"expectedValues":[10,10,10]`, `"expectedValues":[10,null,10]`, 1), "expectedValues[1] is null"},
		{"string value", strings.Replace(valid, `"expectedValues":[10,10,10]`, `"expectedValues":[10,"10",10]`, 1), "expectedValues"},
		{"NaN literal", strings.Replace(valid, `"expectedValues":[10,10,10]`, `"expectedValues":[10,NaN,10]`, 1), "malformed JSON"},
		{"overflow", strings.Replace(valid, `"expectedValues":[10,10,10]`, `"expectedValues":[10,1e999,10]`, 1), "expectedValues"},
		{"negative margin", strings.Replace(valid, `"upperMargins":[5,5,5]`, `"upperMargins":[5,-5,5]`, 1), "negative"},
		{"severity above 1", strings.Replace(valid, `"severity":[0,0.8,0.4]`, `"severity":[0,1.8,0.4]`, 1), "outside 0..1"},
		{"bool as number", strings.Replace(valid, `"isAnomaly":[false,true,true]`, `"isAnomaly":[0,1,1]`, 1), "isAnomaly"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := decodeEntire([]byte(tc.body), s, engine.Options{}, time.Minute)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if r.Upper[1] != 15 || r.Lower[1] != 5 || !r.Anomaly[1] || r.Direction[1] != 1 {
					t.Fatalf("result %+v", r)
				}
				if r.Anomaly[2] || r.Score[2] != 0 {
					t.Fatalf("missing input flagged or scored: anomaly=%v score=%v", r.Anomaly[2], r.Score[2])
				}
				return
			}
			var inv *InvalidResponseError
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !asInvalid(err, &inv) {
				t.Fatalf("err %v, want an InvalidResponseError containing %q", err, tc.wantErr)
			}
		})
	}
}

func asInvalid(err error, target **InvalidResponseError) bool {
	e, ok := err.(*InvalidResponseError)
	*target = e
	return ok
}

func TestDirectionFilterAppliedClientSide(t *testing.T) {
	s := engine.Series{Times: []int64{0, 60_000}, Values: []float64{50, -30}}
	body := `{"expectedValues":[10,10],"upperMargins":[5,5],"lowerMargins":[5,5],"isAnomaly":[true,true],"isPositiveAnomaly":[true,false],"isNegativeAnomaly":[false,true],"severity":[0.9,0.9]}`
	r, err := decodeEntire([]byte(body), s, engine.Options{Direction: engine.DirectionUp}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Anomaly[0] || r.Anomaly[1] || r.Direction[1] != -1 {
		t.Fatalf("direction up: anomalies %v directions %v", r.Anomaly, r.Direction)
	}
}

func TestBuildRequest(t *testing.T) {
	s := wave(200, -1)
	s.Values[3] = math.NaN()
	req, step := buildRequest(s, engine.Options{Sensitivity: 100, Period: time.Hour, Method: engine.MethodRobust, WarmUp: 20})
	if step != time.Minute || req.Granularity != "minutely" || *req.CustomInterval != 1 {
		t.Fatalf("step %s granularity %q", step, req.Granularity)
	}
	if req.Series[3].Value != nil || req.ImputeMode != apicontract.ImputeNotFill {
		t.Fatal("missing value not sent as null with notFill")
	}
	if req.Sensitivity == nil || req.Period == nil || req.WarmUp == nil {
		t.Fatalf("options missing: %+v", req)
	}
	if *req.Sensitivity != 99 || *req.Period != 60 || req.Method != "robust" || *req.WarmUp != 20 {
		t.Fatalf("options not mapped: %+v", req)
	}
	if req.Series[1].Timestamp != "2026-03-01T00:01:00.000Z" {
		t.Fatalf("timestamp %q", req.Series[1].Timestamp)
	}
	req, _ = buildRequest(s, engine.Options{Period: engine.NoSeasonality})
	if req.Period == nil || *req.Period != 0 {
		t.Fatal("no seasonality not sent as period 0")
	}
	// The plugin asks for sensitivity 0 as the engine's explicit 0 (negative);
	// it must reach the API as 0, not be left out (the API would use 50).
	req, _ = buildRequest(s, engine.Options{}.WithSensitivity(0))
	if req.Sensitivity == nil || *req.Sensitivity != 0 {
		t.Fatalf("sensitivity 0 sent as %v", req.Sensitivity)
	}
	req, _ = buildRequest(s, engine.Options{})
	if req.Sensitivity != nil {
		t.Fatalf("default sensitivity sent as %v, want the API's default", *req.Sensitivity)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{"0", 0, true},
		{"", 0, false},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(10 * time.Second).Format(http.TimeFormat), 10 * time.Second, true},
		{now.Add(-10 * time.Second).Format(http.TimeFormat), 0, true},
	}
	for _, tc := range cases {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q: %s %v, want %s %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffIsFullJitterWithinCap(t *testing.T) {
	c, err := New(Config{URL: "http://127.0.0.1:1", BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for attempt, ceiling := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second} {
		var lo, hi time.Duration = time.Hour, 0
		for range 2000 {
			d := c.backoff(attempt)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < 0 || hi > ceiling || hi < ceiling*8/10 || lo > ceiling/10 {
			t.Errorf("attempt %d: backoff range %s..%s, want spread over 0..%s", attempt, lo, hi, ceiling)
		}
	}
}

func TestBreakerStates(t *testing.T) {
	var changes []BreakerState
	b := newBreaker(2, time.Second, func(s BreakerState) { changes = append(changes, s) })
	t0 := time.Unix(0, 0)
	step := func(o breakerOutcome) {
		probe, ok := b.allow(t0)
		if !ok {
			t.Fatalf("call refused in state %s", b.current())
		}
		b.done(probe, o, t0)
	}
	step(breakerFailure)
	step(breakerSuccess) // resets the count
	step(breakerFailure)
	step(breakerFailure)
	if b.current() != BreakerOpen {
		t.Fatalf("state %s after 2 consecutive failures", b.current())
	}
	if _, ok := b.allow(t0.Add(500 * time.Millisecond)); ok {
		t.Fatal("open breaker let a call through before the cooldown")
	}
	probe, ok := b.allow(t0.Add(1100 * time.Millisecond))
	if !ok || !probe || b.current() != BreakerHalfOpen {
		t.Fatalf("no probe after cooldown: %v %v %s", probe, ok, b.current())
	}
	if _, ok := b.allow(t0.Add(1100 * time.Millisecond)); ok {
		t.Fatal("second call allowed while the probe is out")
	}
	b.done(true, breakerFailure, t0.Add(1200*time.Millisecond))
	if b.current() != BreakerOpen {
		t.Fatal("failed probe did not reopen")
	}
	probe, _ = b.allow(t0.Add(2300 * time.Millisecond))
	b.done(probe, breakerNeutral, t0.Add(2300*time.Millisecond))
	probe, ok = b.allow(t0.Add(2300 * time.Millisecond))
	if !ok || !probe {
		t.Fatal("a cancelled probe blocked the next probe")
	}
	b.done(probe, breakerSuccess, t0.Add(2400*time.Millisecond))
	if b.current() != BreakerClosed {
		t.Fatal("successful probe did not close")
	}
	want := []BreakerState{BreakerOpen, BreakerHalfOpen, BreakerOpen, BreakerHalfOpen, BreakerClosed}
	if len(changes) != len(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
}

// TestBreakerRecoversWithProbe: after the cooldown one probe reaches the
// server, and its success closes the circuit.
func TestBreakerRecoversWithProbe(t *testing.T) {
	var healthy atomic.Bool
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !healthy.Load() {
			apiError(w, 503, "ServiceUnavailable", "down")
			return
		}
		answer(w, r, nil)
	}))
	defer ts.Close()
	cfg := matrixConfig(ts.URL)
	cfg.MaxRetries, cfg.BreakerThreshold, cfg.BreakerCooldown = 0, 2, 200*time.Millisecond
	c, _ := New(cfg)
	defer c.Close()
	for range 2 {
		detectVia(c, context.Background(), []engine.Series{wave(50, -1)}, engine.Options{})
	}
	if c.BreakerState() != BreakerOpen || hits.Load() != 2 {
		t.Fatalf("state %s after %d hits", c.BreakerState(), hits.Load())
	}
	outs, _ := detectVia(c, context.Background(), []engine.Series{wave(50, -1), wave(50, -1)}, engine.Options{})
	if hits.Load() != 2 || !errorsIsCircuit(outs[0].Err) || !outs[0].FellBack {
		t.Fatalf("open breaker let calls through: hits %d, %v", hits.Load(), outs[0].Err)
	}
	healthy.Store(true)
	time.Sleep(250 * time.Millisecond)
	outs, _ = detectVia(c, context.Background(), []engine.Series{wave(50, -1)}, engine.Options{})
	if outs[0].Err != nil || outs[0].FellBack || c.BreakerState() != BreakerClosed {
		t.Fatalf("probe did not close the breaker: %v, %s", outs[0].Err, c.BreakerState())
	}
}

func errorsIsCircuit(err error) bool { return classify(err) == classCircuitOpen }

// TestInFlightCapAndConnectionReuse: 40 series over MaxInFlight 3 never have
// more than 3 requests at the server, and reuse at most 3 connections.
func TestInFlightCapAndConnectionReuse(t *testing.T) {
	var cur, peak atomic.Int64
	var conns atomic.Int64
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
		answer(w, r, nil)
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	cfg := matrixConfig(ts.URL)
	cfg.MaxInFlight = 3
	cfg.BatchMaxItems = 1 // one request per series, to load the in-flight cap
	c, _ := New(cfg)
	defer c.Close()
	series := make([]engine.Series, 40)
	for i := range series {
		series[i] = wave(60, -1)
	}
	outs, err := detectVia(c, context.Background(), series, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if o.Err != nil || o.FellBack {
			t.Fatalf("series %d: %v", i, o.Err)
		}
	}
	if peak.Load() > 3 || peak.Load() < 2 {
		t.Fatalf("peak concurrency %d, want 2..3", peak.Load())
	}
	if conns.Load() > 3 {
		t.Fatalf("%d connections opened for 40 requests; want reuse of at most 3", conns.Load())
	}
}

// TestChunking: a series longer than MaxPoints goes out in overlapping
// chunks within the limit, and the stitched result lines up with the input.
func TestChunking(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req apicontract.SeriesRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		sizes = append(sizes, len(req.Series))
		mu.Unlock()
		n := len(req.Series)
		resp := apicontract.EntireResponse{ExpectedValues: make([]float64, n), UpperMargins: make([]float64, n), LowerMargins: make([]float64, n),
			IsAnomaly: make([]bool, n), IsPositiveAnomaly: make([]bool, n), IsNegativeAnomaly: make([]bool, n), Severity: make([]float64, n)}
		for i, p := range req.Series {
			resp.ExpectedValues[i] = 100
			resp.UpperMargins[i], resp.LowerMargins[i] = 30, 30
			if *p.Value > 150 {
				resp.IsAnomaly[i], resp.IsPositiveAnomaly[i], resp.Severity[i] = true, true, 0.9
			}
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	defer ts.Close()
	cfg := matrixConfig(ts.URL)
	cfg.MaxPoints = 1000
	c, _ := New(cfg)
	defer c.Close()
	s := wave(2500, 2100)
	outs, _ := detectVia(c, context.Background(), []engine.Series{s}, engine.Options{})
	o := outs[0]
	if o.Err != nil || o.FellBack {
		t.Fatalf("%v", o.Err)
	}
	for _, n := range sizes {
		if n > 1000 {
			t.Fatalf("chunk of %d points > limit", n)
		}
	}
	if len(sizes) != 3 || o.Attempts != 3 {
		t.Fatalf("chunks %v, attempts %d; want 3 chunks: 0..999, 750..1749, 1500..2499", sizes, o.Attempts)
	}
	flagged := 0
	for i, a := range o.Result.Anomaly {
		if a {
			flagged++
			if i != 2100 {
				t.Fatalf("point %d flagged, want only 2100", i)
			}
		}
	}
	if flagged != 1 || len(o.Result.Windows) != 1 || o.Result.Windows[0].Start != s.Times[2100] {
		t.Fatalf("flagged %d, windows %+v", flagged, o.Result.Windows)
	}
}

func TestShortSeriesAndBadInput(t *testing.T) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); answer(w, r, nil) }))
	defer ts.Close()
	c, _ := New(matrixConfig(ts.URL))
	defer c.Close()
	bad := engine.Series{Times: []int64{2, 1}, Values: []float64{1, 2}}
	outs, _ := detectVia(c, context.Background(), []engine.Series{wave(8, -1), bad}, engine.Options{})
	if !outs[0].FellBack || outs[0].Result == nil || !strings.HasPrefix(outs[0].FallbackReason, "series_too_short: ") || !strings.Contains(outs[0].FallbackReason, "at least 12") {
		t.Fatalf("short series: %+v", outs[0])
	}
	if outs[1].Err == nil || outs[1].Result != nil || outs[1].FellBack || !strings.Contains(outs[1].Err.Error(), "timestamps not sorted") {
		t.Fatalf("unsorted series: %+v", outs[1])
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests for series that cannot be sent", hits.Load())
	}
}

func TestCallerCancelStopsQuickly(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(hang))
	defer ts.Close()
	cfg := matrixConfig(ts.URL)
	cfg.Timeout = 10 * time.Second
	c, _ := New(cfg)
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	outs, _ := detectVia(c, ctx, []engine.Series{wave(50, -1)}, engine.Options{})
	// Sanity limit only: well under the 10 s attempt timeout it must not wait out.
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("took %s after cancel (attempt timeout %s)", el, cfg.Timeout)
	}
	if outs[0].Err == nil || outs[0].FellBack {
		t.Fatalf("cancelled call: %+v", outs[0])
	}
}

// TestDeadlineHonoured: with a hanging server and a 10 s per-attempt timeout,
// Detect still returns by the caller's 1.5 s deadline (give or take CI load), and the time kept in
// reserve lets the fallback answer.
func TestDeadlineHonoured(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(hang))
	defer ts.Close()
	cfg := matrixConfig(ts.URL)
	cfg.Timeout = 10 * time.Second
	c, _ := New(cfg)
	defer c.Close()
	const deadline = 1500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	outs, _ := detectVia(c, ctx, []engine.Series{wave(200, -1)}, engine.Options{})
	// The grace is a sanity limit for a loaded CI machine; what matters is
	// that Detect does not wait out the 10 s attempt timeout.
	if el := time.Since(start); el > deadline+matrixGrace {
		t.Fatalf("Detect took %s with a %s deadline", el, deadline)
	}
	if !outs[0].FellBack || outs[0].Result == nil || classify(outs[0].Err) != classTimeout {
		t.Fatalf("no fallback within the deadline: %+v", outs[0])
	}
}

func TestCheck(t *testing.T) {
	p := startServer(t)
	c, _ := New(matrixConfig(p.URL))
	defer c.Close()
	h, err := c.Check(context.Background())
	if err != nil || !h.Reachable || !h.KeyAccepted || h.Status != "ok" || h.Version == "" {
		t.Fatalf("check: %+v %v", h, err)
	}
	bad := matrixConfig(p.URL)
	bad.APIKey = "hs_wrong_key_000000000000000"
	cb, _ := New(bad)
	defer cb.Close()
	h, err = cb.Check(context.Background())
	if err == nil || !h.Reachable || h.KeyAccepted || !strings.Contains(err.Error(), "rejected the API key") || strings.Contains(err.Error(), bad.APIKey) {
		t.Fatalf("wrong key: %+v %v", h, err)
	}
	p.stop()
	h, err = c.Check(context.Background())
	if err == nil || h.Reachable {
		t.Fatalf("stopped server: %+v %v", h, err)
	}
}

func TestMetricsRegistered(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apiError(w, 503, "ServiceUnavailable", "down")
	}))
	defer ts.Close()
	cfg := matrixConfig(ts.URL)
	cfg.MaxRetries = 1
	c, _ := New(cfg)
	defer c.Close()
	detectVia(c, context.Background(), []engine.Series{wave(50, -1)}, engine.Options{})
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]*dto.MetricFamily{}
	for _, f := range families {
		found[f.GetName()] = f
	}
	for _, name := range []string{"sheepdog_remote_requests_total", "sheepdog_remote_request_duration_seconds", "sheepdog_remote_retries_total",
		"sheepdog_remote_fallbacks_total", "sheepdog_remote_breaker_state", "sheepdog_remote_error_rate", "sheepdog_remote_in_flight_requests"} {
		if found[name] == nil {
			t.Errorf("metric %s not registered", name)
		}
	}
	host := strings.TrimPrefix(ts.URL, "http://")
	for _, m := range found["sheepdog_remote_error_rate"].GetMetric() {
		if labelValue(m, "host") == host && m.GetGauge().GetValue() != 1 {
			t.Errorf("error rate for %s = %v, want 1", host, m.GetGauge().GetValue())
		}
	}
}

// TestGoroutinesBounded: many concurrent detections against a failing server
// leave no goroutines behind once the client is closed.
func TestGoroutinesBounded(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength%2 == 0 {
			resetConnection(w)
			return
		}
		answer(w, r, nil)
	}))
	cfg := matrixConfig(ts.URL)
	cfg.MaxRetries = 1
	c, _ := New(cfg)
	runtime.GC()
	baseline := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			detectVia(c, context.Background(), []engine.Series{wave(40+i%7, -1)}, engine.Options{})
		}()
	}
	wg.Wait()
	c.Close()
	ts.Close()
	waitGoroutines(t, baseline)
}

// hang reads the request (net/http only notices a client leaving once the
// body is consumed) and answers nothing until the client goes away.
func hang(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// TestTLSVerification: certificates are verified unless configured otherwise;
// a private CA can be trusted through CACertPEM.
func TestTLSVerification(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { answer(w, r, nil) }))
	defer ts.Close()
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}))
	cases := []struct {
		name   string
		mutate func(*Config)
		wantOK bool
	}{
		{"default verifies and fails", func(*Config) {}, false},
		{"private CA trusted", func(c *Config) { c.CACertPEM = caPEM }, true},
		{"skip verify", func(c *Config) { c.TLSSkipVerify = true }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := matrixConfig(ts.URL)
			cfg.Fallback = false
			tc.mutate(&cfg)
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			outs, _ := detectVia(c, context.Background(), []engine.Series{wave(30, -1)}, engine.Options{})
			if ok := outs[0].Err == nil; ok != tc.wantOK {
				t.Fatalf("ok=%v, want %v: %v", ok, tc.wantOK, outs[0].Err)
			}
			if !tc.wantOK && (!strings.Contains(outs[0].Err.Error(), "certificate") || outs[0].Attempts != 1) {
				t.Fatalf("want a certificate error without retries, got %d attempts: %v", outs[0].Attempts, outs[0].Err)
			}
		})
	}
}

// TestQueuedPastDeadlineDoesNotTripBreaker: series still queued behind the
// in-flight cap when the deadline passes were never sent; they fall back but
// do not count as failures of the remote.
func TestQueuedPastDeadlineDoesNotTripBreaker(t *testing.T) {
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1); hang(w, r) }))
	defer ts.Close()
	cfg := matrixConfig(ts.URL)
	cfg.Timeout, cfg.MaxInFlight, cfg.BreakerThreshold, cfg.MaxRetries = 5*time.Second, 1, 2, 0
	cfg.BatchMaxItems = 1 // one request per series, queued behind the in-flight cap
	c, _ := New(cfg)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	series := []engine.Series{wave(30, -1), wave(30, -1), wave(30, -1), wave(30, -1), wave(30, -1)}
	outs, _ := detectVia(c, ctx, series, engine.Options{})
	for i, o := range outs {
		if !o.FellBack || o.Result == nil {
			t.Fatalf("series %d: %+v", i, o)
		}
		if i > 0 && (o.Attempts != 0 || !strings.Contains(o.Err.Error(), "no request sent")) {
			t.Fatalf("series %d: %d attempts, %v", i, o.Attempts, o.Err)
		}
	}
	if hits.Load() != 1 || c.BreakerState() != BreakerClosed {
		t.Fatalf("%d requests, breaker %s; want 1 and closed", hits.Load(), c.BreakerState())
	}
}

// TestCheckAzureFlavour: an Azure-compatible base URL has no health route
// (the reference server, like Azure, answers 404 for
// /anomalydetector/v1.1/health); the check probes last/detect instead.
func TestCheckAzureFlavour(t *testing.T) {
	p := startServer(t)
	c, err := New(matrixConfig(p.URL + apicontract.AzurePrefix))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, err := c.Check(context.Background())
	if err != nil || !h.Reachable || !h.KeyAccepted || !strings.Contains(h.Message, "last/detect probe") {
		t.Fatalf("azure check: %+v %v", h, err)
	}
	bad := matrixConfig(p.URL + apicontract.AzurePrefix)
	bad.APIKey = "hs_wrong_key_000000000000000"
	cb, _ := New(bad)
	defer cb.Close()
	if h, err := cb.Check(context.Background()); err == nil || !h.Reachable || !strings.Contains(err.Error(), "rejected the API key") {
		t.Fatalf("azure check, wrong key: %+v %v", h, err)
	}
	wrong, _ := New(matrixConfig(p.URL + "/elsewhere" + apicontract.AzurePrefix))
	defer wrong.Close()
	if _, err := wrong.Check(context.Background()); err == nil || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "base URL") {
		t.Fatalf("azure check, wrong prefix: %v", err)
	}
}
