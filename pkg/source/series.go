// Package source fetches the input series Sheepdog analyses: inline CSV, a
// Prometheus-compatible HTTP API (query_range) and other Grafana data sources
// through Grafana's /api/ds/query. It knows nothing of statistics; it hands
// back named, labelled series of (unix ms, float64) points.
package source

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
)

// Series is one fetched input series.
type Series struct {
	// Name is the metric or field name (Prometheus __name__, a CSV header, a frame field name).
	Name string
	// Labels identify the series among others of the same name. __name__ is not repeated here.
	Labels map[string]string
	// Unit is the Grafana unit id of the source field ("percent", "bytes", ...), empty when unknown.
	Unit string
	// Times are unix milliseconds, strictly increasing.
	Times []int64
	// Values align with Times; NaN marks a missing point.
	Values []float64
	// DisplayName is what a legend should show (legend template, displayNameFromDS, name{labels}).
	DisplayName string
	// Duplicates counts samples dropped because a later sample had the same
	// timestamp: the last one is kept, as a re-sent sample corrects the first.
	Duplicates int
}

// Range is the time range and resolution wanted from a source.
type Range struct {
	From, To time.Time
	// Step is the wanted interval between points (a panel's interval). Zero lets
	// MaxDataPoints decide.
	Step time.Duration
	// MaxDataPoints caps the points per series across From..To; 0 means no
	// cap when Step is set, DefaultMaxDataPoints when it is not.
	// When Step would give more points, the step grows to a rounded interval.
	MaxDataPoints int64
	// MaxPoints bounds the points of the whole answer, all series together
	// (a caller's budget); 0 = no bound. A client stops reading an answer as
	// soon as it is over, with a *PointLimitError.
	MaxPoints int64
}

// DefaultMaxDataPoints bounds the points of a range with neither a step nor
// maxDataPoints (an API call, a hand-written request), which would otherwise
// be fetched at the smallest step.
const DefaultMaxDataPoints = 1000

// MinStep is the smallest step ever asked of a source: finer steps only repeat
// samples, and multiply the points fetched.
const MinStep = time.Second

// Validate reports a range that cannot be queried.
func (r Range) Validate() error {
	if r.From.IsZero() || r.To.IsZero() {
		return fmt.Errorf("time range is not set (from %v, to %v)", r.From, r.To)
	}
	if !r.To.After(r.From) {
		return fmt.Errorf("time range ends (%s) before it starts (%s)", r.To.UTC().Format(time.RFC3339), r.From.UTC().Format(time.RFC3339))
	}
	if r.Step < 0 {
		return fmt.Errorf("negative step %s", r.Step)
	}
	if r.MaxDataPoints < 0 {
		return fmt.Errorf("negative maxDataPoints %d", r.MaxDataPoints)
	}
	return nil
}

// Interval is the step to fetch at: Step, widened when Step would give more
// than MaxDataPoints (DefaultMaxDataPoints when neither is set) over the range
// to the next "nice" interval (1m, 2m, 5m, ...) that does not, never below
// MinStep.
func (r Range) Interval() time.Duration {
	step := r.Step
	mdp := r.MaxDataPoints
	if mdp <= 0 && step <= 0 {
		mdp = DefaultMaxDataPoints
	}
	if mdp > 0 {
		span := r.To.Sub(r.From)
		byPoints := time.Duration(math.Ceil(float64(span) / float64(mdp)))
		if byPoints > step {
			step = ceilInterval(byPoints)
		}
	}
	if step < MinStep {
		step = MinStep
	}
	return step.Truncate(time.Millisecond)
}

// niceIntervals are the steps Grafana's interval calculator offers (1ms to
// 1y); a planned step is rounded up to one of them (RoundUpInterval) so the
// source is asked for a step it would pick itself.
var niceIntervals = []time.Duration{
	time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second,
	20 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute,
	10 * time.Minute, 15 * time.Minute, 20 * time.Minute, 30 * time.Minute, time.Hour,
	2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	7 * 24 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour,
}

// RoundUpInterval is the smallest nice interval not below d.
func RoundUpInterval(d time.Duration) time.Duration { return ceilInterval(d) }

// ceilInterval is the smallest nice interval not below d (d itself beyond a year).
func ceilInterval(d time.Duration) time.Duration {
	for _, n := range niceIntervals {
		if n >= d {
			return n
		}
	}
	return d
}

// ID identifies a series among a query's series: its name and sorted labels.
func (s Series) ID() string { return LabelsKey(s.Name, s.Labels) }

// LabelsKey is a stable identity for a name and a label set (name "" for
// labels alone): series and alert instances are told apart by it.
func LabelsKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	for _, k := range keys {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte(0)
		b.WriteString(labels[k])
	}
	return b.String()
}

// FormatSelector renders name{k="v", ...} with sorted keys, as Grafana and
// Prometheus show a series.
func FormatSelector(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	b.WriteByte('}')
	return b.String()
}

// keepLastOfRepeats merges runs of equal consecutive timestamps into their
// last sample and counts the dropped ones in Duplicates. Only repeats are
// merged: a timestamp going backwards is left for checkSeries to refuse.
func keepLastOfRepeats(s Series) Series {
	w := 0
	for i := range s.Times {
		if i > 0 && s.Times[i] == s.Times[w-1] {
			s.Values[w-1] = s.Values[i]
			s.Duplicates++
			continue
		}
		s.Times[w], s.Values[w] = s.Times[i], s.Values[i]
		w++
	}
	s.Times, s.Values = s.Times[:w], s.Values[:w]
	return s
}

// checkSeries verifies the invariants every source promises (the engine's
// rule, so a source never hands the detectors a series they refuse).
func checkSeries(s Series) error {
	if err := (engine.Series{Times: s.Times, Values: s.Values}).Validate(); err != nil {
		return fmt.Errorf("series %q: %w", s.DisplayName, err)
	}
	return nil
}

// PointCount is the number of non-missing points in s.
func (s Series) PointCount() int {
	n := 0
	for _, v := range s.Values {
		if !math.IsNaN(v) {
			n++
		}
	}
	return n
}
