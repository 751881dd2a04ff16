package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func noisy(n int, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 3))
	s := Series{Times: make([]int64, n), Values: make([]float64, n)}
	for i := range s.Times {
		s.Times[i] = int64(i) * minute
		s.Values[i] = 100 + rng.NormFloat64()
	}
	return s
}

// TestWindowTypes: windows carry the shape of what happened.
func TestWindowTypes(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(s Series)
		method Method
		want   WindowType
		dir    int8
	}{
		{"spike", func(s Series) { s.Values[1000] += 30 }, MethodAuto, WindowSpike, 1},
		{"dip", func(s Series) { s.Values[1000] -= 30; s.Values[1001] -= 30 }, MethodAuto, WindowDip, -1},
		{"level shift", func(s Series) {
			for i := 1000; i < len(s.Values); i++ {
				s.Values[i] += 15
			}
		}, MethodBasic, WindowLevelShift, 1},
		{"trend change", func(s Series) {
			for i := 1000; i < len(s.Values); i++ {
				s.Values[i] += 0.5 * float64(i-1000)
			}
		}, MethodRobust, WindowTrendChange, 1},
		{"variance change", func(s Series) {
			for i := 1000; i < 1100; i++ {
				s.Values[i] = 100 + 25*float64(1-2*(i%2))
			}
		}, MethodRobust, WindowVarianceChange, 0},
		{"flatline", func(s Series) {
			for i := 1000; i < 1100; i++ {
				s.Values[i] = s.Values[999]
			}
		}, MethodAuto, WindowFlatline, 0},
	}
	for _, c := range cases {
		s := noisy(1500, 21)
		c.edit(s)
		r := mustDetect(t, s, Options{Method: c.method, Causal: true})
		var got *Window
		for i := range r.Windows {
			w := &r.Windows[i]
			if w.End >= 1000*minute && w.Start <= 1100*minute && (got == nil || w.End-w.Start > got.End-got.Start) {
				got = w // the longest window at the anomaly
			}
		}
		if got == nil {
			t.Errorf("%s: no window near the anomaly; windows %+v", c.name, r.Windows)
			continue
		}
		if got.Type != c.want || (c.dir != 0 && got.Direction != c.dir) {
			t.Errorf("%s: window %+v, want type %s direction %d", c.name, *got, c.want, c.dir)
		}
		if got.MaxScore < squash(bandK(DefaultSensitivity)) /* the flag threshold */ || got.Severity == "" || got.Peak < got.Start || got.Peak > got.End {
			t.Errorf("%s: inconsistent window %+v", c.name, *got)
		}
	}
}

// TestMissingDataWindow: a run of missing points is reported as missing_data.
func TestMissingDataWindow(t *testing.T) {
	s := noisy(500, 22)
	for i := 300; i < 310; i++ {
		s.Values[i] = math.NaN()
	}
	r := mustDetect(t, s, Options{})
	found := false
	for _, w := range r.Windows {
		if w.Type == WindowMissingData && w.Start == 300*minute && w.End == 309*minute {
			found = true
		}
	}
	if !found {
		t.Errorf("no missing_data window for points 300..309: %+v", r.Windows)
	}
}

// TestMinDuration: short runs are dropped; causal flags start once the run
// has lasted MinDuration, batch flags cover the whole run.
func TestMinDuration(t *testing.T) {
	s := noisy(1500, 23)
	s.Values[600] += 40 // one-point spike: shorter than 5m
	for i := 1000; i < 1010; i++ {
		s.Values[i] += 40 // ten-minute excursion
	}
	for _, causal := range []bool{true, false} {
		r := mustDetect(t, s, Options{Method: MethodBasic, MinDuration: 5 * time.Minute, Causal: causal})
		if r.Anomaly[600] {
			t.Errorf("causal=%v: one-point spike flagged despite MinDuration", causal)
		}
		first := 1004 // the fifth minute of the run
		if !causal {
			first = 1000
		}
		for i := 995; i < 1015; i++ {
			want := i >= first && i < 1010
			if r.Anomaly[i] != want {
				t.Errorf("causal=%v: point %d flagged=%v, want %v", causal, i, r.Anomaly[i], want)
			}
		}
		if len(r.Windows) != 1 {
			t.Errorf("causal=%v: windows %+v, want one", causal, r.Windows)
		}
	}
}

