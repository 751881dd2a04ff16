package engine

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var allMethods = []Method{MethodBasic, MethodRobust, MethodAgile, MethodChangepoint, MethodAuto}

const minute = int64(60_000)

// seasonalSeries is a minutely series with a daily cycle and Gaussian noise.
func seasonalSeries(n int, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 99))
	s := Series{Times: make([]int64, n), Values: make([]float64, n)}
	for i := range s.Times {
		s.Times[i] = 1_700_000_000_000 + int64(i)*minute
		s.Values[i] = 50 + 10*math.Sin(2*math.Pi*float64(i)/1440) + rng.NormFloat64()
	}
	return s
}

func cloneSeries(s Series) Series {
	return Series{Times: slices.Clone(s.Times), Values: slices.Clone(s.Values)}
}

func mustDetect(t *testing.T, s Series, opt Options) *Result {
	t.Helper()
	r, err := Detect(context.Background(), s, opt)
	if err != nil {
		t.Fatalf("Detect(%+v): %v", opt, err)
	}
	return r
}

func flagged(r *Result) []int {
	var out []int
	for i, a := range r.Anomaly {
		if a {
			out = append(out, i)
		}
	}
	return out
}

// samePrefix fails unless the first n outputs of a and b are identical.
func samePrefix(t *testing.T, what string, a, b *Result, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if a.Expected[i] != b.Expected[i] || a.Lower[i] != b.Lower[i] || a.Upper[i] != b.Upper[i] ||
			a.Score[i] != b.Score[i] || a.Anomaly[i] != b.Anomaly[i] || a.Direction[i] != b.Direction[i] {
			t.Fatalf("%s: point %d differs: expected %v/%v lower %v/%v upper %v/%v score %v/%v anomaly %v/%v",
				what, i, a.Expected[i], b.Expected[i], a.Lower[i], b.Lower[i], a.Upper[i], b.Upper[i],
				a.Score[i], b.Score[i], a.Anomaly[i], b.Anomaly[i])
		}
	}
}

// TestCausal: in causal mode changing the future never changes the past, and
// Detect equals pushing the points one by one (also across DetectStream and Clone).
func TestCausal(t *testing.T) {
	base := seasonalSeries(6000, 1)
	base.Values[3000] += 40 // an anomaly in the past part
	for _, m := range allMethods {
		for _, cut := range []int{10, 500, 2999, 4500} {
			opt := Options{Method: m, Causal: true, MinDuration: 2 * time.Minute}
			r1 := mustDetect(t, base, opt)
			future := cloneSeries(base)
			rng := rand.New(rand.NewPCG(uint64(cut), 5))
			for i := cut + 1; i < len(future.Values); i++ {
				switch rng.IntN(4) {
				case 0:
					future.Values[i] = math.NaN()
				case 1:
					future.Values[i] *= 1000
				default:
					future.Values[i] = -future.Values[i]
				}
			}
			r2 := mustDetect(t, future, opt)
			samePrefix(t, string(m)+" perturbed future", r1, r2, cut+1)
		}

		opt := Options{Method: m, Causal: true}
		r := mustDetect(t, base, opt)
		st, err := NewStream(opt)
		if err != nil {
			t.Fatal(err)
		}
		pushed := &Result{}
		for i, ts := range base.Times {
			p := st.Push(ts, base.Values[i])
			if p.Err != nil {
				t.Fatal(p.Err)
			}
			pushed.Expected = append(pushed.Expected, p.Expected)
			pushed.Lower = append(pushed.Lower, p.Lower)
			pushed.Upper = append(pushed.Upper, p.Upper)
			pushed.Score = append(pushed.Score, p.Score)
			pushed.Anomaly = append(pushed.Anomaly, p.Anomaly)
			pushed.Direction = append(pushed.Direction, p.Direction)
		}
		samePrefix(t, string(m)+" Detect vs Push", r, pushed, len(base.Times))

		half := len(base.Times) / 2
		head := Series{Times: base.Times[:half], Values: base.Values[:half]}
		_, st2, err := DetectStream(context.Background(), head, opt)
		if err != nil {
			t.Fatal(err)
		}
		clone := st2.Clone()
		// pushing garbage into the clone must not disturb the original
		for i := half; i < half+100; i++ {
			clone.Push(base.Times[i], 1e9)
		}
		for i := half; i < len(base.Times); i++ {
			p := st2.Push(base.Times[i], base.Values[i])
			if p.Expected != r.Expected[i] || p.Score != r.Score[i] || p.Anomaly != r.Anomaly[i] {
				t.Fatalf("%s: DetectStream+Push differs from Detect at %d", m, i)
			}
		}
		if p := st2.Push(base.Times[len(base.Times)-1], 1); p.Err == nil {
			t.Fatalf("%s: Push of an old timestamp was accepted", m)
		}
	}
}

