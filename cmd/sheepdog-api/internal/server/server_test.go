package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

const testKey = "hs_test_0123456789abcdefwxyz"

// lockedBuffer collects logs from concurrent handlers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newTestServer(t *testing.T, mutate func(*Config)) (*httptest.Server, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	cfg := Config{Keys: []string{testKey}, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts, logs
}

// seasonal builds n one-minute points of a daily-ish wave with a spike at spikeAt (-1 for none).
func seasonal(n, spikeAt int) []apicontract.Point {
	pts := make([]apicontract.Point, n)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range pts {
		v := 100 + 10*math.Sin(2*math.Pi*float64(i)/60) + 0.5*math.Sin(float64(i)*1.7)
		if i == spikeAt {
			v += 80
		}
		pts[i] = apicontract.Point{Timestamp: start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339), Value: &v}
	}
	return pts
}

func post(t *testing.T, url, auth string, body any) (*http.Response, []byte) {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case string:
		data = []byte(b)
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		name, value, _ := strings.Cut(auth, ": ")
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func bearer(k string) string { return "Authorization: Bearer " + k }

func TestAuth(t *testing.T) {
	ts, logs := newTestServer(t, nil)
	body := apicontract.SeriesRequest{Series: seasonal(100, -1), Granularity: "minutely"}
	cases := []struct {
		name, path, auth string
		want             int
	}{
		{"bearer", apicontract.PathEntire, bearer(testKey), 200},
		{"bearer lower-case scheme", apicontract.PathEntire, "Authorization: bearer " + testKey, 200},
		{"bearer on azure route", apicontract.AzurePath(apicontract.PathEntire), bearer(testKey), 200},
		{"subscription key on azure route", apicontract.AzurePath(apicontract.PathEntire), "Ocp-Apim-Subscription-Key: " + testKey, 200},
		{"subscription key not on v1 route", apicontract.PathEntire, "Ocp-Apim-Subscription-Key: " + testKey, 401},
		{"missing", apicontract.PathEntire, "", 401},
		{"wrong key", apicontract.PathEntire, bearer("hs_wrong_0123456789abcdefwxyz"), 401},
		{"key prefix only", apicontract.PathEntire, bearer(testKey[:10]), 401},
		{"basic scheme", apicontract.PathEntire, "Authorization: Basic " + testKey, 401},
		{"snapshot needs key", apicontract.PathSnapshot, "", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := post(t, ts.URL+tc.path, tc.auth, body)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.want, out)
			}
			if tc.want == 401 {
				var e apicontract.Error
				if err := json.Unmarshal(out, &e); err != nil || e.Code != apicontract.CodeUnauthorized {
					t.Fatalf("401 body %s (err %v), want code Unauthorized", out, err)
				}
			}
		})
	}
	if strings.Contains(logs.String(), testKey) || strings.Contains(logs.String(), "0123456789abcdef") {
		t.Fatalf("a key leaked into the logs:\n%s", logs)
	}
	if !strings.Contains(logs.String(), `"last_key":"…wxyz"`) {
		t.Fatalf("rejected key not logged masked:\n%s", logs)
	}
}

func TestNoKeysRefusesToStart(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without keys succeeded")
	}
	if _, err := New(Config{Keys: []string{"hs_short"}}); err == nil {
		t.Fatal("New with a short key succeeded")
	}
}

