package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// recordingFetcher serves series from memory and records what was asked.
type recordingFetcher struct {
	memFetcher
	mu   sync.Mutex
	reqs []FetchRequest
}

func (r *recordingFetcher) Fetch(ctx context.Context, fr FetchRequest) ([]source.Series, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, fr)
	r.mu.Unlock()
	return r.memFetcher.Fetch(ctx, fr)
}

func query(refID, js string, from, to time.Time) backend.DataQuery {
	return backend.DataQuery{RefID: refID, JSON: json.RawMessage(js), Interval: time.Minute, MaxDataPoints: 100_000,
		TimeRange: backend.TimeRange{From: from, To: to}}
}

func TestPanelQueryFetchesHistoryAndTrims(t *testing.T) {
	f := &recordingFetcher{memFetcher: memFetcher{series: genSeries(2, 3*1440)}}
	d := benchDatasource(f)
	times := f.series[0].Times
	to := time.UnixMilli(times[len(times)-1])
	from := to.Add(-6 * time.Hour)
	req := &backend.QueryDataRequest{Queries: []backend.DataQuery{
		query("A", `{"source":{"type":"prometheus","expr":"x"},"detector":{"seasonality":"hourly"},"outputs":["bands","windows"]}`, from, to)}}
	resp, err := d.QueryData(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	if len(f.reqs) != 1 {
		t.Fatalf("%d fetches", len(f.reqs))
	}
	// hourly seasonality: 3 seasons of history before the range, at the panel's step.
	if got := f.reqs[0].Range.From; !got.Equal(from.Add(-3 * time.Hour)) {
		t.Errorf("fetch from %v, want %v", got, from.Add(-3*time.Hour))
	}
	if f.reqs[0].Range.Step != time.Minute {
		t.Errorf("step %v", f.reqs[0].Range.Step)
	}
	if len(r.Frames) != 3 {
		t.Fatalf("%d frames, want 2 series + annotations", len(r.Frames))
	}
	ts := r.Frames[0].Fields[0]
	first, last := ts.At(0).(time.Time), ts.At(ts.Len()-1).(time.Time)
	if first.Before(from) || last.After(to) || ts.Len() != 361 {
		t.Errorf("frame spans %v..%v with %d points, want %v..%v (361)", first, last, ts.Len(), from, to)
	}
}

func TestMaxDataPointsWidensStep(t *testing.T) {
	pq, _ := models.ParseQuery([]byte(`{"source":{"type":"prometheus","expr":"x"},"detector":{"seasonality":"none"}}`))
	to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p, err := makePlan(pq, backend.DataQuery{Interval: 15 * time.Second, MaxDataPoints: 100,
		TimeRange: backend.TimeRange{From: to.Add(-24 * time.Hour), To: to}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Step < 24*time.Hour/100 {
		t.Errorf("step %v gives more than 100 points over a day", p.Step)
	}
	if p.History != noSeasonHistoryPoints*p.Step {
		t.Errorf("history %v, want %d steps", p.History, noSeasonHistoryPoints)
	}
}

func TestHistoryFor(t *testing.T) {
	tests := []struct {
		name string
		det  models.Detector
		step time.Duration
		want time.Duration
	}{
		{"explicit", models.Detector{History: 3 * time.Hour}, time.Minute, 3 * time.Hour},
		{"explicit zero", models.Detector{}, time.Minute, 0},
		{"daily", models.Detector{HistoryAuto: true, Period: 24 * time.Hour}, time.Minute, 72 * time.Hour},
		{"auto", models.Detector{HistoryAuto: true}, time.Minute, autoHistory},
		{"none small step", models.Detector{HistoryAuto: true, Period: -1}, time.Second, time.Hour},
		{"none big step", models.Detector{HistoryAuto: true, Period: -1}, time.Minute, 200 * time.Minute},
	}
	for _, tt := range tests {
		if got := historyFor(tt.det, tt.step); got != tt.want {
			t.Errorf("%s: history %v, want %v", tt.name, got, tt.want)
		}
	}
	pq, _ := models.ParseQuery([]byte(`{"source":{"type":"prometheus","expr":"x"},"detector":{"seasonality":"weekly"}}`))
	to := time.Now()
	p, _ := makePlan(pq, backend.DataQuery{Interval: time.Second, MaxDataPoints: 100_000, TimeRange: backend.TimeRange{From: to.Add(-time.Hour), To: to}})
	// Finding 1: the history is no longer cut to 20,000 steps at the step
	// asked for; three weeks are kept whole and the step widens instead.
	if p.HistoryCapped || p.History != 3*7*24*time.Hour || !p.StepWidened || p.Step != 2*time.Minute {
		t.Errorf("3 weeks at 1s: want the whole history at a 2m step, got %+v", p)
	}
}

func TestEngineOptions(t *testing.T) {
	pq, _ := models.ParseQuery([]byte(`{"source":{"type":"csv","csv":"a"},"detector":{"method":"robust","sensitivity":0,"direction":"up","seasonality":"none","minDuration":"5m"}}`))
	opt, err := engineOptions(pq.Detector, true)
	if err != nil {
		t.Fatal(err)
	}
	if opt.Method != engine.MethodRobust || opt.Direction != engine.DirectionUp || opt.Sensitivity >= 0 ||
		opt.Period != engine.NoSeasonality || opt.MinDuration != 5*time.Minute || !opt.Causal {
		t.Errorf("options %+v", opt)
	}
	pq, _ = models.ParseQuery([]byte(`{"source":{"type":"csv","csv":"a"},"detector":{"method":"neural"}}`))
	if _, err := engineOptions(pq.Detector, false); err == nil || !strings.Contains(err.Error(), "detector.method") {
		t.Errorf("unknown method error = %v", err)
	}
}

func TestErrorsStayPerQuery(t *testing.T) {
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "x", JSONData: []byte(`{}`)})
	csv := `{"source":{"type":"csv","csv":"t,v\n1,1\n2,2\n3,3\n4,4\n"}}`
	req := &backend.QueryDataRequest{Queries: []backend.DataQuery{
		query("A", csv, time.Unix(0, 0), time.Unix(10, 0)),
		query("B", `{"source":{"type":"csv","csv":"t,v\n2,1\n1,2\n"}}`, time.Unix(0, 0), time.Unix(10, 0)),
		query("C", `{"source":{"type":"prometheus","expr":"up"}}`, time.Unix(0, 0), time.Unix(10, 0)),
		query("D", `{"source":{"type":"datasource","datasource":{"uid":"secret"},"query":{"expr":"up"}}}`, time.Unix(0, 0), time.Unix(10, 0)),
		query("E", `not json`, time.Unix(0, 0), time.Unix(10, 0)),
	}}
	resp, _ := d.QueryData(context.Background(), req)
	if resp.Responses["A"].Error != nil {
		t.Errorf("A: %v", resp.Responses["A"].Error)
	}
	for ref, want := range map[string]string{"B": "line 3", "C": "no Prometheus URL", "D": "allow-list", "E": "decode query JSON"} {
		e := resp.Responses[ref].Error
		if e == nil || !strings.Contains(e.Error(), want) {
			t.Errorf("%s: error %v, want %q", ref, e, want)
		}
	}
	if resp.Responses["D"].Status != backend.StatusForbidden {
		t.Errorf("D status %v, want 403", resp.Responses["D"].Status)
	}
}

func TestInvalidSettingsReportedEverywhere(t *testing.T) {
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "x", JSONData: []byte(`{"engine":"remote"}`)})
	resp, _ := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
		query("A", `{"source":{"type":"csv","csv":"t,v\n1,1\n"}}`, time.Unix(0, 0), time.Unix(1, 0))}})
	if e := resp.Responses["A"].Error; e == nil || !strings.Contains(e.Error(), "remoteUrl") {
		t.Errorf("query error %v", e)
	}
	h, _ := d.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
	if h.Status != backend.HealthStatusError || !strings.Contains(h.Message, "remoteUrl") {
		t.Errorf("health %v %q", h.Status, h.Message)
	}
}