// TestNoContamination: one huge spike does not widen the band or drag the
// baseline for the next day, and a past outage does not hide the next one.
func TestNoContamination(t *testing.T) {
	for _, m := range allMethods {
		clean := seasonalSeries(5*1440, 2)
		spiky := cloneSeries(clean)
		spiky.Values[3*1440] = 1e6
		opt := Options{Method: m, Causal: true}
		rc, rs := mustDetect(t, clean, opt), mustDetect(t, spiky, opt)
		if !rs.Anomaly[3*1440] {
			t.Errorf("%s: the spike itself was not flagged", m)
		}
		for i := 3*1440 + 1; i < 4*1440; i++ {
			wc, ws := rc.Upper[i]-rc.Lower[i], rs.Upper[i]-rs.Lower[i]
			if ws > 1.25*wc+1e-9 {
				t.Fatalf("%s: band at +%d min is %.3g wide after the spike, %.3g without", m, i-3*1440, ws, wc)
			}
			if d := math.Abs(rs.Expected[i] - rc.Expected[i]); d > 2 {
				t.Fatalf("%s: expected value dragged by %.3g at +%d min", m, d, i-3*1440)
			}
		}

		// two outages (value drops to 0 for an hour) two days apart
		out := seasonalSeries(6*1440, 3)
		for _, start := range []int{2 * 1440, 4 * 1440} {
			for i := start; i < start+60; i++ {
				out.Values[i] = 0
			}
		}
		r := mustDetect(t, out, opt)
		for k, start := range []int{2 * 1440, 4 * 1440} {
			n := 0
			for i := start; i < start+60; i++ {
				if r.Anomaly[i] {
					n++
				}
			}
			if n < 5 || !r.Anomaly[start] {
				t.Errorf("%s: outage %d: only %d of 60 points flagged", m, k+1, n)
			}
		}
	}
}

// TestColdStart: nothing is flagged before the warm-up, which is reported.
func TestColdStart(t *testing.T) {
	for _, m := range allMethods {
		for _, warm := range []int{0, 5, 100} {
			s := seasonalSeries(400, 4)
			for i := 0; i < 150; i += 7 {
				s.Values[i] += 1000 // anomalies all through the warm-up
			}
			s.Values[200] = 1e7 // and one after it
			r := mustDetect(t, s, Options{Method: m, WarmUp: warm, Causal: true})
			want := warm
			if warm == 0 {
				want = defaultWarmUp
			}
			if r.Info.WarmUp != want || !r.Info.WarmUpMet {
				t.Errorf("%s: info warm-up %d met=%v, want %d met", m, r.Info.WarmUp, r.Info.WarmUpMet, want)
			}
			if f := flagged(r); len(f) == 0 || f[0] < want {
				t.Errorf("%s warm-up %d: first flag at %v", m, want, f)
			}
			short := Series{Times: s.Times[:want], Values: s.Values[:want]}
			if r := mustDetect(t, short, Options{Method: m, WarmUp: warm}); r.Info.WarmUpMet || len(flagged(r)) > 0 {
				t.Errorf("%s: series shorter than the warm-up: met=%v flags=%v", m, r.Info.WarmUpMet, flagged(r))
			}
		}
	}
}