func TestValidation(t *testing.T) {
	ts, _ := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 200_000; c.MaxPoints = 1000 })
	good := seasonal(100, -1)
	withField := func(f func(*apicontract.SeriesRequest)) apicontract.SeriesRequest {
		r := apicontract.SeriesRequest{Series: good, Granularity: "minutely"}
		f(&r)
		return r
	}
	unsorted := append([]apicontract.Point(nil), good...)
	unsorted[5], unsorted[6] = unsorted[6], unsorted[5]
	noStamp := append([]apicontract.Point(nil), good...)
	noStamp[3].Timestamp = ""
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		msg    string
	}{
		{"empty body", "", 400, apicontract.CodeInvalidJSONFormat, "empty"},
		{"not json", "{series:", 400, apicontract.CodeInvalidJSONFormat, "malformed JSON"},
		{"wrong type", `{"series": "abc"}`, 400, apicontract.CodeInvalidJSONFormat, "series"},
		{"trailing data", `{"series": []} {}`, 400, apicontract.CodeInvalidJSONFormat, "after the JSON"},
		{"no series", `{"granularity":"minutely"}`, 400, apicontract.CodeRequiredSeries, "series is required"},
		{"too few points", apicontract.SeriesRequest{Series: good[:5]}, 400, apicontract.CodeInvalidSeries, "at least 12"},
		{"too many points", apicontract.SeriesRequest{Series: seasonal(1001, -1)}, 400, apicontract.CodeInvalidSeries, "at most 1000"},
		{"body too large", `{"series":[` + strings.Repeat(`{"timestamp":"2026-01-01T00:00:00Z","value":1},`, 5000) + `]}`, 413, apicontract.CodePayloadTooLarge, "exceeds 200000 bytes"},
		{"bad granularity", withField(func(r *apicontract.SeriesRequest) { r.Granularity = "fortnightly" }), 400, apicontract.CodeInvalidGranularity, "fortnightly"},
		{"bad custom interval", withField(func(r *apicontract.SeriesRequest) { r.CustomInterval = new(int) }), 400, apicontract.CodeInvalidCustomInterval, "customInterval"},
		{"bad sensitivity", withField(func(r *apicontract.SeriesRequest) { v := 120.0; r.Sensitivity = &v }), 400, apicontract.CodeInvalidModelArgument, "sensitivity"},
		{"bad ratio", withField(func(r *apicontract.SeriesRequest) { v := 0.9; r.MaxAnomalyRatio = &v }), 400, apicontract.CodeInvalidModelArgument, "maxAnomalyRatio"},
		{"bad period", withField(func(r *apicontract.SeriesRequest) { v := 80; r.Period = &v }), 400, apicontract.CodeInvalidPeriod, "period 80"},
		{"bad impute", withField(func(r *apicontract.SeriesRequest) { r.ImputeMode = "magic" }), 400, apicontract.CodeInvalidImputeMode, "magic"},
		{"fixed without value", withField(func(r *apicontract.SeriesRequest) { r.ImputeMode = "fixed" }), 400, apicontract.CodeInvalidImputeFixedValue, "imputeFixedValue"},
		{"bad method", withField(func(r *apicontract.SeriesRequest) { r.Method = "oracle" }), 400, apicontract.CodeBadArgument, "oracle"},
		{"unsorted", withField(func(r *apicontract.SeriesRequest) { r.Series = unsorted }), 400, apicontract.CodeInvalidSeries, "point 6"},
		{"missing timestamp", withField(func(r *apicontract.SeriesRequest) { r.Series = noStamp }), 400, apicontract.CodeInvalidSeries, "point 3 has no timestamp"},
		{"bad timestamp", `{"series":[{"timestamp":"yesterday","value":1}` + strings.Repeat(`,{"timestamp":"yesterday","value":1}`, 12) + `]}`, 400, apicontract.CodeInvalidSeries, "yesterday"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), tc.body)
			var e apicontract.Error
			_ = json.Unmarshal(out, &e)
			if resp.StatusCode != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("got %d %s, want %d %s containing %q", resp.StatusCode, out, tc.status, tc.code, tc.msg)
			}
			if resp.Header.Get(apicontract.HeaderErrorCode) != tc.code {
				t.Fatalf("error-code header %q, want %q", resp.Header.Get(apicontract.HeaderErrorCode), tc.code)
			}
		})
	}
}

func TestEntireDetectFindsSpike(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	const n, spike = 600, 450
	for _, path := range []string{apicontract.PathEntire, apicontract.AzurePath(apicontract.PathEntire)} {
		resp, out := post(t, ts.URL+path, bearer(testKey), apicontract.SeriesRequest{Series: seasonal(n, spike), Granularity: "minutely"})
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, out)
		}
		var r apicontract.EntireResponse
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatal(err)
		}
		for name, l := range map[string]int{"expectedValues": len(r.ExpectedValues), "upperMargins": len(r.UpperMargins), "lowerMargins": len(r.LowerMargins),
			"isAnomaly": len(r.IsAnomaly), "isPositiveAnomaly": len(r.IsPositiveAnomaly), "isNegativeAnomaly": len(r.IsNegativeAnomaly), "severity": len(r.Severity), "scores": len(r.Scores)} {
			if l != n {
				t.Fatalf("%s has %d entries, want %d", name, l, n)
			}
		}
		if !r.IsAnomaly[spike] || !r.IsPositiveAnomaly[spike] || r.IsNegativeAnomaly[spike] || r.Severity[spike] <= 0 {
			t.Fatalf("spike at %d not flagged positive: anomaly=%v pos=%v sev=%v", spike, r.IsAnomaly[spike], r.IsPositiveAnomaly[spike], r.Severity[spike])
		}
		flagged := 0
		for i, a := range r.IsAnomaly {
			if a {
				flagged++
			} else if r.Severity[i] != 0 {
				t.Fatalf("normal point %d has severity %v; the contract says 0", i, r.Severity[i])
			}
			if r.UpperMargins[i] < 0 || r.LowerMargins[i] < 0 {
				t.Fatalf("negative margin at %d", i)
			}
		}
		if flagged > n/20 {
			t.Fatalf("%d of %d points flagged on a clean wave with one spike", flagged, n)
		}
	}
}

