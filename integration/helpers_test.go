//go:build integration

package integration

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// mustOK returns the frames of a response that must have succeeded.
func mustOK(t *testing.T, resp *backend.QueryDataResponse, refID string) data.Frames {
	t.Helper()
	r, ok := resp.Responses[refID]
	if !ok {
		t.Fatalf("no response for %s", refID)
	}
	if r.Error != nil {
		t.Fatalf("query %s failed: %v", refID, r.Error)
	}
	return r.Frames
}

// seriesFrames are the non-annotation frames.
func seriesFrames(fs data.Frames) []*data.Frame {
	var out []*data.Frame
	for _, f := range fs {
		if f.Meta != nil && f.Meta.DataTopic == data.DataTopicAnnotations {
			continue
		}
		out = append(out, f)
	}
	return out
}

func annotationFrame(t *testing.T, fs data.Frames) *data.Frame {
	t.Helper()
	for _, f := range fs {
		if f.Meta != nil && f.Meta.DataTopic == data.DataTopicAnnotations {
			return f
		}
	}
	t.Fatalf("no annotations frame among %d frames", len(fs))
	return nil
}

// frameWithLabel finds the series frame whose value field has label k=v.
func frameWithLabel(t *testing.T, fs []*data.Frame, k, v string) *data.Frame {
	t.Helper()
	for _, f := range fs {
		if len(f.Fields) > 1 && f.Fields[1].Labels[k] == v {
			return f
		}
	}
	t.Fatalf("no frame with %s=%q", k, v)
	return nil
}

func floats(f *data.Field) []float64 {
	out := make([]float64, f.Len())
	for i := range out {
		v, ok := f.ConcreteAt(i)
		if !ok {
			out[i] = math.NaN()
			continue
		}
		switch x := v.(type) {
		case float64:
			out[i] = x
		case bool:
			if x {
				out[i] = 1
			}
		}
	}
	return out
}

func times(f *data.Field) []time.Time {
	out := make([]time.Time, f.Len())
	for i := range out {
		v, _ := f.ConcreteAt(i)
		out[i] = v.(time.Time)
	}
	return out
}

func strs(f *data.Field) []string {
	out := make([]string, f.Len())
	for i := range out {
		v, _ := f.ConcreteAt(i)
		out[i], _ = v.(string)
	}
	return out
}

// tagLists reads the annotations' tags field (a JSON string array per event)
// as comma-joined strings, for substring checks.
func tagLists(t *testing.T, f *data.Field) []string {
	t.Helper()
	out := make([]string, f.Len())
	for i := range out {
		v, _ := f.ConcreteAt(i)
		raw, ok := v.(json.RawMessage)
		if !ok {
			t.Fatalf("tags field holds %T, want JSON string arrays", v)
		}
		var tags []string
		if err := json.Unmarshal(raw, &tags); err != nil {
			t.Fatalf("tags %s: %v", raw, err)
		}
		out[i] = strings.Join(tags, ",")
	}
	return out
}

func mustField(t *testing.T, f *data.Frame, name string) *data.Field {
	t.Helper()
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl
		}
	}
	names := make([]string, len(f.Fields))
	for i, fl := range f.Fields {
		names[i] = fl.Name
	}
	t.Fatalf("frame %q has no field %q (fields: %s)", f.Name, name, strings.Join(names, ", "))
	return nil
}

// window is an anomaly window from the annotations frame.
type window struct {
	start, end time.Time
	title      string
	text, tags string
}

func windows(t *testing.T, f *data.Frame) []window {
	ts, te := times(mustField(t, f, "time")), times(mustField(t, f, "timeEnd"))
	titles, texts, tags := strs(mustField(t, f, "title")), strs(mustField(t, f, "text")), tagLists(t, mustField(t, f, "tags"))
	out := make([]window, len(ts))
	for i := range ts {
		out[i] = window{ts[i], te[i], titles[i], texts[i], tags[i]}
	}
	return out
}

// overlapping returns the windows overlapping [start-slack, end+slack] whose tags contain tag.
func overlapping(ws []window, start, end time.Time, slack time.Duration, tag string) []window {
	var out []window
	for _, w := range ws {
		if !w.end.Before(start.Add(-slack)) && !w.start.After(end.Add(slack)) && strings.Contains(w.tags, tag) {
			out = append(out, w)
		}
	}
	return out
}

func lastFinite(x []float64) float64 {
	for i := len(x) - 1; i >= 0; i-- {
		if !math.IsNaN(x[i]) {
			return x[i]
		}
	}
	return math.NaN()
}
