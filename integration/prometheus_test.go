//go:build integration

package integration

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/internal/harness"
	"github.com/sheepdog-anomaly/sheepdog/internal/testprom"
	"github.com/sheepdog-anomaly/sheepdog/pkg/frames/dataplanetest"
)

func promInstance(url string) harness.Instance {
	return harness.Instance{UID: "sheepdog-prom", JSONData: map[string]any{"prometheusUrl": url}}
}

func promQuery(refID, expr string, from, to time.Time, extra map[string]any) harness.Query {
	m := map[string]any{"refId": refID, "source": map[string]any{"type": "prometheus", "expr": expr, "legendFormat": "{{host}}"}}
	for k, v := range extra {
		m[k] = v
	}
	return harness.Query{RefID: refID, JSON: m, From: from, To: to, Interval: 30 * time.Second, MaxDataPoints: 5000}
}

// TestPrometheusBandsScoresWindows runs a panel query against a real
// Prometheus loaded with known anomalies and checks the band, the scores, the
// flags and the annotation windows against them.
func TestPrometheusBandsScoresWindows(t *testing.T) {
	srv := testprom.Start(t, testprom.Options{})
	ds := srv.Data
	in := promInstance(srv.URL)
	from, to := ds.End.Add(-36*time.Hour), ds.End
	resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(false, promQuery("A", "cpu_usage", from, to,
		map[string]any{"outputs": []string{"bands", "score", "flags", "windows"}, "detector": map[string]any{"sensitivity": 50}})))
	if err != nil {
		t.Fatal(err)
	}
	fs := mustOK(t, resp, "A")
	series := seriesFrames(fs)
	if len(series) != 2 {
		t.Fatalf("got %d series frames, want 2 (host a and b)", len(series))
	}
	ann := windows(t, annotationFrame(t, fs))

	for _, host := range []string{"a", "b"} {
		f := frameWithLabel(t, series, "host", host)
		// Layout and legend names.
		for i, want := range []string{"time", "cpu_usage", "cpu_usage expected", "cpu_usage lower", "cpu_usage upper", "cpu_usage score", "cpu_usage anomaly"} {
			if f.Fields[i].Name != want {
				t.Fatalf("host %s field %d = %q, want %q", host, i, f.Fields[i].Name, want)
			}
		}
		for i, suffix := range []string{"", " expected", " lower", " upper", " score", " anomaly"} {
			if got := f.Fields[i+1].Config.DisplayNameFromDS; got != host+suffix {
				t.Errorf("host %s display name %d = %q, want %q", host, i, got, host+suffix)
			}
			if f.Fields[i+1].Labels["host"] != host {
				t.Errorf("host %s field %q lost its labels: %v", host, f.Fields[i+1].Name, f.Fields[i+1].Labels)
			}
		}
		if got := f.Fields[4].Config.Custom["fillBelowTo"]; got != host+" lower" {
			t.Errorf("upper fillBelowTo = %v, want %q", got, host+" lower")
		}
		ts := times(f.Fields[0])
		if ts[0].Before(from) || ts[len(ts)-1].After(to) {
			t.Errorf("frame spans %v..%v, outside the range %v..%v", ts[0], ts[len(ts)-1], from, to)
		}
		if d := ts[0].Sub(from); d > time.Minute {
			t.Errorf("frame starts %v after the range", d)
		}
		val, exp, lo, hi := floats(f.Fields[1]), floats(f.Fields[2]), floats(f.Fields[3]), floats(f.Fields[4])
		score, flag := floats(f.Fields[5]), floats(f.Fields[6])

		// The band is ready at the left edge (history was fetched before the range).
		for i := 0; i < 10; i++ {
			if math.IsNaN(exp[i]) || !(lo[i] < hi[i]) || math.Abs(exp[i]-val[i]) > 10 {
				t.Fatalf("host %s point %d at the left edge: value %.2f expected %.2f band [%.2f, %.2f]", host, i, val[i], exp[i], lo[i], hi[i])
			}
		}
		// Outside the injected anomalies, the band holds the data and little is flagged.
		truth := ds.AnomaliesOf("cpu_usage", map[string]string{"host": host})
		inAnomaly := func(t time.Time) bool {
			for _, a := range truth {
				if !t.Before(a.Start.Add(-5*time.Minute)) && !t.After(a.End.Add(2*time.Hour)) {
					return true
				}
			}
			return false
		}
		var normal, inside, flagged int
		for i, tt := range ts {
			if inAnomaly(tt) || math.IsNaN(val[i]) {
				continue
			}
			normal++
			if val[i] >= lo[i] && val[i] <= hi[i] {
				inside++
			}
			if flag[i] == 1 {
				flagged++
			}
		}
		t.Logf("host %s: %d points, band covers %.4f of %d normal points, %.4f flagged", host, len(ts),
			float64(inside)/float64(normal), normal, float64(flagged)/float64(normal))
		widths := make([]float64, 0, len(ts))
		for i := range ts {
			widths = append(widths, hi[i]-lo[i])
		}
		sort.Float64s(widths)
		// The noise has sd 1: a band that holds the data only by being huge is useless.
		t.Logf("host %s: median band width %.2f", host, widths[len(widths)/2])
		if w := widths[len(widths)/2]; w > 25 {
			t.Errorf("host %s: median band width %.2f, want <= 25 (noise sd is 1, the spike is +35)", host, w)
		}
		if cover := float64(inside) / float64(normal); cover < 0.97 {
			t.Errorf("host %s: band covers %.3f of normal points, want >= 0.97", host, cover)
		}
		if fp := float64(flagged) / float64(normal); fp > 0.01 {
			t.Errorf("host %s: %.4f of normal points flagged, want <= 0.01", host, fp)
		}
		// Every injected anomaly in range is flagged, scored high and has a window.
		for _, a := range truth {
			if a.Start.Before(from) {
				continue
			}
			maxScore, hits := 0.0, 0
			for i, tt := range ts {
				if !tt.Before(a.Start) && !tt.After(a.End) {
					maxScore = math.Max(maxScore, score[i])
					if flag[i] == 1 {
						hits++
						if a.Kind == testprom.KindSpike && !(val[i] > hi[i]) {
							t.Errorf("host %s spike at %v: value %.2f not above upper %.2f", host, tt, val[i], hi[i])
						}
						if a.Kind == testprom.KindDip && !(val[i] < lo[i]) {
							t.Errorf("host %s dip at %v: value %.2f not below lower %.2f", host, tt, val[i], lo[i])
						}
					}
				}
			}
			t.Logf("host %s %s at %s: %d flagged points, max score %.3f", host, a.Kind, a.Start.Format(time.RFC3339), hits, maxScore)
			if hits == 0 || maxScore < 0.5 {
				t.Errorf("host %s %s at %v..%v: %d flagged points, max score %.2f", host, a.Kind, a.Start, a.End, hits, maxScore)
			}
			ws := overlapping(ann, a.Start, a.End, time.Minute, "host:"+host)
			if len(ws) == 0 {
				t.Errorf("host %s %s at %v..%v has no annotation window", host, a.Kind, a.Start, a.End)
				continue
			}
			w := ws[0]
			if !strings.Contains(w.text, host) || !strings.Contains(w.text, "expected") || !strings.Contains(w.text, "score") ||
				!strings.Contains(w.tags, "severity:") || !strings.Contains(w.tags, "method:") {
				t.Errorf("window text/tags incomplete: %q / %q", w.text, w.tags)
			}
			if a.Kind == testprom.KindDip && !strings.Contains(w.text, "below") {
				t.Errorf("dip window text %q does not say below", w.text)
			}
		}
	}
}