func TestMaxAnomalyRatioCaps(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	pts := seasonal(200, -1)
	for i := 50; i < 200; i += 10 {
		v := *pts[i].Value + 200
		pts[i].Value = &v
	}
	ratio := 0.02
	sens := 99.0
	_, out := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), apicontract.SeriesRequest{Series: pts, Granularity: "minutely", MaxAnomalyRatio: &ratio, Sensitivity: &sens})
	var r apicontract.EntireResponse
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	flagged := 0
	for _, a := range r.IsAnomaly {
		if a {
			flagged++
		}
	}
	if flagged == 0 || flagged > 4 {
		t.Fatalf("%d flagged with maxAnomalyRatio 0.02 of 200 points, want 1..4", flagged)
	}
}

func TestLastAndChangePoint(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	resp, out := post(t, ts.URL+apicontract.PathLast, bearer(testKey), apicontract.SeriesRequest{Series: seasonal(300, 299), Granularity: "minutely"})
	var last apicontract.LastResponse
	if err := json.Unmarshal(out, &last); err != nil || resp.StatusCode != 200 {
		t.Fatalf("last: %d %s %v", resp.StatusCode, out, err)
	}
	if !last.IsAnomaly || !last.IsPositiveAnomaly || last.SuggestedWindow < 12 {
		t.Fatalf("last point spike not flagged: %+v", last)
	}

	pts := seasonal(400, -1)
	for i := 200; i < 400; i++ {
		v := *pts[i].Value + 60
		pts[i].Value = &v
	}
	resp, out = post(t, ts.URL+apicontract.AzurePath(apicontract.PathChangePoint), "Ocp-Apim-Subscription-Key: "+testKey, apicontract.ChangePointRequest{Series: pts, Granularity: "minutely"})
	var cp apicontract.ChangePointResponse
	if err := json.Unmarshal(out, &cp); err != nil || resp.StatusCode != 200 {
		t.Fatalf("changepoint: %d %s %v", resp.StatusCode, out, err)
	}
	if len(cp.IsChangePoint) != 400 || len(cp.ConfidenceScores) != 400 {
		t.Fatalf("changepoint arrays %d/%d, want 400", len(cp.IsChangePoint), len(cp.ConfidenceScores))
	}
	found := -1
	for i, c := range cp.IsChangePoint {
		if c {
			found = i
			break
		}
	}
	if found < 195 || found > 215 {
		t.Fatalf("first change point at %d, want near 200", found)
	}
}

func TestImpute(t *testing.T) {
	nan := math.NaN()
	fixed := 7.0
	cases := []struct {
		mode string
		in   []float64
		want []float64
	}{
		{"linear", []float64{nan, 1, nan, 3, nan}, []float64{1, 1, 2, 3, 3}},
		{"", []float64{1, nan, nan, 4}, []float64{1, 2, 3, 4}},
		{"previous", []float64{nan, 1, nan, 3}, []float64{1, 1, 1, 3}},
		{"zero", []float64{nan, 1}, []float64{0, 1}},
		{"fixed", []float64{nan, 1}, []float64{7, 1}},
	}
	for _, tc := range cases {
		v := append([]float64(nil), tc.in...)
		impute(v, tc.mode, &fixed)
		for i := range v {
			if v[i] != tc.want[i] {
				t.Fatalf("%s: got %v, want %v", tc.mode, v, tc.want)
			}
		}
	}
	v := []float64{nan, 1}
	impute(v, "notFill", nil)
	if !math.IsNaN(v[0]) {
		t.Fatal("notFill filled")
	}
}

