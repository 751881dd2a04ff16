//go:build integration

package integration

import (
	"encoding/json"
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
		{"non-increasing", "timestamp,value\n1700000000,1\n1700000000,2\n", "line 3"},
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
