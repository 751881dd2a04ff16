package engine

import (
	"math/rand/v2"
	"testing"
)

// A metric whose routine is a 7-sigma blip every two hours pages for the
// first ones only: once it has shown two, the heavy-tailed prior of the tail
// calibration (calib.go) widens the band until its own spikes have taught
// it, instead of paging for every blip of its first day. The first blip of
// a clean series still pages, and so does a 15-sigma spike among the blips.
func TestRoutineSpikesEarly(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 3))
	const n = 1440
	s := Series{Times: make([]int64, n), Values: make([]float64, n)}
	for i := range s.Values {
		s.Times[i] = 1_700_000_000_000 + int64(i)*minute
		s.Values[i] = 100 + rng.NormFloat64()
		if i >= 60 && i%120 == 60 {
			s.Values[i] += 7
		}
	}
	s.Values[1000] += 15
	for _, m := range []Method{MethodAuto, MethodRobust, MethodBasic} {
		r := mustDetect(t, s, Options{Method: m, Causal: true})
		if !r.Anomaly[60] {
			t.Errorf("%s: the first blip (point 60) is not flagged", m)
		}
		if !r.Anomaly[1000] {
			t.Errorf("%s: the 15-sigma spike at point 1000 is not flagged", m)
		}
		blips := 0
		for i := 60; i < n; i += 120 {
			if r.Anomaly[i] {
				blips++
			}
		}
		if blips > 3 && m != MethodBasic { // basic has no seasonal model; it flags 4 (5 before)
			t.Errorf("%s: %d of 12 routine blips flagged on the first day, want at most 3", m, blips)
		}
	}
}
