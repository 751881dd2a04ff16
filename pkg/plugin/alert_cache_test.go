package plugin

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// copySeries copies series with their own points, so a test can change one
// copy's samples without touching the others.
func copySeries(in []source.Series) []source.Series {
	out := slices.Clone(in)
	for i := range out {
		out[i].Times, out[i].Values = slices.Clone(in[i].Times), slices.Clone(in[i].Values)
	}
	return out
}

// withoutPoint drops the point at index i of series k.
func withoutPoint(in []source.Series, k, i int) []source.Series {
	out := copySeries(in)
	out[k].Times = slices.Delete(out[k].Times, i, i+1)
	out[k].Values = slices.Delete(out[k].Values, i, i+1)
	return out
}

// withValue sets the value at index i of series k.
func withValue(in []source.Series, k, i int, v float64) []source.Series {
	out := copySeries(in)
	out[k].Values[i] = v
	return out
}

// alertEval is an alert evaluation of the last hour ending at to. The
// history (2 days) reaches before the test series' first point, so a fresh
// evaluation sees exactly the points the cached one has learned from.
func alertEval(to time.Time) *backend.QueryDataRequest {
	js := `{"source":{"type":"prometheus","expr":"x"},"detector":{"history":"2d"}}`
	return &backend.QueryDataRequest{Headers: map[string]string{"FromAlert": "true"},
		Queries: []backend.DataQuery{query("A", js, to.Add(-time.Hour), to)}}
}

func evalFrames(t *testing.T, d *Datasource, to time.Time) data.Frames {
	t.Helper()
	resp, err := d.QueryData(context.Background(), alertEval(to))
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	return r.Frames
}

// frameDiffs counts the cells that differ between two answers (NaN equals
// NaN); answers of different shapes are an error.
func frameDiffs(got, want data.Frames) (int, error) {
	if len(got) != len(want) {
		return 0, fmt.Errorf("%d frames, want %d", len(got), len(want))
	}
	diffs := 0
	for f := range got {
		if len(got[f].Fields) != len(want[f].Fields) || got[f].Rows() != want[f].Rows() {
			return 0, fmt.Errorf("frame %d: %d fields x %d rows, want %d x %d", f,
				len(got[f].Fields), got[f].Rows(), len(want[f].Fields), want[f].Rows())
		}
		for c, gf := range got[f].Fields {
			wf := want[f].Fields[c]
			for i := 0; i < gf.Len(); i++ {
				switch g := gf.At(i).(type) {
				case float64:
					if w := wf.At(i).(float64); g == w || (math.IsNaN(g) && math.IsNaN(w)) {
						continue
					}
				case time.Time:
					if g.Equal(wf.At(i).(time.Time)) {
						continue
					}
				default:
					if g == wf.At(i) {
						continue
					}
				}
				diffs++
			}
		}
	}
	return diffs, nil
}

