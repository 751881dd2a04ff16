package plugin

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/sheepdog-anomaly/sheepdog/pkg/frames/dataplanetest"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// An alert rule must evaluate every series, whatever its time axis, and a
// series detection fails for must not fail the others. The response is read
// as Grafana's server-side expressions read it: grafana/grafana
// pkg/expr/converter.go ResultConverter.Convert -> pkg/expr/dataplane.go
// handleDataplaneTimeseries (rules in package dataplanetest). Before, the
// frames were one timeseries-wide frame per time axis, of which Grafana reads
// the first only (grafana/dataplane sdata/timeseries/wide.go
// validateAndGetRefsWide), and one failing series failed the whole query.
func TestAlertResponseReadByGrafanaExpressions(t *testing.T) {
	base := genSeries(4, 2000)
	own := func(s source.Series) source.Series {
		s.Times, s.Values = slices.Clone(s.Times), slices.Clone(s.Values)
		return s
	}
	series := make([]source.Series, len(base))
	for i, s := range base {
		series[i] = own(s)
	}
	// h0001 misses samples (a time axis of its own); h0002 is scraped every
	// 2 minutes; h0003 has a duplicate timestamp, which detection refuses.
	for _, k := range []int{1995, 1980, 1700, 1500} {
		series[1].Times = slices.Delete(series[1].Times, k, k+1)
		series[1].Values = slices.Delete(series[1].Values, k, k+1)
	}
	var t2 []int64
	var v2 []float64
	for i := 0; i < len(series[2].Times); i += 2 {
		t2, v2 = append(t2, series[2].Times[i]), append(v2, series[2].Values[i])
	}
	series[2].Times, series[2].Values = t2, v2
	series[3].Times[1800] = series[3].Times[1799]
	d := benchDatasource(&memFetcher{series: series})
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"6h"}}`
	times := base[0].Times
	for _, eval := range []int{1998, 1999} { // a first evaluation and a re-evaluation a minute later
		to := time.UnixMilli(times[eval])
		resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{Headers: map[string]string{"FromAlert": "true"},
			Queries: []backend.DataQuery{query("A", js, to.Add(-time.Hour), to)}})
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Responses["A"]
		if r.Error != nil {
			t.Fatalf("evaluation %d: the query failed for one bad series: %v", eval, r.Error)
		}
		got, err := dataplanetest.Read(r.Frames)
		if err != nil {
			t.Fatalf("evaluation %d: Grafana's expressions cannot read the response: %v", eval, err)
		}
		var hosts []string
		for _, s := range got.Series {
			hosts = append(hosts, s.Labels["host"])
			if n := len(s.Times); n == 0 || !s.Times[n-1].Equal(time.UnixMilli(times[eval])) && s.Labels["host"] != "h0002" {
				t.Errorf("evaluation %d: %s has %d points, ending %v; want its points up to the evaluation", eval, s.Labels["host"], n, s.Times)
			}
		}
		if want := []string{"h0000", "h0001", "h0002"}; !slices.Equal(hosts, want) {
			t.Errorf("evaluation %d: expressions see hosts %v, want %v", eval, hosts, want)
		}
		var notes []string
		for _, n := range got.Notices {
			notes = append(notes, n.Text)
		}
		if all := strings.Join(notes, "\n"); !strings.Contains(all, "detection failed for 1 series") || !strings.Contains(all, "h0003") ||
			!strings.Contains(all, "duplicate timestamp") {
			t.Errorf("evaluation %d: notices %q do not name the failed series h0003 and why", eval, all)
		}
	}
	// Every series failing is the query's error, as in panels.
	for i := range series {
		k := len(series[i].Times) - 100 // within the fetched history
		series[i].Times[k] = series[i].Times[k-1]
	}
	to := time.UnixMilli(times[1999])
	resp, _ := benchDatasource(&memFetcher{series: series}).QueryData(context.Background(), &backend.QueryDataRequest{
		Headers: map[string]string{"FromAlert": "true"}, Queries: []backend.DataQuery{query("A", js, to.Add(-time.Hour), to)}})
	if e := resp.Responses["A"].Error; e == nil || !strings.Contains(e.Error(), "every series") {
		t.Errorf("all series failing: error %v, want one saying detection failed for every series", e)
	}
}

// A series that stops reporting must not drag every later evaluation's fetch
// back to its last point, nor force full recomputations once it is older
// than the history window.
func TestAlertCacheTracksEachSeriesLastPoint(t *testing.T) {
	f := &recordingFetcher{memFetcher: memFetcher{series: genSeries(2, 2000)}}
	times := f.series[0].Times
	const stop = 1200 // series 1 stops reporting after this point
	f.series[1].Times, f.series[1].Values = f.series[1].Times[:stop], f.series[1].Values[:stop]
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"6h"}}`
	at := func(i int) *backend.QueryDataRequest {
		to := time.UnixMilli(times[i])
		return &backend.QueryDataRequest{Headers: map[string]string{"FromAlert": "true"},
			Queries: []backend.DataQuery{query("A", js, to.Add(-time.Hour), to)}}
	}
	d := benchDatasource(f)
	// A re-evaluation fetches from each series' checkpoint, the revisit span
	// (2 minutely steps) before the query's newest point; a silent series'
	// points are all final, so its checkpoint is its last point.
	const revisit = 2
	tests := []struct {
		name       string
		eval       int
		wantFrom   int // index of the fetch's start
		wantSeries int // series with points in the range
	}{
		{"first evaluation: full fetch", 1230, 1230 - 420, 2},
		{"next minute: from the silent series' last point, still in the window", 1231, stop - 1, 2},
		{"silent series inside the history window still bounds the fetch", 1300, stop - 1, 1},
		{"silent beyond the history window: left out, no full recompute", 1650, 1300 - revisit, 1},
		{"and it no longer drags the fetch", 1651, 1650 - revisit, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.reqs = nil
			resp, _ := d.QueryData(context.Background(), at(tt.eval))
			r := resp.Responses["A"]
			if r.Error != nil {
				t.Fatal(r.Error)
			}
			if len(f.reqs) != 1 {
				t.Fatalf("%d fetches", len(f.reqs))
			}
			if got, want := f.reqs[0].Range.From, time.UnixMilli(times[tt.wantFrom]); !got.Equal(want) {
				t.Errorf("fetch from point %d, want point %d", (got.UnixMilli()-times[0])/60_000, tt.wantFrom)
			}
			n := 0
			for _, fr := range r.Frames {
				n += len(fr.Fields) - 1
			}
			if n != tt.wantSeries {
				t.Errorf("%d series in the frames, want %d", n, tt.wantSeries)
			}
		})
	}
}