// TestPrometheusAnnotationQuery: an annotation query (refId Anno) answers the
// windows as events only.
func TestPrometheusAnnotationQuery(t *testing.T) {
	srv := testprom.Start(t, testprom.Options{})
	ds := srv.Data
	q := promQuery("Anno", "cpu_usage", ds.End.Add(-36*time.Hour), ds.End, nil)
	resp, err := plugin.QueryData(ctxT(t), promInstance(srv.URL).QueryRequest(false, q))
	if err != nil {
		t.Fatal(err)
	}
	fs := mustOK(t, resp, "Anno")
	if len(fs) != 1 || fs[0].Meta == nil || fs[0].Meta.DataTopic != data.DataTopicAnnotations {
		t.Fatalf("annotation query gave %d frames, want one annotations frame", len(fs))
	}
	ws := windows(t, fs[0])
	dip := ds.AnomaliesOf("cpu_usage", map[string]string{"host": "a"})
	found := false
	for _, a := range dip {
		if a.Kind == testprom.KindDip && len(overlapping(ws, a.Start, a.End, time.Minute, "host:a")) > 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no event for the dip on host a among %d events", len(ws))
	}
	for _, w := range ws {
		if w.end.Before(w.start) || w.title == "" {
			t.Errorf("bad event %+v", w)
		}
	}
}

