package plugin

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

func budgetDatasource(t *testing.T, jsonData string, f Fetcher) *Datasource {
	t.Helper()
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "b", JSONData: []byte(jsonData)})
	if d.cfgErr != nil {
		t.Fatal(d.cfgErr)
	}
	d.fetcher = f
	return d
}

// Budgets are refused with a 400 that names the jsonData key to raise, after
// the fetch but before detection (the fetcher was called, nothing was framed),
// or before the fetch when the plan alone is over.
func TestPointAndSeriesBudgets(t *testing.T) {
	series := genSeries(10, 2000) // 10 series of 2000 minutely points
	to := time.UnixMilli(series[0].Times[1999])
	from := to.Add(-6 * time.Hour)
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"0"}}` // 361 points per series
	tests := []struct {
		name       string
		jsonData   string
		queries    int
		wantErr    string // substring of every failing query's error; "" = all succeed
		wantFailed int
		wantFetch  bool // the source was asked
	}{
		{"defaults", `{"prometheusUrl":"http://127.0.0.1:1"}`, 2, "", 0, true},
		{"series", `{"prometheusUrl":"http://127.0.0.1:1","maxSeriesPerQuery":9}`, 1, "10 series, over the budget of 9 series per query", 1, true},
		{"points per query", `{"prometheusUrl":"http://127.0.0.1:1","maxPointsPerQuery":3000}`, 1, "3610 points (10 series, history included), over the budget of 3000 points per query", 1, true},
		{"points per query from the plan", `{"prometheusUrl":"http://127.0.0.1:1","maxPointsPerQuery":300}`, 1, "361 points per series, over the budget of 300 points per query", 1, false},
		{"points per request", `{"prometheusUrl":"http://127.0.0.1:1","maxPointsPerQuery":5000,"maxPointsPerRequest":10000}`, 3, "over the budget of 10000 points per request", 1, true},
	}
	keys := map[string]string{"series": "jsonData.maxSeriesPerQuery", "points per query": "jsonData.maxPointsPerQuery",
		"points per query from the plan": "jsonData.maxPointsPerQuery", "points per request": "jsonData.maxPointsPerRequest"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &recordingFetcher{memFetcher: memFetcher{series: series}}
			d := budgetDatasource(t, tt.jsonData, f)
			req := &backend.QueryDataRequest{}
			for i := 0; i < tt.queries; i++ {
				req.Queries = append(req.Queries, query(fmt.Sprintf("Q%d", i), js, from, to))
			}
			resp, _ := d.QueryData(context.Background(), req)
			failed := 0
			for ref, r := range resp.Responses {
				if r.Error == nil {
					continue
				}
				failed++
				if tt.wantErr == "" || !strings.Contains(r.Error.Error(), tt.wantErr) || !strings.Contains(r.Error.Error(), keys[tt.name]) {
					t.Errorf("%s: error %q, want %q naming %s", ref, r.Error, tt.wantErr, keys[tt.name])
				}
				if r.Status != backend.StatusBadRequest {
					t.Errorf("%s: status %d, want 400", ref, r.Status)
				}
			}
			if failed != tt.wantFailed {
				t.Errorf("%d queries failed, want %d", failed, tt.wantFailed)
			}
			if got := len(f.reqs) > 0; got != tt.wantFetch {
				t.Errorf("fetched: %v, want %v", got, tt.wantFetch)
			}
		})
	}
}

// Inline CSV is refused by its header's width before any row is parsed: the
// attack of issue 12 (#2), 150,000 columns of 3 rows, took 3.1 GB and 80 s.
func TestWideInlineCSVRefusedFromTheHeader(t *testing.T) {
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "b", JSONData: []byte(`{}`)})
	const cols = 150_000
	var b strings.Builder
	b.WriteString("t")
	for i := 0; i < cols; i++ {
		b.WriteString(",a")
	}
	b.WriteString("\n")
	for r := 0; r < 3; r++ {
		fmt.Fprintf(&b, "%d%s\n", 1700000000+60*r, strings.Repeat(",1", cols))
	}
	js := fmt.Sprintf(`{"source":{"type":"csv","csv":%q}}`, b.String())
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	resp, _ := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{query("A", js, time.Unix(0, 0), time.Unix(10, 0))}})
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	r := resp.Responses["A"]
	if r.Error == nil || !strings.Contains(r.Error.Error(), "150000 value columns, over the budget of 500 series per query") ||
		!strings.Contains(r.Error.Error(), "jsonData.maxSeriesPerQuery") || r.Status != backend.StatusBadRequest {
		t.Fatalf("error %v (status %d), want a 400 naming maxSeriesPerQuery", r.Error, r.Status)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("refused in %s, %d MB allocated", elapsed, alloc>>20)
	if alloc > 64<<20 {
		t.Errorf("refusing allocated %d MB: the rows were parsed", alloc>>20)
	}
}

// The cache is bounded by estimated bytes: a viewer's long alert range or
// window makes each series' kept outputs large, not only their number.
func TestStreamCacheByteBound(t *testing.T) {
	c := newStreamCache(1_000_000, time.Minute)
	mk := func(key string, series, points int) *cachedQuery {
		q := &cachedQuery{key: key, series: map[string]*seriesState{}}
		for i := 0; i < series; i++ {
			id := fmt.Sprintf("s%d", i)
			q.series[id] = &seriesState{times: make([]int64, points), values: make([]float64, points),
				score: make([]float64, points), anomaly: make([]bool, points), checkpoint: detector.EngineStream{Stream: &engine.Stream{}}}
			q.order = append(q.order, id)
		}
		return q
	}
	one := mk("probe", 1, 1000).sizeBytes()
	if want := int64(detector.EngineStreamBytes + 1000*recentPointBytes); one < want {
		t.Fatalf("one series of 1000 points sized %d bytes, want at least %d", one, want)
	}
	c.maxBytes = 10 * one
	c.put(mk("q1", 4, 1000))
	c.put(mk("q2", 4, 1000))
	c.put(mk("q3", 4, 1000)) // 12 series' bytes > 10: q1 goes
	if qs, _ := c.len(); qs != 2 || c.size() > c.maxBytes {
		t.Errorf("after eviction %d queries, %d bytes (bound %d)", qs, c.size(), c.maxBytes)
	}
	if c.take("q1") != nil {
		t.Error("q1 not evicted")
	}
	c.put(mk("huge", 1, 200_000)) // one series with a long range: larger than the whole cache
	if c.take("huge") != nil {
		t.Error("an entry larger than the byte bound was kept")
	}
	c.clear()
	if c.size() != 0 {
		t.Errorf("size after clear = %d", c.size())
	}
}

// detector.EngineStreamBytes must stay an upper bound of a checkpoint's real size, for
// the engine's heaviest configurations (auto runs two models, weekly needs
// the widest profile).
func TestStreamStateBytesEstimate(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  engine.Options
		pts  int
	}{
		{"auto", engine.Options{Causal: true}, 40 * 1440},
		{"weekly", engine.Options{Causal: true, Period: 7 * 24 * time.Hour}, 30 * 1440},
		{"robust daily", engine.Options{Causal: true, Method: engine.MethodRobust, Period: 24 * time.Hour}, 4 * 1440},
	} {
		s := genSeries(1, tc.pts)[0]
		_, st, err := engine.DetectStream(context.Background(), engine.Series{Times: s.Times, Values: s.Values}, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		const n = 100
		keep := make([]*engine.Stream, n)
		runtime.GC()
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		for i := range keep {
			keep[i] = st.Clone()
		}
		runtime.ReadMemStats(&b)
		per := (b.TotalAlloc - a.TotalAlloc) / n
		runtime.KeepAlive(keep)
		t.Logf("%s: %d bytes per checkpoint", tc.name, per)
		if per > detector.EngineStreamBytes {
			t.Errorf("%s: a checkpoint takes %d bytes, over detector.EngineStreamBytes (%d): raise it", tc.name, per, detector.EngineStreamBytes)
		}
	}
}
