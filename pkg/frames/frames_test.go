package frames

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

func testSeries() Series {
	t0 := int64(1_700_000_000_000)
	times := []int64{t0, t0 + 60_000, t0 + 120_000, t0 + 180_000}
	return Series{
		Name: "cpu_usage", DisplayName: "web-1", Labels: map[string]string{"host": "web-1"}, Unit: "percent",
		Times: times, Values: []float64{10, math.NaN(), 90, 11},
		Result: &engine.Result{
			Expected: []float64{10, 10, 10, 10}, Lower: []float64{8, 8, 8, 8}, Upper: []float64{12, 12, 12, 12},
			Score: []float64{0.1, 0, 0.95, 0.2}, Anomaly: []bool{false, false, true, false}, Direction: []int8{0, 0, 1, 0},
			Windows: []engine.Window{{Start: times[2], End: times[2], Peak: times[2], PeakValue: 90, PeakExpected: 10,
				MaxScore: 0.95, Severity: engine.SeverityCritical, Type: engine.WindowSpike, Direction: 1}},
			Info: engine.Info{Method: engine.MethodRobust},
		},
	}
}

func TestPanelLayout(t *testing.T) {
	all := models.Outputs{Bands: true, Score: true, Flags: true, Windows: true}
	f := mustPanel(t, "A", []Series{testSeries()}, all)[0]
	want := []struct{ name, display string }{
		{"time", ""}, {"cpu_usage", "web-1"}, {"cpu_usage expected", "web-1 expected"}, {"cpu_usage lower", "web-1 lower"},
		{"cpu_usage upper", "web-1 upper"}, {"cpu_usage score", "web-1 score"}, {"cpu_usage anomaly", "web-1 anomaly"},
	}
	if len(f.Fields) != len(want) {
		t.Fatalf("%d fields, want %d", len(f.Fields), len(want))
	}
	for i, w := range want {
		fl := f.Fields[i]
		if fl.Name != w.name {
			t.Errorf("field %d name %q, want %q", i, fl.Name, w.name)
		}
		if i == 0 {
			continue
		}
		if fl.Config.DisplayNameFromDS != w.display {
			t.Errorf("field %q display %q, want %q", fl.Name, fl.Config.DisplayNameFromDS, w.display)
		}
		if fl.Labels["host"] != "web-1" {
			t.Errorf("field %q labels %v", fl.Name, fl.Labels)
		}
	}
	if got := f.Fields[4].Config.Custom["fillBelowTo"]; got != "web-1 lower" {
		t.Errorf("fillBelowTo = %v", got)
	}
	for _, i := range []int{1, 2, 3, 4} {
		if f.Fields[i].Config.Unit != "percent" {
			t.Errorf("field %q unit %q, want percent", f.Fields[i].Name, f.Fields[i].Config.Unit)
		}
	}
	// The missing value is a null, not NaN.
	if _, ok := f.Fields[1].ConcreteAt(1); ok {
		t.Errorf("missing value is not null")
	}
	if v, _ := f.Fields[6].ConcreteAt(2); v != 1.0 {
		t.Errorf("anomaly flag at the spike = %v", v)
	}
	if f.RefID != "A" || f.Meta.Type != data.FrameTypeTimeSeriesWide {
		t.Errorf("frame meta %+v refId %q", f.Meta, f.RefID)
	}
}

func TestPanelOutputSelection(t *testing.T) {
	tests := []struct {
		out  models.Outputs
		want []string
	}{
		{models.Outputs{}, []string{"time", "cpu_usage"}},
		{models.Outputs{Score: true}, []string{"time", "cpu_usage", "cpu_usage score"}},
		{models.Outputs{Bands: true}, []string{"time", "cpu_usage", "cpu_usage expected", "cpu_usage lower", "cpu_usage upper"}},
		{models.Outputs{Flags: true, Windows: true}, []string{"time", "cpu_usage", "cpu_usage anomaly"}},
	}
	for _, tt := range tests {
		f := mustPanel(t, "A", []Series{testSeries()}, tt.out)[0]
		var got []string
		for _, fl := range f.Fields {
			got = append(got, fl.Name)
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("outputs %+v: fields %v, want %v", tt.out, got, tt.want)
		}
	}
}