func regular(vals ...float64) Series {
	s := Series{Values: vals}
	for i := range vals {
		s.Times = append(s.Times, int64(i)*minute)
	}
	return s
}

func repeat(n int, f func(i int) float64) Series {
	v := make([]float64, n)
	for i := range v {
		v[i] = f(i)
	}
	return regular(v...)
}

// TestEdgeCases: odd inputs give clear errors or finite outputs, never panics.
func TestEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	noise := func(scale, offset float64) func(int) float64 {
		return func(int) float64 { return offset + scale*rng.NormFloat64() }
	}
	cases := []struct {
		name      string
		s         Series
		err       string
		wantFlags func(flags []int) bool
	}{
		{name: "empty", s: Series{}},
		{name: "single point", s: regular(42)},
		{name: "all NaN", s: repeat(100, func(int) float64 { return math.NaN() })},
		{name: "constant", s: repeat(500, func(int) float64 { return 7 }), wantFlags: func(f []int) bool { return len(f) == 0 }},
		{name: "zeros", s: repeat(500, func(int) float64 { return 0 }), wantFlags: func(f []int) bool { return len(f) == 0 }},
		{name: "constant then step", s: repeat(500, func(i int) float64 { return map[bool]float64{true: 7, false: 9}[i < 300] }),
			wantFlags: func(f []int) bool { return len(f) > 0 && f[0] == 300 }},
		{name: "tiny magnitudes", s: repeat(500, func(i int) float64 {
			if i == 400 {
				return 1e-12 + 1e-12
			}
			return noise(1e-15, 1e-12)(i)
		}), wantFlags: func(f []int) bool { return slices.Contains(f, 400) }},
		{name: "huge magnitudes", s: repeat(500, func(i int) float64 {
			if i == 400 {
				return 2e12
			}
			return noise(1e9, 1e12)(i)
		}), wantFlags: func(f []int) bool { return slices.Contains(f, 400) }},
		{name: "negative values", s: repeat(500, func(i int) float64 {
			if i == 400 {
				return -200
			}
			return noise(1, -100)(i)
		}), wantFlags: func(f []int) bool { return slices.Contains(f, 400) }},
		{name: "infinities and NaN", s: repeat(300, func(i int) float64 {
			switch i % 50 {
			case 3:
				return math.Inf(1)
			case 4:
				return math.Inf(-1)
			case 5:
				return math.NaN()
			}
			return noise(1, 10)(i)
		})},
		{name: "max floats", s: repeat(100, func(i int) float64 { return math.MaxFloat64 * float64(1-2*(i%2)) })},
		{name: "duplicate timestamps", s: Series{Times: []int64{0, 60, 60, 120}, Values: []float64{1, 2, 3, 4}}, err: "duplicate timestamp"},
		{name: "unsorted", s: Series{Times: []int64{0, 120, 60}, Values: []float64{1, 2, 3}}, err: "not sorted"},
		{name: "length mismatch", s: Series{Times: []int64{0, 60}, Values: []float64{1}}, err: "2 times but 1 values"},
	}
	for _, c := range cases {
		for _, m := range allMethods {
			for _, causal := range []bool{false, true} {
				r, err := Detect(context.Background(), c.s, Options{Method: m, Causal: causal})
				if c.err != "" {
					if err == nil || !strings.Contains(err.Error(), c.err) {
						t.Errorf("%s/%s: error %v, want %q", c.name, m, err, c.err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s/%s: %v", c.name, m, err)
					continue
				}
				if len(r.Expected) != len(c.s.Times) {
					t.Fatalf("%s/%s: %d outputs for %d points", c.name, m, len(r.Expected), len(c.s.Times))
				}
				lead := firstFinite(c.s)
				for i := range r.Expected {
					if i < lead && !math.IsNaN(r.Expected[i]) {
						t.Fatalf("%s/%s: expected %v before the first value", c.name, m, r.Expected[i])
					}
					if i < lead {
						continue // no forecast before the first value (NaN, null)
					}
					for _, x := range []float64{r.Expected[i], r.Lower[i], r.Upper[i], r.Score[i]} {
						if math.IsNaN(x) || math.IsInf(x, 0) {
							t.Fatalf("%s/%s causal=%v: non-finite output at %d: %v %v %v %v", c.name, m, causal, i,
								r.Expected[i], r.Lower[i], r.Upper[i], r.Score[i])
						}
					}
					if r.Score[i] < 0 || r.Score[i] > 1 || r.Lower[i] > r.Upper[i] {
						t.Fatalf("%s/%s: bad score %v or band [%v, %v] at %d", c.name, m, r.Score[i], r.Lower[i], r.Upper[i], i)
					}
				}
				if c.wantFlags != nil && !c.wantFlags(flagged(r)) {
					t.Errorf("%s/%s causal=%v: unexpected flags %v", c.name, m, causal, flagged(r))
				}
			}
		}
	}
}

// TestIrregularAndGaps: jittered timestamps and a day-long gap still work.
func TestIrregularAndGaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var s Series
	ts := int64(0)
	for i := 0; i < 4000; i++ {
		ts += 30_000 + rng.Int64N(60_000)
		if i == 2000 {
			ts += 24 * 3600_000
		}
		v := 20 + rng.NormFloat64()
		if i == 3000 {
			v += 30
		}
		s.Times = append(s.Times, ts)
		s.Values = append(s.Values, v)
	}
	for _, m := range allMethods {
		r := mustDetect(t, s, Options{Method: m, Causal: true})
		if !r.Anomaly[3000] {
			t.Errorf("%s: spike after the gap not flagged", m)
		}
		if n := len(flagged(r)); n > 20 {
			t.Errorf("%s: %d flags on irregular noise (want a handful)", m, n)
		}
		before, after := r.Upper[1999]-r.Lower[1999], r.Upper[2001]-r.Lower[2001]
		if after < before/2 || after > before*2 {
			t.Errorf("%s: band %.3g wide before the day-long gap, %.3g after it", m, before, after)
		}
		if r.Info.Interval < 40*time.Second || r.Info.Interval > 80*time.Second {
			t.Errorf("%s: interval %v", m, r.Info.Interval)
		}
	}
}

