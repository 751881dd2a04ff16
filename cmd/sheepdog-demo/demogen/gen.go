// Package demogen generates Sheepdog's demo metrics: the original
// integration's cpu_usage, memory_usage, request_count and error_rate for a
// few hosts, with daily seasonality, noise and scheduled incidents.
//
// Every value is a pure function of (seed, host, metric, time): the live
// exporter and the history backfill call the same functions, so backfilled
// history and live scrapes join without a seam, and two runs with one seed
// agree to the last digit.
package demogen

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Metric names, exactly as the original integration reported them.
const (
	MetricCPU      = "cpu_usage"     // gauge, percent 0..100
	MetricMemory   = "memory_usage"  // gauge, percent 0..100
	MetricRequests = "request_count" // counter of requests served; query with rate()
	MetricErrors   = "error_rate"    // gauge, fraction of failed requests 0..1
)

// Metrics lists the generated metrics in a stable order.
var Metrics = []string{MetricCPU, MetricMemory, MetricRequests, MetricErrors}

// Kind is the shape of a scheduled incident.
type Kind string

const (
	KindSpike      Kind = "spike"       // short, large rise
	KindDip        Kind = "dip"         // short drop
	KindLevelShift Kind = "level_shift" // the level moves and stays moved for a while
	KindDrift      Kind = "drift"       // slow linear ramp away from normal
	KindFlatline   Kind = "flatline"    // the value freezes (a stuck exporter); a counter stops growing
)

// Kinds lists incident kinds in the order the schedule cycles through them.
var Kinds = []Kind{KindSpike, KindDip, KindLevelShift, KindDrift, KindFlatline}

// Config describes one generator. The zero value is not valid: use
// DefaultConfig and change what you need.
type Config struct {
	Seed  uint64
	Hosts []string
	// IncidentEvery is the length of one incident slot: every slot holds
	// exactly one incident on one host and metric, at a seeded offset.
	IncidentEvery time.Duration
	// Kinds restricts the incident kinds used (nil = all, in Kinds order).
	Kinds []Kind
	// NoiseScale multiplies every noise amplitude (1 = default, 0 = none).
	NoiseScale float64
}

// DefaultConfig is what the exporter runs with when no flag says otherwise.
func DefaultConfig() Config {
	return Config{
		Seed:          1,
		Hosts:         []string{"web-1", "web-2", "db-1"},
		IncidentEvery: time.Hour,
		NoiseScale:    1,
	}
}

