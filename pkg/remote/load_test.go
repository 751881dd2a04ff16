package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/apicontract"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

const (
	loadConcurrency   = 200
	loadServerLatency = 50 * time.Millisecond
	loadPoints        = 60 // small, so the server's engine time is negligible next to the injected latency
)

// BenchmarkLoad: each iteration is a wave of 200 concurrent Detect calls
// (one series each) through one client.
//
//	go test -run '^$' -bench BenchmarkLoad -benchtime 5x ./pkg/remote
//
// latency-50ms: the real sheepdog-api with --fault-latency 50ms. overhead is
// elapsed minus the 50 ms the server sleeps: it holds the client's work,
// HTTP on both sides and queueing behind the in-flight cap.
// server-down: the process is stopped; the breaker opens and the embedded
// engine answers. Goroutines and heap are read after Close and a GC.
func BenchmarkLoad(b *testing.B) {
	for _, inFlight := range []int{256, DefaultMaxInFlight} {
		b.Run(fmt.Sprintf("latency-50ms/max-in-flight-%d", inFlight), func(b *testing.B) {
			p := startServer(b, "--fault-latency", loadServerLatency.String())
			runLoad(b, p.URL, inFlight, false)
		})
	}
	b.Run("server-down", func(b *testing.B) {
		p := startServer(b)
		p.stop()
		runLoad(b, p.URL, DefaultMaxInFlight, true)
	})
}

func runLoad(b *testing.B, url string, inFlight int, down bool) {
	runtime.GC()
	baseGoroutines := runtime.NumGoroutine()
	cfg := Config{URL: url, APIKey: testKey, Timeout: 2 * time.Second, MaxRetries: 2,
		BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		BreakerThreshold: 5, BreakerCooldown: time.Minute, MaxInFlight: inFlight, Fallback: true}
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	series := wave(loadPoints, 40)
	var serverBefore serverDurations
	if !down {
		serverBefore = scrapeServer(b, url)
	}
	var elapsed []time.Duration
	var mu sync.Mutex
	fallbacks, failures := 0, 0
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for range loadConcurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				start := time.Now()
				outs, err := detectVia(c, ctx, []engine.Series{series}, engine.Options{})
				d := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				elapsed = append(elapsed, d)
				if err != nil || outs[0].Result == nil {
					failures++
				} else if outs[0].FellBack {
					fallbacks++
				}
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	c.Close()
	slices.Sort(elapsed)
	pct := func(q float64) time.Duration { return elapsed[min(len(elapsed)-1, int(q*float64(len(elapsed))))] }
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(pct(0.50)), "p50-ms")
	b.ReportMetric(ms(pct(0.99)), "p99-ms")
	if !down {
		b.ReportMetric(ms(pct(0.50)-loadServerLatency), "p50-overhead-ms")
		b.ReportMetric(ms(pct(0.99)-loadServerLatency), "p99-overhead-ms")
		after := scrapeServer(b, url)
		if n := after.count - serverBefore.count; n > 0 {
			b.ReportMetric((after.sum-serverBefore.sum)/n*1000, "server-mean-ms")
		}
	}
	b.ReportMetric(float64(fallbacks)/float64(len(elapsed)), "fallback-share")
	b.ReportMetric(float64(failures), "failures")
	if down && c.BreakerState() != BreakerOpen {
		b.Errorf("breaker %s with the server down", c.BreakerState())
	}
	if failures > 0 {
		b.Errorf("%d detections without a result", failures)
	}
	n := waitGoroutines(b, baseGoroutines)
	var ms2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms2)
	b.ReportMetric(float64(n-baseGoroutines), "goroutines-left")
	b.ReportMetric(float64(ms2.HeapAlloc)/(1<<20), "heap-MiB-after")
}

type serverDurations struct{ sum, count float64 }

// scrapeServer reads the server's own duration histogram for entire/detect.
func scrapeServer(b *testing.B, url string) serverDurations {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var d serverDurations
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `endpoint="/v1/timeseries/entire/detect"`) {
			continue
		}
		fields := strings.Fields(line)
		v, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
		switch {
		case strings.HasPrefix(line, "sheepdog_api_request_duration_seconds_sum"):
			d.sum = v
		case strings.HasPrefix(line, "sheepdog_api_request_duration_seconds_count"):
			d.count = v
		}
	}
	return d
}

// BenchmarkClientRoundTrip isolates the client's own cost per detection
// (encode, HTTP over a kept-alive loopback connection, validate, decode,
// windows) against an in-process server answering a canned response.
func BenchmarkClientRoundTrip(b *testing.B) {
	for _, n := range []int{60, 1440} {
		b.Run(fmt.Sprintf("points-%d", n), func(b *testing.B) {
			s := wave(n, n/2)
			req, _ := buildRequest(s, engine.Options{})
			canned := cannedResponse(len(req.Series))
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(canned)
			}))
			defer ts.Close()
			c, err := New(Config{URL: ts.URL, APIKey: testKey, Fallback: true})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			series := []engine.Series{s}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				outs, _ := detectVia(c, context.Background(), series, engine.Options{})
				if outs[0].Err != nil || outs[0].FellBack {
					b.Fatal(outs[0].Err)
				}
			}
		})
	}
}

func cannedResponse(n int) []byte {
	resp := apicontract.EntireResponse{ExpectedValues: make([]float64, n), UpperMargins: make([]float64, n), LowerMargins: make([]float64, n),
		IsAnomaly: make([]bool, n), IsPositiveAnomaly: make([]bool, n), IsNegativeAnomaly: make([]bool, n), Severity: make([]float64, n), Scores: make([]float64, n)}
	for i := range n {
		resp.ExpectedValues[i], resp.UpperMargins[i], resp.LowerMargins[i], resp.Scores[i] = 100+float64(i%7), 12.5, 12.5, 0.1
	}
	resp.IsAnomaly[n/2], resp.IsPositiveAnomaly[n/2], resp.Severity[n/2], resp.Scores[n/2] = true, true, 0.93, 0.93
	out, _ := json.Marshal(resp)
	return out
}