// TestBuildWindowsFromFlags: the remote client's path, flags from elsewhere.
func TestBuildWindowsFromFlags(t *testing.T) {
	s := regular(1, 2, math.NaN(), 50, 3, 2, 1, -40, -41, 1)
	r := &Result{
		Expected:  []float64{1, 2, 2, 2, 3, 2, 1, 1, 1, 1},
		Score:     []float64{0, 0.6, 0, 0.95, 0, 0, 0, 0.7, 0.8, 0},
		Anomaly:   []bool{false, true, false, true, false, false, false, true, true, false},
		Direction: []int8{0, 1, 0, 1, 0, 0, 0, -1, -1, 0},
	}
	w := BuildWindows(s, r, Options{})
	if len(w) != 2 {
		t.Fatalf("windows %+v, want 2 (the NaN bridges the first run)", w)
	}
	if w[0].Start != 1*minute || w[0].End != 3*minute || w[0].Peak != 3*minute || w[0].PeakValue != 50 || w[0].Severity != SeverityCritical {
		t.Errorf("first window %+v", w[0])
	}
	if w[1].Type != WindowDip || w[1].Direction != -1 || w[1].Peak != 8*minute || w[1].Severity != SeverityHigh {
		t.Errorf("second window %+v", w[1])
	}
	if got := BuildWindows(s, r, Options{MinDuration: 3 * time.Minute}); len(got) != 1 {
		t.Errorf("MinDuration 3m kept %d windows, want 1", len(got))
	}
}

// TestPeriodDetection: the period is found from the data (calendar or not),
// reported in Info, and absent for noise or when disabled.
func TestPeriodDetection(t *testing.T) {
	gen := func(step time.Duration, n int, f func(t time.Duration) float64) Series {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		var s Series
		for i := 0; i < n; i++ {
			at := time.Duration(i) * step
			s.Times = append(s.Times, 1_700_006_400_000+at.Milliseconds())
			s.Values = append(s.Values, f(at)+rng.NormFloat64())
		}
		return s
	}
	daily := func(t time.Duration) float64 { return 20 * math.Sin(2*math.Pi*t.Hours()/24) }
	weekly := func(t time.Duration) float64 {
		v := 10 * math.Sin(2*math.Pi*t.Hours()/24)
		if int(t.Hours()/24)%7 >= 5 {
			v -= 30 // weekends are quiet
		}
		return v
	}
	sixHours := func(t time.Duration) float64 { return 10 * math.Sin(2*math.Pi*t.Hours()/6) }
	cases := []struct {
		name   string
		s      Series
		opt    Options
		period time.Duration
	}{
		{"daily, hourly data", gen(time.Hour, 24*21, daily), Options{Method: MethodRobust, Causal: true}, 24 * time.Hour},
		{"daily, minutely data", gen(time.Minute, 1440*4, daily), Options{Method: MethodAuto, Causal: true}, 24 * time.Hour},
		{"weekly, hourly data", gen(time.Hour, 24*7*5, weekly), Options{Method: MethodRobust, Causal: true}, 7 * 24 * time.Hour},
		{"6h, 5-minute data", gen(5*time.Minute, 12*24*4, sixHours), Options{Method: MethodRobust, Causal: true}, 6 * time.Hour},
		{"daily, batch", gen(time.Hour, 24*10, daily), Options{Method: MethodRobust}, 24 * time.Hour},
		{"noise", gen(time.Minute, 5000, func(time.Duration) float64 { return 0 }), Options{Method: MethodRobust, Causal: true}, 0},
		{"disabled", gen(time.Hour, 24*21, daily), Options{Method: MethodRobust, Period: NoSeasonality}, 0},
		{"override", gen(time.Hour, 24*21, daily), Options{Method: MethodAgile, Period: 12 * time.Hour}, 12 * time.Hour},
		{"basic has none", gen(time.Hour, 24*21, daily), Options{Method: MethodBasic}, 0},
	}
	for _, c := range cases {
		r, err := Detect(context.Background(), c.s, c.opt)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var got time.Duration
		if len(r.Info.Periods) > 0 {
			got = r.Info.Periods[0]
		}
		if got != c.period {
			t.Errorf("%s: period %v, want %v (notes %v)", c.name, got, c.period, r.Info.Notes)
		}
		if c.period > 0 && c.name != "override" {
			// with the season modelled, a clean cycle raises (almost) nothing after the first cycles
			n := 0
			for i, a := range r.Anomaly {
				if a && c.s.Times[i]-c.s.Times[0] > 3*c.period.Milliseconds() {
					n++
				}
			}
			if n > 3 {
				t.Errorf("%s: %d flags on a clean seasonal series", c.name, n)
			}
		}
	}
}