// TestDeterminism: the same input gives the same output, also concurrently.
func TestDeterminism(t *testing.T) {
	s := seasonalSeries(5000, 10)
	s.Values[4000] += 50
	for _, m := range allMethods {
		want := mustDetect(t, s, Options{Method: m})
		var wg sync.WaitGroup
		got := make([]*Result, 4)
		for g := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[g], _ = Detect(context.Background(), s, Options{Method: m})
			}()
		}
		wg.Wait()
		for _, r := range got {
			samePrefix(t, string(m)+" repeat", want, r, len(s.Times))
		}
	}
}

// TestSensitivityMonotone: raising the sensitivity only ever adds flags.
func TestSensitivityMonotone(t *testing.T) {
	s := seasonalSeries(4000, 11)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 100; i < len(s.Values); i += 97 {
		s.Values[i] += rng.NormFloat64() * 6
	}
	for _, m := range allMethods {
		var prev []int
		for _, sens := range []float64{-1, 10, 30, 50, 70, 90, 100} {
			f := flagged(mustDetect(t, s, Options{Method: m, Sensitivity: sens, Causal: true}))
			for _, i := range prev {
				if !slices.Contains(f, i) {
					t.Fatalf("%s: point %d flagged below sensitivity %v but not at it", m, i, sens)
				}
			}
			if len(prev) > 0 && len(f) < len(prev) {
				t.Fatalf("%s: fewer flags at higher sensitivity", m)
			}
			prev = f
		}
		if len(prev) == 0 {
			t.Errorf("%s: nothing flagged even at sensitivity 100", m)
		}
	}
}

