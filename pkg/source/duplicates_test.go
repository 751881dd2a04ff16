package source

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Repeated timestamps from a Grafana data source or inline CSV keep the last
// sample and are counted on the series, so the plugin can say so (issue 11 #6).
func TestDuplicateTimestampsKeepLastAndCount(t *testing.T) {
	t0 := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	ts := []time.Time{t0, t0.Add(time.Minute), t0.Add(time.Minute), t0.Add(2 * time.Minute)}
	f := data.NewFrame("A", data.NewField("time", nil, ts), data.NewField("v", nil, []float64{1, 2, 3, 4}))
	series, err := SeriesFromFrames(data.Frames{f})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 {
		t.Fatalf("%d series", len(series))
	}
	if s := series[0]; !slices.Equal(s.Values, []float64{1, 3, 4}) || s.Duplicates != 1 {
		t.Errorf("frame: values %v duplicates %d, want [1 3 4] and 1", s.Values, s.Duplicates)
	}

	csv, err := ParseCSV("timestamp,a\n60,1\n120,2\n120,3\n180,4\n", CSVLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if s := csv[0]; !slices.Equal(s.Values, []float64{1, 3, 4}) || s.Duplicates != 1 {
		t.Errorf("csv: values %v duplicates %d, want [1 3 4] and 1", s.Values, s.Duplicates)
	}
}

func TestKeepLastOfRepeats(t *testing.T) {
	s := keepLastOfRepeats(Series{Times: []int64{1, 2, 2, 2, 3, 4, 4}, Values: []float64{1, 2, 3, 4, 5, 6, 7}})
	if !slices.Equal(s.Times, []int64{1, 2, 3, 4}) || !slices.Equal(s.Values, []float64{1, 4, 5, 7}) || s.Duplicates != 3 {
		t.Fatalf("got times %v values %v duplicates %d", s.Times, s.Values, s.Duplicates)
	}
	back := keepLastOfRepeats(Series{Times: []int64{2, 1}, Values: []float64{1, 2}})
	if err := checkSeries(back); err == nil {
		t.Fatal("a timestamp going backwards must still be refused")
	}
}

// A Prometheus-compatible server that repeats a sample (seen from proxies
// merging replicas) is answered with the last sample, not refused.
func TestPromRepeatedSampleKeepsLast(t *testing.T) {
	_, srv := newFakeProm(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},`+
			`"values":[[1767225600,"1"],[1767225660,"2"],[1767225660,"3"],[1767225720,"4"]]}]}}`)
	})
	c, err := NewPromClient(PromConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Unix(1767225600, 0)
	got, err := c.QueryRange(context.Background(), "up", Range{From: from, To: from.Add(2 * time.Minute), Step: time.Minute}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := got[0]; !slices.Equal(s.Values, []float64{1, 3, 4}) || s.Duplicates != 1 {
		t.Fatalf("values %v duplicates %d, want [1 3 4] and 1", s.Values, s.Duplicates)
	}
}
