// Package frames turns detection results into the data frames Grafana draws
// and alerts on: per-series band frames for the time-series panel, an
// annotations frame of anomaly windows, and alert-ready timeseries-multi
// frames (one per series).
package frames

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/internal/workpool"
	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// Series is one analysed source series: the points shown and their results,
// already trimmed to the panel's range.
type Series struct {
	Name        string            // metric or column name, e.g. cpu_usage
	DisplayName string            // legend text; Name when empty
	Labels      map[string]string // kept on every field
	Unit        string            // Grafana unit id copied from the source
	Times       []int64           // unix ms
	Values      []float64         // NaN = missing
	Result      *engine.Result    // aligned with Times
}

func (s Series) display() string {
	if s.DisplayName != "" {
		return s.DisplayName
	}
	if s.Name != "" {
		return s.Name
	}
	return "value"
}

func (s Series) base() string {
	if s.Name != "" {
		return s.Name
	}
	return "value"
}

// Field suffixes: "cpu_usage expected", "cpu_usage lower", ...
const (
	SuffixExpected = "expected"
	SuffixLower    = "lower"
	SuffixUpper    = "upper"
	SuffixScore    = "score"
	SuffixAnomaly  = "anomaly"
)

// Panel builds one wide frame per series: time, value, then the selected
// outputs (expected, lower, upper with fillBelowTo = lower, score, anomaly).
// An error means a frame could not be built (a bug); the query fails with it
// instead of the plugin process.
func Panel(refID string, series []Series, out models.Outputs) (data.Frames, error) {
	frames := make(data.Frames, len(series))
	disps := uniqueDisplays(series)
	axes := timeAxes{}
	times := make([]*data.Field, len(series))
	for i, s := range series {
		times[i] = axes.of(s.Times)
	}
	// Frames are independent: build them on every core, as detection was.
	err := parallel(len(series), func(i int) {
		frames[i] = panelFrame(refID, series[i], disps[i], out, times[i])
	})
	if err != nil {
		return nil, err
	}
	return frames, nil
}

// parallel runs fn(0..n-1) on the process's bounded executor (nested in a
// query's, it borrows no more workers than are free). A panic in fn would
// kill the plugin process; the executor recovers it and it is returned as the
// error of the first item that panicked.
func parallel(n int, fn func(i int)) error {
	errs := workpool.Default().Run(context.Background(), n, func(_ context.Context, i int) error {
		fn(i)
		return nil
	})
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("build frame %d: internal error: %w", i, err)
		}
	}
	return nil
}

// timeAxes builds each distinct time field once: series fetched together
// usually share one axis, and a time field per series (the SDK copies the
// values into every field) would cost 24 bytes per point per series. Frames
// get shallow copies of the one field, sharing its values, which nothing
// changes once built.
type timeAxes map[axisKey]*data.Field

type axisKey struct {
	first *int64
	n     int
}

func (a timeAxes) of(ms []int64) *data.Field {
	if len(ms) == 0 {
		return data.NewField("time", nil, []time.Time{})
	}
	k := axisKey{&ms[0], len(ms)}
	if f, ok := a[k]; ok {
		return f
	}
	t := make([]time.Time, len(ms))
	for i, v := range ms {
		t[i] = time.UnixMilli(v).UTC()
	}
	f := data.NewField("time", nil, t)
	a[k] = f
	return f
}

// uniqueDisplays gives each series a display name no other series has:
// Grafana resolves fillBelowTo by display name across all frames, so two
// series called the same would fill each other's bands. A duplicate gets its
// labels appended, then "#n" if that is still not enough.
func uniqueDisplays(series []Series) []string {
	out := make([]string, len(series))
	count := make(map[string]int, len(series))
	for i, s := range series {
		out[i] = s.display()
		count[out[i]]++
	}
	for i, s := range series {
		if count[out[i]] > 1 && len(s.Labels) > 0 {
			out[i] += " " + source.FormatSelector("", s.Labels) // {k="v", ...}
		}
	}
	seen := make(map[string]int, len(series))
	for i := range out {
		seen[out[i]]++
	}
	taken := make(map[string]bool, len(series))
	for i := range out {
		if seen[out[i]] == 1 {
			taken[out[i]] = true
		}
	}
	next := map[string]int{}
	for i, d := range out {
		if seen[d] == 1 {
			continue
		}
		for {
			next[d]++
			c := fmt.Sprintf("%s #%d", d, next[d])
			if !taken[c] {
				out[i] = c
				taken[c] = true
				break
			}
		}
	}
	return out
}