func TestQueryModes(t *testing.T) {
	f := &memFetcher{series: genSeries(1, 600)}
	d := benchDatasource(f)
	times := f.series[0].Times
	from, to := time.UnixMilli(times[300]), time.UnixMilli(times[599])
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"0"}}`

	anno := query("Anno", js, from, to)
	resp, _ := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{anno}})
	fs := resp.Responses["Anno"].Frames
	if len(fs) != 1 || fs[0].Meta.DataTopic != data.DataTopicAnnotations {
		t.Errorf("annotation query: %d frames", len(fs))
	}
	typed := query("X", js, from, to)
	typed.QueryType = QueryTypeAnnotations
	resp, _ = d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{typed}})
	if fs := resp.Responses["X"].Frames; len(fs) != 1 || fs[0].Meta.DataTopic != data.DataTopicAnnotations {
		t.Errorf("queryType annotations: %d frames", len(fs))
	}
	req := &backend.QueryDataRequest{Headers: map[string]string{"FromAlert": "true"}, Queries: []backend.DataQuery{query("A", js, from, to)}}
	resp, _ = d.QueryData(context.Background(), req)
	fs = resp.Responses["A"].Frames
	if len(fs) != 1 || len(fs[0].Fields) != 2 || fs[0].Fields[1].Config.DisplayNameFromDS != "h0000 anomaly fraction" {
		t.Errorf("alert query frames: %v", fs)
	}
}

func TestWarmUpAndDroppedNotices(t *testing.T) {
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "x", JSONData: []byte(`{}`)})
	csv := `{"source":{"type":"csv","csv":"t,a,b\n1,1,\n2,2,\n3,3,5\n4,4,\n5,5,\n"}}`
	resp, _ := d.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{query("A", csv, time.Unix(0, 0), time.Unix(1, 0))}})
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	var texts []string
	for _, n := range r.Frames[0].Meta.Notices {
		texts = append(texts, n.Text)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "1 series dropped") || !strings.Contains(all, "b (1 points)") {
		t.Errorf("no dropped-series notice in %q", all)
	}
	if !strings.Contains(all, "warm-up not met") {
		t.Errorf("no warm-up notice in %q", all)
	}
}

func TestStreamCacheBounds(t *testing.T) {
	c := newStreamCache(5, time.Minute)
	now := time.Unix(0, 0)
	c.now = func() time.Time { return now }
	mk := func(key string, n int) *cachedQuery {
		q := &cachedQuery{key: key, series: map[string]*seriesState{}}
		for i := 0; i < n; i++ {
			q.series[string(rune('a'+i))] = &seriesState{}
		}
		return q
	}
	c.put(mk("q1", 2))
	c.put(mk("q2", 2))
	c.put(mk("q3", 2)) // 6 series > 5: q1 (least recent) goes
	if qs, ss := c.len(); qs != 2 || ss != 4 {
		t.Errorf("after eviction %d queries, %d series", qs, ss)
	}
	if c.take("q1") != nil {
		t.Errorf("q1 not evicted")
	}
	if q := c.take("q2"); q == nil {
		t.Errorf("q2 missing")
	}
	now = now.Add(2 * time.Minute)
	if c.take("q3") != nil {
		t.Errorf("expired entry served")
	}
	c.put(mk("big", 6))
	if qs, _ := c.len(); qs != 0 {
		t.Errorf("an entry larger than the cache was kept")
	}
}

func TestAlertCacheMatchesFullRecompute(t *testing.T) {
	f := &memFetcher{series: genSeries(3, 2000)}
	times := f.series[0].Times
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"6h"}}`
	at := func(i int) *backend.QueryDataRequest {
		to := time.UnixMilli(times[i])
		return &backend.QueryDataRequest{Headers: map[string]string{"FromAlert": "true"},
			Queries: []backend.DataQuery{query("A", js, to.Add(-time.Hour), to)}}
	}
	cached := benchDatasource(f)
	for i := 1500; i <= 1510; i++ {
		if r, _ := cached.QueryData(context.Background(), at(i)); r.Responses["A"].Error != nil {
			t.Fatal(r.Responses["A"].Error)
		}
	}
	got, _ := cached.QueryData(context.Background(), at(1511))
	// A fresh instance computes the same evaluation from scratch.
	want, _ := benchDatasource(f).QueryData(context.Background(), at(1511))
	if f.points.Load() > int64(3*(360+60)*2+3*11*2+3*(360+60)) {
		t.Errorf("re-evaluations fetched %d points: they should fetch only new points", f.points.Load())
	}
	gfs, wfs := got.Responses["A"].Frames, want.Responses["A"].Frames
	if len(gfs) != 3 || len(wfs) != 3 {
		t.Fatalf("frames %d vs %d, want a frame per series", len(gfs), len(wfs))
	}
	for k := range gfs {
		gf, wf := gfs[k], wfs[k]
		if gf.Rows() != wf.Rows() {
			t.Fatalf("rows %d vs %d", gf.Rows(), wf.Rows())
		}
		if last := gf.Fields[0].At(gf.Rows() - 1).(time.Time); !last.Equal(time.UnixMilli(times[1511])) {
			t.Fatalf("cached evaluation ends at %v, want the new point %v", last, time.UnixMilli(times[1511]))
		}
		// The cached stream started 11 minutes earlier, so its history window
		// differs slightly; the anomaly fractions must still agree closely.
		diff := 0
		for i := 0; i < gf.Rows(); i++ {
			if gf.Fields[1].At(i).(float64) != wf.Fields[1].At(i).(float64) {
				diff++
			}
		}
		if diff > gf.Rows()/10 {
			t.Errorf("series %d: %d of %d points differ between cached and fresh evaluation", k, diff, gf.Rows())
		}
	}
}