func TestWindowsFrame(t *testing.T) {
	s := testSeries()
	other := testSeries()
	other.Labels = map[string]string{"host": "web-2"}
	other.DisplayName = "web-2"
	other.Result.Windows = []engine.Window{{Start: s.Times[0], End: s.Times[1], Peak: s.Times[0], PeakValue: 1, PeakExpected: 10,
		MaxScore: 0.6, Severity: engine.SeverityMedium, Type: engine.WindowDip, Direction: -1}}
	f := Windows("A", []Series{s, other})
	if f.Meta.DataTopic != data.DataTopicAnnotations {
		t.Fatalf("dataTopic = %q", f.Meta.DataTopic)
	}
	if f.Rows() != 2 {
		t.Fatalf("rows = %d", f.Rows())
	}
	// Sorted by start: web-2's dip comes first.
	text0, _ := f.Fields[3].ConcreteAt(0)
	if !strings.Contains(text0.(string), "web-2") || !strings.Contains(text0.(string), "below") {
		t.Errorf("first event text %q", text0)
	}
	text1, _ := f.Fields[3].ConcreteAt(1)
	for _, want := range []string{"web-1", "spike", "above", "peak 90 percent", "expected 10 percent", "score 0.95", "critical", "robust"} {
		if !strings.Contains(text1.(string), want) {
			t.Errorf("text %q lacks %q", text1, want)
		}
	}
	tagsRaw, _ := f.Fields[4].ConcreteAt(1)
	tags := string(tagsRaw.(json.RawMessage))
	for _, want := range []string{"severity:critical", "method:robust", "host:web-1", "type:spike"} {
		if !strings.Contains(tags, want) {
			t.Errorf("tags %q lack %q", tags, want)
		}
	}
	title, _ := f.Fields[2].ConcreteAt(1)
	if title != "Spike on web-1 (critical)" {
		t.Errorf("title %q", title)
	}
	end, _ := f.Fields[1].ConcreteAt(0)
	if !end.(time.Time).Equal(time.UnixMilli(s.Times[1])) {
		t.Errorf("timeEnd = %v", end)
	}
	// No windows: an empty but well-formed frame.
	if e := Windows("A", nil); e.Rows() != 0 || len(e.Fields) != 9 {
		t.Errorf("empty windows frame: %d rows %d fields", e.Rows(), len(e.Fields))
	}
}

func TestAlertAnomalyFraction(t *testing.T) {
	t0 := int64(0)
	times := make([]int64, 10)
	for i := range times {
		times[i] = t0 + int64(i)*60_000
	}
	vals := []float64{1, 1, 1, 9, 9, math.NaN(), 9, 1, 1, 1}
	flags := []bool{false, false, false, true, true, false, true, false, false, false}
	s := Series{Name: "m", Labels: map[string]string{"host": "a"}, Times: times, Values: vals,
		Result: &engine.Result{Score: []float64{0, 0, 0, .9, .9, 0, .8, .1, 0, 0}, Anomaly: flags}}
	// Window 3m: points (t-3m, t], missing points do not count.
	fs := Alert("A", []Series{s}, models.Alert{Mode: models.AlertAnomalyFraction, Window: 3 * time.Minute}, time.UnixMilli(0))
	if len(fs) != 1 || len(fs[0].Fields) != 2 {
		t.Fatalf("frames %d", len(fs))
	}
	got := make([]float64, 10)
	for i := range got {
		got[i] = fs[0].Fields[1].At(i).(float64)
	}
	want := []float64{0, 0, 0, 1.0 / 3, 2.0 / 3, 2.0 / 2, 2.0 / 2, 1.0 / 2, 1.0 / 3, 0}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("fraction[%d] = %.3f, want %.3f", i, got[i], want[i])
		}
	}
	// From trims the emitted points but not the window behind them.
	fs = Alert("A", []Series{s}, models.Alert{Mode: models.AlertAnomalyFraction, Window: 3 * time.Minute}, time.UnixMilli(times[5]))
	if fs[0].Rows() != 5 || math.Abs(fs[0].Fields[1].At(0).(float64)-1) > 1e-9 {
		t.Errorf("trimmed: rows %d first %v", fs[0].Rows(), fs[0].Fields[1].At(0))
	}
	fs = Alert("A", []Series{s}, models.Alert{Mode: models.AlertLatestScore, Window: time.Minute}, time.UnixMilli(0))
	if v := fs[0].Fields[1].At(6).(float64); v != .8 {
		t.Errorf("latest score at 6 = %v", v)
	}
}

