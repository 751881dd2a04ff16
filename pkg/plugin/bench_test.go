package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// memFetcher serves pre-generated series from memory, cut to the requested
// range, so benchmarks measure the plugin and not a source.
type memFetcher struct {
	series []source.Series
	calls  atomic.Int64
	points atomic.Int64
}

func (m *memFetcher) Fetch(_ context.Context, fr FetchRequest) ([]source.Series, error) {
	m.calls.Add(1)
	from, to := fr.Range.From.UnixMilli(), fr.Range.To.UnixMilli()
	out := make([]source.Series, len(m.series))
	for i, s := range m.series {
		a := sort.Search(len(s.Times), func(k int) bool { return s.Times[k] >= from })
		b := sort.Search(len(s.Times), func(k int) bool { return s.Times[k] > to })
		out[i] = s
		out[i].Times, out[i].Values = s.Times[a:b], s.Values[a:b]
		m.points.Add(int64(b - a))
	}
	return out, nil
}

// genSeries makes n minutely series of the given length with daily
// seasonality, noise and a few spikes; they share one time axis.
func genSeries(n, points int) []source.Series {
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).UnixMilli()
	times := make([]int64, points)
	for i := range times {
		times[i] = start + int64(i)*60_000
	}
	out := make([]source.Series, n)
	for k := range out {
		rng := rand.New(rand.NewPCG(uint64(k), 99))
		vals := make([]float64, points)
		base := 50 + float64(k%17)
		for i := range vals {
			vals[i] = base + 10*math.Sin(2*math.Pi*float64(i)/1440) + rng.NormFloat64()
			if rng.IntN(2000) == 0 {
				vals[i] += 25
			}
		}
		out[k] = source.Series{Name: "cpu_usage", Labels: map[string]string{"host": fmt.Sprintf("h%04d", k)},
			DisplayName: fmt.Sprintf("h%04d", k), Times: times, Values: vals}
	}
	return out
}

func benchDatasource(f Fetcher) *Datasource {
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "bench", JSONData: []byte(`{"prometheusUrl":"http://127.0.0.1:1"}`)})
	d.fetcher = f
	return d
}

func histogramSum(h prometheus.Observer) float64 {
	var m dto.Metric
	_ = h.(prometheus.Metric).Write(&m)
	return m.GetHistogram().GetSampleSum()
}

// peakHeap samples the heap while fn runs and returns the peak in bytes.
func peakHeap(fn func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak.Load()
}

// cpuTime is the process's user+system CPU time: on a loaded machine it
// measures the work done where wall time also measures the waiting.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func panelRequest(from, to time.Time, query string, alert bool) *backend.QueryDataRequest {
	req := &backend.QueryDataRequest{Headers: map[string]string{}, PluginContext: backend.PluginContext{OrgID: 1},
		Queries: []backend.DataQuery{{RefID: "A", JSON: json.RawMessage(query), Interval: time.Minute, MaxDataPoints: 20_000,
			TimeRange: backend.TimeRange{From: from, To: to}}}}
	if alert {
		req.Headers["FromAlert"] = "true"
	}
	return req
}

// BenchmarkQueryData measures a panel query end to end in-process - fetch from
// memory, detection, frames and their Arrow encoding as the SDK sends them to
// Grafana - for a week of minutely points per series. It reports the engine's
// share of the time and the peak heap.
func BenchmarkQueryData(b *testing.B) {
	const points = 10_080
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) {
			f := &memFetcher{series: genSeries(n, points)}
			d := benchDatasource(f)
			times := f.series[0].Times
			from, to := time.UnixMilli(times[0]), time.UnixMilli(times[len(times)-1])
			// history 0: the week is the whole input, as in the target.
			req := panelRequest(from, to, `{"source":{"type":"prometheus","expr":"cpu_usage"},"detector":{"history":"0"},"outputs":["bands","score","flags","windows"]}`, false)
			engine := metricEngineSeconds.WithLabelValues("embedded")
			var queryDur, encodeDur time.Duration
			run := func() {
				t0 := time.Now()
				resp, err := d.QueryData(context.Background(), req)
				t1 := time.Now()
				defer func() { queryDur += t1.Sub(t0); encodeDur += time.Since(t1) }()
				if err != nil || resp.Responses["A"].Error != nil {
					b.Fatalf("query: %v %v", err, resp.Responses["A"].Error)
				}
				if got := len(resp.Responses["A"].Frames); got != n+1 {
					b.Fatalf("%d frames, want %d", got, n+1)
				}
				if _, err := (backend.ConvertToProtobuf{}).QueryDataResponse(backend.DataFrameFormat_ARROW, resp); err != nil {
					b.Fatal(err)
				}
			}
			// The heap is sampled in one untimed run: sampling stops the world.
			peak := peakHeap(run)
			queryDur, encodeDur = 0, 0
			b.ReportAllocs()
			b.ResetTimer()
			engineBefore := histogramSum(engine)
			start, cpuStart := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				run()
			}
			total := time.Since(start).Seconds()
			b.ReportMetric((cpuTime()-cpuStart).Seconds()/float64(b.N), "cpu-s/op")
			engineSecs := histogramSum(engine) - engineBefore
			b.ReportMetric(engineSecs/float64(b.N), "engine-s/op")
			b.ReportMetric(queryDur.Seconds()/float64(b.N), "querydata-s/op")
			b.ReportMetric(encodeDur.Seconds()/float64(b.N), "arrow-encode-s/op")
			b.ReportMetric(100*engineSecs/total, "engine-%")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkAlertReevaluation measures a cached alert re-evaluation: the rule
// advances one minute, only the tail from each series' checkpoint (the
// revisited points and the new one) is fetched and scored.
func BenchmarkAlertReevaluation(b *testing.B) {
	const points = 10_080
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("series=%d", n), func(b *testing.B) {
			extra := max(b.N, 1) + 1
			f := &memFetcher{series: genSeries(n, points+extra)}
			d := benchDatasource(f)
			times := f.series[0].Times
			query := `{"source":{"type":"prometheus","expr":"cpu_usage"},"detector":{"history":"1d"}}`
			at := func(i int) *backend.QueryDataRequest {
				to := time.UnixMilli(times[points-1+i])
				return panelRequest(to.Add(-time.Hour), to, query, true)
			}
			resp, err := d.QueryData(context.Background(), at(0))
			if err != nil || resp.Responses["A"].Error != nil {
				b.Fatalf("first evaluation: %v %v", err, resp.Responses["A"].Error)
			}
			pointsBefore := f.points.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				resp, err := d.QueryData(context.Background(), at(i))
				if err != nil || resp.Responses["A"].Error != nil {
					b.Fatalf("re-evaluation: %v %v", err, resp.Responses["A"].Error)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n)/1e6, "ms/series")
			b.ReportMetric(float64(f.points.Load()-pointsBefore)/float64(b.N)/float64(n), "fetched-points/series")
		})
	}
}