// A source's newest samples can be provisional. The cached evaluation after
// the samples settled must answer what a fresh evaluation on the final data
// answers, and fetch only a short tail from the checkpoint before them.
func TestAlertCacheRevisitsProvisionalPoints(t *testing.T) {
	final := genSeries(3, 1500)
	times := slices.Clone(final[0].Times)
	const first = 1400 // index of the first evaluation's newest point
	tests := []struct {
		name        string
		provisional []source.Series // what the first evaluation sees
		second      int             // index of the second evaluation's newest point
		wantFrom    int             // index the second evaluation fetches from
	}{
		{"newest sample replaced (rate over an incomplete window)", withValue(final, 0, first, final[0].Values[first]/2), first + 1, first - 2},
		{"newest sample a spike, settled to normal", withValue(final, 1, first, final[1].Values[first]+80), first + 1, first - 2},
		{"sample before the newest replaced", withValue(final, 2, first-1, final[2].Values[first-1]+40), first + 1, first - 2},
		{"newest sample replaced, rule re-evaluated at the same time", withValue(final, 0, first, final[0].Values[first]+40), first, first - 2},
		{"late point just before the newest", withoutPoint(final, 1, first-1), first + 1, first - 2},
		// the missing point was the checkpoint's: it goes back one more
		{"late point at the revisit span's edge", withoutPoint(final, 1, first-2), first + 1, first - 3},
		// no series had it: the newest point, hence the checkpoints, one step earlier
		{"newest sample of every series late", withoutPoint(withoutPoint(withoutPoint(final, 0, first), 1, first), 2, first), first + 1, first - 3},
		{"several evaluations later", withValue(final, 0, first, final[0].Values[first]+40), first + 5, first - 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The change must matter: a fresh evaluation on the provisional
			// data differs from one on the final data.
			if n, err := frameDiffs(evalFrames(t, benchDatasource(&memFetcher{series: tt.provisional}), time.UnixMilli(times[first])),
				evalFrames(t, benchDatasource(&memFetcher{series: final}), time.UnixMilli(times[first]))); n == 0 && err == nil {
				t.Fatalf("the provisional data gives the same answer as the final data: the case tests nothing")
			}
			f := &recordingFetcher{memFetcher: memFetcher{series: tt.provisional}}
			cached := benchDatasource(f)
			evalFrames(t, cached, time.UnixMilli(times[first]))
			f.series = final // the source's samples settled
			f.reqs = nil
			before := f.points.Load()
			got := evalFrames(t, cached, time.UnixMilli(times[tt.second]))

			// served from the cache: one short fetch from the checkpoint
			if len(f.reqs) != 1 {
				t.Fatalf("%d fetches, want 1", len(f.reqs))
			}
			r := f.reqs[0].Range
			if want := time.UnixMilli(times[tt.wantFrom]); !r.From.Equal(want) || !r.To.Equal(time.UnixMilli(times[tt.second])) {
				t.Errorf("fetched %v..%v, want %v..%v", r.From.UTC(), r.To.UTC(), want.UTC(), time.UnixMilli(times[tt.second]).UTC())
			}
			if per, want := (f.points.Load()-before)/3, int64(tt.second-tt.wantFrom+1); per != want {
				t.Errorf("fetched %d points per series, want %d", per, want)
			}

			want := evalFrames(t, benchDatasource(&memFetcher{series: final}), time.UnixMilli(times[tt.second]))
			if n, err := frameDiffs(got, want); err != nil || n > 0 {
				t.Errorf("cached and fresh evaluation on the final data differ: %d values, %v", n, err)
			}
		})
	}
}

// The revisit span is a few steps, at least a minute (a scrape interval).
func TestAlertRevisitSpan(t *testing.T) {
	c := newStreamCache(10, time.Minute)
	for _, tt := range []struct{ step, want time.Duration }{
		{15 * time.Second, time.Minute},
		{time.Minute, 2 * time.Minute},
		{5 * time.Minute, 10 * time.Minute},
	} {
		if got := c.revisit(tt.step); got != tt.want {
			t.Errorf("step %v: revisit %v, want %v", tt.step, got, tt.want)
		}
	}
}

// Rule evaluations every minute: each fetches from the previous
// evaluation's checkpoint to the new newest point, four points per series,
// and the answer stays what a fresh evaluation gives.
func TestAlertCacheFetchesShortTail(t *testing.T) {
	series := genSeries(4, 1500)
	times := series[0].Times
	f := &recordingFetcher{memFetcher: memFetcher{series: series}}
	cached := benchDatasource(f)
	evalFrames(t, cached, time.UnixMilli(times[1300]))
	for i := 1301; i <= 1310; i++ {
		f.reqs = nil
		before := f.points.Load()
		got := evalFrames(t, cached, time.UnixMilli(times[i]))
		if len(f.reqs) != 1 {
			t.Fatalf("evaluation %d: %d fetches", i, len(f.reqs))
		}
		r := f.reqs[0].Range
		if !r.From.Equal(time.UnixMilli(times[i-3])) || !r.To.Equal(time.UnixMilli(times[i])) || r.Step != time.Minute {
			t.Errorf("evaluation %d: fetched %v..%v step %v, want points %d..%d step 1m", i, r.From.UTC(), r.To.UTC(), r.Step, i-3, i)
		}
		if per := (f.points.Load() - before) / 4; per != 4 {
			t.Errorf("evaluation %d: %d points per series, want 4", i, per)
		}
		if i%5 == 0 {
			want := evalFrames(t, benchDatasource(&memFetcher{series: series}), time.UnixMilli(times[i]))
			if n, err := frameDiffs(got, want); err != nil || n > 0 {
				t.Errorf("evaluation %d: differs from a fresh evaluation: %d values, %v", i, n, err)
			}
		}
	}
}

// len reports (for the tests; production reads the cache metrics) the number of cached queries and series.
func (c *streamCache) len() (queries, series int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.series
}

// size reports the cache's estimated bytes.
func (c *streamCache) size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bytes
}
