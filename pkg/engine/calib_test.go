package engine

import (
	"math"
	"testing"
)

// TestTailCalibrator: routine spikes widen the band past them, a few rare
// ones do not, long runs never count, and weights survive millions of points.
func TestTailCalibrator(t *testing.T) {
	cases := []struct {
		name      string
		points    int
		every     int // a spike every this many points (0: none)
		size      float64
		runLen    int
		wantAbove float64 // threshold must be above this
		wantMax   float64 // and at most this
	}{
		{"gaussian-like: stays at k", 50_000, 0, 0, 0, 3.99, 4.01},
		{"hourly 8-sigma spikes become normal", 50_000, 60, 8, 1, 8, 9},
		{"three rare spikes do not", 50_000, 15_000, 20, 1, 3.99, 4.01},
		{"long outages never count", 50_000, 60, 8, 30, 3.99, 4.01},
		{"millions of points (weights rescaled)", 7_000_000, 1000, 8, 2, 8, 9},
	}
	for _, c := range cases {
		cal := newTailCalibrator(4)
		for i := 1; i <= c.points; i++ {
			az := 0.5
			if c.every > 0 && i%c.every < c.runLen {
				az = c.size
			}
			cal.observe(az)
		}
		cal.fit()
		if !(cal.zThr > c.wantAbove && cal.zThr <= c.wantMax) {
			t.Errorf("%s: threshold %.3f, want in (%v, %v]", c.name, cal.zThr, c.wantAbove, c.wantMax)
		}
		for _, b := range cal.bins {
			if math.IsNaN(b) || math.IsInf(b, 0) {
				t.Fatalf("%s: bin weight %v", c.name, b)
			}
		}
	}
}
