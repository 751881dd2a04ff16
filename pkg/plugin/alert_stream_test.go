package plugin

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/detector"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// countStream is a detector.Stream that is not the engine's: a point's score
// is the number of points learned before it (mod 4, in quarters), so a
// resumed state answers as a fresh one only if the cache restored exactly
// the checkpoint it took. Every push is counted in pushes.
type countStream struct {
	n      int
	pushes *atomic.Int64
}

const countStreamBytes = 1 << 20

func (s *countStream) Push(t int64, v float64) engine.PointResult {
	s.pushes.Add(1)
	score := float64(s.n%4) / 4
	s.n++
	return engine.PointResult{Time: t, Value: v, Score: score, Anomaly: score == 0.75}
}
func (s *countStream) Clone() detector.Stream { c := *s; return &c }
func (s *countStream) Info() engine.Info      { return engine.Info{Causal: true, WarmUpMet: true} }
func (s *countStream) SizeBytes() int64       { return countStreamBytes }

// countDetector streams countStreams; its batch Detect is never used by alerts.
type countDetector struct{ pushes atomic.Int64 }

func (d *countDetector) Detect(context.Context, []engine.Series, engine.Options) ([]detector.Outcome, error) {
	panic("alerts of a streaming detector go through DetectStream")
}

func (d *countDetector) DetectStream(_ context.Context, s engine.Series, _ engine.Options) (*engine.Result, detector.Stream, error) {
	st := &countStream{pushes: &d.pushes}
	res := &engine.Result{Info: st.Info()}
	for i, t := range s.Times {
		p := st.Push(t, s.Values[i])
		res.Score = append(res.Score, p.Score)
		res.Anomaly = append(res.Anomaly, p.Anomaly)
	}
	return res, st, nil
}

// The alert cache holds any detector.Streaming's streams, not only the
// engine's: a re-evaluation resumes the fake's checkpoints (pushing only the
// fetched tail), answers as a fresh evaluation with the same detector, and
// the cache's byte bound counts the fake's own size estimate.
// alertValues is every value of an alert answer's frames, in order.
func alertValues(t *testing.T, fs data.Frames) []float64 {
	t.Helper()
	var out []float64
	for _, f := range fs {
		for i := 0; i < f.Rows(); i++ {
			v, ok := f.Fields[1].At(i).(float64)
			if !ok {
				t.Fatalf("frame %q: value %v is not a float64", f.Name, f.Fields[1].At(i))
			}
			out = append(out, v)
		}
	}
	return out
}

func TestAlertCacheHoldsAnyStream(t *testing.T) {
	series := genSeries(3, 1500)
	times := series[0].Times
	det := &countDetector{}
	f := &recordingFetcher{memFetcher: memFetcher{series: series}}
	cached := benchDatasource(f)
	cached.detector = det
	first := alertValues(t, evalFrames(t, cached, time.UnixMilli(times[1400])))
	if det.pushes.Load() == 0 {
		t.Fatal("the fake detector's stream was not used")
	}
	if size := cached.cache.size(); size < 3*countStreamBytes {
		t.Errorf("cache size %d bytes, want at least 3 × the stream's own estimate %d", size, countStreamBytes)
	}
	before := det.pushes.Load()
	f.reqs = nil
	got := alertValues(t, evalFrames(t, cached, time.UnixMilli(times[1405])))
	if len(f.reqs) != 1 || !f.reqs[0].Range.From.After(time.UnixMilli(times[1300])) {
		t.Fatalf("re-evaluation fetches %v, want one short tail", f.reqs)
	}
	if pushed := det.pushes.Load() - before; pushed > 3*20 {
		t.Errorf("re-evaluation pushed %d points, want only the tail's", pushed)
	}

	fresh := benchDatasource(&memFetcher{series: series})
	fresh.detector = &countDetector{}
	want := alertValues(t, evalFrames(t, fresh, time.UnixMilli(times[1405])))
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("%d scores cached, %d fresh", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("score %d: cached %v, fresh %v (first evaluation had %d)", i, got[i], want[i], len(first))
		}
	}
}
