// Package testprom starts a real Prometheus (the Debian package's
// /usr/bin/prometheus) on 127.0.0.1, backfilled with generated series that
// carry known anomalies, for integration tests of the sources and the plugin.
package testprom

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Anomaly kinds injected into the generated series.
const (
	KindSpike      = "spike"       // a short upward excursion
	KindDip        = "dip"         // a short downward excursion
	KindLevelShift = "level_shift" // a lasting step change up to the end of the data
)

// Options shape the generated data and the server. Zero values take defaults.
type Options struct {
	// End is the last sample time; default: now truncated to the hour, minus one hour.
	End time.Time
	// Duration of the data before End; default 72h (three daily seasons).
	Duration time.Duration
	// Interval between samples; default 30s.
	Interval time.Duration
	// Seed of the noise; default 1. The same options give the same data.
	Seed uint64
	// Prometheus and Promtool binaries; default $SHEEPDOG_PROMETHEUS / $SHEEPDOG_PROMTOOL,
	// else /usr/bin/prometheus and /usr/bin/promtool.
	Prometheus, Promtool string
	// TLS serves HTTPS with a fresh self-signed certificate (Server.CACertPEM).
	TLS bool
	// BasicAuth makes the server demand BasicAuthUser / BasicAuthPassword.
	BasicAuth bool

	// OpenMetrics, when set, writes the OpenMetrics text to backfill instead
	// of the generated dataset (Server.Data is then nil): e.g. another
	// generator's history, or a command's own backfill output. End, Duration,
	// Interval and Seed are then unused.
	OpenMetrics func(w io.Writer) error
	// ScrapeConfigs is the YAML list under scrape_configs (default none: the
	// server serves only the backfill), scraped every ScrapeInterval
	// (default 1h, i.e. never within a test).
	ScrapeConfigs  string
	ScrapeInterval time.Duration
}

