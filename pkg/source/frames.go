package source

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// MaxWideCells bounds the wide frame built from a long one, so a table with
// many label combinations cannot exhaust memory.
const MaxWideCells = 50_000_000

// SeriesFromFrames turns data frames, as Grafana data sources answer them,
// into series: every numeric field of a wide frame becomes a series with its
// labels, unit and display name; long frames (string or bool columns naming
// the series, as SQL tables) are converted to wide first. Rows are put in time
// order; null times are dropped; null values become NaN. Frames without a time
// field are skipped, and an error says so when nothing else is left.
func SeriesFromFrames(frames data.Frames) ([]Series, error) {
	var (
		out     []Series
		skipped []string
	)
	for fi, f := range frames {
		if f == nil || len(f.Fields) == 0 || isAuxiliary(f) {
			continue
		}
		rows, err := f.RowLen()
		if err != nil {
			return nil, fmt.Errorf("frame %d (%q): %w", fi, f.Name, err)
		}
		if rows == 0 {
			continue
		}
		schema := f.TimeSeriesSchema()
		switch schema.Type {
		case data.TimeSeriesTypeLong:
			sorted, err := sortFrameByTime(f, schema.TimeIndex)
			if err != nil {
				return nil, fmt.Errorf("frame %d (%q): %w", fi, f.Name, err)
			}
			if n, _ := sorted.RowLen(); n == 0 {
				continue
			}
			wide, err := data.LongToWideWithLimit(sorted, &data.FillMissing{Mode: data.FillModeNull}, MaxWideCells)
			if err != nil {
				return nil, fmt.Errorf("frame %d (%q): convert long to wide: %w", fi, f.Name, err)
			}
			wide.Name = f.Name
			restoreFieldMeta(sorted, wide)
			out = append(out, seriesFromWide(wide, 0)...)
		case data.TimeSeriesTypeWide:
			out = append(out, seriesFromWide(f, schema.TimeIndex)...)
		default:
			name := f.Name
			if name == "" {
				name = fmt.Sprintf("#%d", fi)
			}
			skipped = append(skipped, name)
		}
	}
	if len(out) == 0 && len(skipped) > 0 {
		return nil, fmt.Errorf("the data source answered %d frame(s) that are not time series (a time column and a numeric column are needed): %v", len(skipped), skipped)
	}
	for _, s := range out {
		if err := checkSeries(s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// isAuxiliary spots frames that travel beside the series but are not series:
// Prometheus exemplars (a long frame of trace samples) and frames for another
// data topic such as annotations.
func isAuxiliary(f *data.Frame) bool {
	if f.Name == "exemplar" {
		return true
	}
	if f.Meta == nil {
		return false
	}
	if f.Meta.DataTopic != "" {
		return true
	}
	if custom, ok := f.Meta.Custom.(map[string]any); ok && custom["resultType"] == "exemplar" {
		return true
	}
	return false
}

// restoreFieldMeta gives the wide fields what LongToWide leaves out: the
// long value field's labels (under the factor labels) and config (unit, ...).
// A display name set for the long field would name every factor combination
// alike, so it is kept only when the field yields a single series.
func restoreFieldMeta(long, wide *data.Frame) {
	byName := map[string]*data.Field{}
	for _, f := range long.Fields {
		if _, dup := byName[f.Name]; !dup {
			byName[f.Name] = f
		}
	}
	count := map[string]int{}
	for _, f := range wide.Fields[1:] {
		count[f.Name]++
	}
	for _, wf := range wide.Fields[1:] {
		lf, ok := byName[wf.Name]
		if !ok {
			continue
		}
		if len(lf.Labels) > 0 {
			merged := data.Labels{}
			for k, v := range lf.Labels {
				merged[k] = v
			}
			for k, v := range wf.Labels {
				merged[k] = v
			}
			wf.Labels = merged
		}
		if lf.Config != nil {
			cfg := *lf.Config
			if count[wf.Name] > 1 {
				cfg.DisplayName, cfg.DisplayNameFromDS = "", ""
			}
			wf.Config = &cfg
		}
	}
}

// seriesFromWide reads every numeric field of a wide frame against its time field.
func seriesFromWide(f *data.Frame, timeIdx int) []Series {
	tf := f.Fields[timeIdx]
	n := tf.Len()
	times := make([]int64, 0, n)
	rows := make([]int, 0, n)
	for i := 0; i < n; i++ {
		t, ok := timeAt(tf, i)
		if !ok {
			continue // a row without a time cannot be placed
		}
		times = append(times, t)
		rows = append(rows, i)
	}
	order := timeOrder(times)

	var out []Series
	for fi, field := range f.Fields {
		if fi == timeIdx || !field.Type().Numeric() {
			continue
		}
		values := make([]float64, len(rows))
		for j, row := range rows {
			values[j] = floatAt(field, row)
		}
		st, sv := applyOrder(times, values, order)
		name, labels := seriesIdentity(f, field)
		s := Series{
			Name:        name,
			Labels:      labels,
			Times:       st,
			Values:      sv,
			DisplayName: displayName(f, field, name, labels),
		}
		if field.Config != nil {
			s.Unit = field.Config.Unit
		}
		if order != nil {
			s.Duplicates = len(times) - len(order)
		}
		out = append(out, s)
	}
	return out
}

// floatAt reads a numeric cell as float64, null as NaN. PointerAt hands out
// a pointer into the field's slice, so the common types read without boxing.
func floatAt(f *data.Field, i int) float64 {
	switch p := f.PointerAt(i).(type) {
	case *float64:
		return *p
	case **float64:
		if *p == nil {
			return math.NaN()
		}
		return **p
	case *int64:
		return float64(*p)
	case **int64:
		if *p == nil {
			return math.NaN()
		}
		return float64(**p)
	}
	if v, err := f.NullableFloatAt(i); err == nil && v != nil {
		return *v
	}
	return math.NaN()
}

func timeAt(f *data.Field, i int) (int64, bool) {
	switch v := f.PointerAt(i).(type) {
	case *time.Time:
		return v.UnixMilli(), true
	case **time.Time:
		if *v == nil {
			return 0, false
		}
		return (*v).UnixMilli(), true
	}
	switch v := f.At(i).(type) {
	case time.Time:
		return v.UnixMilli(), true
	case *time.Time:
		if v == nil {
			return 0, false
		}
		return v.UnixMilli(), true
	}
	return 0, false
}

// timeOrder is the permutation putting times in increasing order, keeping
// only the last row of equal times (a later row corrects an earlier one).
// It is nil when times already increase strictly.
func timeOrder(times []int64) []int {
	sorted := true
	for i := 1; i < len(times); i++ {
		if times[i] <= times[i-1] {
			sorted = false
			break
		}
	}
	if sorted {
		return nil
	}
	idx := make([]int, len(times))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return times[idx[a]] < times[idx[b]] })
	out := idx[:0:0]
	for k, i := range idx {
		if k+1 < len(idx) && times[idx[k+1]] == times[i] {
			continue
		}
		out = append(out, i)
	}
	return out
}

func applyOrder(times []int64, values []float64, order []int) ([]int64, []float64) {
	if order == nil {
		return append([]int64(nil), times...), values
	}
	t := make([]int64, len(order))
	v := make([]float64, len(order))
	for j, i := range order {
		t[j], v[j] = times[i], values[i]
	}
	return t, v
}

// seriesIdentity names a field the way a Grafana user would recognise it:
// Prometheus's __name__ label when present, the frame name when the field is
// Grafana's generic "Value", otherwise the field name.
func seriesIdentity(f *data.Frame, field *data.Field) (string, map[string]string) {
	labels := make(map[string]string, len(field.Labels))
	name := field.Name
	for k, v := range field.Labels {
		if k == "__name__" {
			name = v
			continue
		}
		labels[k] = v
	}
	if _, ok := field.Labels["__name__"]; !ok && (name == "" || name == "Value") && f.Name != "" {
		name = f.Name
	}
	if name == "" {
		name = "Value"
	}
	return name, labels
}

func displayName(f *data.Frame, field *data.Field, name string, labels map[string]string) string {
	if field.Config != nil {
		if field.Config.DisplayName != "" {
			return field.Config.DisplayName
		}
		if field.Config.DisplayNameFromDS != "" {
			return field.Config.DisplayNameFromDS
		}
	}
	if name == "Value" && len(labels) > 0 {
		return FormatSelector("", labels)
	}
	return FormatSelector(name, labels)
}

// sortFrameByTime returns f with rows in increasing time and rows with a null
// time dropped (LongToWide needs both). An already sorted frame is returned as is.
func sortFrameByTime(f *data.Frame, timeIdx int) (*data.Frame, error) {
	tf := f.Fields[timeIdx]
	n := tf.Len()
	keep := make([]int, 0, n)
	times := make([]int64, n)
	sorted := true
	var last time.Time
	for i := 0; i < n; i++ {
		var t time.Time
		switch v := tf.At(i).(type) {
		case time.Time:
			t = v
		case *time.Time:
			if v == nil {
				sorted = false
				continue
			}
			t = *v
		default:
			return nil, errors.New("time field holds no times")
		}
		if len(keep) > 0 && t.Before(last) {
			sorted = false
		}
		last = t
		times[i] = t.UnixNano()
		keep = append(keep, i)
	}
	if sorted {
		return f, nil
	}
	sort.SliceStable(keep, func(a, b int) bool { return times[keep[a]] < times[keep[b]] })
	out := data.NewFrame(f.Name)
	out.RefID, out.Meta = f.RefID, f.Meta
	for fi, field := range f.Fields {
		typ := field.Type()
		if fi == timeIdx {
			typ = data.FieldTypeTime
		}
		nf := data.NewFieldFromFieldType(typ, len(keep))
		nf.Name, nf.Labels, nf.Config = field.Name, field.Labels, field.Config
		for j, i := range keep {
			if fi == timeIdx {
				v, _ := field.ConcreteAt(i)
				nf.Set(j, v)
				continue
			}
			nf.Set(j, field.CopyAt(i))
		}
		out.Fields = append(out.Fields, nf)
	}
	return out, nil
}
