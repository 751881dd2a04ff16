package frames

import (
	"flag"
	"math"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/sheepdog-anomaly/sheepdog/pkg/engine"
	"github.com/sheepdog-anomaly/sheepdog/pkg/frames/dataplanetest"
	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden frame files under testdata/")

// hostSeries is a minutely-ish series of host h: n points every step from t0,
// with the points at skip left out (a missed scrape).
func hostSeries(h string, t0 int64, step time.Duration, n int, skip ...int) Series {
	s := Series{Name: "cpu_usage", DisplayName: "cpu " + h, Labels: map[string]string{"host": h}, Unit: "percent",
		Result: &engine.Result{}}
	skipped := map[int]bool{}
	for _, k := range skip {
		skipped[k] = true
	}
	for i := range n {
		if skipped[i] {
			continue
		}
		s.Times = append(s.Times, t0+int64(i)*step.Milliseconds())
		s.Values = append(s.Values, float64(i))
		s.Result.Score = append(s.Result.Score, float64(i%10)/10)
		s.Result.Anomaly = append(s.Result.Anomaly, i%7 == 3)
	}
	return s
}

// Alert frames must reach every series to Grafana's expressions whatever the
// series' time axes: read as grafana/grafana pkg/expr/dataplane.go
// handleDataplaneTimeseries reads them (see package dataplanetest for the
// rules and the Grafana functions they follow). The old shape, one
// timeseries-wide frame per time axis, gave 3 frames here, of which Grafana
// reads the first only (grafana/dataplane sdata/timeseries/wide.go,
// validateAndGetRefsWide): hosts b and c were never evaluated.
func TestAlertFramesReadByGrafanaExpressions(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC).UnixMilli()
	series := []Series{
		hostSeries("a", t0, time.Minute, 30),
		hostSeries("b", t0, time.Minute, 30, 17), // one missed sample: another time axis
		hostSeries("c", t0, 2*time.Minute, 15),   // another step
		hostSeries("d", t0, time.Minute, 30),     // shares a's axis
	}
	for _, mode := range []string{models.AlertAnomalyFraction, models.AlertLatestScore} {
		t.Run(mode, func(t *testing.T) {
			a := models.Alert{Mode: mode, Window: 5 * time.Minute}
			from := time.UnixMilli(t0 + 10*60_000)
			r, err := dataplanetest.Read(Alert("A", series, a, from))
			if err != nil {
				t.Fatalf("Grafana's expressions cannot read the alert frames: %v", err)
			}
			if r.NoData || len(r.Series) != len(series) || r.Ignored != 0 {
				t.Fatalf("expressions see %d series (no data %v, %d frames ignored), want %d", len(r.Series), r.NoData, r.Ignored, len(series))
			}
			seen := map[string]bool{}
			for i, s := range r.Series {
				want := series[i]
				host := want.Labels["host"]
				if s.Labels["host"] != host || len(s.Labels) != 1 {
					t.Errorf("series %d labels %v, want {host=%s}", i, s.Labels, host)
				}
				if seen[s.Labels.String()] {
					t.Errorf("two series with labels %v: alerting keeps one instance per label set", s.Labels)
				}
				seen[s.Labels.String()] = true
				k := 0
				for k < len(want.Times) && want.Times[k] < from.UnixMilli() {
					k++
				}
				if len(s.Times) != len(want.Times)-k || !s.Times[0].Equal(time.UnixMilli(want.Times[k])) {
					t.Errorf("host %s: %d points from %v, want its own %d points from %v", host, len(s.Times), s.Times[0],
						len(want.Times)-k, time.UnixMilli(want.Times[k]))
				}
				for j, v := range s.Values {
					if v == nil || math.IsNaN(*v) {
						t.Fatalf("host %s point %d: %v, want a number", host, j, v)
					}
				}
				if s.Config == nil || s.Config.DisplayNameFromDS == "" || s.Config.Unit != "percentunit" {
					t.Errorf("host %s: config %+v, want the display name and percentunit", host, s.Config)
				}
			}
		})
	}
}

// With no series the answer is the contract's no-data response (one typed
// frame without fields), which still carries notices; an untyped empty frame
// would send Grafana down its legacy conversion instead.
func TestAlertNoSeriesIsTypedNoData(t *testing.T) {
	fs := Alert("A", nil, models.Alert{Mode: models.AlertAnomalyFraction, Window: time.Minute}, time.Time{})
	r, err := dataplanetest.Read(fs)
	if err != nil || !r.NoData || len(fs) != 1 || fs[0].RefID != "A" {
		t.Fatalf("no series: %d frames, read %+v, %v; want one typed no-data frame", len(fs), r, err)
	}
}

