package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

// fuzzServer answers in-process; its limits are small so the fuzzer spends
// its time on parsing rather than on long detections.
func fuzzServer(f *testing.F) http.Handler {
	s, err := New(Config{Keys: []string{testKey}, MaxPoints: 2000, MaxBodyBytes: 256 << 10})
	if err != nil {
		f.Fatal(err)
	}
	return s.Handler()
}

// checkAnswer holds every answer to the contract: 2xx with JSON of the right
// shape, or 4xx with {"code","message"}; never a 5xx or a panic.
func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder, path string) {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Code >= 500 {
		t.Fatalf("%s answered %d: %s", path, rec.Code, body)
	}
	if rec.Code >= 400 {
		var e apicontract.Error
		if err := json.Unmarshal(body, &e); err != nil || e.Code == "" || e.Message == "" {
			t.Fatalf("%s: %d with a body that is not {code,message}: %q", path, rec.Code, body)
		}
		return
	}
	if !json.Valid(body) {
		t.Fatalf("%s: 200 with invalid JSON %q", path, body)
	}
}

func fuzzPath(f *testing.F, path string, seeds ...string) {
	h := fuzzServer(f)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { defer close(done); h.ServeHTTP(rec, req) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s took over 10s for a %d-byte body: %q", path, len(body), truncate(string(body), 2000))
		}
		checkAnswer(t, rec, path)
		if rec.Code == 200 && path == apicontract.PathEntire {
			var req apicontract.SeriesRequest
			var resp apicontract.EntireResponse
			_ = json.Unmarshal(body, &req)
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatalf("200 body does not decode: %v", err)
			}
			if n := len(req.Series); len(resp.ExpectedValues) != n || len(resp.IsAnomaly) != n || len(resp.Severity) != n {
				t.Fatalf("response arrays %d/%d/%d for %d points", len(resp.ExpectedValues), len(resp.IsAnomaly), len(resp.Severity), n)
			}
		}
	})
}

const seedSeries = `{"series":[{"timestamp":"2026-01-01T00:00:00Z","value":1},{"timestamp":"2026-01-01T00:01:00Z","value":2},{"timestamp":"2026-01-01T00:02:00Z","value":1},{"timestamp":"2026-01-01T00:03:00Z","value":2},{"timestamp":"2026-01-01T00:04:00Z","value":1},{"timestamp":"2026-01-01T00:05:00Z","value":2},{"timestamp":"2026-01-01T00:06:00Z","value":1},{"timestamp":"2026-01-01T00:07:00Z","value":2},{"timestamp":"2026-01-01T00:08:00Z","value":1},{"timestamp":"2026-01-01T00:09:00Z","value":null},{"timestamp":"2026-01-01T00:10:00Z","value":1},{"timestamp":"2026-01-01T00:11:00Z","value":2},{"timestamp":"2026-01-01T00:12:00Z","value":50}],"granularity":"minutely","sensitivity":95,"period":2,"maxAnomalyRatio":0.25,"imputeMode":"linear"}`

func FuzzDetectRequest(f *testing.F) {
	fuzzPath(f, apicontract.PathEntire, seedSeries,
		`{"series":[]}`, `{"series":null}`, `[]`, `{"series":[{"value":1}],"granularity":"none"}`,
		`{"series":[{"timestamp":"1700000000","value":1e308}],"period":-1}`)
}

func FuzzLastRequest(f *testing.F) {
	fuzzPath(f, apicontract.PathLast, seedSeries, `{"series":[{"timestamp":"x"}]}`)
}

func FuzzChangePointRequest(f *testing.F) {
	fuzzPath(f, apicontract.PathChangePoint, seedSeries, `{"series":[],"threshold":2,"stableTrendWindow":0}`)
}

func FuzzSnapshotRequest(f *testing.F) {
	fuzzPath(f, apicontract.PathSnapshot, `{"metrics":{"cpu_usage":95.5,"memory_usage":88.2,"request_count":15000,"error_rate":0.15},"timestamp":1700000000}`,
		`{"metrics":{"a":null}}`, `{"metrics":{"":1},"timestamp":-5}`, `{"metrics":{"x":1e400}}`)
}
