package demogen

import (
	"math"
	"testing"
	"time"
)

func mustGen(t *testing.T, cfg Config) *Generator {
	t.Helper()
	g, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

// day0 is a fixed Monday-ish reference far from the counter's weekly restart.
var day0 = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)

func TestNewRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
	}{
		{"no hosts", func(c *Config) { c.Hosts = nil }},
		{"duplicate host", func(c *Config) { c.Hosts = []string{"a", "a"} }},
		{"quote in host", func(c *Config) { c.Hosts = []string{`a"b`} }},
		{"empty host", func(c *Config) { c.Hosts = []string{""} }},
		{"short interval", func(c *Config) { c.IncidentEvery = 5 * time.Minute }},
		{"negative noise", func(c *Config) { c.NoiseScale = -1 }},
		{"NaN noise", func(c *Config) { c.NoiseScale = math.NaN() }},
		{"unknown kind", func(c *Config) { c.Kinds = []Kind{"meteor"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.edit(&cfg)
			if _, err := New(cfg); err == nil {
				t.Fatalf("New accepted %+v", cfg)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	a := mustGen(t, DefaultConfig())
	b := mustGen(t, DefaultConfig())
	cfg := DefaultConfig()
	cfg.Seed = 2
	c := mustGen(t, cfg)
	differs := 0
	for i := 0; i < 500; i++ {
		ts := day0.Add(time.Duration(i) * 97 * time.Second)
		for _, h := range a.Hosts() {
			for _, m := range Metrics {
				va, _ := a.Value(h, m, ts)
				vb, _ := b.Value(h, m, ts)
				vc, _ := c.Value(h, m, ts)
				if va != vb {
					t.Fatalf("%s/%s at %s: %v then %v with one seed", h, m, ts, va, vb)
				}
				if va != vc {
					differs++
				}
			}
		}
	}
	if differs < 1000 {
		t.Fatalf("seed 2 changed only %d of 6000 values", differs)
	}
	if got, want := len(a.Incidents(day0, day0.Add(24*time.Hour))), 24; got != want {
		t.Fatalf("got %d incidents in a day at 1h intervals, want %d", got, want)
	}
}

func TestUnknownHostOrMetric(t *testing.T) {
	g := mustGen(t, DefaultConfig())
	if _, err := g.Value("nope", MetricCPU, day0); err == nil {
		t.Error("unknown host accepted")
	}
	if _, err := g.Value("web-1", "disk_usage", day0); err == nil {
		t.Error("unknown metric accepted")
	}
}

func TestDailySeasonality(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Kinds = []Kind{KindSpike} // short incidents barely move hourly means
	g := mustGen(t, cfg)
	for _, h := range g.Hosts() {
		var peak, trough float64
		const n = 7 * 60
		for d := 0; d < 7; d++ {
			for i := 0; i < 60; i++ {
				p, _ := g.Value(h, MetricCPU, day0.Add(time.Duration(d)*24*time.Hour+14*time.Hour+time.Duration(i)*time.Minute))
				q, _ := g.Value(h, MetricCPU, day0.Add(time.Duration(d)*24*time.Hour+2*time.Hour+time.Duration(i)*time.Minute))
				peak += p / n
				trough += q / n
			}
		}
		// Amplitude 15 with a host phase within ±1h: the swing is at least 2·15·cos(15°) ≈ 29.
		if peak-trough < 25 {
			t.Errorf("%s: cpu at 14:00 %.1f vs 02:00 %.1f: no daily cycle", h, peak, trough)
		}
	}
}

func TestNoiseIsNoise(t *testing.T) {
	cfg := DefaultConfig()
	quiet := cfg
	quiet.NoiseScale = 0
	g, q := mustGen(t, cfg), mustGen(t, quiet)
	var sum, sum2 float64
	n := 0
	for i := 0; i < 4000; i++ {
		ts := day0.Add(time.Duration(i) * 15 * time.Second)
		if _, ok := g.ActiveIncident("web-1", MetricCPU, ts); ok {
			continue
		}
		v, _ := g.Value("web-1", MetricCPU, ts)
		e, _ := q.Value("web-1", MetricCPU, ts)
		sum += v - e
		sum2 += (v - e) * (v - e)
		n++
	}
	mean := sum / float64(n)
	sd := math.Sqrt(sum2/float64(n) - mean*mean)
	if math.Abs(mean) > 0.15 || math.Abs(sd-1.5) > 0.15 {
		t.Fatalf("cpu noise mean %.3f sd %.3f, want about 0 and 1.5", mean, sd)
	}
}

// TestIncidentsWhereScheduled checks every incident of two days: the value
// departs from normal the way the kind says inside the window, and only there.
func TestIncidentsWhereScheduled(t *testing.T) {
	g := mustGen(t, DefaultConfig())
	from, to := day0, day0.Add(48*time.Hour)
	incs := g.Incidents(from, to)
	seenKinds := map[Kind]int{}
	for _, in := range incs {
		seenKinds[in.Kind]++
		if d := in.End.Sub(in.Start); d != g.incidentDuration(in.Kind) {
			t.Errorf("%+v lasts %s", in, d)
		}
		mid := in.Start.Add(in.End.Sub(in.Start) / 2)
		if got, ok := g.ActiveIncident(in.Host, in.Metric, mid); !ok || got != in {
			t.Errorf("ActiveIncident at %s = %+v, %v; want %+v", mid, got, ok, in)
		}
		if _, ok := g.ActiveIncident(in.Host, in.Metric, in.End); ok {
			t.Errorf("%+v still active at its end", in)
		}
		if _, ok := g.ActiveIncident(in.Host, in.Metric, in.Start.Add(-time.Second)); ok {
			t.Errorf("%+v active before its start", in)
		}
		checkIncidentShape(t, g, in)
	}
	for _, k := range Kinds {
		if seenKinds[k] < 5 {
			t.Errorf("kind %s scheduled %d times in 48 slots, want about 9", k, seenKinds[k])
		}
	}
}

// deviation is value minus the noiseless normal value at ts; for the counter,
// the per-second rate over [ts, ts+30s] minus the expected rate.
func deviation(t *testing.T, g *Generator, host, metric string, ts time.Time) float64 {
	t.Helper()
	if metric == MetricRequests {
		a, _ := g.Value(host, metric, ts)
		b, _ := g.Value(host, metric, ts.Add(30*time.Second))
		e, _ := g.Expected(host, metric, ts.Add(15*time.Second))
		return (b-a)/30 - e
	}
	v, _ := g.Value(host, metric, ts)
	e, _ := g.Expected(host, metric, ts)
	return v - e
}

func checkIncidentShape(t *testing.T, g *Generator, in Incident) {
	t.Helper()
	p := g.hosts[in.Host]
	// Typical size of normal wiggle in each metric, in its unit.
	scale := map[string]float64{MetricCPU: 1.5, MetricMemory: 0.6, MetricErrors: 0.0012, MetricRequests: 0.045 * p.reqBase}[in.Metric]
	var devs []float64
	for ts := in.Start; ts.Add(30 * time.Second).Before(in.End); ts = ts.Add(15 * time.Second) {
		devs = append(devs, deviation(t, g, in.Host, in.Metric, ts))
	}
	mean := 0.0
	for _, d := range devs {
		mean += d / float64(len(devs))
	}
	switch in.Kind {
	case KindSpike, KindLevelShift:
		if mean < 5*scale || mean < 0.5*in.Magnitude {
			t.Errorf("%s %s/%s: mean deviation %.4g, want about +%.4g", in.Kind, in.Host, in.Metric, mean, in.Magnitude)
		}
	case KindDip:
		if in.Metric == MetricErrors {
			v, _ := g.Value(in.Host, in.Metric, in.Start.Add(time.Minute))
			if v > 0.005 {
				t.Errorf("error_rate dip: value %.4f, want near 0", v)
			}
		} else if mean > -5*scale || mean > 0.5*in.Magnitude {
			t.Errorf("dip %s/%s: mean deviation %.4g, want about %.4g", in.Host, in.Metric, mean, in.Magnitude)
		}
	case KindDrift:
		n := len(devs)
		early, late := mean3(devs[:n/4]), mean3(devs[3*n/4:])
		if late-early < 0.4*in.Magnitude {
			t.Errorf("drift %s/%s: early %.4g late %.4g, want a ramp of %.4g", in.Host, in.Metric, early, late, in.Magnitude)
		}
	case KindFlatline:
		if in.Metric == MetricRequests {
			a, _ := g.Value(in.Host, in.Metric, in.Start)
			b, _ := g.Value(in.Host, in.Metric, in.End)
			if math.Abs(b-a) > 1e-3 {
				t.Errorf("request_count flatline grew from %v to %v", a, b)
			}
			return
		}
		first, _ := g.Value(in.Host, in.Metric, in.Start)
		for ts := in.Start; ts.Before(in.End); ts = ts.Add(15 * time.Second) {
			if v, _ := g.Value(in.Host, in.Metric, ts); v != first {
				t.Errorf("flatline %s/%s moved from %v to %v at %s", in.Host, in.Metric, first, v, ts)
				return
			}
		}
		after, _ := g.Value(in.Host, in.Metric, in.End.Add(30*time.Second))
		if after == first {
			t.Errorf("flatline %s/%s did not end", in.Host, in.Metric)
		}
	}
	// Just outside the window, the metric is back to normal.
	if in.Metric != MetricErrors || in.Kind != KindDip {
		after := deviation(t, g, in.Host, in.Metric, in.End.Add(2*time.Minute))
		if math.Abs(after) > 6*scale {
			t.Errorf("%s %s/%s: deviation %.4g two minutes after the end", in.Kind, in.Host, in.Metric, after)
		}
	}
}

func mean3(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func TestQuietOutsideIncidents(t *testing.T) {
	g := mustGen(t, DefaultConfig())
	for _, h := range g.Hosts() {
		for _, m := range []string{MetricCPU, MetricMemory, MetricErrors} {
			worst := 0.0
			for i := 0; i < 5760; i++ {
				ts := day0.Add(time.Duration(i) * 15 * time.Second)
				if _, ok := g.ActiveIncident(h, m, ts); ok {
					continue
				}
				worst = math.Max(worst, math.Abs(deviation(t, g, h, m, ts))/noiseSD(m))
			}
			if worst > 6 {
				t.Errorf("%s/%s: a %.1f sigma excursion outside any incident", h, m, worst)
			}
		}
	}
}

func TestRequestCounter(t *testing.T) {
	g := mustGen(t, DefaultConfig())
	for _, h := range g.Hosts() {
		prev := -1.0
		resets := 0
		for i := 0; i < 8*24*60; i++ { // 8 days at 1m: one weekly restart
			ts := day0.Add(time.Duration(i) * time.Minute)
			v, err := g.Value(h, MetricRequests, ts)
			if err != nil || math.IsNaN(v) || v < 0 {
				t.Fatalf("%s at %s: %v, %v", h, ts, v, err)
			}
			if v < prev {
				resets++
				if v > prev/100 {
					t.Fatalf("%s at %s: counter went from %v to %v, not a restart", h, ts, prev, v)
				}
			}
			prev = v
		}
		if resets != 1 {
			t.Errorf("%s: %d counter restarts in 8 days, want 1 (weekly)", h, resets)
		}
		// Outside incidents the counter's rate tracks the expected rate.
		for i := 0; i < 200; i++ {
			ts := day0.Add(time.Duration(i) * 7 * time.Minute)
			if _, ok := g.ActiveIncident(h, MetricRequests, ts); ok {
				continue
			}
			if _, ok := g.ActiveIncident(h, MetricRequests, ts.Add(30*time.Second)); ok {
				continue
			}
			e, _ := g.Expected(h, MetricRequests, ts)
			// The pseudo-noise amplitudes add up to 11.5 % of the host's base rate.
			if d := deviation(t, g, h, MetricRequests, ts); math.Abs(d) > 0.12*g.hosts[h].reqBase {
				t.Errorf("%s at %s: rate off the expected %.1f by %.1f", h, ts, e, d)
			}
		}
	}
}

func TestIncidentKindsRestricted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Kinds = []Kind{KindFlatline, KindSpike, KindLevelShift}
	cfg.IncidentEvery = 30 * time.Minute
	g := mustGen(t, cfg)
	incs := g.Incidents(day0, day0.Add(12*time.Hour))
	for _, in := range incs {
		if in.Kind == KindLevelShift && in.End.Sub(in.Start) != 22*time.Minute+30*time.Second {
			t.Fatalf("45m level shift in 30m slots lasts %s, want 22m30s", in.End.Sub(in.Start))
		}
	}
	if len(incs) != 24 {
		t.Fatalf("%d incidents in 12h at 30m, want 24", len(incs))
	}
	for i, in := range incs {
		if in.Kind != KindFlatline && in.Kind != KindSpike && in.Kind != KindLevelShift {
			t.Fatalf("incident %d is a %s", i, in.Kind)
		}
		if i > 0 && in.Start.Before(incs[i-1].End) {
			t.Fatalf("incidents overlap: %+v and %+v", incs[i-1], in)
		}
	}
}