// alertFields returns the numeric fields of alert frames by host label.
func alertFields(t *testing.T, fs []*data.Frame) map[string]*data.Field {
	t.Helper()
	// Every series must reach Grafana's expressions, read as they read a
	// response after its trip over gRPC (pkg/expr/dataplane.go; see
	// pkg/frames/dataplanetest).
	r, err := dataplanetest.Read(fs)
	if err != nil {
		t.Fatalf("Grafana's expressions cannot read the alert frames: %v", err)
	}
	if len(r.Series) != len(fs) || r.Type != data.FrameTypeTimeSeriesMulti {
		t.Fatalf("expressions read %d series (%s) from %d frames, want one per frame (timeseries-multi)", len(r.Series), r.Type, len(fs))
	}
	out := map[string]*data.Field{}
	for _, f := range fs {
		if f.Fields[0].Name != "time" {
			t.Fatalf("alert frame starts with %q, want time", f.Fields[0].Name)
		}
		for _, fl := range f.Fields[1:] {
			if strings.Contains(fl.Name, "expected") || strings.Contains(fl.Name, "lower") || strings.Contains(fl.Name, "upper") {
				t.Fatalf("alert frame carries band field %q", fl.Name)
			}
			out[fl.Labels["host"]] = fl
		}
	}
	return out
}

// alertRecipe is the documented alert rule: Reduce (function Last, mode Drop
// non-numeric values) then Threshold (IS ABOVE threshold).
func alertRecipe(f *data.Field, threshold float64) (float64, bool) {
	v := lastFinite(floats(f))
	return v, !math.IsNaN(v) && v > threshold
}

var cacheHitRE = regexp.MustCompile(`sheepdog_stream_cache_total\{result="hit"\} (\d+)`)

func cacheHits(t *testing.T) int {
	text, err := plugin.CollectMetrics(ctxT(t), harness.Instance{}.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	m := cacheHitRE.FindStringSubmatch(text)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestPrometheusAlertFrames evaluates alert queries (FromAlert header) around
// the known dip and spike: anomaly_fraction and latest_score, then a cached
// re-evaluation one minute later.
func TestPrometheusAlertFrames(t *testing.T) {
	srv := testprom.Start(t, testprom.Options{})
	ds := srv.Data
	var dip, spike testprom.Anomaly
	for _, a := range ds.AnomaliesOf("cpu_usage", map[string]string{"host": "a"}) {
		switch a.Kind {
		case testprom.KindDip:
			dip = a
		case testprom.KindSpike:
			spike = a
		}
	}
	in := promInstance(srv.URL)
	in.UID = "sheepdog-alert"

	to := dip.End.Add(30 * time.Second)
	q := promQuery("A", "cpu_usage", to.Add(-time.Hour), to, nil)
	resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(true, q))
	if err != nil {
		t.Fatal(err)
	}
	fields := alertFields(t, mustOK(t, resp, "A"))
	if len(fields) != 2 {
		t.Fatalf("alert fields for %d hosts, want 2", len(fields))
	}
	// Reduce(Last) -> Threshold(> 0.3): host a fires during the dip, host b does not.
	fa, firingA := alertRecipe(fields["a"], 0.3)
	fb, firingB := alertRecipe(fields["b"], 0.3)
	t.Logf("anomaly_fraction at the dip: host a %.3f (firing %v), host b %.3f (firing %v)", fa, firingA, fb, firingB)
	if !firingA {
		t.Errorf("host a anomaly fraction at the dip = %.3f, want the rule to fire (> 0.3)", fa)
	}
	if firingB || fb > 0.05 {
		t.Errorf("host b anomaly fraction = %.3f, want <= 0.05 and not firing", fb)
	}
	// Before the dip, on the same hour-long range, nothing fires.
	calm := promQuery("A", "cpu_usage", dip.Start.Add(-2*time.Hour), dip.Start.Add(-time.Hour), nil)
	resp, err = plugin.QueryData(ctxT(t), in.QueryRequest(true, calm))
	if err != nil {
		t.Fatal(err)
	}
	for host, f := range alertFields(t, mustOK(t, resp, "A")) {
		if v, firing := alertRecipe(f, 0.3); firing {
			t.Errorf("host %s fires an hour before the dip (fraction %.3f)", host, v)
		}
	}

	// Re-evaluation one minute later is served from the stream cache.
	before := cacheHits(t)
	q2 := promQuery("A", "cpu_usage", to.Add(-time.Hour+time.Minute), to.Add(time.Minute), nil)
	resp, err = plugin.QueryData(ctxT(t), in.QueryRequest(true, q2))
	if err != nil {
		t.Fatal(err)
	}
	fields2 := alertFields(t, mustOK(t, resp, "A"))
	if hits := cacheHits(t); hits <= before {
		t.Errorf("cache hits %d -> %d: the re-evaluation was not served from the cache", before, hits)
	}
	if got := lastFinite(floats(fields2["a"])); got <= 0.3 {
		t.Errorf("host a anomaly fraction after re-evaluation = %.3f, want > 0.3", got)
	}

	// latest_score on the spike.
	to = spike.Start.Add(30 * time.Second)
	q3 := promQuery("S", "cpu_usage", to.Add(-time.Hour), to, map[string]any{"alert": map[string]any{"enabled": true, "mode": "latest_score"}})
	resp, err = plugin.QueryData(ctxT(t), in.QueryRequest(false, q3))
	if err != nil {
		t.Fatal(err)
	}
	fields3 := alertFields(t, mustOK(t, resp, "S"))
	if got := lastFinite(floats(fields3["a"])); got < 0.5 {
		t.Errorf("host a latest score during the spike = %.3f, want >= 0.5", got)
	}
	if got := lastFinite(floats(fields3["b"])); got >= 0.5 {
		t.Errorf("host b latest score = %.3f, want < 0.5", got)
	}
}

// TestPrometheusRateAndControl: a rate() expression (no __name__ in the
// result) finds the injected burst; the control series with no anomalies gets
// (almost) no windows.
func TestPrometheusRateAndControl(t *testing.T) {
	srv := testprom.Start(t, testprom.Options{})
	ds := srv.Data
	in := promInstance(srv.URL)
	in.UID = "sheepdog-rate"
	from, to := ds.End.Add(-36*time.Hour), ds.End
	rate := promQuery("R", "rate(requests_total[2m])", from, to, nil)
	rate.JSON.(map[string]any)["source"].(map[string]any)["legendFormat"] = "{{service}}"
	control := promQuery("C", "temperature_celsius", from, to, nil)
	resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(false, rate, control))
	if err != nil {
		t.Fatal(err)
	}
	fs := mustOK(t, resp, "R")
	series := seriesFrames(fs)
	if len(series) != 1 || series[0].Fields[1].Config.DisplayNameFromDS != "api" || series[0].Fields[1].Labels["service"] != "api" {
		t.Fatalf("rate series: %d frames", len(series))
	}
	ws := windows(t, annotationFrame(t, fs))
	for _, a := range ds.AnomaliesOf("requests_total", map[string]string{"service": "api"}) {
		if got := overlapping(ws, a.Start, a.End, 2*time.Minute, "service:api"); len(got) == 0 {
			t.Errorf("burst at %v..%v not found among %d windows", a.Start, a.End, len(ws))
		} else {
			t.Logf("burst found: %s", got[0].text)
		}
	}
	cw := windows(t, annotationFrame(t, mustOK(t, resp, "C")))
	t.Logf("control series: %d windows over 36h", len(cw))
	if len(cw) > 2 {
		for _, w := range cw {
			t.Logf("  %s", w.text)
		}
		t.Errorf("control series without anomalies got %d windows, want <= 2", len(cw))
	}
}

