package remote

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// matrixConfig is tight so the whole matrix runs in seconds: 400 ms per
// attempt, 3 retries, 50..200 ms backoff, within a 4 s caller deadline.
func matrixConfig(url string) Config {
	return Config{
		URL: url, APIKey: testKey,
		Timeout: 400 * time.Millisecond, BackoffBase: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		MaxRetries: 3, BreakerThreshold: 100, BreakerCooldown: time.Second, MaxInFlight: 4,
		Fallback: true,
	}
}

const matrixDeadline = 4 * time.Second

// matrixGrace is how far past the caller's deadline Detect may return before
// a case fails: a sanity limit only (the fallback still has to run on a
// loaded 2-core CI machine). Behaviour is asserted by outcome, attempts,
// error text and breaker state, never by tight timings.
const matrixGrace = 2 * time.Second

type matrixRow struct {
	server, name, want, got string
	attempts                int
	elapsed                 time.Duration
	pass                    bool
}

type matrixTable struct {
	mu   sync.Mutex
	rows []matrixRow
}

func (mt *matrixTable) add(r matrixRow) {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	mt.rows = append(mt.rows, r)
}

func (mt *matrixTable) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| server | fault | expected | outcome | attempts | elapsed (deadline %s) | ok |\n|---|---|---|---|---|---|---|\n", matrixDeadline)
	for _, r := range mt.rows {
		ok := "yes"
		if !r.pass {
			ok = "**NO**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s |\n", r.server, r.name, r.want, r.got, r.attempts, r.elapsed.Round(time.Millisecond), ok)
	}
	return b.String()
}

// describe renders an outcome as "ok", "fallback (class)" or "error (class)".
func describe(o Outcome) string {
	switch {
	case o.Err == nil && o.Result != nil:
		return "ok"
	case o.FellBack:
		return "fallback (" + string(classify(o.Err)) + ")"
	}
	return "error (" + string(classify(o.Err)) + ")"
}

type matrixCase struct {
	name         string
	want         string // describe() of the expected outcome
	wantAttempts int
	minElapsed   time.Duration // lower bounds (waits the client must make) cannot flake
	errContains  string
	noFallback   bool
}

// runMatrixCase detects one 120-point series and checks the outcome.
func runMatrixCase(t *testing.T, table *matrixTable, server, url string, tc matrixCase) Outcome {
	t.Helper()
	cfg := matrixConfig(url)
	cfg.Fallback = !tc.noFallback
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := ctxTimeout(t, matrixDeadline)
	start := time.Now()
	outs, err := detectVia(c, ctx, []engine.Series{wave(120, 90)}, engine.Options{})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	o := outs[0]
	got := describe(o)
	maxElapsed := matrixDeadline + matrixGrace
	var problems []string
	if got != tc.want {
		problems = append(problems, fmt.Sprintf("outcome %q, want %q (err: %v)", got, tc.want, o.Err))
	}
	if o.Attempts != tc.wantAttempts {
		problems = append(problems, fmt.Sprintf("attempts %d, want %d (err: %v)", o.Attempts, tc.wantAttempts, o.Err))
	}
	if elapsed < tc.minElapsed || elapsed > maxElapsed {
		problems = append(problems, fmt.Sprintf("elapsed %s outside %s..%s", elapsed, tc.minElapsed, maxElapsed))
	}
	if o.Result == nil && !tc.noFallback {
		problems = append(problems, "no result although fallback is on")
	}
	if o.Result != nil && len(o.Result.Expected) != 120 {
		problems = append(problems, fmt.Sprintf("result has %d points", len(o.Result.Expected)))
	}
	if o.Err != nil {
		if strings.Contains(o.Err.Error(), testKey) || strings.Contains(o.FallbackReason, testKey) {
			problems = append(problems, "the API key appears in the error: "+o.Err.Error())
		}
		if tc.errContains != "" && !strings.Contains(o.Err.Error(), tc.errContains) {
			problems = append(problems, fmt.Sprintf("error %q lacks %q", o.Err, tc.errContains))
		}
	}
	if o.FellBack && (o.FallbackReason == "" || o.Result == nil) {
		problems = append(problems, "fell back without a reason or result")
	}
	table.add(matrixRow{server: server, name: tc.name, want: tc.want, got: got, attempts: o.Attempts, elapsed: elapsed, pass: len(problems) == 0})
	for _, p := range problems {
		t.Error(p)
	}
	return o
}