func TestResources(t *testing.T) {
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "x", JSONData: []byte(`{"allowedDatasources":["prom"]}`)})
	call := func(method, path string) *backend.CallResourceResponse {
		var got *backend.CallResourceResponse
		err := d.CallResource(context.Background(), &backend.CallResourceRequest{Method: method, Path: path, URL: path},
			backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { got = r; return nil }))
		if err != nil || got == nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return got
	}
	// The body is the catalogue's JSON, byte for byte, as before the ServeMux.
	want, _ := json.Marshal(detectorCatalogue())
	if r := call(http.MethodGet, "detectors"); r.Status != 200 || string(r.Body) != string(want) ||
		r.Headers["Content-Type"][0] != "application/json" {
		t.Errorf("detectors: %d %v %s", r.Status, r.Headers, r.Body)
	}
	for _, c := range []struct {
		method, path string
		status       int
		error        string
	}{
		{http.MethodDelete, "detectors", 405, "DELETE is not allowed on /detectors"},
		{http.MethodGet, "nothing", 404, "no resource /nothing (have: detectors)"},
		{http.MethodPost, "history-preview", 404, "no resource /history-preview (have: detectors)"},
	} {
		r := call(c.method, c.path)
		var m map[string]string
		if err := json.Unmarshal(r.Body, &m); err != nil || r.Status != c.status || m["error"] != c.error {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
		}
	}
}

