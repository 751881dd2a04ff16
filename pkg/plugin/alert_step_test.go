package plugin

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// every keeps every k-th point of series: a source answering at a wider
// step than asked (a Grafana data source's own Min interval, a recording
// rule's evaluation interval).
func every(in []source.Series, k int) []source.Series {
	out := copySeries(in)
	for i := range out {
		var times []int64
		var values []float64
		for j := 0; j < len(in[i].Times); j += k {
			times, values = append(times, in[i].Times[j]), append(values, in[i].Values[j])
		}
		out[i].Times, out[i].Values = times, values
	}
	return out
}

// The alert cache sizes its revisit span from the step the source answered
// at, not the planned one: the rule asks for 1m, the source answers every
// 5m, so the two newest points (10m) are provisional, as two planned steps
// would be. With the planned step (a 2m span) the point before the newest
// was learned into the checkpoint with its provisional value, and the cached
// re-evaluation after it settled differed from a fresh one.
func TestAlertCacheUsesTheMeasuredStep(t *testing.T) {
	final := every(genSeries(3, 1500), 5) // 300 points, 5m apart
	times := slices.Clone(final[0].Times)
	const first = 280
	provisional := withValue(final, 0, first-1, final[0].Values[first-1]+40) // the sample before the newest, replaced later
	if n, err := frameDiffs(evalFrames(t, benchDatasource(&memFetcher{series: provisional}), time.UnixMilli(times[first])),
		evalFrames(t, benchDatasource(&memFetcher{series: final}), time.UnixMilli(times[first]))); n == 0 && err == nil {
		t.Fatal("the provisional data gives the same answer as the final data: the case tests nothing")
	}

	f := &recordingFetcher{memFetcher: memFetcher{series: provisional}}
	cached := benchDatasource(f)
	evalFrames(t, cached, time.UnixMilli(times[first]))
	f.series = final
	f.reqs = nil
	resp, err := cached.QueryData(t.Context(), alertEval(time.UnixMilli(times[first+1])))
	if err != nil || resp.Responses["A"].Error != nil {
		t.Fatal(err, resp.Responses["A"].Error)
	}
	got := resp.Responses["A"].Frames

	if len(f.reqs) != 1 {
		t.Fatalf("%d fetches, want 1 (served from the cache)", len(f.reqs))
	}
	if r := f.reqs[0].Range; r.Step != 5*time.Minute || !r.From.Equal(time.UnixMilli(times[first-2])) {
		t.Errorf("re-evaluation fetched from %v at step %v, want from the checkpoint %v at the measured 5m",
			r.From.UTC(), r.Step, time.UnixMilli(times[first-2]).UTC())
	}
	want := evalFrames(t, benchDatasource(&memFetcher{series: final}), time.UnixMilli(times[first+1]))
	if n, err := frameDiffs(got, want); err != nil || n > 0 {
		t.Errorf("cached and fresh evaluation on the final data differ: %d values, %v", n, err)
	}
	// The viewer is told, on the cached answer too.
	var notices []string
	for _, fr := range got {
		if fr.Meta != nil {
			for _, n := range fr.Meta.Notices {
				notices = append(notices, n.Text)
			}
		}
	}
	if !strings.Contains(strings.Join(notices, "\n"), "answered at a 5m0s step, wider than the 1m0s asked for") {
		t.Errorf("notices %q do not say the source's step", notices)
	}
}
