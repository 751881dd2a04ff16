package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
)

// BenchmarkHandler measures the server's own cost per request in-process
// (parsing, engine, response), without the network.
//
//	go test -run '^$' -bench BenchmarkHandler -benchmem ./cmd/sheepdog-api/internal/server
func BenchmarkHandler(b *testing.B) {
	s, err := New(Config{Keys: []string{testKey}})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	serve := func(b *testing.B, path string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	for _, n := range []int{60, 1440, 8640} {
		body, _ := json.Marshal(apicontract.SeriesRequest{Series: seasonal(n, n/2), Granularity: "minutely"})
		b.Run(fmt.Sprintf("entire/points-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				serve(b, apicontract.PathEntire, body)
			}
		})
	}
	tick := 0 // snapshots must move forward in time across the benchmark's repeated runs
	b.Run("snapshot/4-metrics-720-history", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			tick++
			i := tick
			body := fmt.Appendf(nil, `{"metrics":{"cpu_usage":%g,"memory_usage":%g,"request_count":%g,"error_rate":%g},"timestamp":%d}`,
				50+5*math.Sin(float64(i)/10), 70+math.Cos(float64(i)/7), 15000+100*math.Sin(float64(i)/5), 0.01, 1_700_000_000+i*60)
			serve(b, apicontract.PathSnapshot, body)
		}
	})
}