// answer decodes the request and writes a valid entire/detect response,
// letting mutate spoil it; on the batch route, one such result per item.
func answer(w http.ResponseWriter, r *http.Request, mutate func(map[string]any)) {
	var items []apicontract.SeriesRequest
	batch := r.URL.Path == apicontract.PathEntireBatch
	if batch {
		var req apicontract.BatchEntireRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(400)
			return
		}
		items = req.Items
	} else {
		var req apicontract.SeriesRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(400)
			return
		}
		items = []apicontract.SeriesRequest{req}
	}
	results := make([]any, len(items))
	for k, req := range items {
		n := len(req.Series)
		resp := map[string]any{"period": 0}
		floats := func(v float64) []float64 {
			out := make([]float64, n)
			for i := range out {
				out[i] = v
			}
			return out
		}
		resp["expectedValues"], resp["upperMargins"], resp["lowerMargins"], resp["severity"] = floats(100), floats(20), floats(20), floats(0)
		resp["isAnomaly"], resp["isPositiveAnomaly"], resp["isNegativeAnomaly"] = make([]bool, n), make([]bool, n), make([]bool, n)
		if mutate != nil {
			mutate(resp)
		}
		results[k] = resp
	}
	w.Header().Set("Content-Type", "application/json")
	if batch {
		wrapped := make([]any, len(results))
		for k, res := range results {
			wrapped[k] = map[string]any{"status": 200, "result": res}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"results": wrapped})
		return
	}
	_ = json.NewEncoder(w).Encode(results[0])
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apicontract.Error{Code: code, Message: msg})
}

func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// TestFaultMatrix runs the client against every failure we promise to
// survive, first on a hostile in-process server, then on the real
// sheepdog-api process with fault injection, and prints the table.
// SHEEPDOG_FAULT_TABLE=path also writes it as markdown.
func TestFaultMatrix(t *testing.T) {
	table := &matrixTable{}
	t.Run("hostile", func(t *testing.T) { hostileMatrix(t, table) })
	t.Run("real", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds and runs cmd/sheepdog-api")
		}
		realMatrix(t, table)
	})
	md := table.markdown()
	t.Logf("fault matrix:\n%s", md)
	if path := os.Getenv("SHEEPDOG_FAULT_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func hostileMatrix(t *testing.T, table *matrixTable) {
	var otherHits atomic.Int64
	var otherAuth atomic.Value
	otherAuth.Store("")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		otherAuth.Store(r.Header.Get("Authorization") + r.Header.Get(apicontract.HeaderSubscriptionKey))
		answer(w, r, nil)
	}))
	defer other.Close()

	type hostileCase struct {
		matrixCase
		handler func(n int64, w http.ResponseWriter, r *http.Request) // n counts requests from 1
	}
	cases := []hostileCase{
		{matrixCase{name: "healthy", want: "ok", wantAttempts: 1}, func(_ int64, w http.ResponseWriter, r *http.Request) { answer(w, r, nil) }},
		{matrixCase{name: "429 with Retry-After: 1, then OK", want: "ok", wantAttempts: 2, minElapsed: time.Second}, func(n int64, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				apiError(w, 429, apicontract.CodeTooManyRequests, "slow down")
				return
			}
			answer(w, r, nil)
		}},
		{matrixCase{name: "429 without Retry-After, always", want: "fallback (throttled)", wantAttempts: 4}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			apiError(w, 429, apicontract.CodeTooManyRequests, "slow down")
		}},
		{matrixCase{name: "429 with Retry-After: 30 (past deadline)", want: "fallback (throttled)", wantAttempts: 1, errContains: "would pass the deadline"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			apiError(w, 429, apicontract.CodeTooManyRequests, "slow down")
		}},
		{matrixCase{name: "500", want: "fallback (server_error)", wantAttempts: 1, errContains: "kaput"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			apiError(w, 500, apicontract.CodeInternalError, "kaput")
		}},
		{matrixCase{name: "502, always", want: "fallback (server_error)", wantAttempts: 4}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html>Bad Gateway</html>"))
		}},
		{matrixCase{name: "503 twice, then OK", want: "ok", wantAttempts: 3}, func(n int64, w http.ResponseWriter, r *http.Request) {
			if n <= 2 {
				apiError(w, 503, apicontract.CodeServiceUnavailable, "warming up")
				return
			}
			answer(w, r, nil)
		}},
		{matrixCase{name: "slow (2 s) past the 400 ms timeout", want: "fallback (timeout)", wantAttempts: 4, minElapsed: 1600 * time.Millisecond}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(2 * time.Second):
			case <-r.Context().Done():
			}
		}},
		{matrixCase{name: "connection reset", want: "fallback (connection)", wantAttempts: 4}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			resetConnection(w)
		}},
		{matrixCase{name: "truncated JSON", want: "fallback (invalid_response)", wantAttempts: 1, errContains: "truncated"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"period":0,"expectedValues":[1,2`))
		}},
		{matrixCase{name: "malformed JSON", want: "fallback (invalid_response)", wantAttempts: 1, errContains: "malformed"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"period":0,"expectedValues":[1,,2]}`))
		}},
		{matrixCase{name: "wrong array length", want: "fallback (invalid_response)", wantAttempts: 1, errContains: "upperMargins has 3 entries for 120 points"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			answer(w, r, func(m map[string]any) { m["upperMargins"] = []float64{1, 2, 3} })
		}},
		{matrixCase{name: "wrong type (string values)", want: "fallback (invalid_response)", wantAttempts: 1, errContains: "expectedValues"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			answer(w, r, func(m map[string]any) { m["expectedValues"] = []string{"1"} })
		}},
		{matrixCase{name: "null inside array", want: "fallback (invalid_response)", wantAttempts: 1, errContains: "isAnomaly[0] is null"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			answer(w, r, func(m map[string]any) { a := make([]any, 120); m["isAnomaly"] = a })
		}},
		{matrixCase{name: "missing field", want: "fallback (invalid_response)", wantAttempts: 1, errContains: "lowerMargins is missing"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			answer(w, r, func(m map[string]any) { delete(m, "lowerMargins") })
		}},
		{matrixCase{name: "401", want: "fallback (key_rejected)", wantAttempts: 1, errContains: "rejected the API key"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			apiError(w, 401, apicontract.CodeUnauthorized, "API key rejected")
		}},
		{matrixCase{name: "401, fallback off", want: "error (key_rejected)", wantAttempts: 1, errContains: "rejected the API key", noFallback: true}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			apiError(w, 401, apicontract.CodeUnauthorized, "API key rejected")
		}},
		{matrixCase{name: "400 echoing the key", want: "fallback (client_error)", wantAttempts: 1, errContains: "[redacted]"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			apiError(w, 400, apicontract.CodeBadArgument, "bad request from "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}},
		{matrixCase{name: "redirect to another host", want: "fallback (redirect_refused)", wantAttempts: 1, errContains: "refused"}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}},
		{matrixCase{name: "redirect within the host", want: "ok", wantAttempts: 1}, func(_ int64, w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == apicontract.PathEntire {
				http.Redirect(w, r, "/moved"+r.URL.Path, http.StatusPermanentRedirect)
				return
			}
			answer(w, r, nil)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tc.handler(n.Add(1), w, r)
			}))
			defer ts.Close()
			runMatrixCase(t, table, "hostile", ts.URL, tc.matrixCase)
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + ln.Addr().String()
		ln.Close()
		runMatrixCase(t, table, "hostile", url, matrixCase{name: "connection refused", want: "fallback (connection)", wantAttempts: 4})
	})
	if otherHits.Load() != 0 || otherAuth.Load().(string) != "" {
		t.Errorf("the other host got %d requests (auth %q); redirects must not be followed across hosts", otherHits.Load(), otherAuth.Load())
	}
}

