package demogen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Names of the generator's own helper metrics.
const (
	MetricHostInfo       = "sheepdog_demo_host_info"       // 1 per host; join on it to filter by host
	MetricIncidentActive = "sheepdog_demo_incident_active" // 1 while a scheduled incident runs on host/metric
)

// Help texts, shared by the exporter and the backfill.
var help = map[string]string{
	MetricCPU:            "CPU usage of the host in percent (demo data).",
	MetricMemory:         "Memory usage of the host in percent (demo data).",
	MetricRequests:       "Requests served by the host since its last restart (demo data); query with rate().",
	MetricErrors:         "Fraction of the host's requests that failed, 0..1 (demo data).",
	MetricHostInfo:       "Demo host inventory: always 1, one series per host.",
	MetricIncidentActive: "1 while a scheduled demo incident is active on the host and metric, else 0 (ground truth).",
}

// ExportedMetrics lists every metric name the exporter and the backfill write.
func ExportedMetrics() []string {
	return append(append([]string(nil), Metrics...), MetricHostInfo, MetricIncidentActive)
}

func metricType(name string) string {
	if name == MetricRequests {
		return "counter"
	}
	return "gauge"
}

// Collector exposes the generator's values at scrape time.
type Collector struct {
	gen   *Generator
	now   func() time.Time
	descs map[string]*prometheus.Desc
}

// NewCollector returns a prometheus.Collector reading g at now() on each scrape.
func NewCollector(g *Generator, now func() time.Time) *Collector {
	if now == nil {
		now = time.Now
	}
	c := &Collector{gen: g, now: now, descs: map[string]*prometheus.Desc{}}
	for _, m := range Metrics {
		c.descs[m] = prometheus.NewDesc(m, help[m], []string{"host"}, nil)
	}
	c.descs[MetricHostInfo] = prometheus.NewDesc(MetricHostInfo, help[MetricHostInfo], []string{"host"}, nil)
	c.descs[MetricIncidentActive] = prometheus.NewDesc(MetricIncidentActive, help[MetricIncidentActive], []string{"host", "metric"}, nil)
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	t := c.now()
	for _, s := range c.gen.Samples(t) {
		vt := prometheus.GaugeValue
		if metricType(s.Name) == "counter" {
			vt = prometheus.CounterValue
		}
		labels := []string{s.Host}
		if s.Name == MetricIncidentActive {
			labels = append(labels, s.Metric)
		}
		ch <- prometheus.MustNewConstMetric(c.descs[s.Name], vt, s.Value, labels...)
	}
}

// Sample is one generated value.
type Sample struct {
	Name   string
	Host   string
	Metric string // for sheepdog_demo_incident_active: the metric the incident is on
	Value  float64
}

// Samples returns every series' value at t, grouped by metric name in
// ExportedMetrics order, hosts in configuration order.
func (g *Generator) Samples(t time.Time) []Sample {
	out := make([]Sample, 0, len(g.cfg.Hosts)*(2*len(Metrics)+1))
	for _, m := range Metrics {
		for _, h := range g.cfg.Hosts {
			v, _ := g.Value(h, m, t) // host and metric come from the generator: no error
			out = append(out, Sample{Name: m, Host: h, Value: v})
		}
	}
	for _, h := range g.cfg.Hosts {
		out = append(out, Sample{Name: MetricHostInfo, Host: h, Value: 1})
	}
	for _, h := range g.cfg.Hosts {
		for _, m := range Metrics {
			v := 0.0
			if _, ok := g.ActiveIncident(h, m, t); ok {
				v = 1
			}
			out = append(out, Sample{Name: MetricIncidentActive, Host: h, Metric: m, Value: v})
		}
	}
	return out
}

// WriteOpenMetrics writes the series from `from` to `to` (inclusive, on a grid
// of step aligned to the Unix epoch) in the OpenMetrics text format that
// `promtool tsdb create-blocks-from openmetrics` reads. Samples of one family
// are written together and each series in time order, as the format requires.
// It returns the number of samples written.
//
// extra are labels added to every series, e.g. the job and instance labels
// Prometheus attaches when it scrapes the exporter: backfilled series must carry
// them to be the same series as the live ones.
func WriteOpenMetrics(ctx context.Context, w io.Writer, g *Generator, from, to time.Time, step time.Duration, extra map[string]string) (int, error) {
	if step < time.Second {
		return 0, fmt.Errorf("backfill step %s: must be at least 1s", step)
	}
	if !to.After(from) {
		return 0, fmt.Errorf("backfill range %s..%s: end must be after start", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var extraText []byte
	for _, k := range sortedKeys(extra) {
		if !labelName.MatchString(k) || k == "host" || k == "metric" || strings.HasPrefix(k, "__") {
			return 0, fmt.Errorf("extra label %q: want a Prometheus label name other than host, metric or __*", k)
		}
		extraText = append(extraText, ',')
		extraText = append(extraText, k...)
		extraText = append(extraText, '=')
		extraText = strconv.AppendQuote(extraText, extra[k])
	}
	first := time.Unix(0, floorDiv(from.UnixNano()+int64(step)-1, int64(step))*int64(step))
	bw := bufio.NewWriterSize(w, 1<<16)
	n := 0
	buf := make([]byte, 0, 128)
	for _, name := range ExportedMetrics() {
		// Metadata is informational here: promtool stores samples, not types.
		fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help[name], name, metricType(name))
		for _, h := range g.cfg.Hosts {
			series := []string{""}
			if name == MetricIncidentActive {
				series = Metrics
			}
			for _, onMetric := range series {
				if err := ctx.Err(); err != nil {
					return n, fmt.Errorf("backfill interrupted: %w", err)
				}
				for t := first; !t.After(to); t = t.Add(step) {
					v, err := g.seriesValue(name, h, onMetric, t)
					if err != nil {
						return n, err
					}
					buf = append(buf[:0], name...)
					buf = append(buf, `{host="`...)
					buf = append(buf, h...)
					if onMetric != "" {
						buf = append(buf, `",metric="`...)
						buf = append(buf, onMetric...)
					}
					buf = append(buf, '"')
					buf = append(buf, extraText...)
					buf = append(buf, "} "...)
					buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
					buf = append(buf, ' ')
					buf = strconv.AppendInt(buf, t.Unix(), 10)
					buf = append(buf, '\n')
					if _, err := bw.Write(buf); err != nil {
						return n, fmt.Errorf("write backfill: %w", err)
					}
					n++
				}
			}
		}
	}
	if _, err := bw.WriteString("# EOF\n"); err != nil {
		return n, fmt.Errorf("write backfill: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return n, fmt.Errorf("write backfill: %w", err)
	}
	return n, nil
}

func (g *Generator) seriesValue(name, host, onMetric string, t time.Time) (float64, error) {
	switch name {
	case MetricHostInfo:
		return 1, nil
	case MetricIncidentActive:
		if _, ok := g.ActiveIncident(host, onMetric, t); ok {
			return 1, nil
		}
		return 0, nil
	}
	return g.Value(host, name, t)
}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