// TestConcurrentAlertEvaluations runs many evaluations of one rule at once
// (run it with -race): the cache hands each state to one request at a time.
func TestConcurrentAlertEvaluations(t *testing.T) {
	f := &memFetcher{series: genSeries(4, 1200)}
	d := benchDatasource(f)
	times := f.series[0].Times
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"3h"}}`
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 8; i++ {
				to := time.UnixMilli(times[1000+i*10+g])
				req := &backend.QueryDataRequest{Headers: map[string]string{"FromAlert": "true"},
					Queries: []backend.DataQuery{query("A", js, to.Add(-time.Hour), to)}}
				resp, err := d.QueryData(context.Background(), req)
				if err != nil {
					errs <- err
					return
				}
				if e := resp.Responses["A"].Error; e != nil {
					errs <- e
					return
				}
				fr := resp.Responses["A"].Frames
				if len(fr) != 4 || len(fr[0].Fields) != 2 { // timeseries-multi: a frame per series
					errs <- fmt.Errorf("bad frames %v", fr)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPrometheusStepFloor(t *testing.T) {
	pq, _ := models.ParseQuery([]byte(`{"source":{"type":"prometheus","expr":"up"}}`))
	to := time.Now()
	p, err := makePlan(pq, backend.DataQuery{Interval: time.Second, MaxDataPoints: 43200, TimeRange: backend.TimeRange{From: to.Add(-10 * time.Minute), To: to}})
	if err != nil || p.Step != minPrometheusStep {
		t.Errorf("alert-style 1s interval: step %v (%v), want %v", p.Step, err, minPrometheusStep)
	}
}
