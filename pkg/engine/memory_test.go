package engine

import (
	"runtime"
	"testing"
)

// TestStreamMemoryBounded: a stream's state does not grow with the number of
// points it has seen (O(window), not O(n)).
func TestStreamMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes a few million points")
	}
	perStream := func(points int) float64 {
		s := benchSeries(points)
		const streams = 20
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		kept := make([]*Stream, streams)
		for k := range kept {
			st, err := NewStream(Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i, ts := range s.Times {
				st.Push(ts, s.Values[i])
			}
			kept[k] = st
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(kept)
		runtime.KeepAlive(s)
		return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / streams
	}
	small, large := perStream(10_000), perStream(200_000)
	t.Logf("retained per auto stream: %.0f B after 10k points, %.0f B after 200k points", small, large)
	if large > 256<<10 {
		t.Errorf("a stream keeps %.0f B after 200k points, want < 256 KiB", large)
	}
	if large > 2*small+32<<10 {
		t.Errorf("stream state grows with the points seen: %.0f B at 10k, %.0f B at 200k", small, large)
	}
}
