package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// The tests here are the alerting cases: a rule asks "what share of the last
// few minutes is anomalous?", so a sustained incident must stay flagged in
// causal mode, not only for its first points.

func countFlags(r *Result, from, to int) int {
	n := 0
	for i := from; i < to; i++ {
		if r.Anomaly[i] {
			n++
		}
	}
	return n
}

func causalOptions() map[string]Options {
	return map[string]Options{
		"period auto":  {Causal: true},
		"period daily": {Causal: true, Period: 24 * time.Hour},
	}
}

// A level shift of 15 SDs lasting 45 minutes, after two earlier ones on the
// same series, must stay flagged for most of its length: the adaptive model
// re-levels after a few points, and earlier shifts must not have taught the
// band that such deviations are routine.
func TestCausalLevelShiftStaysFlagged(t *testing.T) {
	const n, dur = 4 * 1440, 45
	shifts := []int{1500, 2900, 5000}
	for name, opt := range causalOptions() {
		t.Run(name, func(t *testing.T) {
			s := seasonalSeries(n, 7)
			for _, at := range shifts {
				for i := at; i < at+dur; i++ {
					s.Values[i] += 15
				}
			}
			r := mustDetect(t, s, opt)
			last := shifts[len(shifts)-1]
			if got := countFlags(r, last, last+dur); got < 40 {
				t.Errorf("last level shift: %d of %d points flagged, want at least 40", got, dur)
			}
			found := false
			for _, w := range r.Windows {
				if w.Start >= s.Times[last] && w.Start <= s.Times[last+5] {
					found = true
					if w.Type != WindowLevelShift {
						t.Errorf("window at the shift is %s, want %s", w.Type, WindowLevelShift)
					}
				}
			}
			if !found {
				t.Errorf("no window starts at the last level shift; windows: %+v", r.Windows)
			}
			// and once the series is back, it is quiet again
			if got := countFlags(r, last+dur+5, n); got > 0 {
				t.Errorf("%d flags after the shift ended", got)
			}
		})
	}
}

// A new normal is accepted: a lasting shift is not flagged for ever.
func TestCausalLevelShiftHoldIsBounded(t *testing.T) {
	s := seasonalSeries(3*1440, 8)
	at := 2000
	for i := at; i < len(s.Values); i++ {
		s.Values[i] += 15
	}
	r := mustDetect(t, s, Options{Causal: true})
	if got := countFlags(r, at+holdSteps+20, len(s.Values)); got > 0 {
		t.Errorf("%d flags more than %d steps after a lasting shift", got, holdSteps+20)
	}
}

// flatlineSeries is a noisy seasonal series with value freezes: the value at
// each start held for length points.
func flatlineSeries(n int, starts []int, length int) Series {
	s := seasonalSeries(n, 11)
	for _, at := range starts {
		for i := at + 1; i < at+length; i++ {
			s.Values[i] = s.Values[at]
		}
	}
	return s
}

// A stuck exporter (the value frozen for 20 minutes) on a series that moves
// every minute is flagged in causal mode, even when the series happened to
// start with such a freeze, and the flags do not depend on where it started.
func TestCausalFlatlineInMovingSeries(t *testing.T) {
	const n = 3 * 1440
	stuck := 2500
	for name, opt := range causalOptions() {
		t.Run(name, func(t *testing.T) {
			for _, method := range []Method{MethodAuto, MethodBasic, MethodRobust, MethodAgile, MethodChangepoint} {
				opt.Method = method
				early := flatlineSeries(n, []int{20, stuck}, 20) // a freeze before the detector can judge one
				clean := flatlineSeries(n, []int{stuck}, 20)
				cut := Series{Times: early.Times[200:], Values: early.Values[200:]}
				for what, s := range map[string]Series{"from the start": early, "without the early freeze": clean, "started later": cut} {
					r := mustDetect(t, s, opt)
					at := stuck
					if len(s.Times) < n {
						at -= 200
					}
					if got := countFlags(r, at, at+20); got < 5 {
						t.Errorf("%s, %s: %d of the 20 frozen points flagged, want at least 5", method, what, got)
					}
				}
			}
		})
	}
}

