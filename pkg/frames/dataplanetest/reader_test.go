package dataplanetest

import (
	"errors"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

func series(t data.FrameType, host string, n int) *data.Frame {
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	for i := range ts {
		ts[i] = time.Unix(int64(60*i), 0)
	}
	f := data.NewFrame("", data.NewField("time", nil, ts), data.NewField("cpu", data.Labels{"host": host}, vs))
	if t != "" {
		f.Meta = &data.FrameMeta{Type: t, TypeVersion: data.FrameTypeVersion{0, 1}}
	}
	return f
}

// The cases follow grafana/dataplane sdata/timeseries validateAndGetRefsWide
// and validateAndGetRefsMulti, and grafana/grafana pkg/expr/dataplane.go
// shouldUseDataplane; the same frames gave the same series counts with the
// dataplane library itself (checked by hand, see the package comment).
func TestRead(t *testing.T) {
	wide, multi := data.FrameTypeTimeSeriesWide, data.FrameTypeTimeSeriesMulti
	empty := func(t data.FrameType) *data.Frame {
		return data.NewFrame("").SetMeta(&data.FrameMeta{Type: t, TypeVersion: data.FrameTypeVersion{0, 1}})
	}
	tests := []struct {
		name            string
		frames          data.Frames
		series, ignored int
		noData          bool
		err             error
	}{
		{"no frames is no data", nil, 0, 0, true, nil},
		{"wide: the second frame is never read", data.Frames{series(wide, "a", 3), series(wide, "b", 4)}, 1, 1, false, nil},
		{"multi: every typed frame is a series", data.Frames{series(multi, "a", 3), series(multi, "b", 4)}, 2, 0, false, nil},
		{"multi: untyped frames after the first are ignored", data.Frames{series(multi, "a", 3), series("", "b", 4)}, 1, 1, false, nil},
		{"multi: empty first frame is no data", data.Frames{empty(multi)}, 0, 0, true, nil},
		{"untyped first frame: legacy conversion", data.Frames{series("", "a", 3)}, 0, 0, false, ErrNotDataplane},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Read(tt.frames)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err == nil && (len(r.Series) != tt.series || r.Ignored != tt.ignored || r.NoData != tt.noData) {
				t.Errorf("%d series, %d ignored, no data %v; want %d, %d, %v", len(r.Series), r.Ignored, r.NoData, tt.series, tt.ignored, tt.noData)
			}
		})
	}
}