// TestPrometheusDuplicateLegendsKeepTheirOwnBands: with a legend that gives
// every series the same name, each band must still fill to its own lower
// field (Grafana resolves fillBelowTo by display name across all frames).
func TestPrometheusDuplicateLegendsKeepTheirOwnBands(t *testing.T) {
	srv := testprom.Start(t, testprom.Options{})
	in := promInstance(srv.URL)
	from, to := srv.Data.End.Add(-6*time.Hour), srv.Data.End
	tests := []struct{ name, legend string }{
		{"distinct legends", "{{host}}"},
		{"one legend for all", "cpu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := promQuery("A", "cpu_usage", from, to, map[string]any{"outputs": []string{"bands"}})
			q.JSON.(map[string]any)["source"].(map[string]any)["legendFormat"] = tt.legend
			resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(false, q))
			if err != nil {
				t.Fatal(err)
			}
			series := seriesFrames(mustOK(t, resp, "A"))
			if len(series) != 2 {
				t.Fatalf("%d series frames, want 2", len(series))
			}
			lowers := map[string]bool{}
			for _, f := range series {
				lower, upper := mustField(t, f, "cpu_usage lower"), mustField(t, f, "cpu_usage upper")
				if got := upper.Config.Custom["fillBelowTo"]; got != lower.Config.DisplayNameFromDS {
					t.Errorf("frame %q: fillBelowTo %v, its lower field is displayed as %q", f.Name, got, lower.Config.DisplayNameFromDS)
				}
				if lowers[lower.Config.DisplayNameFromDS] {
					t.Errorf("two lower fields displayed as %q", lower.Config.DisplayNameFromDS)
				}
				lowers[lower.Config.DisplayNameFromDS] = true
			}
		})
	}
}