func TestAlertLabelsAndGrouping(t *testing.T) {
	a := testSeries()
	b := testSeries()
	b.DisplayName = "copy"
	c := testSeries()
	c.Times = []int64{1, 2, 3, 4}
	c.Labels = map[string]string{"host": "other"}
	fs := Alert("A", []Series{a, b, c}, models.Alert{Mode: models.AlertLatestScore, Window: time.Minute}, time.Time{})
	if len(fs) != 3 {
		t.Fatalf("%d frames, want 3 (one per series, timeseries-multi)", len(fs))
	}
	for i, f := range fs {
		if len(f.Fields) != 2 || f.Meta.Type != data.FrameTypeTimeSeriesMulti || f.Meta.TypeVersion != (data.FrameTypeVersion{0, 1}) || f.RefID != "A" {
			t.Fatalf("frame %d: %d fields, meta %+v, refId %q; want time + value, timeseries-multi 0.1, A", i, len(f.Fields), f.Meta, f.RefID)
		}
	}
	l1, l2 := fs[0].Fields[1].Labels, fs[1].Fields[1].Labels
	if l1.String() == l2.String() {
		t.Errorf("colliding label sets not made unique: %v %v", l1, l2)
	}
	if l1["series"] != "web-1" || l2["series"] != "copy" || l1["host"] != "web-1" {
		t.Errorf("labels %v %v", l1, l2)
	}
	if _, ok := fs[2].Fields[1].Labels["series"]; ok {
		t.Errorf("unique labels got a series label: %v", fs[2].Fields[1].Labels)
	}
	if got := fs[1].Fields[1].Config; got.DisplayNameFromDS != "copy score" || got.Unit != "percentunit" {
		t.Errorf("display %q unit %q, want \"copy score\" percentunit", got.DisplayNameFromDS, got.Unit)
	}
	for _, f := range fs {
		for _, fl := range f.Fields {
			if strings.Contains(fl.Name, "lower") || strings.Contains(fl.Name, "upper") {
				t.Errorf("band field %q in an alert frame", fl.Name)
			}
		}
	}
}

func TestPanelFillBelowToNamesOwnLowerField(t *testing.T) {
	named := func(disp string, labels map[string]string) Series {
		s := testSeries()
		s.DisplayName, s.Labels = disp, labels
		return s
	}
	tests := []struct {
		name   string
		series []Series
	}{
		{"one series", []Series{named("web-1", map[string]string{"host": "web-1"})}},
		{"distinct names", []Series{named("a", map[string]string{"host": "a"}), named("b", map[string]string{"host": "b"})}},
		{"same name, different labels", []Series{named("cpu", map[string]string{"host": "a"}), named("cpu", map[string]string{"host": "b"})}},
		{"same name, same labels", []Series{named("cpu", map[string]string{"host": "a"}), named("cpu", map[string]string{"host": "a"})}},
		{"same name, no labels", []Series{named("cpu", nil), named("cpu", nil), named("cpu #1", nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := mustPanel(t, "A", tt.series, models.Outputs{Bands: true})
			lowers := map[string]int{}
			for _, f := range fs {
				lower, upper := f.Fields[3], f.Fields[4]
				if !strings.HasSuffix(lower.Name, SuffixLower) || !strings.HasSuffix(upper.Name, SuffixUpper) {
					t.Fatalf("fields %q %q", lower.Name, upper.Name)
				}
				if got := upper.Config.Custom["fillBelowTo"]; got != lower.Config.DisplayNameFromDS {
					t.Errorf("frame %q: fillBelowTo %v, lower field's display name %q", f.Name, got, lower.Config.DisplayNameFromDS)
				}
				lowers[lower.Config.DisplayNameFromDS]++
			}
			for name, n := range lowers {
				if n > 1 {
					t.Errorf("%d lower fields are displayed as %q: fillBelowTo is ambiguous", n, name)
				}
			}
		})
	}
}

func mustPanel(t *testing.T, refID string, series []Series, out models.Outputs) data.Frames {
	t.Helper()
	fs, err := Panel(refID, series, out)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestParallelRecoversPanics(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		panicAt int // -1: none
		wantErr string
	}{
		{"no items", 0, -1, ""},
		{"no panic", 50, -1, ""},
		{"panic in one item", 50, 17, "build frame 17: internal error: crashed unexpectedly: boom"},
		{"panic in the only item", 1, 0, "build frame 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make([]bool, tt.n)
			err := parallel(tt.n, func(i int) {
				if i == tt.panicAt {
					panic("boom")
				}
				done[i] = true
			})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			for i, ok := range done {
				if !ok && i != tt.panicAt {
					t.Errorf("item %d not run", i)
				}
			}
		})
	}
}

