//go:build integration

package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/sheepdog-anomaly/sheepdog/internal/harness"
)

func csvQuery(refID, text string) harness.Query {
	return harness.Query{
		RefID: refID,
		JSON:  map[string]any{"refId": refID, "source": map[string]any{"type": "csv", "csv": text}},
		From:  time.Unix(1700000000, 0), To: time.Unix(1700000000+3600, 0),
	}
}

func fieldByName(f *data.Frame, name string) *data.Field {
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl
		}
	}
	return nil
}

func TestInlineCSVGivesFrame(t *testing.T) {
	in := harness.Instance{}
	resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(false,
		csvQuery("A", "timestamp,value\n1700000000,1\n1700000060,2\n1700000120,3\n")))
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatalf("query A failed: %v", r.Error)
	}
	if len(r.Frames) == 0 {
		t.Fatal("no frames")
	}
	f := r.Frames[0]
	tf := f.Fields[0]
	if tf.Type() != data.FieldTypeTime && tf.Type() != data.FieldTypeNullableTime {
		t.Fatalf("first field %q has type %s, want time", tf.Name, tf.Type())
	}
	if f.Rows() != 3 {
		t.Fatalf("rows = %d, want 3", f.Rows())
	}
	if got := tf.At(0).(time.Time); !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("first time = %v", got)
	}
	vf := fieldByName(f, "value")
	if vf == nil {
		t.Fatalf("no value field in %v", f.Fields)
	}
	for i, want := range []float64{1, 2, 3} {
		got, ok := vf.ConcreteAt(i)
		if !ok || got.(float64) != want {
			t.Errorf("value[%d] = %v, want %v", i, got, want)
		}
	}
}

func TestBadCSVErrorNamesLineOtherQueryAnswers(t *testing.T) {
	in := harness.Instance{}
	tests := []struct {
		name, csv, want string
	}{
		{"non-numeric", "timestamp,value\n1700000000,1\n1700000060,abc\n", "line 3"},
		{"backwards in time", "timestamp,value\n1700000060,1\n1700000000,2\n", "line 3"},
		{"bad time", "timestamp,value\n1700000000,1\nyesterday,2\n", "line 3"},
		{"missing header", "1700000000,1\n1700000060,2\n", "header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(false,
				csvQuery("BAD", tt.csv),
				csvQuery("GOOD", "timestamp,value\n2023-11-14 22:13:20,5\n2023-11-14 22:14:20,6\n2023-11-14 22:15:20,7\n")))
			if err != nil {
				t.Fatal(err)
			}
			bad := resp.Responses["BAD"]
			if bad.Error == nil || !strings.Contains(bad.Error.Error(), tt.want) {
				t.Fatalf("BAD error = %v, want it to contain %q", bad.Error, tt.want)
			}
			if bad.Status != backend.StatusBadRequest {
				t.Errorf("BAD status = %v, want 400", bad.Status)
			}
			good := resp.Responses["GOOD"]
			if good.Error != nil || len(good.Frames) == 0 || good.Frames[0].Rows() != 3 {
				t.Fatalf("GOOD = %+v", good)
			}
		})
	}
}