func panelFrame(refID string, s Series, disp string, out models.Outputs, timeField *data.Field) *data.Frame {
	base := s.base()
	labels := data.Labels(copyLabels(s.Labels))
	n := len(s.Times)
	tf := *timeField // shares the axis' values
	fields := make([]*data.Field, 0, 7)
	fields = append(fields, &tf)

	value := floatField(base, labels, s.Values, n)
	value.Config = &data.FieldConfig{DisplayNameFromDS: disp, Unit: s.Unit}
	fields = append(fields, value)

	r := s.Result
	if out.Bands && r != nil {
		lowerName := disp + " " + SuffixLower
		expected := floatField(base+" "+SuffixExpected, labels, r.Expected, n)
		expected.Config = &data.FieldConfig{DisplayNameFromDS: disp + " " + SuffixExpected, Unit: s.Unit,
			Custom: map[string]any{"lineStyle": map[string]any{"fill": "dash", "dash": []int{10, 10}}, "lineWidth": 1}}
		lower := floatField(base+" "+SuffixLower, labels, r.Lower, n)
		lower.Config = &data.FieldConfig{DisplayNameFromDS: lowerName, Unit: s.Unit,
			Custom: map[string]any{"lineWidth": 0, "fillOpacity": 0, "hideFrom": map[string]any{"legend": true, "tooltip": false, "viz": false}}}
		upper := floatField(base+" "+SuffixUpper, labels, r.Upper, n)
		upper.Config = &data.FieldConfig{DisplayNameFromDS: disp + " " + SuffixUpper, Unit: s.Unit,
			Custom: map[string]any{"lineWidth": 0, "fillOpacity": 20, "fillBelowTo": lowerName,
				"hideFrom": map[string]any{"legend": true, "tooltip": false, "viz": false}}}
		fields = append(fields, expected, lower, upper)
	}
	if out.Score && r != nil {
		lo, hi := data.ConfFloat64(0), data.ConfFloat64(1)
		score := floatField(base+" "+SuffixScore, labels, r.Score, n)
		score.Config = &data.FieldConfig{DisplayNameFromDS: disp + " " + SuffixScore, Unit: "percentunit", Min: &lo, Max: &hi,
			Custom: map[string]any{"axisPlacement": "right"}}
		fields = append(fields, score)
	}
	if out.Flags && r != nil {
		// Built in place: the field starts at zeros and anomalies are few.
		flag := data.NewFieldFromFieldType(data.FieldTypeFloat64, n)
		flag.Name, flag.Labels = base+" "+SuffixAnomaly, labels
		for i := 0; i < n && i < len(r.Anomaly); i++ {
			if r.Anomaly[i] {
				flag.Set(i, 1.0)
			}
		}
		lo, hi := data.ConfFloat64(0), data.ConfFloat64(1)
		flag.Config = &data.FieldConfig{DisplayNameFromDS: disp + " " + SuffixAnomaly, Min: &lo, Max: &hi,
			Custom: map[string]any{"drawStyle": "points", "axisPlacement": "right"}}
		fields = append(fields, flag)
	}
	f := data.NewFrame(disp, fields...)
	f.RefID = refID
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesWide, TypeVersion: data.FrameTypeVersion{0, 1}}
	return f
}

// Windows builds the annotations frame (meta.dataTopic = "annotations") of all
// series' anomaly windows, so a panel shows them as regions with no set-up.
// The same frame answers annotation queries.
//
// The time-series panel reads an annotations frame's fields by name and draws
// a region only where the isRegion field is true and timeEnd is set, in the
// colour of the color field (grafana/grafana
// public/app/plugins/panel/timeseries/plugins/AnnotationsPlugin2.tsx, the
// draw hook and the markers); without isRegion a window is a point at its
// start. A one-point window (end = start) stays a point.
func Windows(refID string, series []Series) *data.Frame {
	var (
		starts, ends  []time.Time
		titles, texts []string
		tags          []json.RawMessage
		scores        []float64
		severities    []string
		regions       []bool
		colors        []string
	)
	type item struct {
		s Series
		w engine.Window
	}
	var items []item
	for _, s := range series {
		if s.Result == nil {
			continue
		}
		for _, w := range s.Result.Windows {
			items = append(items, item{s, w})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].w.Start < items[j].w.Start })
	for _, it := range items {
		s, w := it.s, it.w
		method := string(s.Result.Info.Method)
		starts = append(starts, time.UnixMilli(w.Start).UTC())
		ends = append(ends, time.UnixMilli(w.End).UTC())
		titles = append(titles, Title(s, w))
		texts = append(texts, Text(s, w, method))
		// A JSON string array: Grafana's panel annotations take tags as
		// string[] as they come; only the annotation-query mapping splits a
		// comma-joined string.
		tg, _ := json.Marshal(Tags(s, w, method))
		tags = append(tags, tg)
		scores = append(scores, w.MaxScore)
		severities = append(severities, string(w.Severity))
		regions = append(regions, w.End > w.Start)
		colors = append(colors, SeverityColor(w.Severity))
	}
	f := data.NewFrame("anomalies",
		data.NewField("time", nil, nonNil(starts)),
		data.NewField("timeEnd", nil, nonNil(ends)),
		data.NewField("title", nil, nonNil(titles)),
		data.NewField("text", nil, nonNil(texts)),
		data.NewField("tags", nil, nonNil(tags)),
		data.NewField("score", nil, nonNil(scores)),
		data.NewField("severity", nil, nonNil(severities)),
		data.NewField("isRegion", nil, nonNil(regions)),
		data.NewField("color", nil, nonNil(colors)),
	)
	f.RefID = refID
	f.Meta = &data.FrameMeta{DataTopic: data.DataTopicAnnotations}
	return f
}

