package engine

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
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

// TestTailMemoryIsTime: the spikes that widen the band are forgotten after
// the same time on hourly as on minutely data. Ten 20-sigma incidents in the
// first three weeks, then quiet weeks, then a 12-sigma spike: on minutely data
// the old incidents have faded (memory 20 000 points, two weeks), and on
// hourly data they must have too (a memory of 20 000 points is two years
// there, and the band would still be wide enough to hide the spike). With five
// quiet weeks the band must also have been refitted since the last incident
// (every 1024 points would be six weeks on hourly data).
func TestTailMemoryIsTime(t *testing.T) {
	for _, quietDays := range []int{35, 49} {
		for _, step := range []time.Duration{time.Minute, 5 * time.Minute, time.Hour} {
			perDay := int(24 * time.Hour / step)
			n := (21 + quietDays) * perDay
			rng := rand.New(rand.NewPCG(13, 13))
			st, _ := NewStream(Options{Method: MethodAuto, Period: NoSeasonality})
			spikeAt := n - 3
			flagged := false
			for i := range n {
				v := 100 + rng.NormFloat64()
				if i < 21*perDay && i > perDay && i%(2*perDay) == perDay/2 {
					v += 20
				}
				if i == spikeAt {
					v += 12
				}
				p := st.Push(int64(i)*step.Milliseconds(), v)
				if i == spikeAt {
					flagged = p.Anomaly
				}
			}
			if !flagged {
				t.Errorf("step %v: a 12-sigma spike %d days after the last incident was not flagged (band %.1f SDs)", step, quietDays, st.tail.zThr)
			}
		}
	}
}