func TestWindowTagsAreStringArrays(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		want   []string
	}{
		{"labels", map[string]string{"host": "web-1"}, []string{"sheepdog", "severity:critical", "type:spike", "method:robust", "series:cpu_usage", "host:web-1"}},
		{"comma in a label value", map[string]string{"hosts": "a,b"}, []string{"sheepdog", "severity:critical", "type:spike", "method:robust", "series:cpu_usage", "hosts:a;b"}},
		{"no labels", nil, []string{"sheepdog", "severity:critical", "type:spike", "method:robust", "series:cpu_usage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSeries()
			s.Labels = tt.labels
			f := Windows("A", []Series{s})
			fl := f.Fields[4]
			if fl.Name != "tags" || fl.Type() != data.FieldTypeJSON {
				t.Fatalf("tags field %q of type %s, want JSON", fl.Name, fl.Type())
			}
			raw, _ := fl.ConcreteAt(0)
			var got []string
			if err := json.Unmarshal(raw.(json.RawMessage), &got); err != nil {
				t.Fatalf("tags %s: %v", raw, err)
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("tags %q, want %q", got, tt.want)
			}
		})
	}
	if e := Windows("A", nil); e.Fields[4].Type() != data.FieldTypeJSON {
		t.Errorf("empty frame's tags field is %s", e.Fields[4].Type())
	}
}

func TestPanelFramesShareTheTimeAxisSafely(t *testing.T) {
	a, b := testSeries(), testSeries()
	b.DisplayName, b.Labels = "web-2", map[string]string{"host": "web-2"}
	c := testSeries()
	c.Times = []int64{c.Times[0] + 1, c.Times[1] + 1, c.Times[2] + 1, c.Times[3] + 1} // another axis
	c.DisplayName = "web-3"
	fs := mustPanel(t, "A", []Series{a, b, c}, models.Outputs{Bands: true, Flags: true})
	tests := []struct {
		frame int
		times []int64
	}{{0, a.Times}, {1, b.Times}, {2, c.Times}}
	for _, tt := range tests {
		f := fs[tt.frame]
		if f.Fields[0].Name != "time" || f.Fields[0].Len() != len(tt.times) {
			t.Fatalf("frame %d time field %q with %d rows", tt.frame, f.Fields[0].Name, f.Fields[0].Len())
		}
		for i, ms := range tt.times {
			if got := f.Fields[0].At(i).(time.Time); !got.Equal(time.UnixMilli(ms)) {
				t.Errorf("frame %d row %d at %v, want %v", tt.frame, i, got, time.UnixMilli(ms))
			}
		}
		if _, err := f.RowLen(); err != nil {
			t.Errorf("frame %d: %v", tt.frame, err)
		}
	}
	// Each frame has its own time field, so changing one's config touches no other.
	fs[0].Fields[0].Config = &data.FieldConfig{DisplayNameFromDS: "changed"}
	if fs[1].Fields[0].Config != nil {
		t.Error("frames share one time field")
	}
	// Flags built in place: 1 at the anomaly, 0 elsewhere.
	flags := fs[0].Fields[5]
	for i, want := range []float64{0, 0, 1, 0} {
		if v, _ := flags.ConcreteAt(i); v != want {
			t.Errorf("flag %d = %v, want %v", i, v, want)
		}
	}
	// Warm-up NaNs in a band are nulls.
	d := testSeries()
	d.Result.Lower = []float64{math.NaN(), 8, math.Inf(1), 8}
	lower := mustPanel(t, "A", []Series{d}, models.Outputs{Bands: true})[0].Fields[3]
	for i, wantNull := range []bool{true, false, true, false} {
		if _, ok := lower.ConcreteAt(i); ok == wantNull {
			t.Errorf("lower %d null=%v, want %v", i, !ok, wantNull)
		}
	}
}

// A level shift's note (how soon the new level is accepted) reaches the
// annotation text people read (issue 11 #5: say it in the window's text).
func TestWindowTextCarriesTheEngineNote(t *testing.T) {
	s := Series{Name: "rps", DisplayName: "rps"}
	w := engine.Window{Start: 0, End: 60_000, Peak: 0, PeakValue: 2, PeakExpected: 1, MaxScore: 0.9,
		Severity: engine.SeverityHigh, Type: engine.WindowLevelShift, Direction: 1, Note: "new level accepted within 80 points (1h20m0s)"}
	if got := Text(s, w, "auto"); !strings.HasSuffix(got, "; new level accepted within 80 points (1h20m0s)") {
		t.Errorf("text %q lacks the note", got)
	}
	w.Note = ""
	if got := Text(s, w, "auto"); strings.HasSuffix(got, "; ") {
		t.Errorf("text %q ends with an empty note", got)
	}
}