// SeverityColor is the annotation colour of a window's severity: a name of
// Grafana's visualization palette, which the panel resolves with the theme's
// getColorByName (@grafana/data createVisualizationColors). Annotation
// queries do not use it: Grafana colours their events with the annotation's
// own colour (grafana/scenes querying/layers/annotations/utils.ts,
// postProcessQueryResult).
func SeverityColor(s engine.Severity) string {
	switch s {
	case engine.SeverityLow:
		return "yellow"
	case engine.SeverityMedium:
		return "orange"
	case engine.SeverityHigh:
		return "red"
	case engine.SeverityCritical:
		return "dark-red"
	}
	return "red" // the colour Grafana gives an event by default (getAnnotationsFromData)
}

// Title is an annotation's one-line title, e.g. "Spike on cpu_usage (high)".
func Title(s Series, w engine.Window) string {
	kind := strings.ReplaceAll(string(w.Type), "_", " ")
	if kind == "" {
		kind = "anomaly"
	}
	return fmt.Sprintf("%s%s on %s (%s)", strings.ToUpper(kind[:1]), kind[1:], s.display(), w.Severity)
}

// Text describes a window: series, peak value vs expected, score, type, method.
func Text(s Series, w engine.Window, method string) string {
	unit := ""
	if s.Unit != "" {
		unit = " " + s.Unit
	}
	if w.Type == engine.WindowMissingData {
		return fmt.Sprintf("%s: no data from %s to %s (method %s)", s.display(),
			time.UnixMilli(w.Start).UTC().Format(time.RFC3339), time.UnixMilli(w.End).UTC().Format(time.RFC3339), method)
	}
	dir := "above"
	if w.Direction < 0 {
		dir = "below"
	}
	text := fmt.Sprintf("%s: %s %s the expected range; peak %s%s vs expected %s%s at %s; score %.2f (%s); method %s",
		s.display(), strings.ReplaceAll(string(w.Type), "_", " "), dir,
		num(w.PeakValue), unit, num(w.PeakExpected), unit, time.UnixMilli(w.Peak).UTC().Format(time.RFC3339),
		w.MaxScore, w.Severity, method)
	if w.Note != "" {
		// The engine's note says what happens next (e.g. when a new level is
		// accepted as normal), which is what the person reading it decides on.
		text += "; " + w.Note
	}
	return text
}

// Tags are the window's tags: sheepdog, severity, type, method and the series labels.
func Tags(s Series, w engine.Window, method string) []string {
	tags := []string{"sheepdog", "severity:" + string(w.Severity), "type:" + string(w.Type), "method:" + method}
	if s.Name != "" {
		tags = append(tags, "series:"+s.Name)
	}
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// Commas would split a tag in Grafana's tag mapping.
		tags = append(tags, k+":"+strings.ReplaceAll(s.Labels[k], ",", ";"))
	}
	return tags
}

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.4g", v)
}

// floatField is a field of x[:n] built with one copy of the values (the
// SDK's): a plain float64 field when every value is finite (the common case,
// free of the per-value pointers nullable fields need), else a nullable one
// filled in place, with nulls for missing values.
func floatField(name string, labels data.Labels, x []float64, n int) *data.Field {
	if len(x) >= n {
		clean := true
		for _, v := range x[:n] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				clean = false
				break
			}
		}
		if clean {
			return data.NewField(name, labels, x[:n:n])
		}
	}
	f := data.NewFieldFromFieldType(data.FieldTypeNullableFloat64, n)
	f.Name, f.Labels = name, labels
	for i := 0; i < n && i < len(x); i++ {
		if !math.IsNaN(x[i]) && !math.IsInf(x[i], 0) {
			f.Set(i, &x[i])
		}
	}
	return f
}

func copyLabels(l map[string]string) map[string]string {
	if len(l) == 0 {
		return nil
	}
	out := make(map[string]string, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}

// nonNil gives an empty slice for nil: a field built from nil has no type.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