func TestCheckHealth(t *testing.T) {
	res, err := plugin.CheckHealth(ctxT(t), harness.Instance{}.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != backend.HealthStatusOk || res.Message == "" {
		t.Fatalf("health = %v %q", res.Status, res.Message)
	}

	bad := harness.Instance{UID: "bad", JSONData: map[string]any{"engine": "remote"}}
	res, err = plugin.CheckHealth(ctxT(t), bad.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, "remoteUrl") {
		t.Fatalf("health for bad settings = %v %q", res.Status, res.Message)
	}
}

func TestCollectMetrics(t *testing.T) {
	// Make sure at least one query has been counted.
	in := harness.Instance{}
	if _, err := plugin.QueryData(ctxT(t), in.QueryRequest(false, csvQuery("A", "t,v\n1700000000,1\n"))); err != nil {
		t.Fatal(err)
	}
	text, err := plugin.CollectMetrics(ctxT(t), in.PluginContext())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sheepdog_queries_total", `source="csv"`, "sheepdog_query_duration_seconds", "go_goroutines"} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestCallResourceDetectors(t *testing.T) {
	in := harness.Instance{}
	res, err := plugin.CallResource(ctxT(t), in.ResourceRequest(http.MethodGet, "detectors", nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("status = %d body %s", res.Status, res.Body)
	}
	var cat struct {
		Methods []struct {
			Name string `json:"name"`
		} `json:"methods"`
		Parameters []struct {
			Name string `json:"name"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(res.Body, &cat); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range cat.Methods {
		names[m.Name] = true
	}
	for _, m := range []string{"auto", "basic", "robust", "agile", "changepoint"} {
		if !names[m] {
			t.Errorf("method %q missing from %s", m, res.Body)
		}
	}
	if len(cat.Parameters) < 5 {
		t.Errorf("parameters = %v", cat.Parameters)
	}

	res, err = plugin.CallResource(ctxT(t), in.ResourceRequest(http.MethodGet, "nope", nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusNotFound {
		t.Errorf("unknown resource status = %d", res.Status)
	}
}

// TestCSVLimitsAndEmpty: empty and oversized inline CSV get clear errors.
func TestCSVLimitsAndEmpty(t *testing.T) {
	in := harness.Instance{}
	var big strings.Builder
	big.WriteString("timestamp,value\n")
	for i := 0; big.Len() < 4<<20+1000; i++ {
		big.WriteString("1700000000,1.000000\n")
	}
	resp, err := plugin.QueryData(ctxT(t), in.QueryRequest(false,
		csvQuery("EMPTY", " \n"), csvQuery("BIG", big.String()), csvQuery("ONLYHEADER", "timestamp,value\n")))
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{"EMPTY": "empty", "BIG": "limit"} {
		e := resp.Responses[ref].Error
		if e == nil || !strings.Contains(e.Error(), want) {
			t.Errorf("%s: error %v, want it to mention %q", ref, e, want)
		}
	}
	// A header without rows is not an error, but the panel is told why it is empty.
	r := resp.Responses["ONLYHEADER"]
	if r.Error == nil && (len(r.Frames) == 0 || r.Frames[0].Meta == nil || len(r.Frames[0].Meta.Notices) == 0) {
		t.Errorf("header-only CSV: no error and no notice: %+v", r)
	}
}

// TestInlineCSVDetection: a spike in inline CSV is flagged and shown as a window.
func TestInlineCSVDetection(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,cpu\n")
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		v := 50 + 2*float64(i%7) - 6
		if i == 200 {
			v = 120
		}
		fmt.Fprintf(&b, "%s,%.1f\n", start.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), v)
	}
	q := csvQuery("A", b.String())
	q.JSON.(map[string]any)["outputs"] = []string{"bands", "score", "flags", "windows"}
	resp, err := plugin.QueryData(ctxT(t), harness.Instance{}.QueryRequest(false, q))
	if err != nil {
		t.Fatal(err)
	}
	fs := mustOK(t, resp, "A")
	f := seriesFrames(fs)[0]
	flags := floats(mustField(t, f, "cpu anomaly"))
	if flags[200] != 1 {
		t.Errorf("the spike at row 200 is not flagged")
	}
	n := 0
	for _, v := range flags {
		n += int(v)
	}
	if n > 5 {
		t.Errorf("%d points flagged, want the spike and little else", n)
	}
	ws := windows(t, annotationFrame(t, fs))
	spikeAt := start.Add(200 * time.Minute)
	if len(overlapping(ws, spikeAt, spikeAt, 0, "series:cpu")) != 1 {
		t.Errorf("no window at the spike among %+v", ws)
	}
}