// rateSeries is a request rate: a daily cycle of ±40 %, autocorrelated
// wiggles of a few percent and white noise.
func rateSeries(n int, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 5))
	s := Series{Times: make([]int64, n), Values: make([]float64, n)}
	base := 200.0
	ar := 0.0
	for i := range s.Times {
		s.Times[i] = 1_700_000_000_000 + int64(i)*minute
		ar = 0.8*ar + 0.6*rng.NormFloat64()
		s.Values[i] = base * (1 + 0.4*math.Sin(2*math.Pi*float64(i)/1440) + 0.02*ar + 0.01*rng.NormFloat64())
	}
	return s
}

// A −50 % dip of the request rate for 10 minutes, two days into the series,
// is flagged in causal mode by every seasonal method.
func TestCausalRateDip(t *testing.T) {
	const n = 2*1440 + 600
	for name, opt := range causalOptions() {
		t.Run(name, func(t *testing.T) {
			for _, at := range []int{2*1440 + 100, 2*1440 + 400} { // near the peak and the trough of the cycle
				s := rateSeries(n, uint64(at))
				for i := at; i < at+10; i++ {
					s.Values[i] *= 0.5
				}
				for _, method := range []Method{MethodAuto, MethodRobust, MethodAgile, MethodChangepoint} {
					opt.Method = method
					r := mustDetect(t, s, opt)
					if got := countFlags(r, at, at+10); got < 5 {
						t.Errorf("%s, dip at step %d: %d of 10 points flagged, want at least 5", method, at, got)
					}
					if got := countFlags(r, 1500, at) + countFlags(r, at+20, n); got > 0 && method == MethodAuto {
						t.Errorf("%s, dip at step %d: %d flags outside the dip", method, at, got)
					}
				}
			}
		})
	}
}

// A series that starts in the middle of an incident scores its later days
// like one that starts after it: the first points' error must not be written
// into the seasonal profile (where it would come back every period).
func TestCausalStartMidIncident(t *testing.T) {
	const n = 3 * 1440
	s := seasonalSeries(n, 21)
	for i := 0; i < 40; i++ {
		s.Values[i] += 60 + float64(i) // the series starts during a 40-minute incident
	}
	for name, opt := range causalOptions() {
		t.Run(name, func(t *testing.T) {
			r, err := Detect(context.Background(), s, opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := countFlags(r, 1440, n); got > 0 {
				t.Errorf("%d flags on the clean days after a start mid-incident", got)
			}
		})
	}
}

// An alert's cached stream has seen more history than a fresh evaluation of
// the same range. With a fixed period their flags agree once both have warmed
// up, whatever incidents the longer history held.
func TestCausalStartIndependence(t *testing.T) {
	const n = 5 * 1440
	s := seasonalSeries(n, 31)
	incidents := []struct {
		at, length int
		delta      float64
	}{
		{30, 20, 25}, {900, 10, -20}, {1600, 45, 15}, {2500, 20, 0}, {3300, 5, 30}, {4000, 45, -15}, {5200, 10, 20}, {6000, 20, 0},
	}
	for _, in := range incidents {
		for i := in.at; i < in.at+in.length; i++ {
			if in.delta == 0 {
				s.Values[i] = s.Values[in.at] // a freeze
			} else {
				s.Values[i] += in.delta
			}
		}
	}
	opt := Options{Causal: true, Period: 24 * time.Hour}
	long := mustDetect(t, s, opt)
	for _, from := range []int{1000, 1605, 2490} { // before, inside a level shift, just before a freeze
		short := mustDetect(t, Series{Times: s.Times[from:], Values: s.Values[from:]}, opt)
		differ := 0
		for i := 4 * 1440; i < n; i++ {
			if long.Anomaly[i] != short.Anomaly[i-from] {
				differ++
			}
		}
		if differ > 0 {
			t.Errorf("started at %d: %d of the last day's flags differ from the stream started at 0", from, differ)
		}
		if c := countFlags(long, 5200, 5210) + countFlags(long, 6000, 6020); c < 15 {
			t.Errorf("only %d of the last day's 30 incident points flagged", c)
		}
	}
}