func realMatrix(t *testing.T, table *matrixTable) {
	cases := []struct {
		matrixCase
		flags []string
		key   string
	}{
		{matrixCase{name: "healthy", want: "ok", wantAttempts: 1}, nil, ""},
		{matrixCase{name: "--fault-429-rate 1 --fault-first 1 (Retry-After 1 s)", want: "ok", wantAttempts: 2, minElapsed: time.Second},
			[]string{"--fault-429-rate", "1", "--fault-first", "1", "--fault-retry-after", "1s"}, ""},
		{matrixCase{name: "--fault-429-rate 1 --fault-retry-after 0 (no Retry-After)", want: "fallback (throttled)", wantAttempts: 4},
			[]string{"--fault-429-rate", "1", "--fault-retry-after", "0"}, ""},
		{matrixCase{name: "--rate-limit 0.2 --rate-burst 1, second call (Retry-After 5 s > deadline)", want: "fallback (throttled)", wantAttempts: 1, errContains: "would pass the deadline"},
			[]string{"--rate-limit", "0.2", "--rate-burst", "1"}, "second"},
		{matrixCase{name: "--fault-error-rate 1 --fault-error-status 500", want: "fallback (server_error)", wantAttempts: 1},
			[]string{"--fault-error-rate", "1", "--fault-error-status", "500"}, ""},
		{matrixCase{name: "--fault-error-rate 1 --fault-error-status 502", want: "fallback (server_error)", wantAttempts: 4},
			[]string{"--fault-error-rate", "1", "--fault-error-status", "502"}, ""},
		{matrixCase{name: "--fault-error-rate 1 (503) --fault-first 2", want: "ok", wantAttempts: 3},
			[]string{"--fault-error-rate", "1", "--fault-first", "2"}, ""},
		{matrixCase{name: "--fault-latency 2s (timeout 400 ms)", want: "fallback (timeout)", wantAttempts: 4, minElapsed: 1600 * time.Millisecond},
			[]string{"--fault-latency", "2s"}, ""},
		{matrixCase{name: "--fault-drop-rate 1 (TCP reset)", want: "fallback (connection)", wantAttempts: 4},
			[]string{"--fault-drop-rate", "1"}, ""},
		{matrixCase{name: "--fault-malformed-rate 1 (truncated JSON)", want: "fallback (invalid_response)", wantAttempts: 1},
			[]string{"--fault-malformed-rate", "1"}, ""},
		{matrixCase{name: "wrong API key", want: "fallback (key_rejected)", wantAttempts: 1, errContains: "rejected the API key"}, nil, "wrong"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startServer(t, tc.flags...)
			switch tc.key {
			case "wrong":
				runWithKey(t, table, p.URL, "hs_wrong_00000000000000000000", tc.matrixCase)
				return
			case "second":
				runMatrixCase(t, table, "real (warm-up call)", p.URL, matrixCase{name: "first call within burst", want: "ok", wantAttempts: 1})
			}
			runMatrixCase(t, table, "real", p.URL, tc.matrixCase)
			if strings.Contains(p.stderr.String(), testKey) {
				t.Errorf("server log contains the key")
			}
		})
	}
	t.Run("server down", func(t *testing.T) {
		p := startServer(t)
		p.stop()
		runMatrixCase(t, table, "real", p.URL, matrixCase{name: "process stopped (connection refused)", want: "fallback (connection)", wantAttempts: 4})
	})
	t.Run("breaker opens", func(t *testing.T) {
		p := startServer(t, "--fault-error-rate", "1")
		cfg := matrixConfig(p.URL)
		cfg.BreakerThreshold = 3
		cfg.BreakerCooldown = time.Minute
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := ctxTimeout(t, matrixDeadline)
		first, _ := detectVia(c, ctx, []engine.Series{wave(120, -1)}, engine.Options{})
		served := detectRequests(t, p.URL)
		start := time.Now()
		outs, _ := detectVia(c, ctxTimeout(t, matrixDeadline), []engine.Series{wave(120, -1)}, engine.Options{})
		elapsed := time.Since(start)
		after := detectRequests(t, p.URL)
		o := outs[0]
		// An open breaker answers from the fallback without touching the
		// network: no attempt, no request at the server.
		pass := describe(first[0]) == "fallback (circuit_open)" && first[0].Attempts == 3 &&
			describe(o) == "fallback (circuit_open)" && o.Attempts == 0 && after == served &&
			c.BreakerState() == BreakerOpen && elapsed <= matrixDeadline+matrixGrace
		table.add(matrixRow{server: "real", name: "--fault-error-rate 1, breaker threshold 3: next call", want: "fallback (circuit_open), 0 attempts, no request at the server",
			got: describe(o), attempts: o.Attempts, elapsed: elapsed, pass: pass})
		if !pass {
			t.Errorf("first %s/%d (%v), then %s/%d in %s, server saw %v detect requests before and %v after, breaker %s",
				describe(first[0]), first[0].Attempts, first[0].Err, describe(o), o.Attempts, elapsed, served, after, c.BreakerState())
		}
	})
}

// detectRequests is how many detection requests the real server has
// answered, from its sheepdog_api_requests_total counter.
func detectRequests(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("server metrics: %v", err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse server metrics: %v", err)
	}
	var n float64
	for _, m := range fams["sheepdog_api_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "endpoint" && l.GetValue() != apicontract.PathHealth && l.GetValue() != "other" {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

func runWithKey(t *testing.T, table *matrixTable, url, key string, tc matrixCase) {
	cfg := matrixConfig(url)
	cfg.APIKey = key
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	outs, _ := detectVia(c, ctxTimeout(t, matrixDeadline), []engine.Series{wave(120, 90)}, engine.Options{})
	elapsed := time.Since(start)
	o := outs[0]
	pass := describe(o) == tc.want && o.Attempts == tc.wantAttempts && o.Err != nil &&
		strings.Contains(o.Err.Error(), tc.errContains) && !strings.Contains(o.Err.Error(), key)
	table.add(matrixRow{server: "real", name: tc.name, want: tc.want, got: describe(o), attempts: o.Attempts, elapsed: elapsed, pass: pass})
	if !pass {
		t.Errorf("got %s/%d: %v", describe(o), o.Attempts, o.Err)
	}
}