// Incident is one scheduled anomaly on one host and metric.
type Incident struct {
	Host   string    `json:"host"`
	Metric string    `json:"metric"`
	Kind   Kind      `json:"kind"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// Magnitude is the incident's size in the metric's unit (a rate in
	// requests per second for request_count); for a flatline it is 0.
	Magnitude float64 `json:"magnitude"`
}

// Active reports whether t falls inside the incident, [Start, End).
func (in Incident) Active(t time.Time) bool {
	return !t.Before(in.Start) && t.Before(in.End)
}

// Generator computes metric values. It holds no mutable state and is safe for
// concurrent use.
type Generator struct {
	cfg   Config
	kinds []Kind
	hosts map[string]hostProfile
}

// hostProfile holds the per-host constants drawn from the seed.
type hostProfile struct {
	index     int
	cpuBase   float64 // percent
	memBase   float64 // percent
	reqBase   float64 // requests per second
	errBase   float64 // fraction
	phase     float64 // seconds added to the daily cycle, so hosts peak at slightly different times
	noiseSeed uint64
}

// New validates cfg and builds a generator.
func New(cfg Config) (*Generator, error) {
	if len(cfg.Hosts) == 0 {
		return nil, errors.New("demogen: at least one host is needed")
	}
	seen := map[string]bool{}
	for _, h := range cfg.Hosts {
		if h == "" || strings.ContainsAny(h, "\"\\\n,") {
			return nil, fmt.Errorf("demogen: host name %q: must be non-empty without quotes, commas, backslashes or newlines", h)
		}
		if seen[h] {
			return nil, fmt.Errorf("demogen: host %q listed twice", h)
		}
		seen[h] = true
	}
	if cfg.IncidentEvery < 10*time.Minute {
		return nil, fmt.Errorf("demogen: incident interval %s is shorter than the 10m minimum", cfg.IncidentEvery)
	}
	if cfg.NoiseScale < 0 || math.IsNaN(cfg.NoiseScale) || math.IsInf(cfg.NoiseScale, 0) {
		return nil, fmt.Errorf("demogen: noise scale %v must be a finite number >= 0", cfg.NoiseScale)
	}
	kinds := cfg.Kinds
	if len(kinds) == 0 {
		kinds = Kinds
	}
	for _, k := range kinds {
		if _, ok := incidentShapes[k]; !ok {
			return nil, fmt.Errorf("demogen: unknown incident kind %q (want one of %v)", k, Kinds)
		}
	}
	g := &Generator{cfg: cfg, kinds: kinds, hosts: map[string]hostProfile{}}
	for i, h := range cfg.Hosts {
		hs := mix(cfg.Seed, hashString(h))
		g.hosts[h] = hostProfile{
			index:     i,
			cpuBase:   30 + 20*unit(mix(hs, 1)),
			memBase:   45 + 20*unit(mix(hs, 2)),
			reqBase:   100 + 200*unit(mix(hs, 3)),
			errBase:   0.005 + 0.01*unit(mix(hs, 4)),
			phase:     (unit(mix(hs, 5)) - 0.5) * 2 * 3600,
			noiseSeed: mix(hs, 6),
		}
	}
	return g, nil
}

// Config returns the generator's configuration.
func (g *Generator) Config() Config { return g.cfg }

// Hosts returns the hosts in configuration order.
func (g *Generator) Hosts() []string { return append([]string(nil), g.cfg.Hosts...) }

const day = 24 * 3600.0

// daily is the seasonal shape in [-1, 1]: peaks at 14:00 UTC, lowest at 02:00.
func daily(ts float64) float64 {
	return math.Sin(2 * math.Pi * (ts - 8*3600) / day)
}

// ---- incidents ----

type incidentShape struct {
	duration time.Duration
	// size per metric, in the metric's unit; request_count sizes are relative to the host's base rate.
	size map[string]float64
}

var incidentShapes = map[Kind]incidentShape{
	KindSpike:      {5 * time.Minute, map[string]float64{MetricCPU: 45, MetricMemory: 30, MetricRequests: 3, MetricErrors: 0.25}},
	KindDip:        {10 * time.Minute, map[string]float64{MetricCPU: -25, MetricMemory: -25, MetricRequests: -0.5, MetricErrors: -1}},
	KindLevelShift: {45 * time.Minute, map[string]float64{MetricCPU: 25, MetricMemory: 20, MetricRequests: 0.7, MetricErrors: 0.06}},
	KindDrift:      {40 * time.Minute, map[string]float64{MetricCPU: 35, MetricMemory: 30, MetricRequests: 1, MetricErrors: 0.12}},
	KindFlatline:   {20 * time.Minute, map[string]float64{}},
}

// incidentDuration is the kind's duration, shortened to three quarters of the
// slot when slots are short, so incidents never overlap.
func (g *Generator) incidentDuration(k Kind) time.Duration {
	return min(incidentShapes[k].duration, g.cfg.IncidentEvery*3/4)
}

// slotIncident returns the incident of slot k (slots start at the Unix epoch,
// so any process with the same seed and interval agrees on the schedule).
func (g *Generator) slotIncident(k int64) Incident {
	every := g.cfg.IncidentEvery
	h := mix(g.cfg.Seed^0x9e3779b97f4a7c15, uint64(k))
	kind := g.kinds[int(uint64(k)%uint64(len(g.kinds)))]
	shape := incidentShapes[kind]
	dur := g.incidentDuration(kind)
	host := g.cfg.Hosts[int(mix(h, 1)%uint64(len(g.cfg.Hosts)))]
	metric := Metrics[int(mix(h, 2)%uint64(len(Metrics)))]
	// Leave room after the incident so it ends inside its slot.
	room := every - dur
	offset := time.Duration(unit(mix(h, 3)) * float64(room))
	offset = offset.Truncate(time.Minute)
	start := time.Unix(0, 0).UTC().Add(time.Duration(k) * every).Add(offset)
	mag := shape.size[metric]
	if metric == MetricRequests {
		mag *= g.hosts[host].reqBase
	}
	if metric == MetricErrors && kind == KindDip {
		mag = -g.hosts[host].errBase // errors vanish: the rate dips to about zero
	}
	return Incident{Host: host, Metric: metric, Kind: kind, Start: start, End: start.Add(dur), Magnitude: mag}
}

// Incidents returns every incident that overlaps [from, to), ordered by start.
func (g *Generator) Incidents(from, to time.Time) []Incident {
	every := int64(g.cfg.IncidentEvery)
	first := floorDiv(from.UnixNano(), every)
	last := floorDiv(to.UnixNano(), every)
	var out []Incident
	for k := first; k <= last; k++ {
		in := g.slotIncident(k)
		if in.End.After(from) && in.Start.Before(to) {
			out = append(out, in)
		}
	}
	return out
}

// incidentAt returns the incident on host/metric active at ts, if any.
func (g *Generator) incidentAt(host, metric string, ts float64) (Incident, bool) {
	nanos := int64(math.Floor(ts * 1e9))
	in := g.slotIncident(floorDiv(nanos, int64(g.cfg.IncidentEvery)))
	if in.Host == host && in.Metric == metric && in.Active(time.Unix(0, nanos)) {
		return in, true
	}
	return Incident{}, false
}

// ActiveIncident returns the incident on host and metric active at t, if any.
func (g *Generator) ActiveIncident(host, metric string, t time.Time) (Incident, bool) {
	return g.incidentAt(host, metric, float64(t.UnixNano())/1e9)
}

// effect is an incident's additive effect at ts (not for flatlines).
func effect(in Incident, ts float64) float64 {
	switch in.Kind {
	case KindDrift:
		start := float64(in.Start.UnixNano()) / 1e9
		dur := in.End.Sub(in.Start).Seconds()
		return in.Magnitude * (ts - start) / dur
	case KindFlatline:
		return 0
	default:
		return in.Magnitude
	}
}

// ---- gauges ----

// Value returns the value of metric for host at t. For request_count it is the
// counter's value (total requests since the Unix epoch, a monotonic function
// of time); for the gauges, the gauge's value.
func (g *Generator) Value(host, metric string, t time.Time) (float64, error) {
	p, ok := g.hosts[host]
	if !ok {
		return 0, fmt.Errorf("demogen: unknown host %q", host)
	}
	ts := float64(t.UnixNano()) / 1e9
	switch metric {
	case MetricRequests:
		return g.requestTotal(p, host, ts), nil
	case MetricCPU, MetricMemory, MetricErrors:
		return g.gauge(p, host, metric, ts), nil
	}
	return 0, fmt.Errorf("demogen: unknown metric %q", metric)
}

// Expected returns the value without noise and incidents: what a perfect
// detector would predict. For request_count it is the expected rate (req/s).
func (g *Generator) Expected(host, metric string, t time.Time) (float64, error) {
	p, ok := g.hosts[host]
	if !ok {
		return 0, fmt.Errorf("demogen: unknown host %q", host)
	}
	ts := float64(t.UnixNano()) / 1e9
	switch metric {
	case MetricRequests:
		return p.reqBase * (1 + reqSeasonAmp*daily(ts+p.phase)), nil
	case MetricCPU, MetricMemory, MetricErrors:
		return g.normalGauge(p, metric, ts), nil
	}
	return 0, fmt.Errorf("demogen: unknown metric %q", metric)
}

func (g *Generator) normalGauge(p hostProfile, metric string, ts float64) float64 {
	s := daily(ts + p.phase)
	switch metric {
	case MetricCPU:
		return p.cpuBase + 15*s
	case MetricMemory:
		return p.memBase + 6*s
	default: // errors follow load a little
		return p.errBase * (1 + 0.3*s)
	}
}

func noiseSD(metric string) float64 {
	switch metric {
	case MetricCPU:
		return 1.5
	case MetricMemory:
		return 0.6
	default:
		return 0.0012
	}
}

func (g *Generator) gauge(p hostProfile, host, metric string, ts float64) float64 {
	in, active := g.incidentAt(host, metric, ts)
	if active && in.Kind == KindFlatline {
		// A stuck exporter repeats the last value it read: the value at the
		// incident's start, noise included, held to the end.
		ts = float64(in.Start.UnixNano()) / 1e9
		active = false
	}
	v := g.normalGauge(p, metric, ts)
	// Noise is drawn per whole second so any two reads in one second agree.
	sec := int64(math.Floor(ts))
	v += g.cfg.NoiseScale * noiseSD(metric) * gaussian(mix(p.noiseSeed, hashString(metric)), sec)
	if active {
		v += effect(in, ts)
	}
	switch metric {
	case MetricErrors:
		return clamp(v, 0, 1)
	default:
		return clamp(v, 0, 100)
	}
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// ---- the request counter ----
//
// The request rate is a sum of terms whose integrals have closed forms (a
// base, the daily sinusoid, a few fast sinusoids standing in for noise, and
// box or ramp incidents), so the counter is an exact function of time: it
// never resets, never decreases, and the backfill's last sample meets the
// live exporter's first.

const reqSeasonAmp = 0.4

// reqNoise are the pseudo-noise components: relative amplitude and period (s).
var reqNoise = [...]struct{ amp, period float64 }{{0.04, 47}, {0.03, 131}, {0.025, 313}, {0.02, 997}}

// smoothIntegral is ∫_0^ts of the rate without incidents.
func (g *Generator) smoothIntegral(p hostProfile, ts float64) float64 {
	b := p.reqBase
	w := 2 * math.Pi / day
	// ∫ b(1 + a sin(w(t+phase-8h))) dt
	x := b * ts
	x += b * reqSeasonAmp / w * (math.Cos(w*(p.phase-8*3600)) - math.Cos(w*(ts+p.phase-8*3600)))
	ns := g.cfg.NoiseScale
	for i, c := range reqNoise {
		wi := 2 * math.Pi / c.period
		phi := 2 * math.Pi * unit(mix(p.noiseSeed, uint64(100+i)))
		x += ns * b * c.amp / wi * (math.Cos(phi) - math.Cos(wi*ts+phi))
	}
	return x
}

// incidentIntegral is ∫_start^min(ts,end) of an additive incident's effect.
func incidentIntegral(in Incident, ts float64) float64 {
	start := float64(in.Start.UnixNano()) / 1e9
	end := float64(in.End.UnixNano()) / 1e9
	if ts <= start {
		return 0
	}
	u := math.Min(ts, end) - start
	if in.Kind == KindDrift {
		return in.Magnitude * u * u / (2 * (end - start))
	}
	return in.Magnitude * u
}

// counterPeriod is how often request_count starts again from zero, like a
// weekly deploy. rate() absorbs counter resets; the restart keeps the sum of
// past incidents short and the float64 counter precise.
const counterPeriod = 7 * day

// requestTotal is the counter at ts: ∫ rate since the last restart, with
// flatlines cutting the rate to zero (the service stopped answering).
func (g *Generator) requestTotal(p hostProfile, host string, ts float64) float64 {
	origin := math.Floor(ts/counterPeriod) * counterPeriod
	total := g.smoothIntegral(p, ts) - g.smoothIntegral(p, origin)
	every := int64(g.cfg.IncidentEvery)
	last := floorDiv(int64(math.Floor(ts*1e9)), every)
	first := floorDiv(int64(origin*1e9), every)
	for k := first; k <= last; k++ {
		in := g.slotIncident(k)
		if in.Host != host || in.Metric != MetricRequests {
			continue
		}
		start := math.Max(float64(in.Start.UnixNano())/1e9, origin)
		end := math.Min(float64(in.End.UnixNano())/1e9, ts)
		if end <= start {
			continue
		}
		if in.Kind == KindFlatline {
			// Remove what the smooth rate would have added during the outage.
			total -= g.smoothIntegral(p, end) - g.smoothIntegral(p, start)
			continue
		}
		total += incidentIntegral(in, ts) - incidentIntegral(in, origin)
	}
	return math.Max(0, total)
}

// ---- deterministic randomness ----

// mix is a splitmix64-style hash of two words.
func mix(a, b uint64) uint64 {
	z := a ^ (b+0x9e3779b97f4a7c15)*0xbf58476d1ce4e5b9
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// gaussian is a standard normal draw for (stream, i) by Box-Muller.
func gaussian(stream uint64, i int64) float64 {
	h := mix(stream, uint64(i))
	u1 := unit(h)
	u2 := unit(mix(h, 0x5bd1e995))
	if u1 < 1e-12 {
		u1 = 1e-12
	}
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