func TestSnapshotUsesPerMetricHistory(t *testing.T) {
	ts, _ := newTestServer(t, func(c *Config) { c.HistoryPoints = 200 })
	send := func(ts0 int64, cpu, mem float64) (apicontract.SnapshotResponse, int) {
		resp, out := post(t, ts.URL+apicontract.PathSnapshot, bearer(testKey),
			fmt.Sprintf(`{"metrics":{"cpu_usage":%v,"memory_usage":%v},"timestamp":%d}`, cpu, mem, ts0))
		var r apicontract.SnapshotResponse
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
		return r, resp.StatusCode
	}
	t0 := int64(1_700_000_000)
	for i := 0; i < 150; i++ {
		r, st := send(t0+int64(i)*60, 40+2*math.Sin(float64(i)), 70+math.Cos(float64(i)))
		if st != 200 {
			t.Fatalf("snapshot %d: %d", i, st)
		}
		if i > 100 && r.IsAnomaly {
			t.Fatalf("normal snapshot %d flagged: %+v", i, r)
		}
	}
	r, _ := send(t0+150*60, 95.5, 70)
	if !r.IsAnomaly || r.AnomalyType == nil || *r.AnomalyType != "spike" || !r.Details["cpu_usage"].IsAnomaly || r.Details["memory_usage"].IsAnomaly {
		t.Fatalf("cpu spike not judged against cpu history: %+v", r)
	}
	if r.Details["cpu_usage"].HistoryPoints != 151 || r.Confidence <= 0.5 || r.Confidence > 1 {
		t.Fatalf("details %+v, confidence %v", r.Details["cpu_usage"], r.Confidence)
	}
	if _, st := send(t0, 1, 1); st != 400 {
		t.Fatalf("out-of-order snapshot got %d, want 400", st)
	}
	for i := 0; i < 100; i++ { // history is bounded
		send(t0+int64(200+i)*60, 40, 70)
	}
	r, _ = send(t0+400*60, 40, 70)
	if h := r.Details["cpu_usage"].HistoryPoints; h != 200 {
		t.Fatalf("history has %d points, want the cap 200", h)
	}
	for _, bad := range []string{`{}`, `{"metrics":{}}`, `{"metrics":{"a":null}}`, `{"metrics":{"a":1},"timestamp":1700000000000}`, `{"metrics":{"":1}}`} {
		resp, out := post(t, ts.URL+apicontract.PathSnapshot, bearer(testKey), bad)
		if resp.StatusCode != 400 {
			t.Fatalf("%s: %d %s, want 400", bad, resp.StatusCode, out)
		}
	}
}

func TestSnapshotEvictsMetricsBeyondCap(t *testing.T) {
	hs := newHistoryStore(10, 3, 2)
	now := time.Now()
	for i, name := range []string{"a", "b", "c", "d"} {
		if _, err := hs.observe(0, int64(i), map[string]float64{name: 1}, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	ch := hs.caller(0)
	if _, ok := ch.metrics["a"]; ok || len(ch.metrics) != 3 {
		t.Fatalf("metrics %v: want a evicted and 3 kept", ch.metrics)
	}
}

func TestRateLimit(t *testing.T) {
	ts, _ := newTestServer(t, func(c *Config) { c.RateLimit = 1; c.RateBurst = 2 })
	body := apicontract.SeriesRequest{Series: seasonal(50, -1)}
	var statuses []int
	var retryAfter string
	for range 4 {
		resp, _ := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), body)
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == 429 {
			retryAfter = resp.Header.Get("Retry-After")
		}
	}
	if fmt.Sprint(statuses[:3]) != "[200 200 429]" || retryAfter != "1" {
		t.Fatalf("statuses %v, Retry-After %q; want 200 200 429 and 1", statuses, retryAfter)
	}
	resp, _ := post(t, ts.URL+apicontract.PathEntire, bearer("hs_wrong_0123456789abcdefwxyz"), body)
	if resp.StatusCode != 401 {
		t.Fatalf("wrong key while throttled: %d, want 401 (auth before rate limit)", resp.StatusCode)
	}
}

