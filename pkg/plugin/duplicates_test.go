package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Inline CSV that repeats timestamps (a re-sent sample, a daylight-saving
// hour) is answered with the last value per timestamp and a notice saying how
// many samples were replaced, instead of failing the whole query (issue 11 #6).
func TestCSVDuplicateTimestampsAnsweredWithNotice(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		ts := start.Add(time.Duration(i) * time.Minute).Unix()
		fmt.Fprintf(&b, "%d,%d\n", ts, 10+i%4)
		if i%100 == 50 {
			fmt.Fprintf(&b, "%d,%d\n", ts, 12) // re-sent
		}
	}
	js, _ := json.Marshal(map[string]any{"source": map[string]any{"type": "csv", "csv": b.String()}})
	d := newDatasource(backend.DataSourceInstanceSettings{UID: "dup", JSONData: []byte(`{}`)})
	resp, err := d.QueryData(context.Background(), &backend.QueryDataRequest{
		Queries: []backend.DataQuery{query("A", string(js), start, start.Add(300*time.Minute))}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatalf("query failed: %v", r.Error)
	}
	var notices []string
	for _, f := range r.Frames {
		if f.Meta != nil {
			for _, n := range f.Meta.Notices {
				notices = append(notices, n.Text)
			}
		}
	}
	want := "3 samples repeated a timestamp and were replaced by the last sample of that timestamp: value"
	if !strings.Contains(strings.Join(notices, "\n"), want) {
		t.Errorf("notices %q lack %q", notices, want)
	}
	if n, _ := r.Frames[0].RowLen(); n != 300 {
		t.Errorf("%d rows, want 300 (one per distinct timestamp)", n)
	}
}