// TestDirection: up flags only points above the band, down only below.
func TestDirection(t *testing.T) {
	s := seasonalSeries(3000, 12)
	s.Values[2000] += 40
	s.Values[2500] -= 40
	for _, m := range allMethods {
		up := flagged(mustDetect(t, s, Options{Method: m, Direction: DirectionUp}))
		down := flagged(mustDetect(t, s, Options{Method: m, Direction: DirectionDown}))
		both := flagged(mustDetect(t, s, Options{Method: m}))
		if !slices.Contains(up, 2000) || slices.Contains(up, 2500) {
			t.Errorf("%s: up flags %v", m, up)
		}
		if !slices.Contains(down, 2500) || slices.Contains(down, 2000) {
			t.Errorf("%s: down flags %v", m, down)
		}
		if !slices.Contains(both, 2000) || !slices.Contains(both, 2500) {
			t.Errorf("%s: both flags %v", m, both)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Method{"": MethodAuto, "AUTO": MethodAuto, "basic": MethodBasic, " robust ": MethodRobust,
		"agile": MethodAgile, "changepoint": MethodChangepoint} {
		if got, err := ParseMethod(in); err != nil || got != want {
			t.Errorf("ParseMethod(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseMethod("prophet"); err == nil {
		t.Error("ParseMethod accepted an unknown method")
	}
	for in, want := range map[string]Direction{"": DirectionBoth, "Up": DirectionUp, "down": DirectionDown, "both": DirectionBoth} {
		if got, err := ParseDirection(in); err != nil || got != want {
			t.Errorf("ParseDirection(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseDirection("sideways"); err == nil {
		t.Error("ParseDirection accepted an unknown direction")
	}
	// Seasonality: TestParseSeasonalityFixtures.
	for _, bad := range []Options{{Sensitivity: 101}, {Sensitivity: math.NaN()}, {MinDuration: -1}, {WarmUp: -3}, {Period: -5}, {Method: "x"}} {
		if _, err := Detect(context.Background(), regular(1, 2, 3), bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
}

func TestWithSensitivity(t *testing.T) {
	for in, want := range map[float64]float64{0: 0, 0.5: 0.5, 50: 50, 100: 100} {
		opt, err := normalise(Options{}.WithSensitivity(in))
		if err != nil || opt.Sensitivity != want {
			t.Errorf("WithSensitivity(%v) normalises to %v, %v", in, opt.Sensitivity, err)
		}
	}
	if opt, _ := normalise(Options{}); opt.Sensitivity != DefaultSensitivity {
		t.Errorf("zero value sensitivity %v", opt.Sensitivity)
	}
}

// TestBatchSeedsSeasonality: batch mode knows the season from the start, so
// its band on the first day is much tighter than the causal one (which must
// first see three cycles) and a clean series raises nothing.
func TestBatchSeedsSeasonality(t *testing.T) {
	for _, m := range []Method{MethodRobust, MethodAuto} {
		s := seasonalSeries(3*1440, 77)
		batch, causal := mustDetect(t, s, Options{Method: m}), mustDetect(t, s, Options{Method: m, Causal: true})
		var wb, wc float64
		for i := 100; i < 1440; i++ {
			wb += batch.Upper[i] - batch.Lower[i]
			wc += causal.Upper[i] - causal.Lower[i]
		}
		if wb > 0.7*wc {
			t.Errorf("%s: first-day band %.3g in batch mode, %.3g causal", m, wb/1340, wc/1340)
		}
		if f := flagged(batch); len(f) > 0 {
			t.Errorf("%s: batch flags on a clean seasonal series: %v", m, f)
		}
		if len(batch.Info.Notes) == 0 || !strings.Contains(strings.Join(batch.Info.Notes, ";"), "seeded") {
			t.Errorf("%s: batch notes %v do not say the profile was seeded", m, batch.Info.Notes)
		}
	}
}