func TestFaults(t *testing.T) {
	body := apicontract.SeriesRequest{Series: seasonal(50, -1)}
	t.Run("first N throttled then healthy", func(t *testing.T) {
		ts, _ := newTestServer(t, func(c *Config) { c.Faults = Faults{ThrottleRate: 1, RetryAfter: 2 * time.Second, First: 2} })
		var got []string
		for range 3 {
			resp, _ := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), body)
			got = append(got, fmt.Sprintf("%d/%s", resp.StatusCode, resp.Header.Get("Retry-After")))
		}
		if fmt.Sprint(got) != "[429/2 429/2 200/]" {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("errors", func(t *testing.T) {
		ts, _ := newTestServer(t, func(c *Config) { c.Faults = Faults{ErrorRate: 1, ErrorStatus: 502} })
		resp, _ := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), body)
		if resp.StatusCode != 502 {
			t.Fatalf("status %d, want 502", resp.StatusCode)
		}
		h := getHealth(t, ts.URL)
		if h.Status != apicontract.StatusDegraded || h.ErrorRate != 1 {
			t.Fatalf("health %+v, want degraded with error rate 1", h)
		}
	})
	t.Run("drop", func(t *testing.T) {
		ts, _ := newTestServer(t, func(c *Config) { c.Faults = Faults{DropRate: 1} })
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, ts.URL+apicontract.PathEntire, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+testKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("dropped connection answered %d", resp.StatusCode)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		ts, _ := newTestServer(t, func(c *Config) { c.Faults = Faults{MalformedRate: 1} })
		resp, out := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), body)
		if resp.StatusCode != 200 || json.Valid(out) {
			t.Fatalf("got %d valid=%v", resp.StatusCode, json.Valid(out))
		}
	})
	t.Run("latency", func(t *testing.T) {
		ts, _ := newTestServer(t, func(c *Config) { c.Faults = Faults{Latency: 100 * time.Millisecond} })
		start := time.Now()
		resp, _ := post(t, ts.URL+apicontract.PathEntire, bearer(testKey), body)
		if resp.StatusCode != 200 || time.Since(start) < 100*time.Millisecond {
			t.Fatalf("status %d after %s", resp.StatusCode, time.Since(start))
		}
	})
	if _, err := New(Config{Keys: []string{testKey}, Faults: Faults{ErrorRate: 2}}); err == nil {
		t.Fatal("error rate 2 accepted")
	}
}

func getHealth(t *testing.T, base string) apicontract.Health {
	t.Helper()
	resp, err := http.Get(base + apicontract.PathHealth)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h apicontract.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHealthAndMetrics(t *testing.T) {
	ts, _ := newTestServer(t, nil)
	post(t, ts.URL+apicontract.PathEntire, bearer(testKey), apicontract.SeriesRequest{Series: seasonal(50, -1)})
	h := getHealth(t, ts.URL)
	if h.Status != apicontract.StatusOK || h.Version == "" || h.KeyAccepted != nil || h.Requests5m != 1 {
		t.Fatalf("health %+v", h)
	}
	for key, want := range map[string]int{testKey: 200, "hs_wrong_0123456789abcdefwxyz": 401} {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+apicontract.PathHealth, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got apicontract.Health
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != want || (want == 200 && (got.KeyAccepted == nil || !*got.KeyAccepted)) {
			t.Fatalf("health with key: %d %+v, want %d", resp.StatusCode, got, want)
		}
	}
	resp, err := http.Get(ts.URL + apicontract.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`sheepdog_api_requests_total{endpoint="/v1/timeseries/entire/detect",status="200"} 1`,
		`sheepdog_api_request_duration_seconds_bucket{endpoint="/v1/timeseries/entire/detect"`,
		"sheepdog_api_error_rate 0", "sheepdog_api_in_flight_requests",
	} {
		if !strings.Contains(string(text), want) {
			t.Fatalf("metrics lack %q:\n%s", want, text)
		}
	}
	r2, out := post(t, ts.URL+"/v1/nothing", bearer(testKey), "{}")
	if r2.StatusCode != 404 || !strings.Contains(string(out), apicontract.CodeNotFound) {
		t.Fatalf("unknown route: %d %s", r2.StatusCode, out)
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+apicontract.PathEntire, nil)
	r3, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r3.Body.Close()
	if r3.StatusCode != 405 {
		t.Fatalf("GET detect: %d, want 405", r3.StatusCode)
	}
}
