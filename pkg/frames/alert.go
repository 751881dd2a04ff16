package frames

import (
	"math"
	"sort"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/pkg/models"
	"github.com/sheepdog-anomaly/sheepdog/pkg/source"
)

// Alert builds alert-ready frames in the dataplane contract's
// timeseries-multi format: one frame per series, each with a time field and
// one numeric field carrying the series' labels, so every series reaches
// Grafana's expressions whatever its time axis. (A timeseries-wide response
// is read from its first frame only: series on another time axis would be
// dropped silently; grafana/grafana pkg/expr/dataplane.go
// handleDataplaneTimeseries reads it with grafana/dataplane
// sdata/timeseries/wide.go validateAndGetRefsWide, which takes (*wf)[0] and
// passes the rest to ignoreAdditionalFrames.) No series gives the
// contract's no-data response, one typed frame with no fields, which also
// carries the query's notices.
//
// Series hold the full analysed points (history included) so the trigger
// window is complete at the left edge; only points at or after from are
// emitted.
//
// Modes: latest_score gives each point's score (0..1); anomaly_fraction gives
// the fraction of anomalous points among the non-missing points in the
// trigger window ending at that point. A rule reduces with Last and compares
// with a threshold.
func Alert(refID string, series []Series, a models.Alert, from time.Time) data.Frames {
	labelSets := uniqueLabels(series)
	fromMs := from.UnixMilli()
	suffix := " anomaly fraction"
	if a.Mode == models.AlertLatestScore {
		suffix = " score"
	}
	out := make(data.Frames, 0, len(series))
	for si, s := range series {
		if s.Result == nil {
			continue
		}
		vals := alertValues(s, a)
		start := sort.Search(len(s.Times), func(i int) bool { return s.Times[i] >= fromMs })
		ts := make([]time.Time, len(s.Times)-start)
		for i, t := range s.Times[start:] {
			ts[i] = time.UnixMilli(t).UTC()
		}
		f := data.NewField(s.base(), labelSets[si], vals[start:])
		lo, hi := data.ConfFloat64(0), data.ConfFloat64(1)
		f.Config = &data.FieldConfig{DisplayNameFromDS: s.display() + suffix, Unit: "percentunit", Min: &lo, Max: &hi}
		out = append(out, alertFrame(refID, s.display(), data.NewField("time", nil, ts), f))
	}
	if len(out) == 0 {
		out = append(out, alertFrame(refID, ""))
	}
	return out
}

// alertFrame is one timeseries-multi frame (version 0.1, the only version of
// the contract; grafana/dataplane sdata/timeseries MultiFrameVersions).
func alertFrame(refID, name string, fields ...*data.Field) *data.Frame {
	f := data.NewFrame(name, fields...)
	f.RefID = refID
	f.Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}}
	return f
}

// alertValues computes the alert value at every point of s.
func alertValues(s Series, a models.Alert) []float64 {
	r := s.Result
	n := len(s.Times)
	out := make([]float64, n)
	if a.Mode == models.AlertLatestScore {
		for i := 0; i < n && i < len(r.Score); i++ {
			out[i] = r.Score[i]
		}
		return out
	}
	win := a.Window.Milliseconds()
	lo, present, flagged := 0, 0, 0
	for i := 0; i < n; i++ {
		if !math.IsNaN(s.Values[i]) {
			present++
			if i < len(r.Anomaly) && r.Anomaly[i] {
				flagged++
			}
		}
		for lo <= i && s.Times[lo] <= s.Times[i]-win {
			if !math.IsNaN(s.Values[lo]) {
				present--
				if lo < len(r.Anomaly) && r.Anomaly[lo] {
					flagged--
				}
			}
			lo++
		}
		if present > 0 {
			out[i] = float64(flagged) / float64(present)
		}
	}
	return out
}

// uniqueLabels gives each series a label set distinct from the others', as
// alerting needs one identity per series: series whose labels collide get a
// "series" label with their display name.
func uniqueLabels(series []Series) []data.Labels {
	out := make([]data.Labels, len(series))
	count := map[string]int{}
	keys := make([]string, len(series))
	for i, s := range series {
		l := data.Labels(copyLabels(s.Labels))
		if l == nil {
			l = data.Labels{}
		}
		out[i] = l
		keys[i] = source.LabelsKey("", l)
		count[keys[i]]++
	}
	for i, s := range series {
		if count[keys[i]] > 1 || len(out[i]) == 0 {
			out[i]["series"] = s.display()
		}
	}
	return out
}
