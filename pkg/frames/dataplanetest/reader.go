// Package dataplanetest reads a data source's response the way Grafana's
// server-side expressions (alert rules, Reduce/Math/Threshold) do, so tests
// can check what an alert rule really sees rather than what the frames hold.
//
// Grafana's own reader is github.com/grafana/dataplane/sdata (Apache-2.0); it
// is not on the Go module proxy this project builds from, so this is an
// independent implementation of the rules it applies, checked against:
//   - grafana/grafana pkg/expr/converter.go, ResultConverter.Convert: no
//     frames is "no data"; a typed first frame goes to the dataplane path.
//   - grafana/grafana pkg/expr/dataplane.go, shouldUseDataplane (first frame's
//     meta.type set and meta.typeVersion non-zero) and
//     handleDataplaneTimeseries (timeseries.CollectionReaderFromFrames, then
//     GetCollection(false): one mathexp series per metric ref).
//   - grafana/dataplane sdata/reader/reader.go, CanReadBasedOnMeta: the type
//     is decided by the first frame alone.
//   - grafana/dataplane sdata/timeseries/wide.go, validateAndGetRefsWide: only
//     frame 0 is read; further frames are remainder data, silently ignored.
//   - grafana/dataplane sdata/timeseries/multi.go, validateAndGetRefsMulti:
//     every frame typed timeseries-multi holds one series (its first []time.Time
//     field and first numeric or bool field); untyped frames after the first
//     are ignored; a first frame with no fields is the "no data" response.
//   - grafana/grafana pkg/expr/mathexp/type_series.go, NewSeriesFromRef: the
//     value field is read as nullable float64 with its labels.
//
// Cross-checked once by hand: the frames of this package's and pkg/frames'
// tests give the same series, no-data and ignored counts with
// grafana/dataplane sdata built from its source (a scratch module replacing
// it by a local copy), which cannot be a dependency here.
package dataplanetest

import (
	"errors"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Series is one time series as an expression sees it.
type Series struct {
	Name   string // the value field's name
	Labels data.Labels
	Config *data.FieldConfig // display name, unit
	Times  []time.Time
	Values []*float64
}

// Response is what an expression gets from a data source's frames.
type Response struct {
	Type    data.FrameType
	NoData  bool
	Series  []Series
	Ignored int           // frames read as remainder data (not series)
	Notices []data.Notice // every frame's meta notices, for the test to inspect
}

// ErrNotDataplane means Grafana would not take the dataplane path (its first
// frame has no meta.type or a zero meta.typeVersion) and would fall back to
// its legacy conversion, whose result depends on the data source type.
var ErrNotDataplane = errors.New("first frame carries no dataplane type and version: Grafana falls back to its legacy conversion")

// Read reads frames as Grafana's expressions do for a time series response.
func Read(frames data.Frames) (Response, error) {
	var r Response
	if len(frames) == 0 {
		r.NoData = true
		return r, nil
	}
	for _, f := range frames {
		if f != nil && f.Meta != nil {
			r.Notices = append(r.Notices, f.Meta.Notices...)
		}
	}
	first := frames[0]
	if first == nil {
		return r, errors.New("frame 0 is nil")
	}
	if first.Meta == nil || first.Meta.Type == "" || first.Meta.TypeVersion.IsZero() {
		return r, ErrNotDataplane
	}
	r.Type = first.Meta.Type
	switch r.Type {
	case data.FrameTypeTimeSeriesWide:
		return readWide(frames, r)
	case data.FrameTypeTimeSeriesMulti:
		return readMulti(frames, r)
	}
	return r, fmt.Errorf("frame type %q: this reader covers timeseries-wide and timeseries-multi only", r.Type)
}

func readWide(frames data.Frames, r Response) (Response, error) {
	r.Ignored = len(frames) - 1 // remainder data: never read as series
	f := frames[0]
	if len(f.Fields) == 0 {
		r.NoData = true
		return r, nil
	}
	tf, vals, err := seriesFields(0, f)
	if err != nil {
		return r, err
	}
	for _, v := range vals {
		s, err := toSeries(tf, v)
		if err != nil {
			return r, err
		}
		r.Series = append(r.Series, s)
	}
	return r, nil
}

func readMulti(frames data.Frames, r Response) (Response, error) {
	if len(frames[0].Fields) == 0 {
		r.NoData = true
		r.Ignored = len(frames) - 1
		return r, nil
	}
	for i, f := range frames {
		if f == nil {
			return r, fmt.Errorf("frame %d is nil", i)
		}
		if f.Meta == nil || f.Meta.Type != data.FrameTypeTimeSeriesMulti {
			r.Ignored++
			continue
		}
		if len(f.Fields) == 0 {
			return r, fmt.Errorf("frame %d has no fields, invalid when there is more than one frame", i)
		}
		tf, vals, err := seriesFields(i, f)
		if err != nil {
			return r, err
		}
		s, err := toSeries(tf, vals[0]) // further value fields are remainder data
		if err != nil {
			return r, err
		}
		r.Series = append(r.Series, s)
	}
	if len(r.Series) == 0 {
		return r, errors.New("no series in the response and not a no-data response")
	}
	return r, nil
}

// seriesFields finds a frame's time field and value fields as the dataplane
// reader does: the first []time.Time field (nullable time does not count) and
// every numeric or bool field.
func seriesFields(i int, f *data.Frame) (*data.Field, []*data.Field, error) {
	if _, err := f.RowLen(); err != nil {
		return nil, nil, fmt.Errorf("frame %d has fields of different lengths: %w", i, err)
	}
	var tf *data.Field
	var vals []*data.Field
	for _, fl := range f.Fields {
		if fl == nil {
			return nil, nil, fmt.Errorf("frame %d has a nil field", i)
		}
		t := fl.Type()
		switch {
		case t == data.FieldTypeTime:
			if tf == nil {
				tf = fl
			}
		case t.Numeric(), t == data.FieldTypeBool, t == data.FieldTypeNullableBool:
			vals = append(vals, fl)
		}
	}
	if tf == nil {
		return nil, nil, fmt.Errorf("frame %d has no []time.Time field", i)
	}
	if len(vals) == 0 {
		return nil, nil, fmt.Errorf("frame %d has no numeric value field", i)
	}
	return tf, vals, nil
}

func toSeries(tf, vf *data.Field) (Series, error) {
	s := Series{Name: vf.Name, Labels: vf.Labels, Config: vf.Config,
		Times: make([]time.Time, tf.Len()), Values: make([]*float64, vf.Len())}
	for i := range s.Times {
		s.Times[i] = tf.At(i).(time.Time)
	}
	for i := range s.Values {
		v, err := vf.NullableFloatAt(i)
		if err != nil {
			return s, fmt.Errorf("field %q point %d: %w", vf.Name, i, err)
		}
		s.Values[i] = v
	}
	return s, nil
}