func (o Options) withDefaults(now time.Time) Options {
	if o.End.IsZero() {
		o.End = now.UTC().Truncate(time.Hour).Add(-time.Hour)
	}
	if o.Duration <= 0 {
		o.Duration = 72 * time.Hour
	}
	if o.Interval <= 0 {
		o.Interval = 30 * time.Second
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	o.End = o.End.UTC().Truncate(o.Interval)
	return o
}

// GenSeries is one generated series, exactly as backfilled.
type GenSeries struct {
	Metric string            // the Prometheus metric name (__name__)
	Type   string            // gauge or counter
	Help   string            //
	Labels map[string]string // without __name__
	Times  []int64           // unix ms
	Values []float64         // rounded to 1e-3, so Prometheus returns them exactly
}

// Anomaly is an injected anomaly: the ground truth tests check against.
type Anomaly struct {
	Metric string
	Labels map[string]string
	Kind   string
	// Start and End are the first and last affected sample times (inclusive).
	Start, End time.Time
	// Delta is the size of the change in the series' units (for the counter: in its per-second rate).
	Delta float64
}

// Dataset is the generated ground truth.
type Dataset struct {
	Start, End time.Time
	Interval   time.Duration
	Series     []GenSeries
	Anomalies  []Anomaly
}

// Generate builds the dataset for opt (deterministic for a given End and Seed):
//
//   - cpu_usage{host="a"}: daily sine around 40 (amplitude 20) plus noise (σ 1);
//     a spike of +35 lasting 3 samples 30h before End and a dip of −25 lasting
//     10 samples 12h before End.
//   - cpu_usage{host="b"}: the same shape, phase-shifted by 6h, with a level
//     shift of +20 over the last 6h.
//   - requests_total{service="api"}: a counter whose rate follows a daily sine
//     around 50/s; the rate is 4× for 10 minutes 18h before End.
//   - temperature_celsius{room="lab"}: daily sine around 21, no anomalies (a control).
func Generate(opt Options) *Dataset {
	opt = opt.withDefaults(time.Now())
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	start := opt.End.Add(-opt.Duration)
	n := int(opt.Duration/opt.Interval) + 1
	times := make([]int64, n)
	for i := range times {
		times[i] = start.Add(time.Duration(i) * opt.Interval).UnixMilli()
	}
	d := &Dataset{Start: start, End: opt.End, Interval: opt.Interval}
	daily := func(ms int64, phase time.Duration) float64 {
		return math.Sin(2 * math.Pi * float64(time.Duration(ms)*time.Millisecond+phase) / float64(24*time.Hour))
	}
	at := func(before time.Duration) int { // sample index `before` ahead of End
		return int(opt.End.Add(-before).Sub(start) / opt.Interval)
	}
	window := func(first, count int) (time.Time, time.Time) {
		return time.UnixMilli(times[first]).UTC(), time.UnixMilli(times[first+count-1]).UTC()
	}

	// cpu_usage{host="a"}: spike and dip.
	a := make([]float64, n)
	for i, t := range times {
		a[i] = 40 + 20*daily(t, 0) + rng.NormFloat64()
	}
	spikeAt, spikeLen, spike := at(30*time.Hour), 3, 35.0
	for i := spikeAt; i < spikeAt+spikeLen && i < n; i++ {
		a[i] += spike
	}
	dipAt, dipLen, dip := at(12*time.Hour), 10, -25.0
	for i := dipAt; i < dipAt+dipLen && i < n; i++ {
		a[i] += dip
	}
	hostA := map[string]string{"host": "a"}
	d.addSeries("cpu_usage", "gauge", "CPU usage in percent.", hostA, times, a)
	if spikeAt >= 0 && spikeAt+spikeLen <= n {
		s, e := window(spikeAt, spikeLen)
		d.Anomalies = append(d.Anomalies, Anomaly{Metric: "cpu_usage", Labels: hostA, Kind: KindSpike, Start: s, End: e, Delta: spike})
	}
	if dipAt >= 0 && dipAt+dipLen <= n {
		s, e := window(dipAt, dipLen)
		d.Anomalies = append(d.Anomalies, Anomaly{Metric: "cpu_usage", Labels: hostA, Kind: KindDip, Start: s, End: e, Delta: dip})
	}

	// cpu_usage{host="b"}: level shift to the end.
	b := make([]float64, n)
	shiftAt, shift := at(6*time.Hour), 20.0
	for i, t := range times {
		b[i] = 40 + 20*daily(t, 6*time.Hour) + rng.NormFloat64()
		if i >= shiftAt {
			b[i] += shift
		}
	}
	hostB := map[string]string{"host": "b"}
	d.addSeries("cpu_usage", "gauge", "CPU usage in percent.", hostB, times, b)
	if shiftAt >= 0 && shiftAt < n {
		s, e := window(shiftAt, n-shiftAt)
		d.Anomalies = append(d.Anomalies, Anomaly{Metric: "cpu_usage", Labels: hostB, Kind: KindLevelShift, Start: s, End: e, Delta: shift})
	}

	// requests_total{service="api"}: counter with a burst in its rate.
	req := make([]float64, n)
	burstAt, burstLen := at(18*time.Hour), int(10*time.Minute/opt.Interval)
	burstLen = max(burstLen, 1)
	total := 1000.0
	for i, t := range times {
		rate := 50 + 30*daily(t, 3*time.Hour) + 2*rng.NormFloat64()
		if i >= burstAt && i < burstAt+burstLen {
			rate *= 4
		}
		if i > 0 {
			total += max(rate, 0) * opt.Interval.Seconds()
		}
		req[i] = total
	}
	api := map[string]string{"service": "api"}
	d.addSeries("requests_total", "counter", "Requests served.", api, times, req)
	if burstAt >= 0 && burstAt+burstLen <= n {
		s, e := window(burstAt, burstLen)
		d.Anomalies = append(d.Anomalies, Anomaly{Metric: "requests_total", Labels: api, Kind: KindSpike, Start: s, End: e, Delta: 3 * 50}) // about 3× the mean rate extra
	}

	// temperature_celsius{room="lab"}: no anomalies.
	temp := make([]float64, n)
	for i, t := range times {
		temp[i] = 21 + 3*daily(t, 9*time.Hour) + 0.3*rng.NormFloat64()
	}
	d.addSeries("temperature_celsius", "gauge", "Lab temperature.", map[string]string{"room": "lab"}, times, temp)
	return d
}

func (d *Dataset) addSeries(metric, typ, help string, labels map[string]string, times []int64, values []float64) {
	rounded := make([]float64, len(values))
	for i, v := range values {
		rounded[i] = math.Round(v*1000) / 1000
	}
	d.Series = append(d.Series, GenSeries{Metric: metric, Type: typ, Help: help, Labels: labels, Times: times, Values: rounded})
}

// Find returns the series with this metric name and exactly these labels, or nil.
func (d *Dataset) Find(metric string, labels map[string]string) *GenSeries {
	for i := range d.Series {
		s := &d.Series[i]
		if s.Metric != metric || len(s.Labels) != len(labels) {
			continue
		}
		same := true
		for k, v := range labels {
			if s.Labels[k] != v {
				same = false
				break
			}
		}
		if same {
			return s
		}
	}
	return nil
}

// AnomaliesOf returns the injected anomalies of one series.
func (d *Dataset) AnomaliesOf(metric string, labels map[string]string) []Anomaly {
	var out []Anomaly
	for _, a := range d.Anomalies {
		if a.Metric != metric || len(a.Labels) != len(labels) {
			continue
		}
		same := true
		for k, v := range labels {
			if a.Labels[k] != v {
				same = false
			}
		}
		if same {
			out = append(out, a)
		}
	}
	return out
}

// WriteOpenMetrics writes the dataset in the OpenMetrics text format that
// `promtool tsdb create-blocks-from openmetrics` reads: one family at a time,
// each series in time order, ending with # EOF.
func (d *Dataset) WriteOpenMetrics(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	families := map[string][]int{}
	var order []string
	for i, s := range d.Series {
		fam := strings.TrimSuffix(s.Metric, "_total")
		if s.Type != "counter" {
			fam = s.Metric
		}
		if _, ok := families[fam]; !ok {
			order = append(order, fam)
		}
		families[fam] = append(families[fam], i)
	}
	for _, fam := range order {
		first := d.Series[families[fam][0]]
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", fam, first.Help, fam, first.Type)
		for _, i := range families[fam] {
			s := d.Series[i]
			labels := formatLabels(s.Labels)
			for j, t := range s.Times {
				bw.WriteString(s.Metric)
				bw.WriteString(labels)
				bw.WriteByte(' ')
				bw.WriteString(strconv.FormatFloat(s.Values[j], 'f', -1, 64))
				bw.WriteByte(' ')
				bw.WriteString(strconv.FormatFloat(float64(t)/1000, 'f', -1, 64))
				bw.WriteByte('\n')
			}
		}
	}
	bw.WriteString("# EOF\n")
	return bw.Flush()
}

func formatLabels(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}
