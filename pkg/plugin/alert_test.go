package plugin

import (
	"context"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

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