// Grafana's time-series panel draws a window as a region only when the
// annotations frame has isRegion true (and timeEnd), in the colour of its
// color field: grafana/grafana
// public/app/plugins/panel/timeseries/plugins/AnnotationsPlugin2.tsx (draw
// hook: `vals.isRegion?.[i] && vals.timeEnd?.[i]`; markers: annoRegion class
// only when isRegion). Without the field every window was a point.
func TestWindowsDrawAsRegions(t *testing.T) {
	s := testSeries() // a one-point critical spike at Times[2]
	s.Result.Windows = append(s.Result.Windows, engine.Window{Start: s.Times[0], End: s.Times[1], Peak: s.Times[0],
		MaxScore: 0.6, Severity: engine.SeverityMedium, Type: engine.WindowDip, Direction: -1})
	f := Windows("A", []Series{s})
	field := func(name string) *data.Field {
		fl, i := f.FieldByName(name)
		if i < 0 {
			t.Fatalf("windows frame has no %q field", name)
		}
		return fl
	}
	region, color, end := field("isRegion"), field("color"), field("timeEnd")
	if region.Type() != data.FieldTypeBool || color.Type() != data.FieldTypeString {
		t.Fatalf("isRegion is %s, color is %s; want bool and string", region.Type(), color.Type())
	}
	want := []struct {
		region bool
		color  string
	}{{true, "orange"}, {false, "dark-red"}} // sorted by start: the dip first
	for i, w := range want {
		if region.At(i).(bool) != w.region || color.At(i).(string) != w.color {
			t.Errorf("window %d: isRegion %v color %q, want %v %q", i, region.At(i), color.At(i), w.region, w.color)
		}
	}
	if !end.At(0).(time.Time).After(f.Fields[0].At(0).(time.Time)) {
		t.Errorf("region without a later timeEnd")
	}
}

func TestSeverityColor(t *testing.T) {
	tests := []struct {
		sev  engine.Severity
		want string
	}{
		{engine.SeverityLow, "yellow"}, {engine.SeverityMedium, "orange"}, {engine.SeverityHigh, "red"},
		{engine.SeverityCritical, "dark-red"}, {"", "red"},
	}
	for _, tt := range tests {
		if got := SeverityColor(tt.sev); got != tt.want {
			t.Errorf("SeverityColor(%q) = %q, want %q", tt.sev, got, tt.want)
		}
	}
}

// Golden files hold the exact frames Grafana receives (the SDK's JSON
// encoding of the data response). Rewrite them with
// `go test ./pkg/frames/ -run Golden -update` and review the diff.
func TestGoldenFrames(t *testing.T) {
	web1 := testSeries()
	web2 := testSeries()
	web2.DisplayName, web2.Labels = "web-2", map[string]string{"host": "web-2"}
	web2.Result = &engine.Result{
		Expected: []float64{10, 10, 10, 10}, Lower: []float64{8, 8, 8, 8}, Upper: []float64{12, 12, 12, 12},
		Score: []float64{0.7, 0.8, 0.1, 0}, Anomaly: []bool{true, true, false, false}, Direction: []int8{-1, -1, 0, 0},
		Windows: []engine.Window{{Start: web2.Times[0], End: web2.Times[1], Peak: web2.Times[1], PeakValue: 1, PeakExpected: 10,
			MaxScore: 0.8, Severity: engine.SeverityHigh, Type: engine.WindowDip, Direction: -1}},
		Info: engine.Info{Method: engine.MethodRobust},
	}
	web2.Times = []int64{web1.Times[0], web1.Times[1], web1.Times[3], web1.Times[3] + 60_000} // another time axis
	all := models.Outputs{Bands: true, Score: true, Flags: true, Windows: true}
	panel, err := Panel("A", []Series{web1, web2}, all)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		frames data.Frames
	}{
		{"panel", append(panel, Windows("A", []Series{web1, web2}))},
		{"annotations", data.Frames{Windows("Anno", []Series{web1, web2})}},
		{"alert_anomaly_fraction", Alert("A", []Series{web1, web2}, models.Alert{Mode: models.AlertAnomalyFraction, Window: 2 * time.Minute}, time.Time{})},
		{"alert_latest_score", Alert("A", []Series{web1, web2}, models.Alert{Mode: models.AlertLatestScore, Window: time.Minute}, time.Time{})},
		{"alert_no_data", Alert("A", nil, models.Alert{Mode: models.AlertAnomalyFraction, Window: time.Minute}, time.Time{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			experimental.CheckGoldenJSONResponse(t, "testdata", tt.name, &backend.DataResponse{Frames: tt.frames}, *updateGolden)
		})
	}
}
